//! The transparency log of filings (proof of filing): an RFC 9162 Merkle
//! tree whose leaves commit to each filing's sealed material, a random
//! nonce and the day, and nothing else; signed tree heads; the signed
//! promise a reporter keeps as a receipt; and the checks of a receipt
//! against the heads a deployment published. docs/crypto.md, "Transparency
//! log", is the byte-level specification.

pub mod merkle;
mod receipt;
mod sign;

#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use merkle::{Hash, Tree, TreeHasher, verify_consistency, verify_inclusion};
pub use receipt::{
    Check, FINDINGS, InclusionProof, Outcome, Receipt, ReceiptLeaf, check_heads, check_receipt,
    parse_hash,
};
pub use sign::{LogKey, LogPublicKey};

use crate::crypto::Suite;

/// Domain separation of the signed and hashed records.
pub const LEAF_LABEL: &[u8] = b"sunlight/log-leaf/v1";
pub const ENVELOPES_LABEL: &[u8] = b"sunlight/log-envelopes/v1";
pub const HEAD_LABEL: &[u8] = b"sunlight/log-head/v1";
pub const PROMISE_LABEL: &[u8] = b"sunlight/log-promise/v1";

/// Heads cover whole buckets of this many leaves: the publisher pads
/// with dummy leaves, so a head tells a watcher the deployment's filings
/// only to the next multiple of 16.
pub const BUCKET: u64 = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LogError {
    #[error("the system's random generator failed")]
    Random,
    #[error("malformed log key")]
    Key,
    #[error("signing failed")]
    Sign,
}

/// The hash of one filing's sealed material, in order (the report or
/// message envelope, then each file's sealed description and its sealed
/// chunks joined): each part length-prefixed, so no two lists of parts
/// share a hash.
pub fn envelopes_hash<'a>(suite: Suite, parts: impl IntoIterator<Item = &'a [u8]>) -> Hash {
    let mut h = EnvelopesHasher::new(suite);
    for p in parts {
        h.part(p);
    }
    h.finish()
}

/// [`envelopes_hash`] part by part, for material that streams in.
pub struct EnvelopesHasher(Digest);

impl std::fmt::Debug for EnvelopesHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnvelopesHasher")
    }
}

impl EnvelopesHasher {
    pub fn new(suite: Suite) -> Self {
        let mut d = Digest::new(suite);
        d.update(ENVELOPES_LABEL);
        Self(d)
    }

    /// `len (8 bytes, big-endian) ‖ part`.
    pub fn part(&mut self, part: &[u8]) {
        self.0.update(&(part.len() as u64).to_be_bytes());
        self.0.update(part);
    }

    pub fn finish(self) -> Hash {
        self.0.finish()
    }
}

/// A day as the log writes it: `YYYY-MM-DD`, 10 ASCII bytes.
pub fn day_bytes(day: NaiveDate) -> [u8; 10] {
    let mut out = [b'0'; 10];
    let text = day.format("%Y-%m-%d").to_string();
    for (o, b) in out.iter_mut().zip(text.bytes()) {
        *o = b;
    }
    out
}

/// What one leaf commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafRecord {
    pub envelopes: Hash,
    pub nonce: [u8; 16],
    pub day: NaiveDate,
}

impl LeafRecord {
    /// A record with a fresh nonce.
    pub fn new(envelopes: Hash, day: NaiveDate) -> Result<Self, LogError> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|_| LogError::Random)?;
        Ok(Self {
            envelopes,
            nonce,
            day,
        })
    }

    /// `LEAF_LABEL ‖ envelopes (32) ‖ nonce (16) ‖ day (10)`: 78 bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(78);
        out.extend_from_slice(LEAF_LABEL);
        out.extend_from_slice(&self.envelopes);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&day_bytes(self.day));
        out
    }

    /// The leaf's hash in the tree: `HASH(0x00 ‖ bytes)`.
    pub fn hash(&self, suite: Suite) -> Hash {
        TreeHasher(suite).leaf(&self.bytes())
    }
}

