//! Tracking-code stretching: one Argon2id run turns a code into the lookup
//! key kept in the database and the reporter's secret key (X25519, or SM2
//! in the ShangMi suite).
//!
//! Scheme 2 (every case filed since): the stretch takes no secret, so the
//! reporter's browser can run it; the pepper enters afterwards, on the
//! server, through two HMACs of the lookup token (docs/crypto.md):
//!
//! ```text
//! okm      = Argon2id(code ASCII, salt, m, t, p, no secret, 64 bytes)
//! token    = HKDF-SHA256(ikm = okm, salt = "", info = "sunlight/code/v2/lookup")       (32)
//! index    = HMAC-SHA256(pepper, "sunlight/code/v2/index" | token)   stored in cases.lookup_key
//! share    = HMAC-SHA256(pepper, "sunlight/code/v2/reporter" | token)
//! reporter = HKDF-SHA256(ikm = okm, salt = share, info = "sunlight/code/v2/reporter-x25519") (32)
//! ```
//!
//! Scheme 3 (cases filed under the ShangMi suite) is scheme 2 with SM3 in
//! place of SHA-256 and an SM2 reporter key; the server runs it (no
//! browser path seals in this suite, docs/crypto.md):
//!
//! ```text
//! token    = HKDF-SM3(ikm = okm, salt = "", info = "sunlight/code/v3/lookup")       (32)
//! index    = HMAC-SM3(pepper, "sunlight/code/v3/index" | token)
//! share    = HMAC-SM3(pepper, "sunlight/code/v3/reporter" | token)
//! reporter = d = the first HKDF-SM3(ikm = okm, salt = share,
//!                info = "sunlight/code/v3/reporter-sm2" | i) for i = 0, 1, … with 1 ≤ d < n
//! ```
//!
//! Scheme 1 (cases filed before) passed the pepper to Argon2id as its
//! secret; it is kept only to find those cases.

use std::fmt;

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::keys::SecretHalf;
use super::shangmi::{hkdf_sm3, hmac_sm3};
use super::{CryptoError, StretchParams, Suite, UnitPublicKey, UnitSecretKey, random_bytes};
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

/// Which derivation a case's code was stretched with (`cases.code_scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeScheme {
    /// Argon2id with the pepper as its secret; before browser sealing.
    PepperedStretch = 1,
    /// Argon2id without a secret, the pepper applied to its output.
    KeyedIndex = 2,
    /// Scheme 2 with SM3 and an SM2 reporter key (the ShangMi suite).
    ShangMi = 3,
}

impl CodeScheme {
    pub fn as_i16(self) -> i16 {
        self as i16
    }

    pub fn from_i16(n: i16) -> Option<Self> {
        match n {
            1 => Some(Self::PepperedStretch),
            2 => Some(Self::KeyedIndex),
            3 => Some(Self::ShangMi),
            _ => None,
        }
    }

    /// The scheme new cases of a suite are filed with.
    pub fn of(suite: Suite) -> Self {
        match suite {
            Suite::Modern => Self::KeyedIndex,
            Suite::ShangMi => Self::ShangMi,
        }
    }
}

/// The two halves of a stretched code.
pub struct StretchedCode {
    /// Stored in `cases.lookup_key` (unique index).
    pub lookup_key: [u8; 32],
    /// The reporter's own key: the report is sealed to its public half, so
    /// the reporter can read their own report and staff replies back.
    pub reporter_secret: UnitSecretKey,
    pub scheme: CodeScheme,
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

/// What a reporter's side (the browser, or intake for a reporter without
/// JavaScript) sends instead of the code: a one-way function of the
/// stretched code that opens nothing by itself.
#[derive(Clone, PartialEq, Eq)]
pub struct LookupToken(pub [u8; 32]);

impl fmt::Debug for LookupToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LookupToken(<redacted>)")
    }
}

/// The pepper's answer to a token: what the reporter's side needs besides
/// the stretch to derive the reporter key.
#[derive(Clone)]
pub struct ReporterShare(pub Zeroizing<[u8; 32]>);

impl fmt::Debug for ReporterShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReporterShare(<redacted>)")
    }
}

/// The output of one scheme-2 stretch, held only by the reporter's side.
pub struct CodeStretch {
    okm: Zeroizing<[u8; 64]>,
}

impl fmt::Debug for CodeStretch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeStretch(<redacted>)")
    }
}

fn expand(
    okm: &[u8],
    salt: Option<&[u8]>,
    info: &[u8],
) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let mut out = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(salt, okm)
        .expand(info, out.as_mut())
        .map_err(|_| CryptoError::Params)?;
    Ok(out)
}

impl CodeStretch {
    /// Argon2id of the code under the deployment's public salt and
    /// parameters, in caller-owned memory (wiped afterwards).
    pub fn run(
        code: &TrackingCode,
        salt: &[u8; 16],
        params: StretchParams,
        memory: &mut StretchMemory,
    ) -> Result<Self, CryptoError> {
        let okm = argon2_in(code, salt, params, None, memory)?;
        Ok(Self { okm })
    }

