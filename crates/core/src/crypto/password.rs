//! Staff passwords. One Argon2id run per sign-in yields both the login
//! verifier and the key-encryption key that unwraps the staff member's copy
//! of the unit key, so the server never keeps anything that opens a unit key
//! without the password.

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::shangmi::hkdf_sm3;
use super::{CryptoError, Suite, random_bytes};

/// Version 1 separates the verifier and the KEK with HKDF-SHA256, version 2
/// (the ShangMi suite) with HKDF-SM3; the layout is the same.
const RECORD_VERSION: u8 = 1;
const RECORD_VERSION_SM3: u8 = 2;
/// Longer inputs are refused before the slow function runs (audit finding:
/// unbounded input fed to a KDF).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Upper bounds accepted from a stored record: 1 GiB, 16 passes, 8 lanes.
const MAX_M_KIB: u32 = 1 << 20;
const MAX_T: u32 = 16;
const MAX_P: u32 = 8;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StretchParams {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl StretchParams {
    /// Staff passwords: OWASP's first Argon2id line (m=19 MiB, t=2, p=1).
    pub const PASSWORD: Self = Self {
        m_kib: 19 * 1024,
        t: 2,
        p: 1,
    };
    /// Tracking codes: same cost; the code already carries 63 random bits and
    /// the deployment pepper, and every submission and status lookup pays it.
    pub const CODE: Self = Self {
        m_kib: 19 * 1024,
        t: 2,
        p: 1,
    };
    /// Tests only: cheap, never accepted from configuration.
    pub const TEST: Self = Self {
        m_kib: 64,
        t: 1,
        p: 1,
    };

    pub(crate) fn argon2<'k>(&self, secret: Option<&'k [u8]>) -> Result<Argon2<'k>, CryptoError> {
        let params =
            Params::new(self.m_kib, self.t, self.p, None).map_err(|_| CryptoError::Params)?;
        match secret {
            Some(pepper) => {
                Argon2::new_with_secret(pepper, Algorithm::Argon2id, Version::V0x13, params)
                    .map_err(|_| CryptoError::Params)
            }
            None => Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params)),
        }
    }
}

/// What the database keeps about a password:
/// `version | m_kib u32 | t u32 | p u32 | salt(16) | verifier(32)`.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordRecord {
    suite: Suite,
    params: StretchParams,
    salt: [u8; 16],
    verifier: [u8; 32],
}

impl fmt::Debug for PasswordRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordRecord")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// Keys derived from a password; the KEK is zeroized on drop.
pub struct PasswordKeys {
    verifier: [u8; 32],
    kek: Zeroizing<[u8; 32]>,
    suite: Suite,
}

impl fmt::Debug for PasswordKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordKeys(<redacted>)")
    }
}

impl PasswordKeys {
    /// A new password: fresh salt, derived keys and the record to store,
    /// with the KDF of the deployment's suite.
    pub fn enroll(
        password: &[u8],
        params: StretchParams,
        suite: Suite,
    ) -> Result<(PasswordRecord, PasswordKeys), CryptoError> {
        let salt = *random_bytes::<16>()?;
        let keys = derive(password, &salt, params, suite)?;
        let record = PasswordRecord {
            suite,
            params,
            salt,
            verifier: keys.verifier,
        };
        Ok((record, keys))
    }

    pub(crate) fn kek(&self) -> &[u8; 32] {
        &self.kek
    }

    /// The suite the password was enrolled in: a member key made with these
    /// keys is of the same suite.
    pub fn suite(&self) -> Suite {
        self.suite
    }
}

impl PasswordRecord {
    /// Checks a password in constant time; on success returns the keys that
    /// unwrap this member's copy of the unit key.
    pub fn verify(&self, password: &[u8]) -> Result<PasswordKeys, CryptoError> {
        let keys = derive(password, &self.salt, self.params, self.suite)?;
        if bool::from(keys.verifier.ct_eq(&self.verifier)) {
            Ok(keys)
        } else {
            Err(CryptoError::WrongPassword)
        }
    }

    /// `verify` in caller-owned Argon2 memory (resized when this record's
    /// parameters differ), so a server's sign-ins keep its memory flat like
    /// its code stretches (see `CodeStretcher::stretch_in`). The memory is
    /// wiped before it is handed back.
    pub fn verify_in(
        &self,
        password: &[u8],
        memory: &mut super::StretchMemory,
    ) -> Result<PasswordKeys, CryptoError> {
        if memory.params() != self.params {
            *memory = super::StretchMemory::new(self.params)?;
        }
        let keys = derive_in(
            password,
            &self.salt,
            self.params,
            self.suite,
            memory.blocks_mut(),
        );
        memory.wipe();
        let keys = keys?;
        if bool::from(keys.verifier.ct_eq(&self.verifier)) {
            Ok(keys)
        } else {
            Err(CryptoError::WrongPassword)
        }
    }

