//! Routing (分办): a received case gets its acceptance deadline (受理), its hold and acknowledgement tasks, in one transaction with its audit entry; it waits in its unit's received queue for the acceptance decision.

use crate::audit::{AuditRecord, append};
use crate::cases::CaseRow;
use crate::entity::{case, hold, queue_entry};
use crate::holds::NewHold;
use crate::tasks::open_task;
use crate::transitions::*;
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use sunlight_core::{CaseId, Stage, TaskKind};
use uuid::Uuid;

/// What routing decided for a received case.
#[derive(Debug, Clone)]
pub struct RoutePlan {
    /// Deadline of the acceptance decision (the received stage).
    pub accept_due: DateTime<Utc>,
    /// A hold task, when the report points at a running selection.
    pub hold: Option<NewHold>,
    /// 受理告知 of a real-name report: the acknowledgement task's deadline.
    pub acknowledge_due: Option<DateTime<Utc>>,
}

impl Store {
    /// Received cases that routing has not handled yet, oldest first.
    pub async fn unrouted_cases(&self, limit: u64) -> Result<Vec<CaseRow>, StoreError> {
        case::Entity::find()
            .filter(case::Column::Stage.eq(Stage::Received.as_str()))
            .filter(case::Column::RoutedAt.is_null())
            .order_by_asc(case::Column::ReceivedAt)
            .limit(limit)
            .all(self.conn())
            .await?
            .into_iter()
            .map(CaseRow::try_from)
            .collect()
    }

    /// Routes a received case: its received entry (the acceptance step)
    /// takes the acceptance deadline, and its hold and acknowledgement
    /// tasks open. Idempotent: a case already routed is left alone and
    /// `false` returned, so any number of routers may race.
    pub async fn route_case(
        &self,
        id: CaseId,
        plan: &RoutePlan,
        actor: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.write_txn().await?;
        let won = case::Entity::update_many()
            .col_expr(case::Column::RoutedAt, Expr::value(now))
            .col_expr(case::Column::Hold, Expr::value(plan.hold.is_some()))
            .col_expr(
                case::Column::Version,
                sea_orm::sea_query::ExprTrait::add(Expr::col(case::Column::Version), 1),
            )
            .filter(case::Column::Id.eq(id.as_uuid()))
            .filter(case::Column::Stage.eq(Stage::Received.as_str()))
            .filter(case::Column::RoutedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !won {
            txn.rollback().await?;
            return Ok(false);
        }
        let row = case::Entity::find_by_id(id.as_uuid())
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound("case"))?;
        let entry = queue_entry::Entity::update_many()
            .col_expr(queue_entry::Column::DueAt, Expr::value(plan.accept_due))
            .col_expr(queue_entry::Column::NextSweepAt, Expr::value(now))
            .filter(queue_entry::Column::OpenCaseId.eq(row.id))
            .filter(queue_entry::Column::Stage.eq(Stage::Received.as_str()))
            .exec(&txn)
            .await?
            .rows_affected;
        if entry == 0 {
            // A case from before the acceptance step, or one whose entry
            // went missing: it gets one, so the decision has a deadline.
            open_entry(
                &txn,
                &row,
                Stage::Received,
                &row.unit_id,
                plan.accept_due,
                now,
            )
            .await?;
        }
        if let Some(h) = &plan.hold {
            hold::Entity::insert(hold::ActiveModel {
                id: Set(Uuid::new_v4()),
                case_id: Set(row.id),
                unit_id: Set(row.unit_id.clone()),
                opened_at: Set(now),
                notice_due_at: Set(h.notice_due_at),
                max_until: Set(h.max_until),
                confirmed_at: Set(None),
                confirmed_by: Set(None),
                sealed_notice_to: Set(None),
                lifted_at: Set(None),
                escalated_at: Set(None),
                notice_late_at: Set(None),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        if let Some(due) = plan.acknowledge_due {
            let unit = sunlight_core::UnitId::parse(&row.unit_id)
                .map_err(|_| StoreError::Corrupt(format!("case {id}: bad unit")))?;
            open_task(&txn, id, TaskKind::Acknowledge, &unit, now, due).await?;
        }
        insert_transition(
            &txn,
            Step {
                id: Uuid::new_v4(),
                case: id,
                from: Stage::Received,
                to: Stage::Received,
                action: "routed",
                actor,
                sealed_note: None,
                reporter_visible: true,
                at: now,
            },
        )
        .await?;
        append(
            &txn,
            AuditRecord {
                actor: actor.map_or_else(|| "system:router".to_owned(), |a| format!("staff:{a}")),
                action: "case.route".into(),
                unit: row.unit_id.clone(),
                case_id: id.to_string(),
                detail: if plan.hold.is_some() {
                    "hold=opened".into()
                } else {
                    String::new()
                },
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(true)
    }
}
