//! A filing receipt and its checks: the promise's signature, that the
//! first head signed on a later day includes the leaf, and that every
//! published head extends the one before it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{
    Hash, LeafRecord, LogPublicKey, SignedHead, TreeHasher, hex_bytes, hex32, promise_bytes,
    verify_consistency, verify_inclusion,
};
use crate::crypto::Suite;

/// What a reporter keeps: the leaf's record and the log's signed promise.
/// Never the tracking code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// 1.
    pub version: u8,
    #[serde(with = "suite_name")]
    pub suite: Suite,
    /// The log's public key, which signed the promise and signs the heads.
    #[serde(with = "hex_bytes")]
    pub log_key: Vec<u8>,
    pub leaf: ReceiptLeaf,
    /// The signature of `promise_bytes(leaf hash, leaf.day)`.
    #[serde(with = "hex_bytes")]
    pub promise: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptLeaf {
    #[serde(with = "hex32")]
    pub envelopes: Hash,
    #[serde(with = "hex_bytes")]
    pub nonce: Vec<u8>,
    #[serde(with = "super::day_text")]
    pub day: NaiveDate,
}

impl Receipt {
    pub fn new(record: &LeafRecord, key: &LogPublicKey, promise: Vec<u8>) -> Self {
        Self {
            version: 1,
            suite: key.suite,
            log_key: key.bytes.clone(),
            leaf: ReceiptLeaf {
                envelopes: record.envelopes,
                nonce: record.nonce.to_vec(),
                day: record.day,
            },
            promise,
        }
    }

    pub fn record(&self) -> Option<LeafRecord> {
        Some(LeafRecord {
            envelopes: self.leaf.envelopes,
            nonce: self.leaf.nonce.as_slice().try_into().ok()?,
            day: self.leaf.day,
        })
    }

    /// The leaf's hash in the tree, `None` for a malformed nonce.
    pub fn leaf_hash(&self) -> Option<Hash> {
        self.record().map(|r| r.hash(self.suite))
    }

    pub fn key(&self) -> LogPublicKey {
        LogPublicKey {
            suite: self.suite,
            bytes: self.log_key.clone(),
        }
    }

    /// The head that must include the leaf: the first one signed on a
    /// later day than the promise's, in publication order (heads sorted
    /// by size).
    pub fn due_head<'a>(&self, heads: &'a [SignedHead]) -> Option<&'a SignedHead> {
        heads.iter().find(|h| h.day > self.leaf.day)
    }

    /// The newest head signed on the promise's own day, which may include
    /// the leaf already (or may have been signed before it was filed).
    pub fn same_day_head<'a>(&self, heads: &'a [SignedHead]) -> Option<&'a SignedHead> {
        heads.iter().rev().find(|h| h.day == self.leaf.day)
    }

    /// The sizes whose inclusion proofs the checks ask for.
    pub fn proof_sizes(&self, heads: &[SignedHead]) -> Vec<u64> {
        [self.same_day_head(heads), self.due_head(heads)]
            .into_iter()
            .flatten()
            .map(|h| h.size)
            .collect()
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// Not decidable yet (no head signed after the promise's day).
    Pending,
    Failed,
}

/// One named check and what it found, for the CLI and the `/verify` page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Outcome,
    /// What it found, in English (the CLI's words).
    pub detail: String,
    /// The same as a message key (`verify.detail_KEY` in the web
    /// catalogs) and the values of its `{placeholders}`, for a page in
    /// the reader's language.
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Check {
    fn new(
        name: &'static str,
        outcome: Outcome,
        key: &'static str,
        args: Vec<(&'static str, String)>,
    ) -> Self {
        let mut detail = english(key).to_owned();
        for (name, value) in &args {
            detail = detail.replace(&format!("{{{name}}}"), value);
        }
        Self {
            name,
            outcome,
            detail,
            key,
            args,
        }
    }
}

#[cfg(test)]
pub(crate) fn english_for_tests(key: &str) -> &'static str {
    english(key)
}

/// Every finding a check can report: the web catalogs must hold
/// `verify.detail_KEY` for each, in both languages.
pub const FINDINGS: [&str; 13] = [
    "head_unsigned",
    "heads_signed",
    "shrank",
    "forked",
    "consistent",
    "not_v1",
    "promised",
    "bad_signature",
    "future",
    "stale",
    "included",
    "broken",
    "pending",
];

