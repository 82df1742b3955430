//! What a reporter sees with their code: the stage, the dates that may be shown, and the messages.

use crate::attachments::{AttachmentRow, attachments_on};
use crate::cases::{CaseRow, QueueRow};
use crate::entity::{case, log_leaf, message, queue_entry, transition};
use crate::log::{ReportLeaf, report_leaf_of};
use crate::messages::messages_on;
use crate::units::UnitRow;
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use sunlight_core::{CaseId, Stage, UnitId};

/// A stage change the reporter may see.
#[derive(Debug, Clone)]
pub struct HistoryStep {
    pub to: Stage,
    pub action: String,
    pub at: DateTime<Utc>,
}

/// The reporter's window on a case (see `Store::reporter_view`).
#[derive(Debug, Clone)]
pub struct ReporterView {
    /// The case the code was issued for.
    pub own_case: CaseId,
    /// The unit of the case the code was issued for: with the units above
    /// it, the readers of everything this reporter sends, even after a
    /// merge (a merge never widens who reads a report).
    pub own_unit: UnitId,
    /// The reporter key of the case the code was issued for: what new
    /// material from this reporter is also sealed to.
    pub own_reporter_key: Option<sunlight_core::crypto::UnitPublicKey>,
    /// The case that carries on: `own_case`, or the one it was merged into.
    pub case: CaseRow,
    pub open_entry: Option<QueueRow>,
    pub history: Vec<HistoryStep>,
    pub messages: Vec<message::Model>,
    pub attachments: Vec<AttachmentRow>,
    /// Every unit's public part, from the copy new reports are addressed
    /// from (`Store::public_units_covering`, at most a second old): the
    /// chains a follow-up is sealed to (`unit_chain`). A key that rotated
    /// since gets the follow-up refused (`Clash::KeyChanged`), never
    /// stored sealed to the retired key.
    pub units: Vec<UnitRow>,
    /// The leaf of `own_case`'s report: `None` for a case filed before the
    /// log, and for a leaf row that does not read (best effort).
    pub own_leaf: Option<ReportLeaf>,
}

impl Store {
    /// What a reporter may see of their case, found by the stretched code.
    /// A merged case answers with the case it was merged into (its code
    /// keeps working). `None` for an unknown code.
    pub async fn reporter_view(
        &self,
        lookup_key: &[u8; 32],
    ) -> Result<Option<ReporterView>, StoreError> {
        // One read transaction for every query: one hand-out and return
        // of a pooled connection instead of one per query (sqlx pings on
        // each return; docs/performance.md), and on SQLite one snapshot
        // (PostgreSQL's READ COMMITTED takes one per statement, as before).
        let txn = self.reader().begin().await?;
        let read = read_in(&txn, lookup_key).await;
        self.end_read(txn).await;
        let Some(mut view) = read? else {
            // A code that matches nothing touches the copy of the units
            // as a real one does: whether a lookup renewed the copy (which
            // a request answered from it a moment later could time) must
            // not tell a reporter's visit from a guess.
            self.public_units_recent().await?;
            return Ok(None);
        };
        view.units = self
            .public_units_covering(&[&view.own_unit, &view.case.unit])
            .await?;
        Ok(Some(view))
    }
}

impl Store {
    /// Ends a transaction that only read, the same way whether the read
    /// worked or not (on PostgreSQL a failed statement aborts the
    /// transaction, and only a rollback ends it cleanly); a broken
    /// connection is dropped on its return to the pool.
    async fn end_read(&self, txn: DatabaseTransaction) {
        if self.backend() == DbBackend::Postgres {
            // Dropped: sqlx queues the ROLLBACK and sends it with the ping
            // it makes when the connection goes back to the pool — one
            // round trip instead of two, which the reporter does not wait
            // for. That ping waits for the ROLLBACK's answer too; if it
            // fails, the connection is closed, never reused inside the
            // transaction.
            drop(txn);
        } else if let Err(end) = txn.rollback().await {
            // SQLite's read-only connections would be closed on their
            // return if the queued rollback had not run by then
            // (`read_only_options`): rolled back here, in process.
            tracing::warn!(error = %end, "ending a reporter view's read");
        }
    }
}

