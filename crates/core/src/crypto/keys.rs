//! Unit key pairs — X25519 (`modern`) or SM2 (`shangmi`) — and their
//! wrapped forms.

use std::fmt;

use data_encoding::BASE32_NOPAD;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::shangmi::{Sm2PublicKey, Sm2SecretKey};
use super::wrap::{KIND_MEMBER, KIND_PASSWORD, KIND_RECOVERY, unwrap, wrap};
use super::{CryptoError, PasswordKeys, SealContext, Suite, open, random_bytes, seal};

/// A unit's public key: what intake seals to. Its suite shows in its
/// length: 32 bytes for X25519, 65 (uncompressed SEC1) for SM2.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum UnitPublicKey {
    X25519(PublicKey),
    Sm2(Sm2PublicKey),
}

impl UnitPublicKey {
    /// An X25519 key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self::X25519(PublicKey::from(bytes))
    }

    /// Either kind, by length; an SM2 point off the curve is refused.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        match bytes.len() {
            32 => {
                let arr: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::Malformed)?;
                Ok(Self::from_bytes(arr))
            }
            65 => Sm2PublicKey::from_sec1(bytes).map(Self::Sm2),
            _ => Err(CryptoError::Malformed),
        }
    }

    /// The stored form: 32 bytes (X25519) or 65 (SM2, `04‖x‖y`).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::X25519(key) => key.as_bytes(),
            Self::Sm2(key) => key.as_sec1(),
        }
    }

    pub fn suite(&self) -> Suite {
        match self {
            Self::X25519(_) => Suite::Modern,
            Self::Sm2(_) => Suite::ShangMi,
        }
    }

    /// Whether an exchange with this key contributes to the shared secret:
    /// false for the X25519 low-order points (RFC 7748 §6.1), with which
    /// every sealing would yield the same, public, key. An SM2 key is a
    /// point of the prime-order curve other than the identity (checked when
    /// it was read), so it always contributes.
    pub fn is_contributory(&self) -> Result<bool, CryptoError> {
        match self {
            Self::X25519(key) => {
                let probe = StaticSecret::from(*super::random_bytes::<32>()?);
                Ok(probe.diffie_hellman(key).was_contributory())
            }
            Self::Sm2(_) => Ok(true),
        }
    }
}

impl fmt::Debug for UnitPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnitPublicKey({})", BASE32_NOPAD.encode(self.as_bytes()))
    }
}

/// One generation of a unit's private key, of either suite.
#[derive(Clone)]
pub(crate) enum SecretHalf {
    X25519(StaticSecret),
    Sm2(Sm2SecretKey),
}

/// The tag that marks an SM2 key in [`SecretHalf::encode`]; an X25519 key
/// has none (its 32 bytes predate the ShangMi suite).
const SM2_TAG: u8 = 2;

impl SecretHalf {
    pub(crate) fn public(&self) -> UnitPublicKey {
        match self {
            Self::X25519(key) => UnitPublicKey::X25519(PublicKey::from(key)),
            Self::Sm2(key) => UnitPublicKey::Sm2(key.public()),
        }
    }

    /// The 32-byte scalar or X25519 secret.
    pub(crate) fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        match self {
            Self::X25519(key) => Zeroizing::new(key.to_bytes()),
            Self::Sm2(key) => key.to_bytes(),
        }
    }

    pub(crate) fn from_suite_bytes(suite: Suite, bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        match suite {
            Suite::Modern => Ok(Self::X25519(StaticSecret::from(*bytes))),
            Suite::ShangMi => Sm2SecretKey::from_bytes(bytes).map(Self::Sm2),
        }
    }

    /// What a key sealed up the tree or to its successor holds: the 32
    /// X25519 bytes, or `0x02 ‖ d` (33 bytes) for SM2.
    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let bytes = self.to_bytes();
        let mut out = Zeroizing::new(Vec::with_capacity(33));
        if let Self::Sm2(_) = self {
            out.push(SM2_TAG);
        }
        out.extend_from_slice(bytes.as_ref());
        out
    }

    fn decode(plain: &[u8]) -> Result<Self, CryptoError> {
        let (suite, bytes) = match plain.split_first() {
            Some((&SM2_TAG, rest)) if rest.len() == 32 => (Suite::ShangMi, rest),
            _ if plain.len() == 32 => (Suite::Modern, plain),
            _ => return Err(CryptoError::Malformed),
        };
        let arr: Zeroizing<[u8; 32]> =
            Zeroizing::new(bytes.try_into().map_err(|_| CryptoError::Malformed)?);
        Self::from_suite_bytes(suite, &arr)
    }
}

/// A unit's private key. Exists unwrapped only in memory during a staff
/// session or a CLI command; zeroized on drop (by x25519-dalek, or the
/// `sm2` crate's secret key).
///
/// After a key rotation it also carries the unit's retired keys (newest
/// first), recovered from the key history, so material sealed before the
/// rotation still opens; only the current key is ever wrapped for a member
/// or sealed up the tree, and only its public half is sealed to. A
/// rotation may change the suite: the retired keys keep theirs.
#[derive(Clone)]
pub struct UnitSecretKey {
    current: SecretHalf,
    retired: Vec<SecretHalf>,
}

impl UnitSecretKey {
    /// The public half of the current key.
    pub fn public(&self) -> UnitPublicKey {
        self.current.public()
    }

    pub fn suite(&self) -> Suite {
        self.public().suite()
    }

    pub(crate) fn from_half(current: SecretHalf) -> Self {
        Self {
            current,
            retired: Vec::new(),
        }
    }

