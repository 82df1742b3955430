//! Unit key pairs (X25519) and their wrapped forms.

use std::fmt;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use data_encoding::BASE32_NOPAD;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::{CryptoError, PasswordKeys, SealContext, open, random_bytes, seal};

const WRAP_VERSION: u8 = 1;
const KIND_PASSWORD: u8 = 1;
const KIND_RECOVERY: u8 = 2;
const KIND_MEMBER: u8 = 3;

/// A unit's public key: what intake seals to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UnitPublicKey(PublicKey);

impl UnitPublicKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(PublicKey::from(bytes))
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::Malformed)?;
        Ok(Self::from_bytes(arr))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Whether an exchange with this key contributes to the shared secret:
    /// false for the low-order points (RFC 7748 §6.1), with which every
    /// sealing would yield the same, public, key.
    pub fn is_contributory(&self) -> Result<bool, CryptoError> {
        let probe = StaticSecret::from(*super::random_bytes::<32>()?);
        Ok(probe.diffie_hellman(&self.0).was_contributory())
    }

    pub(crate) fn inner(&self) -> &PublicKey {
        &self.0
    }
}

impl fmt::Debug for UnitPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UnitPublicKey({})",
            BASE32_NOPAD.encode(self.0.as_bytes())
        )
    }
}

/// A unit's private key. Exists unwrapped only in memory during a staff
/// session or a CLI command; zeroized on drop by x25519-dalek.
///
/// After a key rotation it also carries the unit's retired keys (newest
/// first), recovered from the key history, so material sealed before the
/// rotation still opens; only the current key is ever wrapped for a member
/// or sealed up the tree, and only its public half is sealed to.
#[derive(Clone)]
pub struct UnitSecretKey {
    current: StaticSecret,
    retired: Vec<StaticSecret>,
}

impl UnitSecretKey {
    /// The public half of the current key.
    pub fn public(&self) -> UnitPublicKey {
        UnitPublicKey(PublicKey::from(&self.current))
    }

    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            current: StaticSecret::from(bytes),
            retired: Vec::new(),
        }
    }

    pub(crate) fn inner(&self) -> &StaticSecret {
        &self.current
    }

    /// The current key, then the retired ones, newest first.
    pub(crate) fn generations(&self) -> impl Iterator<Item = &StaticSecret> {
        std::iter::once(&self.current).chain(&self.retired)
    }

    /// How many retired keys this key carries.
    pub fn retired_count(&self) -> usize {
        self.retired.len()
    }

    /// This key with `older` (a retired key, with its own retired ones)
    /// appended, so what was sealed to them opens too.
    #[must_use]
    pub fn with_retired(mut self, older: UnitSecretKey) -> Self {
        self.retired.push(older.current.clone());
        self.retired.extend(older.retired.iter().cloned());
        self
    }

    /// This key without its retired ones (what a rotation hands on).
    #[must_use]
    pub fn current_only(&self) -> Self {
        Self {
            current: self.current.clone(),
            retired: Vec::new(),
        }
    }

    /// Seals the current private key to `recipient` in an ordinary
    /// envelope: escrow to the parent unit, and a retired key sealed to
    /// its successor.
    pub fn seal_to(
        &self,
        recipient: &UnitPublicKey,
        ctx: &SealContext<'_>,
    ) -> Result<Vec<u8>, CryptoError> {
        let plain = Zeroizing::new(self.current.to_bytes());
        seal(plain.as_ref(), ctx, std::slice::from_ref(recipient))
    }

    /// Opens a key sealed by `seal_to` with `opener` (which may carry
    /// retired keys of its own).
    pub fn open_sealed(
        envelope: &[u8],
        ctx: &SealContext<'_>,
        opener: &UnitSecretKey,
    ) -> Result<Self, CryptoError> {
        let plain = open(envelope, ctx, opener)?;
        let arr: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Malformed)?;
        Ok(Self::from_bytes(arr))
    }

    /// Wraps this key under a staff member's password-derived key.
    pub fn wrap_with_password(
        &self,
        keys: &PasswordKeys,
        unit: &str,
    ) -> Result<WrappedUnitKey, CryptoError> {
        wrap(KIND_PASSWORD, keys.kek(), unit, self)
    }

    /// Wraps a member's own key pair's private half under their
    /// password-derived key, bound to `member` (their email): the member
    /// key opens the unit key sealed to the member, so an admin can hand
    /// a member a new unit key without knowing their password.
    pub fn wrap_as_member(
        &self,
        keys: &PasswordKeys,
        member: &str,
    ) -> Result<WrappedUnitKey, CryptoError> {
        wrap(KIND_MEMBER, keys.kek(), member, self)
    }

    /// Wraps this key under the unit's recovery key.
    pub fn wrap_with_recovery(
        &self,
        recovery: &RecoveryKey,
        unit: &str,
    ) -> Result<WrappedUnitKey, CryptoError> {
        wrap(KIND_RECOVERY, &recovery.0, unit, self)
    }
}