    pub fn lookup_token(&self) -> Result<LookupToken, CryptoError> {
        Ok(LookupToken(*expand(
            self.okm.as_ref(),
            None,
            b"sunlight/code/v2/lookup",
        )?))
    }

    pub fn reporter_secret(&self, share: &ReporterShare) -> Result<UnitSecretKey, CryptoError> {
        let secret = expand(
            self.okm.as_ref(),
            Some(share.0.as_ref()),
            b"sunlight/code/v2/reporter-x25519",
        )?;
        Ok(UnitSecretKey::from_bytes(*secret))
    }

    /// Scheme 3's token (HKDF-SM3).
    fn sm3_token(&self) -> Result<LookupToken, CryptoError> {
        let mut token = [0u8; 32];
        hkdf_sm3(
            self.okm.as_ref(),
            &[],
            b"sunlight/code/v3/lookup",
            &mut token,
        )?;
        Ok(LookupToken(token))
    }

    /// Scheme 3's SM2 reporter key: the first HKDF-SM3 output that is a
    /// valid scalar (each try fails with probability about 2^-32).
    fn sm2_reporter_secret(&self, share: &ReporterShare) -> Result<UnitSecretKey, CryptoError> {
        for i in 0..=u8::MAX {
            let mut d = Zeroizing::new([0u8; 32]);
            let info = [b"sunlight/code/v3/reporter-sm2".as_slice(), &[i]].concat();
            hkdf_sm3(self.okm.as_ref(), share.0.as_ref(), &info, d.as_mut())?;
            if let Ok(half) = SecretHalf::from_suite_bytes(Suite::ShangMi, &d) {
                return Ok(UnitSecretKey::from_half(half));
            }
        }
        Err(CryptoError::Params)
    }
}

fn hmac_sm3_pepper(
    pepper: &[u8; 32],
    label: &[u8],
    token: &LookupToken,
) -> Result<[u8; 32], CryptoError> {
    hmac_sm3(pepper, &[label, token.0.as_slice()].concat())
}

fn hmac_pepper(pepper: &[u8; 32], label: &[u8], token: &LookupToken) -> [u8; 32] {
    // HMAC pads a key shorter than the hash's 64-byte block with zeros, so
    // the padded key is the pepper itself, and `new` cannot fail.
    let mut key = Zeroizing::new([0u8; 64]);
    key.iter_mut().zip(pepper).for_each(|(k, p)| *k = *p);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&(*key).into());
    mac.update(label);
    mac.update(&token.0);
    mac.finalize().into_bytes().into()
}

impl DeploymentSecrets {
    /// The database index of a token (`cases.lookup_key`, scheme 2).
    pub fn index_of(&self, token: &LookupToken) -> [u8; 32] {
        hmac_pepper(&self.pepper, b"sunlight/code/v2/index", token)
    }

