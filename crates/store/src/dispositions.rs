//! The two dispositions no staff action writes: a case whose question for
//! specifics went unanswered is filed for reference (存查), and a filed
//! case that the reporter sends material to is opened again for the
//! acceptance decision. Both are the sweeper's, each one transaction with
//! its history row and audit entry.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    sea_query::Expr, sea_query::ExprTrait,
};
use sunlight_core::{CaseId, Disposition, Stage, TaskKind};
use uuid::Uuid;

use crate::audit::{AuditRecord, append};
use crate::entity::{case, hold, message, queue_entry};
use crate::tasks::finish_task;
use crate::transitions::{Step, insert_transition, open_entry};
use crate::{Store, StoreError};

impl Store {
    /// Cases asked for specifics whose pause ended by `now` without an
    /// answer (an answer lifts the pause), at most `limit`.
    pub async fn specifics_unanswered(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<CaseId>, StoreError> {
        let ids: Vec<Uuid> = queue_entry::Entity::find()
            .select_only()
            .column(queue_entry::Column::CaseId)
            .filter(queue_entry::Column::ClosedAt.is_null())
            .filter(queue_entry::Column::Stage.eq(Stage::Received.as_str()))
            .filter(queue_entry::Column::PausedUntil.lte(now))
            .limit(limit)
            .into_tuple()
            .all(self.conn())
            .await?;
        let asked: Vec<Uuid> = case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .filter(case::Column::Id.is_in(ids))
            .filter(case::Column::SpecificsAsked.eq(true))
            .filter(case::Column::Stage.eq(Stage::Received.as_str()))
            .into_tuple()
            .all(self.conn())
            .await?;
        Ok(asked.into_iter().map(CaseId::from_uuid).collect())
    }

    /// 存查: closes a case whose question went unanswered. `false` when it
    /// was answered or decided meanwhile (nothing changes then).
    pub async fn file_for_reference(
        &self,
        id: CaseId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.write_txn().await?;
        // The case row first, then its entry: the order every staff action
        // and a reporter's answer take, so they never deadlock.
        let won = case::Entity::update_many()
            .col_expr(case::Column::Stage, Expr::value(Stage::Closed.as_str()))
            .col_expr(
                case::Column::Disposition,
                Expr::value(Disposition::FiledForReference.as_str()),
            )
            .col_expr(case::Column::ClosedAt, Expr::value(now))
            .col_expr(case::Column::Hold, Expr::value(false))
            .col_expr(
                case::Column::Version,
                Expr::col(case::Column::Version).add(1),
            )
            .filter(case::Column::Id.eq(id.as_uuid()))
            .filter(case::Column::Stage.eq(Stage::Received.as_str()))
            .filter(case::Column::SpecificsAsked.eq(true))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !won || !close_unanswered_entry(&txn, id, now).await? {
            txn.rollback().await?;
            return Ok(false);
        }
        hold::Entity::update_many()
            .col_expr(hold::Column::LiftedAt, Expr::value(now))
            .filter(hold::Column::CaseId.eq(id.as_uuid()))
            .filter(hold::Column::LiftedAt.is_null())
            .exec(&txn)
            .await?;
        for kind in [TaskKind::Acknowledge, TaskKind::Interim] {
            finish_task(&txn, id, kind, None, "filed", now).await?;
        }
        system_step(
            &txn,
            id,
            Stage::Received,
            Stage::Closed,
            "filed_for_reference",
            now,
        )
        .await?;
        Ok(txn.commit().await.map(|()| true)?)
    }
}

/// Closes the case's acceptance entry if it is still paused past its end
/// and no reporter material came since the question: a conditional
/// update, so an answer that lifted the pause meanwhile (or a decision
/// that closed the entry) wins. An answer that came after the pause ended
/// no longer lifts the clock's pause; it is looked for too, from the day
/// the pause ended (a reporter message carries its day only).
async fn close_unanswered_entry(
    txn: &DatabaseTransaction,
    id: CaseId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Some(entry) = queue_entry::Entity::find()
        .filter(queue_entry::Column::OpenCaseId.eq(id.as_uuid()))
        .filter(queue_entry::Column::Stage.eq(Stage::Received.as_str()))
        .filter(queue_entry::Column::PausedUntil.lte(now))
        .one(txn)
        .await?
    else {
        return Ok(false);
    };
    let Some(until) = entry.paused_until else {
        return Ok(false);
    };
    let asked = until - chrono::Duration::days(1);
    let answered = message::Entity::find()
        .filter(message::Column::CaseId.eq(id.as_uuid()))
        .filter(message::Column::Author.eq("reporter"))
        .filter(message::Column::CreatedAt.gte(asked))
        .count(txn)
        .await?
        > 0;
    if answered {
        return Ok(false);
    }
    Ok(queue_entry::Entity::update_many()
        .col_expr(queue_entry::Column::ClosedAt, Expr::value(now))
        .col_expr(
            queue_entry::Column::OpenCaseId,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(queue_entry::Column::Id.eq(entry.id))
        .filter(queue_entry::Column::ClosedAt.is_null())
        .filter(queue_entry::Column::PausedUntil.eq(entry.paused_until))
        .exec(txn)
        .await?
        .rows_affected
        == 1)
}

/// A reporter's material reached a case filed for reference: it is opened
/// again into the acceptance step, with `accept_due` as its deadline. Run
/// in the transaction that records the material's notice (a day after it
/// came), so the reopening does not time the reporter's return.
pub(crate) async fn reopen_filed(
    txn: &DatabaseTransaction,
    id: CaseId,
    accept_due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let reopened = case::Entity::update_many()
        .col_expr(case::Column::Stage, Expr::value(Stage::Received.as_str()))
        .col_expr(
            case::Column::Disposition,
            Expr::value(Disposition::Open.as_str()),
        )
        .col_expr(
            case::Column::ClosedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            case::Column::Version,
            Expr::col(case::Column::Version).add(1),
        )
        .filter(case::Column::Id.eq(id.as_uuid()))
        .filter(case::Column::Stage.eq(Stage::Closed.as_str()))
        .filter(case::Column::Disposition.eq(Disposition::FiledForReference.as_str()))
        .exec(txn)
        .await?
        .rows_affected
        == 1;
    if !reopened {
        return Ok(false);
    }
    let row = case::Entity::find_by_id(id.as_uuid())
        .one(txn)
        .await?
        .ok_or(StoreError::NotFound("case"))?;
    open_entry(txn, &row, Stage::Received, &row.unit_id, accept_due, now).await?;
    system_step(
        txn,
        id,
        Stage::Closed,
        Stage::Received,
        "reopened_on_material",
        now,
    )
    .await?;
    Ok(true)
}

/// The history row and audit entry of a step the system took.
async fn system_step(
    txn: &DatabaseTransaction,
    id: CaseId,
    from: Stage,
    to: Stage,
    action: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    insert_transition(
        txn,
        Step {
            id: Uuid::new_v4(),
            case: id,
            from,
            to,
            action,
            actor: None,
            sealed_note: None,
            reporter_visible: true,
            at: now,
        },
    )
    .await?;
    append(
        txn,
        AuditRecord {
            actor: "system:sweeper".into(),
            action: format!("case.{action}"),
            unit: crate::audit::case_unit(txn, id).await?,
            case_id: id.to_string(),
            detail: format!("{}->{}", from.as_str(), to.as_str()),
        },
        now,
    )
    .await?;
    Ok(())
}
