//! The audit log as staff read it (#18 item 12): the entries of a
//! jurisdiction's units, filtered, newest first, a page at a time; and the
//! hash chain checked on from a point an earlier check verified.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sunlight_core::audit::{AuditFields, ChainError, ChainVerifier};
use sunlight_core::{CaseId, CaseNumber};

use crate::cases::Jurisdiction;
use crate::entity::{audit_entry, case, staff};
use crate::{Store, StoreError};

/// Entries on one page of the audit page.
pub const AUDIT_PAGE: u64 = 50;

/// Which entries to list. Every entry listed names a unit of the
/// jurisdiction; the rest narrow it.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub case_id: Option<CaseId>,
    /// As stored: `staff:<id>`, `reporter`, `system:…`, `channel:…`.
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    /// Only entries older than this one (the next page).
    pub below_seq: Option<i64>,
    /// Entries about cases too (for supervisors; admins act on no case
    /// and see only the entries that name none).
    pub cases: bool,
}

/// One entry as stored. None holds content (docs/threat-model.md).
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub unit: String,
    pub case_id: String,
    pub detail: String,
}

/// How far the chain was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: [u8; 32],
}

impl Store {
    /// A page of the entries of `j`'s units matching `f`, newest first.
    pub async fn audit_entries(
        &self,
        j: &Jurisdiction,
        f: &AuditFilter,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        // Entries of the jurisdiction's units, by its own members or by no
        // member (reporters, arrivals, the system): what the units above do
        // with a case stays theirs, and a unit never learns from its own
        // log that it was flagged as a hotspot (the flag goes up only).
        let members: Vec<String> = staff::Entity::find()
            .select_only()
            .column(staff::Column::Id)
            .filter(staff::Column::UnitId.is_in(j.ids()))
            .into_tuple::<uuid::Uuid>()
            .all(self.conn())
            .await?
            .into_iter()
            .map(|id| format!("staff:{id}"))
            .collect();
        let mut cond = Condition::all()
            .add(audit_entry::Column::UnitId.is_in(j.ids()))
            .add(
                Condition::any()
                    .add(audit_entry::Column::Actor.not_like("staff:%"))
                    .add(audit_entry::Column::Actor.is_in(members)),
            )
            .add(
                Condition::any()
                    .add(audit_entry::Column::Action.not_like("hotspot.%"))
                    .add(audit_entry::Column::UnitId.ne(j.root().as_str())),
            );
        if !f.cases {
            cond = cond.add(audit_entry::Column::CaseId.eq(""));
        }
        if let Some(c) = f.case_id {
            cond = cond.add(audit_entry::Column::CaseId.eq(c.to_string()));
        }
        if let Some(a) = &f.actor {
            cond = cond.add(audit_entry::Column::Actor.eq(a.as_str()));
        }
        if let Some(a) = &f.action {
            cond = cond.add(audit_entry::Column::Action.eq(a.as_str()));
        }
        if let Some(t) = f.from {
            cond = cond.add(audit_entry::Column::At.gte(t));
        }
        if let Some(t) = f.before {
            cond = cond.add(audit_entry::Column::At.lt(t));
        }
        if let Some(s) = f.below_seq {
            cond = cond.add(audit_entry::Column::Seq.lt(s));
        }
        Ok(audit_entry::Entity::find()
            .filter(cond)
            .order_by_desc(audit_entry::Column::Seq)
            .limit(AUDIT_PAGE)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|m| AuditEntry {
                seq: m.seq,
                at: m.at,
                actor: m.actor,
                action: m.action,
                unit: m.unit_id,
                case_id: m.case_id,
                detail: m.detail,
            })
            .collect())
    }

    /// The case of `j` with the number `n`, if any.
    pub async fn case_by_number(
        &self,
        j: &Jurisdiction,
        n: &CaseNumber,
    ) -> Result<Option<CaseId>, StoreError> {
        Ok(case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .filter(case::Column::NumberUnit.eq(n.unit.as_str()))
            .filter(case::Column::NumberYear.eq(n.year))
            .filter(case::Column::NumberSeq.eq(i64::from(n.seq)))
            .filter(case::Column::UnitId.is_in(j.ids()))
            .into_tuple::<uuid::Uuid>()
            .one(self.conn())
            .await?
            .map(CaseId::from_uuid))
    }

    /// Checks the chain from the genesis, or on from `from` (a head an
    /// earlier check verified), to the newest entry: `Ok(head)` when it
    /// holds (`None` for an empty log), the first broken entry otherwise.
    pub async fn verify_audit_from(
        &self,
        from: Option<ChainHead>,
    ) -> Result<Result<Option<ChainHead>, ChainError>, StoreError> {
        // The head verified before must still be there as it was: a log
        // cut back below it would otherwise pass as a shorter chain.
        if let Some(h) = from {
            let stored = self.audit_hash(h.seq).await?;
            if stored.as_deref() != Some(h.hash.as_slice()) {
                return Ok(Err(ChainError::Vanished { seq: h.seq }));
            }
        }
        let mut verifier = from.map_or_else(ChainVerifier::default, |h| {
            ChainVerifier::after(h.seq, h.hash)
        });
        let mut after = from.map_or(0, |h| h.seq);
        loop {
            let rows = audit_entry::Entity::find()
                .filter(audit_entry::Column::Seq.gt(after))
                .order_by_asc(audit_entry::Column::Seq)
                .limit(1000)
                .all(self.conn())
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.seq;
            for row in &rows {
                let fields = AuditFields {
                    seq: row.seq,
                    at_unix_micros: row.at.timestamp_micros(),
                    actor: &row.actor,
                    action: &row.action,
                    unit: &row.unit_id,
                    case_id: &row.case_id,
                    detail: &row.detail,
                };
                if let Err(e) = verifier.check(&fields, &row.prev_hash, &row.hash) {
                    return Ok(Err(e));
                }
            }
        }
        Ok(Ok(verifier
            .head()
            .map(|(seq, hash)| ChainHead { seq, hash })))
    }
}
