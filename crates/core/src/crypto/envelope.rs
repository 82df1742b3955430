//! Multi-recipient envelopes, in one of two formats named by the first
//! byte (docs/crypto.md has every byte).
//!
//! ```text
//! version 1 (modern) = 0x01 | count(1) | slot1{count} | nonce(12) | ChaCha20-Poly1305(data_key(32), payload, aad)
//! slot1              = key_id(8) | ephemeral_public(32) | wrapped_data_key(32 + 16)
//! version 2 (shangmi)= 0x02 | count(1) | slot2{count} | nonce(12) | SM4-GCM(data_key(16), payload, aad)
//! slot2              = 0x02 | key_id(8) | SM2 C1(65) | C3(32) | C2(16)               (an SM2 recipient)
//!                    | 0x01 | key_id(8) | ephemeral_public(32) | wrapped_data_key(16 + 16) (an X25519 one)
//! aad                = "sunlight/seal" | version | case_id(16) | item | H(version | count | slots)
//! ```
//!
//! H is SHA-256 in version 1 and SM3 in version 2. An envelope is sealed
//! in version 2 when any recipient holds an SM2 key; an X25519 recipient
//! of such an envelope (a unit whose key was made before its deployment
//! moved to the ShangMi suite) gets an X25519 slot.
//!
//! An X25519 slot wraps the fresh data key with an ephemeral X25519
//! exchange, HKDF-SHA256 over the shared secret and both public keys, and
//! a ChaCha20-Poly1305 seal under a key used exactly once (so a zero nonce
//! is safe). An SM2 slot is SM2 public-key encryption of the data key
//! (GB/T 32918.4, C1‖C3‖C2). `key_id` is a hash prefix of the recipient's
//! public key (SHA-256 for X25519, SM3 for SM2) so an opener finds its slot
//! without trying every one. The body's AAD covers a hash of the whole
//! header, so removing or replacing a slot (say, the oversight unit's)
//! makes the envelope fail to open for everyone.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::keys::SecretHalf;
use super::shangmi::{SM2_WRAP_OVERHEAD, sm2_unwrap, sm2_wrap, sm3, sm4_gcm_open, sm4_gcm_seal};
use super::{CryptoError, UnitPublicKey, UnitSecretKey, random_bytes};
use crate::CaseId;

/// The modern format; the only one before the ShangMi suite.
pub(crate) const VERSION: u8 = 1;
/// The ShangMi format.
pub(crate) const SHANGMI: u8 = 2;
const V1_SLOT_LEN: usize = 8 + 32 + 32 + 16;
const KIND_X25519: u8 = 1;
const KIND_SM2: u8 = 2;
const MAX_RECIPIENTS: usize = 16;

/// What an envelope is bound to: the case and the item inside it (e.g.
/// `b"report"`, or a message id), so ciphertexts cannot be swapped between
/// cases or between items of one case.
#[derive(Debug, Clone, Copy)]
pub struct SealContext<'a> {
    pub case_id: CaseId,
    pub item: &'a [u8],
}

impl SealContext<'_> {
    pub(crate) fn aad(&self, label: &[u8], version: u8) -> Vec<u8> {
        let mut aad = Vec::with_capacity(label.len() + 17 + self.item.len());
        aad.extend(label);
        aad.push(version);
        aad.extend(self.case_id.as_bytes());
        aad.extend(self.item);
        aad
    }
}

/// The body AAD: the context, then a hash of the header it travels with
/// (the header's first byte says which hash).
pub(crate) fn body_aad(ctx: &SealContext<'_>, label: &[u8], header: &[u8]) -> Vec<u8> {
    let version = header.first().copied().unwrap_or(VERSION);
    let mut aad = ctx.aad(label, version);
    if version == SHANGMI {
        aad.extend(sm3(header));
    } else {
        aad.extend(Sha256::digest(header));
    }
    aad
}

/// One envelope's data key: 32 bytes for ChaCha20-Poly1305, 16 for SM4.
pub(crate) enum DataKey {
    ChaCha(Zeroizing<[u8; 32]>),
    Sm4(Zeroizing<[u8; 16]>),
}

impl DataKey {
    fn bytes(&self) -> &[u8] {
        match self {
            DataKey::ChaCha(k) => k.as_ref(),
            DataKey::Sm4(k) => k.as_ref(),
        }
    }

