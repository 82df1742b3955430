//! The audit log's hash chain (append-only, 审计日志): each entry's hash
//! covers the previous entry's hash and the entry's own fields, so altering,
//! removing or reordering a stored row breaks the chain at that row.
//! Removing the newest rows leaves a shorter valid chain: detecting that needs
//! an anchor outside the database — the head mailed every day to the root
//! unit's supervisors, checked with `sunlight audit verify --expect`.

use sha2::{Digest, Sha256};

use crate::crypto::Suite;

/// The hash that precedes the first entry.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// The fields of one audit entry that the chain covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFields<'a> {
    pub seq: i64,
    pub at_unix_micros: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub unit: &'a str,
    pub case_id: &'a str,
    pub detail: &'a str,
}

/// `SHA-256(prev | len-prefixed fields)`; length prefixes keep field
/// boundaries unambiguous.
pub fn entry_hash(prev: &[u8; 32], e: &AuditFields<'_>) -> [u8; 32] {
    entry_hash_in(Suite::Modern, prev, e)
}

/// The same bytes hashed with the suite's hash: SHA-256, or SM3 in a
/// ShangMi deployment. An entry is hashed in the suite the deployment had
/// when it was written, so a chain that lived through a move holds both.
pub fn entry_hash_in(suite: Suite, prev: &[u8; 32], e: &AuditFields<'_>) -> [u8; 32] {
    match suite {
        Suite::Modern => hash_fields(Sha256::new(), prev, e),
        Suite::ShangMi => hash_fields(sm3::Sm3::new(), prev, e),
    }
}

fn hash_fields<D: Digest<OutputSize = sha2::digest::consts::U32>>(
    mut h: D,
    prev: &[u8; 32],
    e: &AuditFields<'_>,
) -> [u8; 32] {
    h.update(b"sunlight/audit/v1");
    h.update(prev);
    h.update(e.seq.to_be_bytes());
    h.update(e.at_unix_micros.to_be_bytes());
    for field in [e.actor, e.action, e.unit, e.case_id, e.detail] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.finalize().into()
}

/// The actions the audit log names, grouped as the audit page offers them
/// (case work, reporters, deadlines, members, the system). Actions of
/// the state machine are `case.` and its event's name.
pub const ACTIONS: &[&str] = &[
    "case.received",
    "case.route",
    "case.numbered",
    "case.read",
    "attachment.read",
    "case.export",
    "case.exported",
    "case.claim",
    "case.claimed",
    "case.verified",
    "case.transferred",
    "case.rechecked",
    "case.decided",
    "case.extended",
    "case.reporter_asked",
    "case.feedback_given",
    "case.closed",
    "case.merged",
    "case.merge_candidates",
    "case.reopened",
    "case.upheld",
    "case.accepted",
    "case.referred",
    "case.specifics_asked",
    "case.filed_for_reference",
    "case.reopened_on_material",
    "case.knowingly_false",
    "case.noted",
    "case.acknowledged",
    "message.add",
    "case.rated",
    "case.objected",
    "search.run",
    "hold.confirm",
    "case.overdue",
    "task.overdue",
    "hold.escalated",
    "hotspot.raised",
    "hotspot.cleared",
    "session.open",
    "session.failed",
    "session.close",
    "staff.add",
    "staff.password",
    "staff.totp",
    "staff.reset",
    "staff.disable",
    "staff.enable",
    "unit.add",
    "unit.rotate_key",
    "system.suite",
    "case.purged",
    "case.legal_hold",
    "case.deadline_recomputed",
];

/// Whether `name` has the shape of an action (`word.word`, lower case and
/// underscores): a filter for one that never occurred finds nothing.
pub fn is_action(name: &str) -> bool {
    let word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    name.len() <= 64
        && name
            .split_once('.')
            .is_some_and(|(a, b)| word(a) && word(b))
}

/// Where a chain check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("audit entry {seq}: stored previous hash does not match the entry before it")]
    BrokenLink { seq: i64 },
    #[error("audit entry {seq}: content does not match its hash (altered)")]
    Altered { seq: i64 },
    #[error("audit entry {seq}: sequence gap (expected {expected})")]
    Gap { seq: i64, expected: i64 },
    /// An entry an earlier check verified is gone or changed: the log was
    /// cut back or rewritten since.
    #[error("audit entry {seq}: verified earlier, now gone or changed")]
    Vanished { seq: i64 },
}

