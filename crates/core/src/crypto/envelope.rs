//! Multi-recipient envelopes.
//!
//! ```text
//! envelope   = version(1) | count(1) | slot{count} | body
//! slot       = key_id(8) | ephemeral_public(32) | wrapped_data_key(32 + 16)
//! body       = nonce(12) | ChaCha20-Poly1305(data_key, payload, aad)
//! aad        = "sunlight/seal" | version | case_id(16) | context | SHA-256(version | count | slots)
//! ```
//!
//! Each slot wraps the fresh data key for one recipient: an ephemeral X25519
//! exchange, HKDF-SHA256 over the shared secret and both public keys, and a
//! ChaCha20-Poly1305 seal under a key that is used exactly once (so a zero
//! nonce is safe). `key_id` is a hash prefix of the recipient's public key so
//! an opener finds its slot without trying every one. The body's AAD covers
//! a hash of the whole header, so removing or replacing a slot (say, the
//! oversight unit's) makes the envelope fail to open for everyone.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::{CryptoError, UnitPublicKey, UnitSecretKey, random_bytes};
use crate::CaseId;

pub(crate) const VERSION: u8 = 1;
const SLOT_LEN: usize = 8 + 32 + 32 + 16;
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
    pub(crate) fn aad(&self, label: &[u8]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(label.len() + 17 + self.item.len());
        aad.extend(label);
        aad.push(VERSION);
        aad.extend(self.case_id.as_bytes());
        aad.extend(self.item);
        aad
    }
}

/// The body AAD: the context, then a hash of the header it travels with.
pub(crate) fn body_aad(ctx: &SealContext<'_>, label: &[u8], header: &[u8]) -> Vec<u8> {
    let mut aad = ctx.aad(label);
    aad.extend(Sha256::digest(header));
    aad
}

fn key_id(public: &UnitPublicKey) -> [u8; 8] {
    let digest = Sha256::digest(public.as_bytes());
    let mut id = [0u8; 8];
    id.copy_from_slice(digest.get(..8).unwrap_or(&[0u8; 8]));
    id
}

fn slot_kek(
    shared: &[u8; 32],
    ephemeral: &PublicKey,
    recipient: &UnitPublicKey,
) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral.as_bytes());
    salt[32..].copy_from_slice(recipient.as_bytes());
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut kek = Zeroizing::new([0u8; 32]);
    hk.expand(b"sunlight/seal/v1/kek", kek.as_mut())
        .map_err(|_| CryptoError::Params)?;
    Ok(kek)
}

/// Writes `version | count | slots` for a fresh data key, which is returned.
pub(crate) fn write_header(
    recipients: &[UnitPublicKey],
    ctx: &SealContext<'_>,
    out: &mut Vec<u8>,
) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    if recipients.is_empty() {
        return Err(CryptoError::NoRecipients);
    }
    let count = u8::try_from(recipients.len())
        .ok()
        .filter(|n| usize::from(*n) <= MAX_RECIPIENTS)
        .ok_or(CryptoError::Malformed)?;
    let data_key = random_bytes::<32>()?;
    out.push(VERSION);
    out.push(count);
    let aad = ctx.aad(b"sunlight/slot");
    for recipient in recipients {
        let ephemeral = StaticSecret::from(*random_bytes::<32>()?);
        let ephemeral_public = PublicKey::from(&ephemeral);
        let shared = ephemeral.diffie_hellman(recipient.inner());
        let kek = slot_kek(shared.as_bytes(), &ephemeral_public, recipient)?;
        let wrapped = ChaCha20Poly1305::new(&Key::from(*kek))
            .encrypt(
                &Nonce::default(),
                Payload {
                    msg: data_key.as_ref(),
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Open)?;
        out.extend(key_id(recipient));
        out.extend(ephemeral_public.as_bytes());
        out.extend(wrapped);
    }
    Ok(data_key)
}

/// An opened header: the data key, the header bytes (for the body AAD) and
/// the rest of the envelope.
pub(crate) type Opened<'e> = (Zeroizing<[u8; 32]>, &'e [u8], &'e [u8]);

