//! Retention: the sealed content of closed cases past their period is
//! deleted (crypto-shredding: the ciphertexts go, and with them the only
//! copies of their data keys), while routing metadata, the case number,
//! history events without their text, statistics and the audit chain stay.
//! A legal hold keeps a case from purging.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use sunlight_core::{CaseId, UnitId};
use uuid::Uuid;

use crate::audit::{AuditRecord, append};
use crate::entity::{attachment, attachment_chunk, case, hold, message, transition};
use crate::error::Clash;
use crate::{Store, StoreError};

/// A closed case as the retention rule sees it.
#[derive(Debug, Clone)]
pub struct RetentionCase {
    pub id: CaseId,
    pub unit: UnitId,
    pub closed_at: DateTime<Utc>,
}

/// How long a purge waits after a legal hold was lifted, so the units
/// above hear of it first.
pub const AFTER_LIFT_DAYS: i64 = 30;

/// Closed, not purged, not held, not lifted from a hold within
/// `AFTER_LIFT_DAYS` of `now`; and, for a case merged into another, only
/// once that one was purged (its report is evidence in the other).
fn closed_unheld(now: DateTime<Utc>) -> sea_orm::Condition {
    let lifted_before = now - chrono::Duration::days(AFTER_LIFT_DAYS);
    sea_orm::Condition::all()
        .add(case::Column::Stage.eq("closed"))
        .add(case::Column::ClosedAt.is_not_null())
        .add(case::Column::PurgedAt.is_null())
        .add(case::Column::LegalHoldSince.is_null())
        .add(
            sea_orm::Condition::any()
                .add(case::Column::LegalHoldLiftedAt.is_null())
                .add(case::Column::LegalHoldLiftedAt.lt(lifted_before)),
        )
        .add(Expr::cust(
            "(merged_into IS NULL OR merged_into IN \
             (SELECT id FROM cases WHERE purged_at IS NOT NULL))",
        ))
}

/// Deletes a case's messages, attachments and chunks and the text of its
/// notes and hold notices, in `txn`; returns how many rows went.
async fn delete_contents(
    txn: &sea_orm::DatabaseTransaction,
    uuid: Uuid,
) -> Result<u64, StoreError> {
    let attachments: Vec<Uuid> = attachment::Entity::find()
        .select_only()
        .column(attachment::Column::Id)
        .filter(attachment::Column::CaseId.eq(uuid))
        .into_tuple()
        .all(txn)
        .await?;
    let mut removed = 0;
    if !attachments.is_empty() {
        attachment_chunk::Entity::delete_many()
            .filter(attachment_chunk::Column::AttachmentId.is_in(attachments.clone()))
            .exec(txn)
            .await?;
        removed += attachment::Entity::delete_many()
            .filter(attachment::Column::CaseId.eq(uuid))
            .exec(txn)
            .await?
            .rows_affected;
    }
    removed += message::Entity::delete_many()
        .filter(message::Column::CaseId.eq(uuid))
        .exec(txn)
        .await?
        .rows_affected;
    transition::Entity::update_many()
        .col_expr(
            transition::Column::SealedNote,
            Expr::value(Option::<Vec<u8>>::None),
        )
        .filter(transition::Column::CaseId.eq(uuid))
        .exec(txn)
        .await?;
    hold::Entity::update_many()
        .col_expr(
            hold::Column::SealedNoticeTo,
            Expr::value(Option::<Vec<u8>>::None),
        )
        .filter(hold::Column::CaseId.eq(uuid))
        .exec(txn)
        .await?;
    Ok(removed)
}

impl Store {
    /// Closed cases not held and not purged yet, closed in
    /// `[from, before)`, oldest first, at most `limit`.
    pub async fn retention_cases(
        &self,
        from: DateTime<Utc>,
        before: DateTime<Utc>,
        limit: u64,
        now: DateTime<Utc>,
    ) -> Result<Vec<RetentionCase>, StoreError> {
        case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .column(case::Column::UnitId)
            .column(case::Column::ClosedAt)
            .filter(closed_unheld(now))
            .filter(case::Column::ClosedAt.gte(from))
            .filter(case::Column::ClosedAt.lt(before))
            .order_by_asc(case::Column::ClosedAt)
            .limit(limit)
            .into_tuple::<(Uuid, String, Option<DateTime<Utc>>)>()
            .all(self.conn())
            .await?
            .into_iter()
            .map(|(id, unit, closed_at)| {
                Ok(RetentionCase {
                    id: CaseId::from_uuid(id),
                    unit: UnitId::parse(&unit)
                        .map_err(|_| StoreError::Corrupt(format!("case {id}: bad unit")))?,
                    closed_at: closed_at
                        .ok_or_else(|| StoreError::Corrupt(format!("case {id}: no closing")))?,
                })
            })
            .collect()
    }