/// Incremental verifier: feed entries in sequence order.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    prev: [u8; 32],
    next_seq: i64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            prev: GENESIS,
            next_seq: 1,
        }
    }
}

impl ChainVerifier {
    pub fn check(
        &mut self,
        fields: &AuditFields<'_>,
        stored_prev: &[u8],
        stored_hash: &[u8],
    ) -> Result<(), ChainError> {
        if fields.seq != self.next_seq {
            return Err(ChainError::Gap {
                seq: fields.seq,
                expected: self.next_seq,
            });
        }
        if stored_prev != self.prev {
            return Err(ChainError::BrokenLink { seq: fields.seq });
        }
        // Whichever suite the entry was written in: both hashes are
        // collision resistant, so accepting either lets nobody forge one.
        let computed = Suite::ALL
            .into_iter()
            .map(|suite| entry_hash_in(suite, &self.prev, fields))
            .find(|h| stored_hash == h)
            .ok_or(ChainError::Altered { seq: fields.seq })?;
        self.prev = computed;
        self.next_seq = self.next_seq.saturating_add(1);
        Ok(())
    }

    pub fn checked(&self) -> i64 {
        self.next_seq.saturating_sub(1)
    }

    /// A verifier that goes on after entry `seq` whose hash was `hash`
    /// (a point an earlier check already verified from the genesis).
    pub fn after(seq: i64, hash: [u8; 32]) -> Self {
        Self {
            prev: hash,
            next_seq: seq.saturating_add(1),
        }
    }

    /// The last entry checked and its hash; `None` before the first.
    pub fn head(&self) -> Option<(i64, [u8; 32])> {
        let seq = self.checked();
        (seq > 0).then_some((seq, self.prev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, detail: &str) -> AuditFields<'_> {
        AuditFields {
            seq,
            at_unix_micros: seq * 10,
            actor: "a",
            action: "x",
            unit: "u",
            case_id: "",
            detail,
        }
    }

    #[test]
    fn a_chain_that_moves_to_sm3_verifies_and_still_detects_alteration() {
        let mut prev = GENESIS;
        let mut rows = Vec::new();
        for seq in 1..=4 {
            let suite = if seq <= 2 {
                Suite::Modern
            } else {
                Suite::ShangMi
            };
            let h = entry_hash_in(suite, &prev, &entry(seq, "d"));
            rows.push((seq, prev, h));
            prev = h;
        }
        // SM3 of GB/T 32905's own "abc" is checked in crypto::shangmi; here
        // the two hashes of one entry differ.
        assert_ne!(
            entry_hash_in(Suite::ShangMi, &GENESIS, &entry(1, "d")),
            entry_hash(&GENESIS, &entry(1, "d"))
        );
        let mut v = ChainVerifier::default();
        for (seq, p, h) in &rows {
            v.check(&entry(*seq, "d"), p, h).unwrap();
        }
        assert_eq!(v.head(), Some((4, prev)));
        let mut v = ChainVerifier::default();
        for (seq, p, h) in &rows[..2] {
            v.check(&entry(*seq, "d"), p, h).unwrap();
        }
        assert_eq!(
            v.check(&entry(3, "changed"), &rows[2].1, &rows[2].2),
            Err(ChainError::Altered { seq: 3 })
        );
    }

    #[test]
    fn chain_detects_alteration_and_gaps() {
        let mut prev = GENESIS;
        let mut rows = Vec::new();
        for seq in 1..=5 {
            let e = entry(seq, "d");
            let h = entry_hash(&prev, &e);
            rows.push((seq, prev, h));
            prev = h;
        }
        let mut v = ChainVerifier::default();
        for (seq, p, h) in &rows {
            v.check(&entry(*seq, "d"), p, h).unwrap();
        }
        assert_eq!(v.checked(), 5);

        let mut v = ChainVerifier::default();
        v.check(&entry(1, "d"), &rows[0].1, &rows[0].2).unwrap();
        assert_eq!(
            v.check(&entry(2, "changed"), &rows[1].1, &rows[1].2),
            Err(ChainError::Altered { seq: 2 })
        );

        let mut v = ChainVerifier::default();
        v.check(&entry(1, "d"), &rows[0].1, &rows[0].2).unwrap();
        assert_eq!(
            v.check(&entry(3, "d"), &rows[2].1, &rows[2].2),
            Err(ChainError::Gap {
                seq: 3,
                expected: 2
            })
        );
    }
}