/// Reads the header, finds the slot for `secret` and returns the data key and
/// the rest of the envelope.
pub(crate) fn read_header<'e>(
    envelope: &'e [u8],
    ctx: &SealContext<'_>,
    secret: &UnitSecretKey,
) -> Result<Opened<'e>, CryptoError> {
    let mut last = CryptoError::Open;
    for key in secret.generations() {
        let public = UnitPublicKey::from_bytes(*PublicKey::from(key).as_bytes());
        match read_header_as(envelope, ctx, key, &public) {
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
    secret: &StaticSecret,
    public: &UnitPublicKey,
) -> Result<Opened<'e>, CryptoError> {
    let (&version, rest) = envelope.split_first().ok_or(CryptoError::Malformed)?;
    if version != VERSION {
        return Err(CryptoError::Version(version));
    }
    let (&count, rest) = rest.split_first().ok_or(CryptoError::Malformed)?;
    let slots_len = usize::from(count)
        .checked_mul(SLOT_LEN)
        .ok_or(CryptoError::Malformed)?;
    if count == 0 || usize::from(count) > MAX_RECIPIENTS || rest.len() < slots_len {
        return Err(CryptoError::Malformed);
    }
    let (slots, body) = rest.split_at(slots_len);
    let header = envelope
        .get(..2 + slots_len)
        .ok_or(CryptoError::Malformed)?;
    let my_id = key_id(public);
    let aad = ctx.aad(b"sunlight/slot");
    for slot in slots.chunks_exact(SLOT_LEN) {
        let (id, rest) = slot.split_at(8);
        if id != my_id {
            continue;
        }
        let (eph, wrapped) = rest.split_at(32);
        let eph: [u8; 32] = eph.try_into().map_err(|_| CryptoError::Malformed)?;
        let ephemeral_public = PublicKey::from(eph);
        let shared = secret.diffie_hellman(&ephemeral_public);
        let kek = slot_kek(shared.as_bytes(), &ephemeral_public, public)?;
        let Ok(key) = ChaCha20Poly1305::new(&Key::from(*kek)).decrypt(
            &Nonce::default(),
            Payload {
                msg: wrapped,
                aad: &aad,
            },
        ) else {
            continue;
        };
        let key = Zeroizing::new(key);
        let arr: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Malformed)?;
        return Ok((Zeroizing::new(arr), header, body));
    }
    Err(CryptoError::Open)
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
    let (&version, rest) = envelope.split_first().ok_or(CryptoError::Malformed)?;
    if version != VERSION {
        return Err(CryptoError::Version(version));
    }
    let (&count, rest) = rest.split_first().ok_or(CryptoError::Malformed)?;
    if usize::from(count) != recipients.len() || rest.len() < recipients.len() * SLOT_LEN {
        return Err(CryptoError::Malformed);
    }
    for (slot, recipient) in rest.chunks_exact(SLOT_LEN).zip(recipients) {
        if slot.get(..8) != Some(&key_id(recipient)[..]) {
            return Err(CryptoError::Malformed);
        }
    }
    Ok(2 + recipients.len() * SLOT_LEN)
}

/// Whether an envelope (or stream header) has a slot for `recipient`, by
/// the slots' public key ids: what a holder of that key could open, known
/// without opening.
pub fn addressed_to(envelope: &[u8], recipient: &UnitPublicKey) -> bool {
    let count = usize::from(envelope.get(1).copied().unwrap_or(0));
    let id = key_id(recipient);
    envelope
        .get(2..)
        .unwrap_or_default()
        .chunks_exact(SLOT_LEN)
        .take(count)
        .any(|slot| slot.get(..8) == Some(&id[..]))
}