    /// An X25519 key from its 32 bytes.
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        Self::from_half(SecretHalf::X25519(StaticSecret::from(bytes)))
    }

    /// The current key, then the retired ones, newest first.
    pub(crate) fn generations(&self) -> impl Iterator<Item = &SecretHalf> {
        std::iter::once(&self.current).chain(&self.retired)
    }

    /// The public halves of every generation, current first.
    pub fn public_keys(&self) -> Vec<UnitPublicKey> {
        self.generations().map(SecretHalf::public).collect()
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
        Self::from_half(self.current.clone())
    }

    /// Seals the current private key to `recipient` in an ordinary
    /// envelope: escrow to the parent unit, and a retired key sealed to
    /// its successor.
    pub fn seal_to(
        &self,
        recipient: &UnitPublicKey,
        ctx: &SealContext<'_>,
    ) -> Result<Vec<u8>, CryptoError> {
        seal(&self.current.encode(), ctx, std::slice::from_ref(recipient))
    }

    /// Opens a key sealed by `seal_to` with `opener` (which may carry
    /// retired keys of its own).
    pub fn open_sealed(
        envelope: &[u8],
        ctx: &SealContext<'_>,
        opener: &UnitSecretKey,
    ) -> Result<Self, CryptoError> {
        let plain = open(envelope, ctx, opener)?;
        SecretHalf::decode(&plain).map(Self::from_half)
    }

    /// Wraps this key under a staff member's password-derived key.
    pub fn wrap_with_password(
        &self,
        keys: &PasswordKeys,
        unit: &str,
    ) -> Result<WrappedUnitKey, CryptoError> {
        wrap(KIND_PASSWORD, keys.kek(), unit, &self.current).map(WrappedUnitKey)
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
        wrap(KIND_MEMBER, keys.kek(), member, &self.current).map(WrappedUnitKey)
    }

    /// Wraps this key under the unit's recovery key.
    pub fn wrap_with_recovery(
        &self,
        recovery: &RecoveryKey,
        unit: &str,
    ) -> Result<WrappedUnitKey, CryptoError> {
        wrap(KIND_RECOVERY, &recovery.0, unit, &self.current).map(WrappedUnitKey)
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
    /// A key pair of the deployment's suite.
    pub fn generate(suite: Suite) -> Result<Self, CryptoError> {
        let half = match suite {
            Suite::Modern => SecretHalf::X25519(StaticSecret::from(*random_bytes::<32>()?)),
            Suite::ShangMi => SecretHalf::Sm2(Sm2SecretKey::generate()?),
        };
        let secret = UnitSecretKey::from_half(half);
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
/// key (layout in `wrap`). The AAD binds the unit id (or member), so a
/// wrapped key cannot be moved to another unit's row.
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
        unwrap(KIND_PASSWORD, keys.kek(), unit, &self.0).map(UnitSecretKey::from_half)
    }

    pub fn unwrap_with_recovery(
        &self,
        recovery: &RecoveryKey,
        unit: &str,
    ) -> Result<UnitSecretKey, CryptoError> {
        unwrap(KIND_RECOVERY, &recovery.0, unit, &self.0).map(UnitSecretKey::from_half)
    }

    /// Opens a member key wrapped by `wrap_as_member`.
    pub fn unwrap_as_member(
        &self,
        keys: &PasswordKeys,
        member: &str,
    ) -> Result<UnitSecretKey, CryptoError> {
        unwrap(KIND_MEMBER, keys.kek(), member, &self.0).map(UnitSecretKey::from_half)
    }

    /// Whether this is a member key (not a unit key wrapped directly under
    /// a password, as accounts made before key rotation hold).
    pub fn is_member_key(&self) -> bool {
        self.0.get(1) == Some(&KIND_MEMBER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::StretchParams;

    #[test]
    fn recovery_wrap_round_trip_and_unit_binding() {
        for suite in Suite::ALL {
            recovery_wrap_round_trip_and_unit_binding_in(suite);
        }
    }

    fn recovery_wrap_round_trip_and_unit_binding_in(suite: Suite) {
        let pair = UnitKeyPair::generate(suite).unwrap();
        let rk = RecoveryKey::generate().unwrap();
        let wrapped = pair.secret.wrap_with_recovery(&rk, "gd").unwrap();
        // The version byte names the key's suite; the length is the same.
        assert_eq!(
            wrapped.as_bytes()[0],
            if suite == Suite::ShangMi { 2 } else { 1 }
        );
        assert_eq!(wrapped.as_bytes().len(), 2 + 12 + 32 + 16);
        let back = wrapped.unwrap_with_recovery(&rk, "gd").unwrap();
        assert_eq!(back.public(), pair.public);
        let mut relabelled = wrapped.as_bytes().to_vec();
        relabelled[0] ^= 3;
        assert!(
            WrappedUnitKey::from_bytes(relabelled)
                .unwrap_with_recovery(&rk, "gd")
                .is_err()
        );
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
        for suite in Suite::ALL {
            retired_keys_in(suite);
        }
    }

    fn retired_keys_in(suite: Suite) {
        let old = UnitKeyPair::generate(suite).unwrap();
        let new = UnitKeyPair::generate(suite).unwrap();
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
        for suite in Suite::ALL {
            password_wrap_round_trip_in(suite);
        }
    }

    fn password_wrap_round_trip_in(suite: Suite) {
        let pair = UnitKeyPair::generate(suite).unwrap();
        let params = StretchParams::TEST;
        let (record, keys) = PasswordKeys::enroll(b"correct horse", params, suite).unwrap();
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