    /// The share a token's holder needs to derive the reporter key.
    pub fn share_of(&self, token: &LookupToken) -> ReporterShare {
        ReporterShare(Zeroizing::new(hmac_pepper(
            &self.pepper,
            b"sunlight/code/v2/reporter",
            token,
        )))
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

    /// Zeroes the 19 MiB after a stretch. A plain fill compiles to one
    /// memset, where `Zeroize`'s volatile word-by-word writes cost 1.5 ms a
    /// stretch (measured with perf: 3.8 % of a loaded intake's CPU); the
    /// `black_box` keeps the compiler from dropping the writes as dead.
    pub(crate) fn wipe(&mut self) {
        self.blocks.fill(argon2::Block::default());
        std::hint::black_box(self.blocks.as_slice());
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

/// One Argon2id run of a code into 64 bytes, in `memory` (wiped after).
fn argon2_in(
    code: &TrackingCode,
    salt: &[u8; 16],
    params: StretchParams,
    secret: Option<&[u8]>,
    memory: &mut StretchMemory,
) -> Result<Zeroizing<[u8; 64]>, CryptoError> {
    if memory.params != params {
        *memory = StretchMemory::new(params)?;
    }
    let mut okm = Zeroizing::new([0u8; 64]);
    let result = params.argon2(secret)?.hash_password_into_with_memory(
        code.to_ascii().as_ref(),
        salt,
        okm.as_mut(),
        memory.blocks.as_mut_slice(),
    );
    // The blocks are derived from the code: wipe them before reuse.
    memory.wipe();
    result.map_err(|_| CryptoError::Params)?;
    Ok(okm)
}

/// Stretches codes with fixed deployment secrets and parameters.
#[derive(Debug, Clone)]
pub struct CodeStretcher {
    secrets: DeploymentSecrets,
    params: StretchParams,
    suite: Suite,
    /// Whether reporters' browsers may stretch and seal (scheme 2 with the
    /// pepper's share): the modern suite only, and only in a deployment
    /// that never made shangmi keys.
    browser_path: bool,
}

impl CodeStretcher {
    /// A stretcher filing new cases in the modern suite (scheme 2).
    pub fn new(secrets: DeploymentSecrets, params: StretchParams) -> Self {
        Self {
            secrets,
            params,
            suite: Suite::Modern,
            browser_path: true,
        }
    }

    /// The same, filing new cases in `suite` (scheme 3 for ShangMi, which
    /// no browser runs).
    #[must_use]
    pub fn with_suite(mut self, suite: Suite) -> Self {
        self.suite = suite;
        self.browser_path = suite == Suite::Modern;
        self
    }

    /// The same, with the browser path off.
    #[must_use]
    pub fn without_browser_path(mut self) -> Self {
        self.browser_path = false;
        self
    }

    pub fn offers_browser_path(&self) -> bool {
        self.browser_path
    }

    pub fn suite(&self) -> Suite {
        self.suite
    }

    pub fn params(&self) -> StretchParams {
        self.params
    }

    /// The public salt the reporter's browser stretches with.
    pub fn salt(&self) -> [u8; 16] {
        self.secrets.salt
    }

    pub fn secrets(&self) -> &DeploymentSecrets {
        &self.secrets
    }

    /// CPU- and memory-heavy (tens of milliseconds): callers bound how many
    /// run at once. Allocates its 19 MiB afresh; a server should keep a
    /// [`StretchMemory`] per worker and call [`Self::stretch_in`].
    pub fn stretch(&self, code: &TrackingCode) -> Result<StretchedCode, CryptoError> {
        let mut memory = StretchMemory::new(self.params)?;
        self.stretch_in(code, &mut memory)
    }

    /// `stretch` in caller-owned memory, in the scheme of the stretcher's
    /// suite. Reusing one buffer per worker keeps the process's memory
    /// flat: measured, fresh 19 MiB allocations from many threads left
    /// glibc arenas holding 1.4 GiB after a minute of load.
    pub fn stretch_in(
        &self,
        code: &TrackingCode,
        memory: &mut StretchMemory,
    ) -> Result<StretchedCode, CryptoError> {
        self.stretch_as_in(code, CodeScheme::of(self.suite), memory)
    }

    /// One stretch in the given scheme (a lookup tries the schemes cases
    /// were filed with in turn).
    pub fn stretch_as_in(
        &self,
        code: &TrackingCode,
        scheme: CodeScheme,
        memory: &mut StretchMemory,
    ) -> Result<StretchedCode, CryptoError> {
        if scheme == CodeScheme::PepperedStretch {
            return self.stretch_legacy_in(code, memory);
        }
        let stretch = self.run_in(code, memory)?;
        self.keyed(&stretch, scheme)
    }

    /// The Argon2id run schemes 2 and 3 share: a lookup that misses in one
    /// tries the other from the same output instead of stretching again.
    pub fn run_in(
        &self,
        code: &TrackingCode,
        memory: &mut StretchMemory,
    ) -> Result<CodeStretch, CryptoError> {
        CodeStretch::run(code, &self.secrets.salt, self.params, memory)
    }

    /// Scheme 2's or 3's keys from a stretch (microseconds; scheme 1 has
    /// its own stretch and is refused here).
    pub fn keyed(
        &self,
        stretch: &CodeStretch,
        scheme: CodeScheme,
    ) -> Result<StretchedCode, CryptoError> {
        let (lookup_key, reporter_secret) = if scheme == CodeScheme::ShangMi {
            let token = stretch.sm3_token()?;
            let share = ReporterShare(Zeroizing::new(hmac_sm3_pepper(
                &self.secrets.pepper,
                b"sunlight/code/v3/reporter",
                &token,
            )?));
            let index = hmac_sm3_pepper(&self.secrets.pepper, b"sunlight/code/v3/index", &token)?;
            (index, stretch.sm2_reporter_secret(&share)?)
        } else if scheme == CodeScheme::KeyedIndex {
            // Scheme 2: what the browser does, then the pepper's two HMACs.
            let token = stretch.lookup_token()?;
            let secret = stretch.reporter_secret(&self.secrets.share_of(&token))?;
            (self.secrets.index_of(&token), secret)
        } else {
            return Err(CryptoError::Params);
        };
        Ok(StretchedCode {
            lookup_key,
            reporter_secret,
            scheme,
        })
    }

    /// Scheme 1, only to find cases filed before scheme 2.
    pub fn stretch_legacy_in(
        &self,
        code: &TrackingCode,
        memory: &mut StretchMemory,
    ) -> Result<StretchedCode, CryptoError> {
        let okm = argon2_in(
            code,
            &self.secrets.salt,
            self.params,
            Some(self.secrets.pepper.as_ref()),
            memory,
        )?;
        // Argon2 output is already uniform; HKDF separates the two uses so a
        // leaked lookup key says nothing about the reporter secret.
        let lookup_key = *expand(okm.as_ref(), None, b"sunlight/code/v1/lookup")?;
        let secret = expand(okm.as_ref(), None, b"sunlight/code/v1/reporter-x25519")?;
        Ok(StretchedCode {
            lookup_key,
            reporter_secret: UnitSecretKey::from_bytes(*secret),
            scheme: CodeScheme::PepperedStretch,
        })
    }
}

#[cfg(test)]
mod tests;