/// A random leaf hash: what the publisher pads a bucket with.
pub fn dummy_leaf() -> Result<Hash, LogError> {
    let mut h = [0u8; 32];
    getrandom::fill(&mut h).map_err(|_| LogError::Random)?;
    Ok(h)
}

/// The leaves a head of `size` real-or-padded leaves must reach: the next
/// multiple of [`BUCKET`] (at least one bucket once anything was filed).
pub fn padded_size(size: u64) -> u64 {
    size.div_ceil(BUCKET).saturating_mul(BUCKET)
}

/// A tree head as published: size, root and the day it was signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHead {
    pub size: u64,
    #[serde(with = "hex32")]
    pub root: Hash,
    #[serde(with = "day_text")]
    pub day: NaiveDate,
    #[serde(with = "hex_bytes")]
    pub signature: Vec<u8>,
}

impl SignedHead {
    /// `HEAD_LABEL ‖ size (8, big-endian) ‖ root (32) ‖ day (10)`.
    pub fn signed_bytes(size: u64, root: &Hash, day: NaiveDate) -> Vec<u8> {
        let mut out = Vec::with_capacity(70);
        out.extend_from_slice(HEAD_LABEL);
        out.extend_from_slice(&size.to_be_bytes());
        out.extend_from_slice(root);
        out.extend_from_slice(&day_bytes(day));
        out
    }

    pub fn verify(&self, key: &LogPublicKey) -> bool {
        key.verify(
            &Self::signed_bytes(self.size, &self.root, self.day),
            &self.signature,
        )
    }
}

/// `PROMISE_LABEL ‖ leaf hash (32) ‖ day (10)`: the log's word that the
/// leaf is in every head it signs on a later day.
pub fn promise_bytes(leaf: &Hash, day: NaiveDate) -> Vec<u8> {
    let mut out = Vec::with_capacity(65);
    out.extend_from_slice(PROMISE_LABEL);
    out.extend_from_slice(leaf);
    out.extend_from_slice(&day_bytes(day));
    out
}

/// SHA-256 or SM3, by suite.
struct Digest(DigestInner);

enum DigestInner {
    Sha256(sha2::Sha256),
    Sm3(sm3::Sm3),
}

impl Digest {
    fn new(suite: Suite) -> Self {
        use sha2::Digest as _;
        Self(match suite {
            Suite::Modern => DigestInner::Sha256(sha2::Sha256::new()),
            Suite::ShangMi => DigestInner::Sm3(sm3::Sm3::new()),
        })
    }

    fn update(&mut self, data: &[u8]) {
        use sha2::Digest as _;
        match &mut self.0 {
            DigestInner::Sha256(h) => h.update(data),
            DigestInner::Sm3(h) => h.update(data),
        }
    }

    fn finish(self) -> Hash {
        use sha2::Digest as _;
        match self.0 {
            DigestInner::Sha256(h) => h.finalize().into(),
            DigestInner::Sm3(h) => h.finalize().into(),
        }
    }
}

/// Lower-case hex, the log's text form of hashes, keys and signatures.
pub mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&data_encoding::HEXLOWER.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        data_encoding::HEXLOWER
            .decode(text.as_bytes())
            .ok()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| serde::de::Error::custom("expected 64 lower-case hex digits"))
    }
}

/// A day exactly as the log writes it, `YYYY-MM-DD` (chrono's own reader
/// also takes `2026-2-3`, which no receipt or head is ever written as).
pub mod day_text {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.format("%Y-%m-%d").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let text = String::deserialize(d)?;
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .ok()
            .filter(|day| text.len() == 10 && day.format("%Y-%m-%d").to_string() == text)
            .ok_or_else(|| serde::de::Error::custom("expected a day as YYYY-MM-DD"))
    }
}

pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&data_encoding::HEXLOWER.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        data_encoding::HEXLOWER
            .decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("expected lower-case hex"))
    }
}
