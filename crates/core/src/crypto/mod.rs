//! Sealing and key handling. Parameters and their reasons are in
//! `docs/crypto.md`; every envelope starts with a version byte so the format
//! can move on without guessing.

mod authenticated;
mod envelope;
mod keys;
mod password;
mod second_factor;
pub mod shangmi;
mod stream;
mod stretch;
mod suite;
mod wrap;

pub use authenticated::{
    AUTHENTICATED, Sealed, TagBy, Tagged, authenticate, seal_authenticated, tag_bytes, verify_bytes,
};
pub use envelope::{
    Opener, SealContext, addressed_to, addressed_to_any, check_addressed, open, seal,
};
pub use keys::{RecoveryKey, UnitKeyPair, UnitPublicKey, UnitSecretKey, WrappedUnitKey};
pub use password::{
    PBKDF2_SM3_ROUNDS, PasswordKeys, PasswordPolicy, PasswordRecord, StretchParams,
};
pub use second_factor::{
    RECOVERY_CODES, RECOVERY_HASH, new_recovery_codes, recovery_hash, spend_recovery_code,
};
pub use stream::{AttachmentOpener, AttachmentSealer, CHUNK_SIZE, SEALED_CHUNK_SIZE};
pub use stretch::{
    CodeScheme, CodeStretch, CodeStretcher, DeploymentSecrets, LookupToken, ReporterShare,
    StretchMemory, StretchedCode,
};
pub use suite::{Suite, UnknownSuite};

/// Everything that can go wrong with keys and envelopes. Deliberately coarse
/// where detail would help an attacker (a failed open says only that).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the system's random generator failed")]
    Random,
    #[error("unknown envelope version {0}")]
    Version(u8),
    #[error("malformed envelope")]
    Malformed,
    #[error("cannot open: wrong key or altered data")]
    Open,
    #[error("no recipients given")]
    NoRecipients,
    #[error("invalid key derivation parameters")]
    Params,
    #[error("wrong password")]
    WrongPassword,
    #[error("attachment stream too long")]
    StreamTooLong,
    /// Staff material whose tag no key of its named signer made: written
    /// by someone without the unit key, or altered.
    #[error("staff material failed its authentication: forged or altered")]
    Forged,
}

pub(crate) fn random_bytes<const N: usize>() -> Result<zeroize::Zeroizing<[u8; N]>, CryptoError> {
    let mut out = zeroize::Zeroizing::new([0u8; N]);
    getrandom::fill(out.as_mut()).map_err(|_| CryptoError::Random)?;
    Ok(out)
}