impl fmt::Debug for UnitSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnitSecretKey(<redacted>)")
    }
}

/// A fresh unit key pair.
#[derive(Debug)]
pub struct UnitKeyPair {
    pub secret: UnitSecretKey,
    pub public: UnitPublicKey,
}

impl UnitKeyPair {
    pub fn generate() -> Result<Self, CryptoError> {
        let bytes = random_bytes::<32>()?;
        let secret = UnitSecretKey::from_bytes(*bytes);
        let public = secret.public();
        Ok(Self { secret, public })
    }
}

/// 256 random bits shown once when a unit is created, as base32 in groups.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryKey(Zeroizing<[u8; 32]>);

impl RecoveryKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(random_bytes::<32>()?))
    }

    /// Reads the text form back; spaces, dashes and case are ignored.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let cleaned: Zeroizing<String> = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        let bytes = Zeroizing::new(
            BASE32_NOPAD
                .decode(cleaned.as_bytes())
                .map_err(|_| CryptoError::Malformed)?,
        );
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Malformed)?;
        Ok(Self(Zeroizing::new(arr)))
    }

    /// The text to show the operator once (groups of four base32 letters).
    pub fn reveal(&self) -> Zeroizing<String> {
        let raw = Zeroizing::new(BASE32_NOPAD.encode(self.0.as_ref()));
        let mut out = String::with_capacity(raw.len() + raw.len() / 4);
        for (i, c) in raw.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(c);
        }
        Zeroizing::new(out)
    }
}

impl fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryKey(<redacted>)")
    }
}

/// A unit private key sealed under a password-derived key or the recovery
/// key: `version | kind | nonce(12) | ciphertext(32 + 16)`. The AAD binds the
/// unit id, so a wrapped key cannot be moved to another unit's row.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedUnitKey(Vec<u8>);

impl fmt::Debug for WrappedUnitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrappedUnitKey({} bytes)", self.0.len())
    }
}

impl WrappedUnitKey {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn unwrap_with_password(
        &self,
        keys: &PasswordKeys,
        unit: &str,
    ) -> Result<UnitSecretKey, CryptoError> {
        unwrap(KIND_PASSWORD, keys.kek(), unit, &self.0)
    }

    pub fn unwrap_with_recovery(
        &self,
        recovery: &RecoveryKey,
        unit: &str,
    ) -> Result<UnitSecretKey, CryptoError> {
        unwrap(KIND_RECOVERY, &recovery.0, unit, &self.0)
    }

    /// Opens a member key wrapped by `wrap_as_member`.
    pub fn unwrap_as_member(
        &self,
        keys: &PasswordKeys,
        member: &str,
    ) -> Result<UnitSecretKey, CryptoError> {
        unwrap(KIND_MEMBER, keys.kek(), member, &self.0)
    }

    /// Whether this is a member key (not a unit key wrapped directly under
    /// a password, as accounts made before key rotation hold).
    pub fn is_member_key(&self) -> bool {
        self.0.get(1) == Some(&KIND_MEMBER)
    }
}

fn wrap_aad(kind: u8, unit: &str) -> Vec<u8> {
    let mut aad = b"sunlight/unit-key".to_vec();
    aad.extend([WRAP_VERSION, kind]);
    aad.extend(unit.as_bytes());
    aad
}

fn wrap(
    kind: u8,
    kek: &[u8; 32],
    unit: &str,
    secret: &UnitSecretKey,
) -> Result<WrappedUnitKey, CryptoError> {
    let nonce = random_bytes::<12>()?;
    let cipher = ChaCha20Poly1305::new(&Key::from(*kek));
    let plain = Zeroizing::new(secret.inner().to_bytes());
    let ct = cipher
        .encrypt(
            &Nonce::from(*nonce),
            Payload {
                msg: plain.as_ref(),
                aad: &wrap_aad(kind, unit),
            },
        )
        .map_err(|_| CryptoError::Open)?;
    let mut out = vec![WRAP_VERSION, kind];
    out.extend(nonce.iter());
    out.extend(ct);
    Ok(WrappedUnitKey(out))
}

