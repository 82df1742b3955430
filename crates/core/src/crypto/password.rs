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
/// (the ShangMi suite) with HKDF-SM3; version 3 is PBKDF2-HMAC-SM3 in place
/// of Argon2id, then HKDF-SM3. The layout is the same.
const RECORD_VERSION: u8 = 1;
const RECORD_VERSION_SM3: u8 = 2;
const RECORD_VERSION_PBKDF2_SM3: u8 = 3;

/// PBKDF2-HMAC-SM3 rounds for a new password: OWASP's count for
/// PBKDF2-HMAC-SHA256, as SM3 costs about what SHA-256 does (measured by
/// `sunlight bench`, docs/performance.md).
pub const PBKDF2_SM3_ROUNDS: u32 = 600_000;
/// Upper bound accepted from a stored record, so a tampered row cannot make
/// a sign-in run for minutes.
const MAX_ROUNDS: u32 = 10_000_000;

/// How a deployment turns new staff passwords into keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordPolicy {
    /// Argon2id with these costs; the verifier and KEK separated with the
    /// suite's HKDF (record version 1 or 2).
    Argon2id { params: StretchParams, suite: Suite },
    /// PBKDF2-HMAC-SM3 (record version 3): the fallback a ShangMi
    /// assessor may ask for (docs/crypto.md, "For the assessor").
    Pbkdf2Sm3 { rounds: u32 },
}

impl PasswordPolicy {
    /// A new password's record and keys under this policy.
    pub fn enroll(self, password: &[u8]) -> Result<(PasswordRecord, PasswordKeys), CryptoError> {
        match self {
            Self::Argon2id { params, suite } => PasswordKeys::enroll(password, params, suite),
            Self::Pbkdf2Sm3 { rounds } => {
                if rounds == 0 || rounds > MAX_ROUNDS {
                    return Err(CryptoError::Params);
                }
                let salt = *random_bytes::<16>()?;
                let keys = pbkdf2_keys(password, &salt, rounds)?;
                let record = PasswordRecord {
                    suite: Suite::ShangMi,
                    kdf: Kdf::Pbkdf2Sm3(rounds),
                    salt,
                    verifier: keys.verifier,
                };
                Ok((record, keys))
            }
        }
    }
}

/// The slow function of a stored record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kdf {
    Argon2id(StretchParams),
    Pbkdf2Sm3(u32),
}
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
/// `version | m_kib u32 | t u32 | p u32 | salt(16) | verifier(32)`, or for
/// version 3 `3 | rounds u32 | 0 u32 | 0 u32 | salt(16) | verifier(32)`.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordRecord {
    suite: Suite,
    kdf: Kdf,
    salt: [u8; 16],
    verifier: [u8; 32],
}

impl fmt::Debug for PasswordRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordRecord")
            .field("kdf", &self.kdf)
            .finish_non_exhaustive()
    }
}