    /// Seals a whole body: `nonce(12) | ciphertext`.
    fn seal_body(&self, payload: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce = random_bytes::<12>()?;
        let sealed = match self {
            DataKey::ChaCha(k) => ChaCha20Poly1305::new(&Key::from(**k))
                .encrypt(&Nonce::from(*nonce), Payload { msg: payload, aad })
                .map_err(|_| CryptoError::Open)?,
            DataKey::Sm4(k) => sm4_gcm_seal(k, &nonce, payload, aad)?,
        };
        let mut out = Vec::with_capacity(12 + sealed.len());
        out.extend(nonce.iter());
        out.extend(sealed);
        Ok(out)
    }

    fn open_body(&self, body: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if body.len() < 12 + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ct) = body.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        match self {
            DataKey::ChaCha(k) => ChaCha20Poly1305::new(&Key::from(**k))
                .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad })
                .map(Zeroizing::new)
                .map_err(|_| CryptoError::Open),
            DataKey::Sm4(k) => sm4_gcm_open(k, &nonce, ct, aad),
        }
    }
}

fn key_id(public: &UnitPublicKey) -> [u8; 8] {
    let digest: [u8; 32] = match public {
        UnitPublicKey::X25519(key) => Sha256::digest(key.as_bytes()).into(),
        UnitPublicKey::Sm2(key) => sm3(key.as_sec1()),
    };
    let mut id = [0u8; 8];
    id.copy_from_slice(digest.get(..8).unwrap_or(&[0u8; 8]));
    id
}

fn slot_kek(
    shared: &[u8; 32],
    ephemeral: &PublicKey,
    recipient: &[u8],
) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral.as_bytes());
    salt[32..].copy_from_slice(recipient);
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut kek = Zeroizing::new([0u8; 32]);
    hk.expand(b"sunlight/seal/v1/kek", kek.as_mut())
        .map_err(|_| CryptoError::Params)?;
    Ok(kek)
}

/// One slot as read from a header.
struct Slot<'e> {
    kind: u8,
    id: &'e [u8],
    wrapped: &'e [u8],
}

/// A header split into its parts: version, slots, the header bytes (for
/// the body AAD) and the rest.
struct Parsed<'e> {
    version: u8,
    slots: Vec<Slot<'e>>,
    header: &'e [u8],
    rest: &'e [u8],
}

fn wrapped_len(version: u8, kind: u8) -> Result<usize, CryptoError> {
    match (version, kind) {
        (VERSION, KIND_X25519) => Ok(32 + 32 + 16),
        (SHANGMI, KIND_X25519) => Ok(32 + 16 + 16),
        (SHANGMI, KIND_SM2) => Ok(SM2_WRAP_OVERHEAD + 16),
        _ => Err(CryptoError::Malformed),
    }
}

fn parse(envelope: &[u8]) -> Result<Parsed<'_>, CryptoError> {
    let (&version, rest) = envelope.split_first().ok_or(CryptoError::Malformed)?;
    if version != VERSION && version != SHANGMI {
        return Err(CryptoError::Version(version));
    }
    let (&count, mut rest) = rest.split_first().ok_or(CryptoError::Malformed)?;
    if count == 0 || usize::from(count) > MAX_RECIPIENTS {
        return Err(CryptoError::Malformed);
    }
    let mut slots = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let kind = if version == VERSION {
            KIND_X25519
        } else {
            let (&kind, tail) = rest.split_first().ok_or(CryptoError::Malformed)?;
            rest = tail;
            kind
        };
        let len = 8 + wrapped_len(version, kind)?;
        if rest.len() < len {
            return Err(CryptoError::Malformed);
        }
        let (slot, tail) = rest.split_at(len);
        let (id, wrapped) = slot.split_at(8);
        slots.push(Slot { kind, id, wrapped });
        rest = tail;
    }
    let header_len = envelope.len() - rest.len();
    let header = envelope.get(..header_len).ok_or(CryptoError::Malformed)?;
    Ok(Parsed {
        version,
        slots,
        header,
        rest,
    })
}

