//! The log's signing key: Ed25519 (RFC 8032) in the `modern` suite, SM2
//! signatures (GB/T 32918.2, distinguishing identifier
//! "1234567812345678") in the `shangmi` suite.

use chrono::NaiveDate;
use ed25519_dalek::{Signer as _, Verifier as _};
use zeroize::Zeroizing;

use super::{Hash, LogError, SignedHead, promise_bytes};
use crate::crypto::Suite;

/// The SM2 distinguishing identifier GB/T 35276 names as the default.
const SM2_ID: &str = "1234567812345678";

/// The private key that signs tree heads and promises.
pub enum LogKey {
    Ed25519(ed25519_dalek::SigningKey),
    Sm2(sm2::dsa::SigningKey),
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogKey(<redacted>)")
    }
}

impl LogKey {
    pub fn generate(suite: Suite) -> Result<Self, LogError> {
        // Rejection sampling for SM2 (a scalar below the group order);
        // every 32 bytes are an Ed25519 seed.
        for _ in 0..64 {
            let mut bytes = Zeroizing::new([0u8; 32]);
            getrandom::fill(bytes.as_mut()).map_err(|_| LogError::Random)?;
            if let Ok(key) = Self::from_secret(suite, bytes.as_ref()) {
                return Ok(key);
            }
        }
        Err(LogError::Random)
    }

    /// The deployment's log key, derived from its pepper (which only the
    /// data folder holds, never the database): `HKDF(pepper, info =
    /// "sunlight/log-key/v1" ‖ counter)` with SHA-256 (modern) or SM3
    /// (shangmi), the counter a byte from 0 up to the first output that
    /// is a valid key (always 0 for Ed25519). A database writer cannot
    /// sign a head; replicas and a restored deployment sign with the same
    /// key as long as they keep the pepper.
    pub fn derive(suite: Suite, pepper: &[u8; 32]) -> Result<Self, LogError> {
        for counter in 0u8..=255 {
            let mut info = b"sunlight/log-key/v1".to_vec();
            info.push(counter);
            let mut okm = Zeroizing::new([0u8; 32]);
            match suite {
                Suite::Modern => hkdf::Hkdf::<sha2::Sha256>::new(None, pepper)
                    .expand(&info, okm.as_mut())
                    .map_err(|_| LogError::Key)?,
                Suite::ShangMi => {
                    crate::crypto::shangmi::hkdf_sm3(pepper, &[], &info, okm.as_mut())
                        .map_err(|_| LogError::Key)?
                }
            }
            if let Ok(key) = Self::from_secret(suite, okm.as_ref()) {
                return Ok(key);
            }
        }
        Err(LogError::Key)
    }

    /// From the 32 secret bytes: an Ed25519 seed, or SM2's big-endian
    /// scalar (1 ≤ d < n).
    pub fn from_secret(suite: Suite, bytes: &[u8]) -> Result<Self, LogError> {
        let bytes: &[u8; 32] = bytes.try_into().map_err(|_| LogError::Key)?;
        match suite {
            Suite::Modern => Ok(Self::Ed25519(ed25519_dalek::SigningKey::from_bytes(bytes))),
            Suite::ShangMi => sm2::dsa::SigningKey::from_slice(SM2_ID, bytes)
                .map(Self::Sm2)
                .map_err(|_| LogError::Key),
        }
    }

    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        match self {
            Self::Ed25519(k) => Zeroizing::new(k.to_bytes()),
            Self::Sm2(k) => Zeroizing::new(k.to_bytes().into()),
        }
    }

    pub fn suite(&self) -> Suite {
        match self {
            Self::Ed25519(_) => Suite::Modern,
            Self::Sm2(_) => Suite::ShangMi,
        }
    }

    pub fn public(&self) -> LogPublicKey {
        match self {
            Self::Ed25519(k) => LogPublicKey {
                suite: Suite::Modern,
                bytes: k.verifying_key().to_bytes().to_vec(),
            },
            Self::Sm2(k) => LogPublicKey {
                suite: Suite::ShangMi,
                bytes: k.verifying_key().to_sec1_bytes().to_vec(),
            },
        }
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, LogError> {
        match self {
            Self::Ed25519(k) => Ok(k.sign(msg).to_bytes().to_vec()),
            Self::Sm2(k) => k
                .try_sign(msg)
                .map(|s: sm2::dsa::Signature| s.to_bytes().to_vec())
                .map_err(|_| LogError::Sign),
        }
    }

    pub fn sign_head(&self, size: u64, root: Hash, day: NaiveDate) -> Result<SignedHead, LogError> {
        let signature = self.sign(&SignedHead::signed_bytes(size, &root, day))?;
        Ok(SignedHead {
            size,
            root,
            day,
            signature,
        })
    }

    /// The promise that `leaf` is in every head signed on a later day.
    pub fn promise(&self, leaf: &Hash, day: NaiveDate) -> Result<Vec<u8>, LogError> {
        self.sign(&promise_bytes(leaf, day))
    }
}

/// The public half: 32 bytes (Ed25519) or 65 (SM2, uncompressed SEC1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPublicKey {
    pub suite: Suite,
    pub bytes: Vec<u8>,
}

impl LogPublicKey {
    pub fn verify(&self, msg: &[u8], signature: &[u8]) -> bool {
        match self.suite {
            Suite::Modern => {
                let Ok(key_bytes) = <&[u8; 32]>::try_from(self.bytes.as_slice()) else {
                    return false;
                };
                let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(key_bytes) else {
                    return false;
                };
                let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
                    return false;
                };
                key.verify_strict(msg, &sig).is_ok()
            }
            Suite::ShangMi => {
                let Ok(key) = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_ID, &self.bytes) else {
                    return false;
                };
                let Ok(sig) = sm2::dsa::Signature::from_slice(signature) else {
                    return false;
                };
                key.verify(msg, &sig).is_ok()
            }
        }
    }
}
