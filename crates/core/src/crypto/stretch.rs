//! Tracking-code stretching: one Argon2id run turns a code into the lookup
//! key kept in the database and the reporter's X25519 secret.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{CryptoError, StretchParams, UnitPublicKey, UnitSecretKey, random_bytes};
use crate::TrackingCode;

/// Deployment-wide salt (stored with the settings) and pepper (kept in the
/// configuration or data folder, never in the database), so that a stolen
/// database alone cannot be searched for codes.
#[derive(Clone)]
pub struct DeploymentSecrets {
    pub salt: [u8; 16],
    pub pepper: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for DeploymentSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeploymentSecrets(<redacted>)")
    }
}

impl DeploymentSecrets {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self {
            salt: *random_bytes::<16>()?,
            pepper: random_bytes::<32>()?,
        })
    }
}

/// The two halves of a stretched code.
pub struct StretchedCode {
    /// Stored in `cases.lookup_key` (unique index).
    pub lookup_key: [u8; 32],
    /// The reporter's own key: the report is sealed to its public half, so
    /// the reporter can read their own report and staff replies back.
    pub reporter_secret: UnitSecretKey,
}

impl fmt::Debug for StretchedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StretchedCode(<redacted>)")
    }
}

impl StretchedCode {
    pub fn reporter_public(&self) -> UnitPublicKey {
        self.reporter_secret.public()
    }
}

/// Argon2id working memory for one stretch at a time, reusable.
pub struct StretchMemory {
    params: StretchParams,
    blocks: Vec<argon2::Block>,
}

impl fmt::Debug for StretchMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StretchMemory")
            .field("blocks", &self.blocks.len())
            .finish()
    }
}

impl StretchMemory {
    pub fn params(&self) -> StretchParams {
        self.params
    }

    pub(crate) fn blocks_mut(&mut self) -> &mut [argon2::Block] {
        &mut self.blocks
    }

    pub fn new(params: StretchParams) -> Result<Self, CryptoError> {
        let count = argon2::Params::new(params.m_kib, params.t, params.p, None)
            .map_err(|_| CryptoError::Params)?
            .block_count();
        Ok(Self {
            params,
            blocks: vec![argon2::Block::default(); count],
        })
    }
}

/// Stretches codes with fixed deployment secrets and parameters.
#[derive(Debug, Clone)]
pub struct CodeStretcher {
    secrets: DeploymentSecrets,
    params: StretchParams,
}

impl CodeStretcher {
    pub fn new(secrets: DeploymentSecrets, params: StretchParams) -> Self {
        Self { secrets, params }
    }

    pub fn params(&self) -> StretchParams {
        self.params
    }

    /// CPU- and memory-heavy (tens of milliseconds): callers bound how many
    /// run at once. Allocates its 19 MiB afresh; a server should keep a
    /// [`StretchMemory`] per worker and call [`Self::stretch_in`].
    pub fn stretch(&self, code: &TrackingCode) -> Result<StretchedCode, CryptoError> {
        let mut memory = StretchMemory::new(self.params)?;
        self.stretch_in(code, &mut memory)
    }

    /// `stretch` in caller-owned memory. Reusing one buffer per worker keeps
    /// the process's memory flat: measured, fresh 19 MiB allocations from
    /// many threads left glibc arenas holding 1.4 GiB after a minute of load.
    pub fn stretch_in(
        &self,
        code: &TrackingCode,
        memory: &mut StretchMemory,
    ) -> Result<StretchedCode, CryptoError> {
        if memory.params != self.params {
            *memory = StretchMemory::new(self.params)?;
        }
        let mut okm = Zeroizing::new([0u8; 64]);
        let result = self
            .params
            .argon2(Some(self.secrets.pepper.as_ref()))?
            .hash_password_into_with_memory(
                code.to_ascii().as_ref(),
                &self.secrets.salt,
                okm.as_mut(),
                memory.blocks.as_mut_slice(),
            );
        // The blocks are derived from the code: wipe them before reuse.
        memory.blocks.iter_mut().for_each(zeroize::Zeroize::zeroize);
        result.map_err(|_| CryptoError::Params)?;
        // Argon2 output is already uniform; HKDF separates the two uses so a
        // leaked lookup key says nothing about the reporter secret.
        let hk = Hkdf::<Sha256>::new(None, okm.as_ref());
        let mut lookup_key = [0u8; 32];
        let mut secret = Zeroizing::new([0u8; 32]);
        hk.expand(b"sunlight/code/v1/lookup", &mut lookup_key)
            .map_err(|_| CryptoError::Params)?;
        hk.expand(b"sunlight/code/v1/reporter-x25519", secret.as_mut())
            .map_err(|_| CryptoError::Params)?;
        let reporter_secret = UnitSecretKey::from_bytes(*secret);
        Ok(StretchedCode {
            lookup_key,
            reporter_secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_code_same_keys_other_code_or_pepper_other_keys() {
        let secrets = DeploymentSecrets::generate().unwrap();
        let s = CodeStretcher::new(secrets.clone(), StretchParams::TEST);
        let code = TrackingCode::generate().unwrap();
        let a = s.stretch(&code).unwrap();
        let b = s.stretch(&code).unwrap();
        assert_eq!(a.lookup_key, b.lookup_key);
        assert_eq!(a.reporter_public(), b.reporter_public());
        assert_ne!(&a.lookup_key[..], &a.reporter_public().as_bytes()[..]);

        let other = s.stretch(&TrackingCode::generate().unwrap()).unwrap();
        assert_ne!(a.lookup_key, other.lookup_key);

        let mut peppered = secrets;
        peppered.pepper = Zeroizing::new([7u8; 32]);
        let c = CodeStretcher::new(peppered, StretchParams::TEST)
            .stretch(&code)
            .unwrap();
        assert_ne!(a.lookup_key, c.lookup_key);
    }

    #[test]
    fn reused_memory_gives_the_same_keys() {
        let s = CodeStretcher::new(DeploymentSecrets::generate().unwrap(), StretchParams::TEST);
        let mut mem = StretchMemory::new(StretchParams::TEST).unwrap();
        for _ in 0..3 {
            let code = TrackingCode::generate().unwrap();
            let fresh = s.stretch(&code).unwrap();
            let reused = s.stretch_in(&code, &mut mem).unwrap();
            assert_eq!(fresh.lookup_key, reused.lookup_key);
            assert_eq!(fresh.reporter_public(), reused.reporter_public());
        }
        assert!(
            mem.blocks
                .iter()
                .all(|b| b.as_ref().iter().all(|w| *w == 0)),
            "wiped"
        );
    }
}