/// The English words of each finding; the web catalogs hold the same
/// keys (`verify.detail_KEY`) in both languages.
fn english(key: &str) -> &'static str {
    match key {
        "head_unsigned" => {
            "the head of size {size} ({day}) is not signed by this log's key (a receipt of another deployment, or the deployment's key changed)"
        }
        "heads_signed" => "{count} heads, all signed by this log's key",
        "shrank" => {
            "the log shrank: the head of {day} has {size} leaves, the one before it ({before_day}) had {before_size}"
        }
        "forked" => {
            "the log forked: the head of size {size} ({day}) does not extend the head of size {before_size} ({before_day})"
        }
        "consistent" => "every head extends the one before it",
        "not_v1" => "not a version-1 receipt",
        "promised" => "the log promised on {day} to include this leaf",
        "bad_signature" => "bad signature: the promise was not signed by this receipt's log key",
        "future" => "the promise is dated {day}, in the future",
        "stale" => "the log has published no head since {day}, though it signs one every day",
        "included" => "leaf {index} of the head of size {size} ({day})",
        "broken" => {
            "promise broken: the first head signed after {day} (size {size}, {head_day}) does not include this leaf"
        }
        "pending" => "no head signed after {day} is published yet",
        _ => "",
    }
}

/// An inclusion proof as served: the leaf's index and the audit path in
/// the head of `size`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    pub path: Vec<String>,
}

impl InclusionProof {
    /// The proof of leaf `index` in the head of `size`, from `tree`, as a
    /// deployment serves it; `None` beyond the tree.
    pub fn from_tree(tree: &super::Tree, index: u64, size: u64) -> Option<Self> {
        Some(Self {
            index,
            size,
            path: tree
                .inclusion_proof(index, size)?
                .iter()
                .map(|h| data_encoding::HEXLOWER.encode(h))
                .collect(),
        })
    }
}

/// Checks the heads among themselves: each signed by `key`, none smaller
/// than the one before, each consistent with the one before.
/// `consistency(from, to)` gives the served proof between two sizes.
pub fn check_heads(
    key: &LogPublicKey,
    heads: &[SignedHead],
    mut consistency: impl FnMut(u64, u64) -> Option<Vec<Hash>>,
) -> Vec<Check> {
    let hasher = TreeHasher(key.suite);
    let mut out = Vec::new();
    match heads.iter().find(|h| !h.verify(key)) {
        Some(h) => out.push(Check::new(
            "heads signed",
            Outcome::Failed,
            "head_unsigned",
            vec![("size", h.size.to_string()), ("day", h.day.to_string())],
        )),
        None => out.push(Check::new(
            "heads signed",
            Outcome::Passed,
            "heads_signed",
            vec![("count", heads.len().to_string())],
        )),
    }
    for pair in heads.windows(2) {
        let [a, b] = pair else { continue };
        if b.size < a.size {
            out.push(Check::new(
                "consistency",
                Outcome::Failed,
                "shrank",
                vec![
                    ("day", b.day.to_string()),
                    ("size", b.size.to_string()),
                    ("before_day", a.day.to_string()),
                    ("before_size", a.size.to_string()),
                ],
            ));
            return out;
        }
        let proof = consistency(a.size, b.size).unwrap_or_default();
        if !verify_consistency(hasher, a.size, b.size, &a.root, &b.root, &proof) {
            out.push(Check::new(
                "consistency",
                Outcome::Failed,
                "forked",
                vec![
                    ("size", b.size.to_string()),
                    ("day", b.day.to_string()),
                    ("before_size", a.size.to_string()),
                    ("before_day", a.day.to_string()),
                ],
            ));
            return out;
        }
    }
    out.push(Check::new(
        "consistency",
        Outcome::Passed,
        "consistent",
        Vec::new(),
    ));
    out
}