    /// Runs the same work as `verify` for an unknown account, so that a
    /// missing account and a wrong password take the same time.
    pub fn burn(password: &[u8]) {
        let _ignored =
            derive(password, &[0u8; 16], StretchParams::PASSWORD, Suite::Modern).map(|_| ());
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let version = match self.suite {
            Suite::Modern => RECORD_VERSION,
            Suite::ShangMi => RECORD_VERSION_SM3,
        };
        let mut out = vec![version];
        out.extend(self.params.m_kib.to_be_bytes());
        out.extend(self.params.t.to_be_bytes());
        out.extend(self.params.p.to_be_bytes());
        out.extend(self.salt);
        out.extend(self.verifier);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let (&version, rest) = bytes.split_first().ok_or(CryptoError::Malformed)?;
        let suite = match version {
            RECORD_VERSION => Suite::Modern,
            RECORD_VERSION_SM3 => Suite::ShangMi,
            other => return Err(CryptoError::Version(other)),
        };
        if rest.len() != 12 + 16 + 32 {
            return Err(CryptoError::Malformed);
        }
        let word = |i: usize| -> Result<u32, CryptoError> {
            let b: [u8; 4] = rest
                .get(i..i + 4)
                .and_then(|s| s.try_into().ok())
                .ok_or(CryptoError::Malformed)?;
            Ok(u32::from_be_bytes(b))
        };
        let params = StretchParams {
            m_kib: word(0)?,
            t: word(4)?,
            p: word(8)?,
        };
        // A tampered row must not make a sign-in allocate gigabytes.
        if params.m_kib > MAX_M_KIB || params.t > MAX_T || params.p > MAX_P {
            return Err(CryptoError::Params);
        }
        let salt = rest
            .get(12..28)
            .and_then(|s| s.try_into().ok())
            .ok_or(CryptoError::Malformed)?;
        let verifier = rest
            .get(28..60)
            .and_then(|s| s.try_into().ok())
            .ok_or(CryptoError::Malformed)?;
        Ok(Self {
            suite,
            params,
            salt,
            verifier,
        })
    }
}

/// `derive_in` with memory of its own, dropped afterwards.
fn derive(
    password: &[u8],
    salt: &[u8; 16],
    params: StretchParams,
    suite: Suite,
) -> Result<PasswordKeys, CryptoError> {
    let mut memory = super::StretchMemory::new(params)?;
    derive_in(password, salt, params, suite, memory.blocks_mut())
}

fn derive_in(
    password: &[u8],
    salt: &[u8; 16],
    params: StretchParams,
    suite: Suite,
    blocks: &mut [argon2::Block],
) -> Result<PasswordKeys, CryptoError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(CryptoError::WrongPassword);
    }
    let mut master = Zeroizing::new([0u8; 32]);
    params
        .argon2(None)?
        .hash_password_into_with_memory(password, salt, master.as_mut(), blocks)
        .map_err(|_| CryptoError::Params)?;
    keys_from(&master, suite)
}

/// The verifier and the key-encryption key, separated by HKDF (over SM3
/// in the ShangMi suite, with its own labels).
fn keys_from(master: &[u8; 32], suite: Suite) -> Result<PasswordKeys, CryptoError> {
    let mut verifier = [0u8; 32];
    let mut kek = Zeroizing::new([0u8; 32]);
    match suite {
        Suite::Modern => {
            let hk = Hkdf::<Sha256>::new(None, master.as_ref());
            hk.expand(b"sunlight/password/v1/verifier", &mut verifier)
                .map_err(|_| CryptoError::Params)?;
            hk.expand(b"sunlight/password/v1/kek", kek.as_mut())
                .map_err(|_| CryptoError::Params)?;
        }
        Suite::ShangMi => {
            hkdf_sm3(master, &[], b"sunlight/password/v2/verifier", &mut verifier)?;
            hkdf_sm3(master, &[], b"sunlight/password/v2/kek", kek.as_mut())?;
        }
    }
    Ok(PasswordKeys {
        verifier,
        kek,
        suite,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_through_bytes() {
        for suite in Suite::ALL {
            record_round_trips_through_bytes_in(suite);
        }
        let (modern, _) = PasswordKeys::enroll(b"pw", StretchParams::TEST, Suite::Modern).unwrap();
        let (sm3, _) = PasswordKeys::enroll(b"pw", StretchParams::TEST, Suite::ShangMi).unwrap();
        assert_eq!(modern.to_bytes()[0], 1);
        assert_eq!(sm3.to_bytes()[0], 2);
    }

    fn record_round_trips_through_bytes_in(suite: Suite) {
        let (record, _) = PasswordKeys::enroll(b"pw", StretchParams::TEST, suite).unwrap();
        let back = PasswordRecord::from_bytes(&record.to_bytes()).unwrap();
        assert_eq!(back, record);
        assert!(back.verify(b"pw").is_ok());
        // Reused memory gives the same keys, whatever size it had before.
        let mut memory = crate::crypto::StretchMemory::new(StretchParams::PASSWORD).unwrap();
        let reused = back.verify_in(b"pw", &mut memory).unwrap();
        assert_eq!(reused.kek(), back.verify(b"pw").unwrap().kek());
        assert!(back.verify_in(b"px", &mut memory).is_err());
        assert!(PasswordRecord::from_bytes(&[1, 2, 3]).is_err());
        assert!(PasswordRecord::from_bytes(&[9; 61]).is_err());
        let mut huge = record.to_bytes();
        huge[1..5].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            PasswordRecord::from_bytes(&huge).unwrap_err(),
            CryptoError::Params
        );
    }

    #[test]
    fn overlong_passwords_are_refused_before_hashing() {
        let (record, _) = PasswordKeys::enroll(b"pw", StretchParams::TEST, Suite::ShangMi).unwrap();
        assert_eq!(
            record.verify(&[b'a'; 5000]).unwrap_err(),
            CryptoError::WrongPassword
        );
    }
}