/// Seals `payload` so that each of `recipients` (and nobody else) can open it.
pub fn seal(
    payload: &[u8],
    ctx: &SealContext<'_>,
    recipients: &[UnitPublicKey],
) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(2 + recipients.len() * SLOT_LEN + 12 + payload.len() + 16);
    let data_key = write_header(recipients, ctx, &mut out)?;
    let aad = body_aad(ctx, b"sunlight/seal", &out);
    let nonce = random_bytes::<12>()?;
    let body = ChaCha20Poly1305::new(&Key::from(*data_key))
        .encrypt(
            &Nonce::from(*nonce),
            Payload {
                msg: payload,
                aad: &aad,
            },
        )
        .map_err(|_| CryptoError::Open)?;
    out.extend(nonce.iter());
    out.extend(body);
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
    keys: Vec<(StaticSecret, UnitPublicKey)>,
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
                .map(|key| {
                    let public = UnitPublicKey::from_bytes(*PublicKey::from(key).as_bytes());
                    (key.clone(), public)
                })
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
    secret: &StaticSecret,
    public: &UnitPublicKey,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (data_key, header, body) = read_header_as(envelope, ctx, secret, public)?;
    if body.len() < 12 + 16 {
        return Err(CryptoError::Malformed);
    }
    let (nonce, ct) = body.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
    ChaCha20Poly1305::new(&Key::from(*data_key))
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: ct,
                aad: &body_aad(ctx, b"sunlight/seal", header),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::UnitKeyPair;
    use proptest::prelude::*;

    fn ctx(case: u64) -> SealContext<'static> {
        SealContext {
            case_id: CaseId::new_v7(case),
            item: b"report",
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_recipient_opens_and_outsiders_cannot(payload in prop::collection::vec(any::<u8>(), 0..4096), n in 1usize..5) {
            let pairs: Vec<_> = (0..n).map(|_| UnitKeyPair::generate().unwrap()).collect();
            let publics: Vec<_> = pairs.iter().map(|p| p.public).collect();
            let c = ctx(1_700_000_000_000);
            let env = seal(&payload, &c, &publics).unwrap();
            for pair in &pairs {
                let opened = open(&env, &c, &pair.secret).unwrap();
                prop_assert_eq!(opened.as_slice(), payload.as_slice());
                let again = Opener::new(&pair.secret).open(&env, &c).unwrap();
                prop_assert_eq!(again.as_slice(), payload.as_slice());
            }
            let outsider = UnitKeyPair::generate().unwrap();
            prop_assert_eq!(open(&env, &c, &outsider.secret).unwrap_err(), CryptoError::Open);
            prop_assert_eq!(Opener::new(&outsider.secret).open(&env, &c).unwrap_err(), CryptoError::Open);
        }

        #[test]
        fn any_flipped_bit_is_rejected(payload in prop::collection::vec(any::<u8>(), 1..512), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let pair = UnitKeyPair::generate().unwrap();
            let c = ctx(5);
            let mut env = seal(&payload, &c, &[pair.public]).unwrap();
            let i = at.index(env.len());
            env[i] ^= 1 << bit;
            prop_assert!(open(&env, &c, &pair.secret).is_err());
        }

        #[test]
        fn other_case_or_item_is_rejected(payload in prop::collection::vec(any::<u8>(), 0..256)) {
            let pair = UnitKeyPair::generate().unwrap();
            let c = ctx(5);
            let env = seal(&payload, &c, &[pair.public]).unwrap();
            prop_assert!(open(&env, &ctx(6), &pair.secret).is_err());
            let other_item = SealContext { case_id: c.case_id, item: b"message-1" };
            prop_assert!(open(&env, &other_item, &pair.secret).is_err());
        }
    }

    #[test]
    fn removing_a_recipient_slot_is_rejected() {
        let unit = UnitKeyPair::generate().unwrap();
        let oversight = UnitKeyPair::generate().unwrap();
        let c = ctx(11);
        let env = seal(b"report", &c, &[unit.public, oversight.public]).unwrap();
        assert!(open(&env, &c, &unit.secret).is_ok());
        // Drop the oversight slot and lower the count: the unit's own slot
        // still unwraps the data key, but the body no longer opens.
        let mut cut = vec![env[0], 1];
        cut.extend(&env[2..2 + SLOT_LEN]);
        cut.extend(&env[2 + 2 * SLOT_LEN..]);
        assert_eq!(open(&cut, &c, &unit.secret).unwrap_err(), CryptoError::Open);
    }

    #[test]
    fn swapping_a_recipient_slot_is_rejected() {
        let a = UnitKeyPair::generate().unwrap();
        let b = UnitKeyPair::generate().unwrap();
        let c = ctx(9);
        let env_a = seal(b"one", &c, &[a.public]).unwrap();
        let env_b = seal(b"two", &c, &[b.public]).unwrap();
        // Put b's slot in front of a's body: b must not read a's payload.
        let mut franken = env_b[..2 + SLOT_LEN].to_vec();
        franken.extend(&env_a[2 + SLOT_LEN..]);
        assert!(open(&franken, &c, &b.secret).is_err());
        assert_eq!(seal(b"x", &c, &[]).unwrap_err(), CryptoError::NoRecipients);
        assert!(open(&[2, 1], &c, &a.secret).is_err());
        assert!(open(&[], &c, &a.secret).is_err());
    }

    #[test]
    fn addressed_to_reads_the_slots_and_nothing_else() {
        let a = UnitKeyPair::generate().unwrap();
        let b = UnitKeyPair::generate().unwrap();
        let env = seal(b"x", &ctx(4), &[a.public]).unwrap();
        assert!(addressed_to(&env, &a.public));
        assert!(!addressed_to(&env, &b.public));
        assert!(!addressed_to(&[], &a.public));
        assert!(!addressed_to(&env[..30], &a.public));
    }

    #[test]
    fn low_order_keys_are_not_contributory() {
        assert!(
            UnitKeyPair::generate()
                .unwrap()
                .public
                .is_contributory()
                .unwrap()
        );
        // The all-zero point and 1 are of low order.
        for low in [[0u8; 32], {
            let mut one = [0u8; 32];
            one[0] = 1;
            one
        }] {
            assert!(!UnitPublicKey::from_bytes(low).is_contributory().unwrap());
        }
    }

    #[test]
    fn check_addressed_accepts_the_right_slots_in_order_only() {
        let a = UnitKeyPair::generate().unwrap();
        let b = UnitKeyPair::generate().unwrap();
        let env = seal(b"x", &ctx(3), &[a.public, b.public]).unwrap();
        assert_eq!(
            check_addressed(&env, &[a.public, b.public]),
            Ok(2 + 2 * SLOT_LEN)
        );
        assert!(check_addressed(&env, &[b.public, a.public]).is_err());
        assert!(check_addressed(&env, &[a.public]).is_err());
        assert!(check_addressed(&env[..40], &[a.public, b.public]).is_err());
        let mut other_version = env.clone();
        other_version[0] = 9;
        assert_eq!(
            check_addressed(&other_version, &[a.public, b.public]),
            Err(CryptoError::Version(9))
        );
    }
}