/// Writes `version | count | slots` for a fresh data key, which is returned.
pub(crate) fn write_header(
    recipients: &[UnitPublicKey],
    ctx: &SealContext<'_>,
    out: &mut Vec<u8>,
) -> Result<DataKey, CryptoError> {
    if recipients.is_empty() {
        return Err(CryptoError::NoRecipients);
    }
    let count = u8::try_from(recipients.len())
        .ok()
        .filter(|n| usize::from(*n) <= MAX_RECIPIENTS)
        .ok_or(CryptoError::Malformed)?;
    let shangmi = recipients
        .iter()
        .any(|r| matches!(r, UnitPublicKey::Sm2(_)));
    let (version, data_key) = if shangmi {
        (SHANGMI, DataKey::Sm4(random_bytes::<16>()?))
    } else {
        (VERSION, DataKey::ChaCha(random_bytes::<32>()?))
    };
    out.push(version);
    out.push(count);
    let aad = ctx.aad(b"sunlight/slot", version);
    for recipient in recipients {
        match recipient {
            UnitPublicKey::X25519(key) => {
                if version == SHANGMI {
                    out.push(KIND_X25519);
                }
                out.extend(key_id(recipient));
                out.extend(x25519_wrap(key, data_key.bytes(), &aad)?);
            }
            UnitPublicKey::Sm2(key) => {
                out.push(KIND_SM2);
                out.extend(key_id(recipient));
                out.extend(sm2_wrap(key, data_key.bytes())?);
            }
        }
    }
    Ok(data_key)
}

/// `ephemeral_public(32) | ChaCha20-Poly1305(kek, data_key, slot aad)`.
fn x25519_wrap(recipient: &PublicKey, data_key: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let ephemeral = StaticSecret::from(*random_bytes::<32>()?);
    let ephemeral_public = PublicKey::from(&ephemeral);
    let shared = ephemeral.diffie_hellman(recipient);
    let kek = slot_kek(shared.as_bytes(), &ephemeral_public, recipient.as_bytes())?;
    let wrapped = ChaCha20Poly1305::new(&Key::from(*kek))
        .encrypt(&Nonce::default(), Payload { msg: data_key, aad })
        .map_err(|_| CryptoError::Open)?;
    let mut out = ephemeral_public.as_bytes().to_vec();
    out.extend(wrapped);
    Ok(out)
}

/// An opened header: the data key, the header bytes (for the body AAD) and
/// the rest of the envelope.
pub(crate) type Opened<'e> = (DataKey, &'e [u8], &'e [u8]);

/// Reads the header, finds the slot for `secret` and returns the data key and
/// the rest of the envelope.
pub(crate) fn read_header<'e>(
    envelope: &'e [u8],
    ctx: &SealContext<'_>,
    secret: &UnitSecretKey,
) -> Result<Opened<'e>, CryptoError> {
    let mut last = CryptoError::Open;
    for key in secret.generations() {
        match read_header_as(envelope, ctx, key, &key.public()) {
            Err(CryptoError::Open) => {}
            Err(e) => last = e,
            found => return found,
        }
    }
    Err(last)
}

/// `read_header` with the secret's public key computed once by the caller.
fn read_header_as<'e>(
    envelope: &'e [u8],
    ctx: &SealContext<'_>,
    secret: &SecretHalf,
    public: &UnitPublicKey,
) -> Result<Opened<'e>, CryptoError> {
    let parsed = parse(envelope)?;
    let my_id = key_id(public);
    let aad = ctx.aad(b"sunlight/slot", parsed.version);
    for slot in &parsed.slots {
        if slot.id != my_id {
            continue;
        }
        if let Some(key) = unwrap_slot(parsed.version, slot, secret, public, &aad) {
            return Ok((key, parsed.header, parsed.rest));
        }
    }
    Err(CryptoError::Open)
}

/// The data key from one slot, if `secret` opens it.
fn unwrap_slot(
    version: u8,
    slot: &Slot<'_>,
    secret: &SecretHalf,
    public: &UnitPublicKey,
    aad: &[u8],
) -> Option<DataKey> {
    match (slot.kind, secret) {
        (KIND_X25519, SecretHalf::X25519(secret)) => {
            let (eph, wrapped) = slot.wrapped.split_at(32);
            let eph: [u8; 32] = eph.try_into().ok()?;
            let ephemeral_public = PublicKey::from(eph);
            let shared = secret.diffie_hellman(&ephemeral_public);
            let kek = slot_kek(shared.as_bytes(), &ephemeral_public, public.as_bytes()).ok()?;
            let key = Zeroizing::new(
                ChaCha20Poly1305::new(&Key::from(*kek))
                    .decrypt(&Nonce::default(), Payload { msg: wrapped, aad })
                    .ok()?,
            );
            if version == VERSION {
                Some(DataKey::ChaCha(Zeroizing::new(
                    key.as_slice().try_into().ok()?,
                )))
            } else {
                Some(DataKey::Sm4(Zeroizing::new(
                    key.as_slice().try_into().ok()?,
                )))
            }
        }
        (KIND_SM2, SecretHalf::Sm2(secret)) => sm2_unwrap::<16>(secret, slot.wrapped)
            .ok()
            .map(DataKey::Sm4),
        _ => None,
    }
}