/// Checks a receipt against the heads a deployment published (sorted by
/// size), with `inclusion(leaf, size)` and `consistency(from, to)` giving
/// the proofs it serves. Without heads, only the signature is checked.
/// The leaf must be in the first head signed on a later day than the
/// promise; a head of the promise's own day that includes it already
/// settles it early.
pub fn check_receipt(
    receipt: &Receipt,
    heads: &[SignedHead],
    today: Option<NaiveDate>,
    inclusion: impl FnMut(&Hash, u64) -> Option<InclusionProof>,
    consistency: impl FnMut(u64, u64) -> Option<Vec<Hash>>,
) -> Vec<Check> {
    let key = receipt.key();
    let Some(leaf) = receipt.leaf_hash().filter(|_| receipt.version == 1) else {
        return vec![Check::new("receipt", Outcome::Failed, "not_v1", Vec::new())];
    };
    let mut out = Vec::new();
    if key.verify(&promise_bytes(&leaf, receipt.leaf.day), &receipt.promise) {
        out.push(Check::new(
            "signature",
            Outcome::Passed,
            "promised",
            vec![("day", receipt.leaf.day.to_string())],
        ));
    } else {
        out.push(Check::new(
            "signature",
            Outcome::Failed,
            "bad_signature",
            Vec::new(),
        ));
        return out;
    }
    if heads.is_empty() && today.is_none() {
        return out;
    }
    out.extend(check_heads(&key, heads, consistency));
    let mut inclusion = inclusion_check(receipt, &key, leaf, heads, inclusion);
    // The log signs a head every day: two days without one after the
    // promise is a log that stopped, or heads that were taken away. A
    // promise dated ahead of tomorrow could never come due.
    let stale = today.is_some_and(|t| t > receipt.leaf.day + chrono::Days::new(2));
    if today.is_some_and(|t| receipt.leaf.day > t + chrono::Days::new(1)) {
        out.push(Check::new(
            "inclusion",
            Outcome::Failed,
            "future",
            vec![("day", receipt.leaf.day.to_string())],
        ));
        return out;
    }
    if inclusion.outcome == Outcome::Pending && stale {
        inclusion = Check::new(
            "inclusion",
            Outcome::Failed,
            "stale",
            vec![("day", receipt.leaf.day.to_string())],
        );
    }
    out.push(inclusion);
    out
}

/// Whether the leaf is in the head that must hold it (or, early, in a
/// head of the promise's own day).
fn inclusion_check(
    receipt: &Receipt,
    key: &LogPublicKey,
    leaf: Hash,
    heads: &[SignedHead],
    mut inclusion: impl FnMut(&Hash, u64) -> Option<InclusionProof>,
) -> Check {
    let mut includes = |head: &SignedHead| {
        inclusion(&leaf, head.size).filter(|p| {
            let path: Option<Vec<Hash>> = p.path.iter().map(|h| parse_hash(h)).collect();
            p.size == head.size
                && path.is_some_and(|path| {
                    verify_inclusion(
                        TreeHasher(key.suite),
                        p.index,
                        p.size,
                        &leaf,
                        &path,
                        &head.root,
                    )
                })
        })
    };
    let early = receipt
        .same_day_head(heads)
        .and_then(|h| includes(h).map(|p| (h, p)));
    let due = receipt.due_head(heads);
    let found = match (early, due) {
        (Some(found), _) => Some(found),
        (None, Some(h)) => includes(h).map(|p| (h, p)),
        (None, None) => None,
    };
    match (found, due) {
        (Some((head, p)), _) => Check::new(
            "inclusion",
            Outcome::Passed,
            "included",
            vec![
                ("index", p.index.to_string()),
                ("size", head.size.to_string()),
                ("day", head.day.to_string()),
            ],
        ),
        (None, Some(due)) => Check::new(
            "inclusion",
            Outcome::Failed,
            "broken",
            vec![
                ("day", receipt.leaf.day.to_string()),
                ("size", due.size.to_string()),
                ("head_day", due.day.to_string()),
            ],
        ),
        (None, None) => Check::new(
            "inclusion",
            Outcome::Pending,
            "pending",
            vec![("day", receipt.leaf.day.to_string())],
        ),
    }
}

/// A hash in the log's text form.
pub fn parse_hash(text: &str) -> Option<Hash> {
    data_encoding::HEXLOWER
        .decode(text.as_bytes())
        .ok()
        .and_then(|v| v.try_into().ok())
}

mod suite_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::crypto::Suite;

    pub fn serialize<S: Serializer>(v: &Suite, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Suite, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
