//! What a reporter sees with their code: the stage, the dates that may be shown, and the messages.

use crate::attachments::{AttachmentRow, attachments_on};
use crate::cases::{CaseRow, QueueRow, case_by_lookup_key_on};
use crate::entity::{case, message, queue_entry, transition};
use crate::log::{ReportLeaf, report_leaf_on};
use crate::messages::messages_on;
use crate::units::{UnitRow, public_units_on};
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
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
    /// Every unit's public part, read with the rest in one transaction:
    /// the chains a follow-up is sealed to (`unit_chain`).
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
        let view = view_in(&txn, lookup_key).await;
        // Nothing was written: ended the same way whether the read worked
        // or not (on PostgreSQL a failed statement aborts the transaction,
        // and only a rollback ends it cleanly). Its failure changes
        // nothing read; a broken connection is dropped on its return.
        if let Err(end) = txn.rollback().await {
            tracing::warn!(error = %end, "ending a reporter view's read");
        }
        view
    }
}

/// [`Store::reporter_view`] inside `txn`.
async fn view_in(
    txn: &DatabaseTransaction,
    lookup_key: &[u8; 32],
) -> Result<Option<ReporterView>, StoreError> {
    let Some(mut case) = case_by_lookup_key_on(txn, lookup_key).await? else {
        return Ok(None);
    };
    let own_id = case.id;
    let own_unit = case.unit.clone();
    let own_reporter_key = case.reporter_public_key;
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
    }
    let open_entry = queue_entry::Entity::find()
        .filter(queue_entry::Column::OpenCaseId.eq(case.id.as_uuid()))
        .one(txn)
        .await?
        .map(QueueRow::try_from)
        .transpose()?;
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
        units: public_units_on(txn).await?,
        own_leaf: own_leaf(txn, own_id).await,
    }))
}

/// The leaf of the report, best effort and read last: an odd log row
/// (`sunlight log verify` names it) hides the log entry, never the case
/// from its reporter. Nothing here names the case: the warning's time
/// would tie it to the reporter's visit.
async fn own_leaf(txn: &DatabaseTransaction, case: CaseId) -> Option<ReportLeaf> {
    report_leaf_on(txn, case).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "a report's log leaf does not read; its entry is left out");
        None
    })
}