/// PBKDF2-HMAC-SM3 of the password, then the ShangMi key separation.
fn pbkdf2_keys(password: &[u8], salt: &[u8; 16], rounds: u32) -> Result<PasswordKeys, CryptoError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(CryptoError::WrongPassword);
    }
    let mut master = Zeroizing::new([0u8; 32]);
    super::shangmi::pbkdf2_sm3(password, salt, rounds, master.as_mut())?;
    keys_from(&master, Suite::ShangMi)
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
            kdf: Kdf::Argon2id(params),
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
        let keys = match self.kdf {
            Kdf::Argon2id(params) => derive(password, &self.salt, params, self.suite)?,
            Kdf::Pbkdf2Sm3(rounds) => pbkdf2_keys(password, &self.salt, rounds)?,
        };
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
        let Kdf::Argon2id(params) = self.kdf else {
            return self.verify(password);
        };
        if memory.params() != params {
            *memory = super::StretchMemory::new(params)?;
        }
        let keys = derive_in(
            password,
            &self.salt,
            params,
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
        let (version, words) = match (self.kdf, self.suite) {
            (Kdf::Pbkdf2Sm3(rounds), _) => (RECORD_VERSION_PBKDF2_SM3, [rounds, 0, 0]),
            (Kdf::Argon2id(p), Suite::Modern) => (RECORD_VERSION, [p.m_kib, p.t, p.p]),
            (Kdf::Argon2id(p), Suite::ShangMi) => (RECORD_VERSION_SM3, [p.m_kib, p.t, p.p]),
        };
        let mut out = vec![version];
        for word in words {
            out.extend(word.to_be_bytes());
        }
        out.extend(self.salt);
        out.extend(self.verifier);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let (&version, rest) = bytes.split_first().ok_or(CryptoError::Malformed)?;
        let suite = match version {
            RECORD_VERSION => Suite::Modern,
            RECORD_VERSION_SM3 | RECORD_VERSION_PBKDF2_SM3 => Suite::ShangMi,
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
        let kdf = if version == RECORD_VERSION_PBKDF2_SM3 {
            let rounds = word(0)?;
            // A tampered row must not make a sign-in run for minutes.
            if rounds == 0 || rounds > MAX_ROUNDS || word(4)? != 0 || word(8)? != 0 {
                return Err(CryptoError::Params);
            }
            Kdf::Pbkdf2Sm3(rounds)
        } else {
            let params = StretchParams {
                m_kib: word(0)?,
                t: word(4)?,
                p: word(8)?,
            };
            // A tampered row must not make a sign-in allocate gigabytes.
            if params.m_kib > MAX_M_KIB || params.t > MAX_T || params.p > MAX_P {
                return Err(CryptoError::Params);
            }
            Kdf::Argon2id(params)
        };
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
            kdf,
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
    fn a_pbkdf2_sm3_record_is_version_3_and_opens_what_its_password_opens() {
        let policy = PasswordPolicy::Pbkdf2Sm3 { rounds: 1000 };
        let (record, keys) = policy.enroll(b"pw").unwrap();
        let bytes = record.to_bytes();
        assert_eq!(bytes.len(), 61);
        assert_eq!(bytes[0], 3);
        assert_eq!(&bytes[1..13], &[0, 0, 3, 0xe8, 0, 0, 0, 0, 0, 0, 0, 0]);
        let back = PasswordRecord::from_bytes(&bytes).unwrap();
        assert_eq!(back, record);
        assert_eq!(keys.suite(), Suite::ShangMi);
        assert_eq!(back.verify(b"pw").unwrap().kek(), keys.kek());
        let mut memory = crate::crypto::StretchMemory::new(StretchParams::TEST).unwrap();
        assert_eq!(
            back.verify_in(b"pw", &mut memory).unwrap().kek(),
            keys.kek()
        );
        assert_eq!(back.verify(b"px").unwrap_err(), CryptoError::WrongPassword);
        // The KEK is PBKDF2-HMAC-SM3 then HKDF-SM3, computed independently.
        let mut master = [0u8; 32];
        crate::crypto::shangmi::pbkdf2_sm3(b"pw", &bytes[13..29], 1000, &mut master).unwrap();
        let mut kek = [0u8; 32];
        crate::crypto::shangmi::hkdf_sm3(&master, &[], b"sunlight/password/v2/kek", &mut kek)
            .unwrap();
        assert_eq!(keys.kek(), &kek);
        // Tampered counts are refused before any work.
        for bad in [0u32, MAX_ROUNDS + 1] {
            let mut t = bytes.clone();
            t[1..5].copy_from_slice(&bad.to_be_bytes());
            assert_eq!(
                PasswordRecord::from_bytes(&t).unwrap_err(),
                CryptoError::Params
            );
        }
        let mut t = bytes.clone();
        t[8] = 1;
        assert_eq!(
            PasswordRecord::from_bytes(&t).unwrap_err(),
            CryptoError::Params
        );
        assert!(
            PasswordPolicy::Pbkdf2Sm3 { rounds: 0 }
                .enroll(b"pw")
                .is_err()
        );
        // The Argon2id policy is `enroll` itself.
        let (argon, _) = PasswordPolicy::Argon2id {
            params: StretchParams::TEST,
            suite: Suite::ShangMi,
        }
        .enroll(b"pw")
        .unwrap();
        assert_eq!(argon.to_bytes()[0], 2);
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