    /// Deletes the sealed content of `id` if it is still closed before
    /// `before`, not held and not purged: the report, the reporter's key
    /// and lookup key (the tracking code finds nothing any more),
    /// every message, attachment and chunk, the text of its history notes
    /// and hold notices. One transaction; audited as `case.purged`. False
    /// when the case no longer qualifies (reopened, held, purged).
    pub async fn purge_case(
        &self,
        id: CaseId,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.write_txn().await?;
        let uuid = id.as_uuid();
        // The tracking code no longer finds the case: a code found later
        // (on a seized phone) must not tie its holder to it.
        let mut unlinked = [0u8; 32];
        getrandom::fill(&mut unlinked)
            .map_err(|_| StoreError::Invalid("the system's random generator failed"))?;
        let marked = case::Entity::update_many()
            .col_expr(case::Column::LookupKey, Expr::value(unlinked.to_vec()))
            .col_expr(case::Column::SealedReport, Expr::value(Vec::<u8>::new()))
            .col_expr(
                case::Column::ReporterPublicKey,
                Expr::value(Option::<Vec<u8>>::None),
            )
            .col_expr(case::Column::PurgedAt, Expr::value(Some(now)))
            .filter(case::Column::Id.eq(uuid))
            .filter(closed_unheld(now))
            .filter(case::Column::ClosedAt.lt(before))
            .exec(&txn)
            .await?;
        if marked.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        let removed = delete_contents(&txn, uuid).await?;
        // Its leaves stay in the log (the heads must not change), but no
        // longer name the case: a receipt found later leads nowhere.
        crate::entity::log_leaf::Entity::update_many()
            .col_expr(
                crate::entity::log_leaf::Column::CaseId,
                Expr::value(Option::<Uuid>::None),
            )
            .col_expr(
                crate::entity::log_leaf::Column::MessageId,
                Expr::value(Option::<Uuid>::None),
            )
            .filter(crate::entity::log_leaf::Column::CaseId.eq(uuid))
            .exec(&txn)
            .await?;
        let unit = crate::audit::case_unit(&txn, id).await?;
        append(
            &txn,
            AuditRecord {
                actor: "system:retention".into(),
                action: "case.purged".into(),
                unit,
                case_id: id.to_string(),
                detail: format!("items={removed}"),
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Sets (`Some(since)`) or lifts (`None`) a case's legal hold. Refuses
    /// a no-op and a purged case (409). Audited as `case.legal_hold` with
    /// `on` or `off`; the reason is sealed by the caller as a note.
    pub async fn set_legal_hold(
        &self,
        id: CaseId,
        hold: Option<&UnitId>,
        lifter: &crate::Jurisdiction,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.write_txn().await?;
        let mut q = case::Entity::update_many()
            .col_expr(case::Column::LegalHoldSince, Expr::value(hold.map(|_| now)))
            .col_expr(
                case::Column::LegalHoldUnit,
                Expr::value(hold.map(|u| u.as_str().to_owned())),
            )
            .filter(case::Column::Id.eq(id.as_uuid()))
            .filter(case::Column::PurgedAt.is_null());
        q = match hold {
            Some(_) => q.filter(case::Column::LegalHoldSince.is_null()),
            // Only the unit that set the hold, or one above it, lifts it.
            None => q
                .col_expr(case::Column::LegalHoldLiftedAt, Expr::value(Some(now)))
                .filter(case::Column::LegalHoldSince.is_not_null())
                .filter(case::Column::LegalHoldUnit.is_in(lifter.ids())),
        };
        if q.exec(&txn).await?.rows_affected != 1 {
            txn.rollback().await?;
            return Err(StoreError::Conflict(Clash::LegalHoldUnchanged));
        }
        let unit = crate::audit::case_unit(&txn, id).await?;
        append(
            &txn,
            AuditRecord {
                actor: actor.to_owned(),
                action: "case.legal_hold".into(),
                unit,
                case_id: id.to_string(),
                detail: if hold.is_some() { "on" } else { "off" }.into(),
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// After purges: SQLite rewrites the file without free pages (with
    /// `secure_delete` already zeroing what was deleted) and empties its
    /// write-ahead log; PostgreSQL's plain VACUUM marks the dead rows'
    /// space reusable but does not overwrite it (docs/operations.md,
    /// "Retention").
    pub async fn compact_after_purge(&self) -> Result<(), StoreError> {
        match self.backend() {
            DbBackend::Sqlite => {
                self.conn().execute_unprepared("VACUUM").await?;
                // The write-ahead log still holds images of the pages as
                // they were: write them back and cut the log to nothing.
                self.conn()
                    .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                    .await?;
            }
            _ => {
                self.conn()
                    .execute_unprepared(
                        "VACUUM cases, messages, attachments, attachment_chunks, transitions, holds",
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