/// Checks, without opening, that an envelope sealed elsewhere (the
/// reporter's browser) is well formed and has one slot for each of
/// `recipients`, in that order; returns the length of its header. The slot
/// contents cannot be checked without a secret key: a browser that seals
/// garbage to the right keys harms only its own report.
pub fn check_addressed(
    envelope: &[u8],
    recipients: &[UnitPublicKey],
) -> Result<usize, CryptoError> {
    let parsed = parse(envelope)?;
    // The version `seal` would choose for these keys, and no other: a
    // version-2 envelope to X25519 keys only is never made here.
    let shangmi = recipients
        .iter()
        .any(|r| matches!(r, UnitPublicKey::Sm2(_)));
    if parsed.slots.len() != recipients.len() || (parsed.version == SHANGMI) != shangmi {
        return Err(CryptoError::Malformed);
    }
    for (slot, recipient) in parsed.slots.iter().zip(recipients) {
        if !slot_is_for(slot, recipient) {
            return Err(CryptoError::Malformed);
        }
    }
    Ok(parsed.header.len())
}

fn slot_is_for(slot: &Slot<'_>, recipient: &UnitPublicKey) -> bool {
    let kind = match recipient {
        UnitPublicKey::X25519(_) => KIND_X25519,
        UnitPublicKey::Sm2(_) => KIND_SM2,
    };
    slot.kind == kind && slot.id == key_id(recipient)
}

/// Whether an envelope (or stream header) has a slot for `recipient`, by
/// the slots' public key ids: what a holder of that key could open, known
/// without opening.
pub fn addressed_to(envelope: &[u8], recipient: &UnitPublicKey) -> bool {
    parse(envelope).is_ok_and(|parsed| parsed.slots.iter().any(|s| slot_is_for(s, recipient)))
}

/// Whether an envelope has a slot for any of `recipients`; `None` when it
/// does not parse as an envelope at all. A case reader tells a damaged
/// report (`None`, or a slot that does not open) from one sealed to other
/// units (`Some(false)`).
pub fn addressed_to_any(envelope: &[u8], recipients: &[UnitPublicKey]) -> Option<bool> {
    let parsed = parse(envelope).ok()?;
    Some(
        parsed
            .slots
            .iter()
            .any(|s| recipients.iter().any(|r| slot_is_for(s, r))),
    )
}

/// Seals `payload` so that each of `recipients` (and nobody else) can open it.
pub fn seal(
    payload: &[u8],
    ctx: &SealContext<'_>,
    recipients: &[UnitPublicKey],
) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(2 + recipients.len() * V1_SLOT_LEN + 12 + payload.len() + 16);
    let data_key = write_header(recipients, ctx, &mut out)?;
    let aad = body_aad(ctx, b"sunlight/seal", &out);
    out.extend(data_key.seal_body(payload, &aad)?);
    Ok(out)
}

/// Opens an envelope with one recipient's secret key.
pub fn open(
    envelope: &[u8],
    ctx: &SealContext<'_>,
    secret: &UnitSecretKey,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    Opener::new(secret).open(envelope, ctx)
}

/// Opens many envelopes with one key (a search over a jurisdiction): the
/// key's public half is derived once, not once per envelope (a base-point
/// multiplication, about a third of an open's cost). Cheap to share
/// between threads.
#[derive(Clone)]
pub struct Opener {
    /// The current key, then retired ones, each with its public half.
    keys: Vec<(SecretHalf, UnitPublicKey)>,
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener").finish_non_exhaustive()
    }
}

impl Opener {
    pub fn new(secret: &UnitSecretKey) -> Self {
        Self {
            keys: secret
                .generations()
                .map(|key| (key.clone(), key.public()))
                .collect(),
        }
    }

    /// Opens with whichever generation of the key the envelope was sealed
    /// to (the current one first). A malformed envelope says so; one no
    /// generation opens says only that.
    pub fn open(
        &self,
        envelope: &[u8],
        ctx: &SealContext<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut last = CryptoError::Open;
        for (secret, public) in &self.keys {
            match open_as(envelope, ctx, secret, public) {
                Err(CryptoError::Open) => {}
                Err(e) => last = e,
                found => return found,
            }
        }
        Err(last)
    }
}

fn open_as(
    envelope: &[u8],
    ctx: &SealContext<'_>,
    secret: &SecretHalf,
    public: &UnitPublicKey,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (data_key, header, body) = read_header_as(envelope, ctx, secret, public)?;
    data_key.open_body(body, &body_aad(ctx, b"sunlight/seal", header))
}

#[cfg(test)]
mod tests;