/// [`Store::reporter_view`] inside `txn`, but for the units.
async fn read_in(
    txn: &DatabaseTransaction,
    lookup_key: &[u8; 32],
) -> Result<Option<ReporterView>, StoreError> {
    // The case with its open entry and its report's leaf in one query:
    // on PostgreSQL every query is a round trip, and a lookup is mostly
    // round trips (docs/performance.md). sea-orm reads a joined row that
    // does not decode as none: a damaged leaf hides the log entry, as
    // before, and a damaged open entry the deadline.
    let Some((found, open_entry, leaf)) = case::Entity::find()
        .filter(case::Column::LookupKey.eq(lookup_key.to_vec()))
        .find_also_related(queue_entry::Entity)
        .find_also_related(log_leaf::Entity)
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    let case = CaseRow::try_from(found)?;
    let own_id = case.id;
    let own_unit = case.unit.clone();
    let own_reporter_key = case.reporter_public_key;
    let own_leaf = leaf.and_then(own_leaf);
    let (case, open_entry) = follow_merges(txn, case, open_entry).await?;
    let open_entry = open_entry.map(QueueRow::try_from).transpose()?;
    let history = transition::Entity::find()
        .filter(transition::Column::CaseId.eq(case.id.as_uuid()))
        .filter(transition::Column::ReporterVisible.eq(true))
        .order_by_asc(transition::Column::At)
        .all(txn)
        .await?
        .into_iter()
        .map(|t| {
            Ok(HistoryStep {
                to: t
                    .to_stage
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("transition {}: bad stage", t.id)))?,
                action: t.action,
                at: t.at,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    // Messages and files of the reporter's own case and, when merged, of
    // the surviving case (where staff answer and later messages go).
    // Everything here is sealed; the reporter's key opens only what was
    // sealed to it, so another reporter's words stay closed (the intake
    // side skips what does not open).
    let mut messages = messages_on(txn, own_id).await?;
    let mut attachments = attachments_on(txn, own_id).await?;
    if case.id != own_id {
        messages.extend(messages_on(txn, case.id).await?);
        messages.sort_by_key(|m| m.created_at);
        attachments.extend(attachments_on(txn, case.id).await?);
    }
    // A staff message's tag is for staff, who hold the unit key to
    // check it; the reporter (or their browser) gets the envelope.
    for m in &mut messages {
        crate::staff_auth::strip_tag(&mut m.sealed_body);
    }
    Ok(Some(ReporterView {
        own_case: own_id,
        own_unit,
        own_reporter_key,
        case,
        open_entry,
        history,
        messages,
        attachments,
        // Filled by the caller, from the copy of the units.
        units: Vec::new(),
        own_leaf,
    }))
}

/// The case `case` was merged into, and so on to the one that carries on,
/// with its open entry (`open_entry` is `case`'s).
async fn follow_merges(
    txn: &DatabaseTransaction,
    mut case: CaseRow,
    mut open_entry: Option<queue_entry::Model>,
) -> Result<(CaseRow, Option<queue_entry::Model>), StoreError> {
    let own_id = case.id;
    // A merge chain is short; the bound guards against a corrupt cycle.
    for _ in 0..8 {
        let Some(target) = case.merged_into else {
            break;
        };
        case = case::Entity::find_by_id(target.as_uuid())
            .one(txn)
            .await?
            .map(CaseRow::try_from)
            .transpose()?
            .ok_or_else(|| StoreError::Corrupt(format!("case {own_id}: merge target missing")))?;
        open_entry = queue_entry::Entity::find()
            .filter(queue_entry::Column::OpenCaseId.eq(case.id.as_uuid()))
            .one(txn)
            .await?;
    }
    Ok((case, open_entry))
}

/// The leaf of the report, best effort: an odd log row (`sunlight log
/// verify` names it) hides the log entry, never the case from its
/// reporter. Nothing here names the case: the warning's time would tie it
/// to the reporter's visit.
fn own_leaf(row: log_leaf::Model) -> Option<ReportLeaf> {
    report_leaf_of(row)
        .inspect_err(|e| {
            tracing::warn!(error = %e, "a report's log leaf does not read; its entry is left out");
        })
        .ok()
}