fn unwrap(
    kind: u8,
    kek: &[u8; 32],
    unit: &str,
    bytes: &[u8],
) -> Result<UnitSecretKey, CryptoError> {
    let (&version, rest) = bytes.split_first().ok_or(CryptoError::Malformed)?;
    if version != WRAP_VERSION {
        return Err(CryptoError::Version(version));
    }
    let (&found_kind, rest) = rest.split_first().ok_or(CryptoError::Malformed)?;
    if found_kind != kind || rest.len() != 12 + 32 + 16 {
        return Err(CryptoError::Malformed);
    }
    let (nonce, ct) = rest.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
    let cipher = ChaCha20Poly1305::new(&Key::from(*kek));
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: &wrap_aad(kind, unit),
                },
            )
            .map_err(|_| CryptoError::Open)?,
    );
    let arr: [u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::Malformed)?;
    Ok(UnitSecretKey::from_bytes(arr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::StretchParams;

    #[test]
    fn recovery_wrap_round_trip_and_unit_binding() {
        let pair = UnitKeyPair::generate().unwrap();
        let rk = RecoveryKey::generate().unwrap();
        let wrapped = pair.secret.wrap_with_recovery(&rk, "gd").unwrap();
        let back = wrapped.unwrap_with_recovery(&rk, "gd").unwrap();
        assert_eq!(back.public(), pair.public);
        assert_eq!(
            wrapped.unwrap_with_recovery(&rk, "gx").unwrap_err(),
            CryptoError::Open
        );
        let other = RecoveryKey::generate().unwrap();
        assert_eq!(
            wrapped.unwrap_with_recovery(&other, "gd").unwrap_err(),
            CryptoError::Open
        );
        let reparsed = RecoveryKey::parse(&rk.reveal().to_lowercase()).unwrap();
        assert_eq!(reparsed, rk);
    }

    #[test]
    fn retired_keys_open_old_material_and_only_the_current_key_is_handed_on() {
        let old = UnitKeyPair::generate().unwrap();
        let new = UnitKeyPair::generate().unwrap();
        let ctx = |item: &'static [u8]| SealContext {
            case_id: crate::CaseId::from_uuid(uuid::Uuid::nil()),
            item,
        };
        let before = seal(b"before", &ctx(b"report"), &[old.public]).unwrap();
        let after = seal(b"after", &ctx(b"report"), &[new.public]).unwrap();
        // The retired key travels sealed to its successor.
        let history = old.secret.seal_to(&new.public, &ctx(b"history")).unwrap();
        let retired = UnitSecretKey::open_sealed(&history, &ctx(b"history"), &new.secret).unwrap();
        assert_eq!(retired.public(), old.public);
        assert!(UnitSecretKey::open_sealed(&history, &ctx(b"escrow"), &new.secret).is_err());
        let ring = new.secret.clone().with_retired(retired);
        assert_eq!(ring.public(), new.public);
        assert_eq!(ring.retired_count(), 1);
        assert_eq!(
            open(&before, &ctx(b"report"), &ring).unwrap().as_slice(),
            b"before"
        );
        assert_eq!(
            open(&after, &ctx(b"report"), &ring).unwrap().as_slice(),
            b"after"
        );
        // The old key alone opens nothing sealed after the rotation.
        assert_eq!(
            open(&after, &ctx(b"report"), &old.secret).unwrap_err(),
            CryptoError::Open
        );
        // What is wrapped for a member is the current key only.
        let rk = RecoveryKey::generate().unwrap();
        let wrapped = ring.wrap_with_recovery(&rk, "gd").unwrap();
        let back = wrapped.unwrap_with_recovery(&rk, "gd").unwrap();
        assert_eq!(back.retired_count(), 0);
        assert!(open(&before, &ctx(b"report"), &back).is_err());
        assert_eq!(ring.current_only().retired_count(), 0);
    }

    #[test]
    fn password_wrap_round_trip() {
        let pair = UnitKeyPair::generate().unwrap();
        let params = StretchParams::TEST;
        let (record, keys) = PasswordKeys::enroll(b"correct horse", params).unwrap();
        let wrapped = pair.secret.wrap_with_password(&keys, "gd").unwrap();
        let again = record.verify(b"correct horse").unwrap();
        assert_eq!(
            wrapped.unwrap_with_password(&again, "gd").unwrap().public(),
            pair.public
        );
        assert_eq!(
            record.verify(b"wrong").unwrap_err(),
            CryptoError::WrongPassword
        );
        // A recovery-kind unwrap of a password-kind envelope is refused.
        let rk = RecoveryKey::generate().unwrap();
        assert!(wrapped.unwrap_with_recovery(&rk, "gd").is_err());
    }
}
