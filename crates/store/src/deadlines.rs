//! Open deadlines as a whole: the years they reach (`sunlight calendar
//! check`) and moving them when an official holiday file replaces the
//! provisional calendar of a year.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr};
use sunlight_core::{CaseId, Stage, TaskKind};
use uuid::Uuid;

use crate::audit::{AuditRecord, append};
use crate::entity::{case, hold, queue_entry, task};
use crate::transitions::{Step, insert_transition};
use crate::{Store, StoreError};

/// What an open deadline belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineOf {
    /// A case's current stage (queue entry).
    Stage(Stage),
    /// Work beside the stages (受理告知, 复查).
    Task(TaskKind),
    /// A hold's (暂缓) notice to the running selection, until confirmed.
    HoldNotice,
    /// A hold's longest run, until lifted or escalated.
    HoldMax,
}

/// One open deadline.
#[derive(Debug, Clone)]
pub struct OpenDeadline {
    pub id: Uuid,
    pub case: CaseId,
    pub unit: String,
    pub of: DeadlineOf,
    pub opened_at: DateTime<Utc>,
    /// When its case arrived: some deadlines count from there (the
    /// acknowledgement, and verification of a report routed later).
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

impl Store {
    /// Every open stage, task and hold deadline.
    pub async fn open_deadlines(&self) -> Result<Vec<OpenDeadline>, StoreError> {
        let entries = queue_entry::Entity::find()
            .filter(queue_entry::Column::ClosedAt.is_null())
            .all(self.conn())
            .await?;
        let tasks = task::Entity::find()
            .filter(task::Column::DoneAt.is_null())
            .all(self.conn())
            .await?;
        let holds = hold::Entity::find()
            .filter(hold::Column::LiftedAt.is_null())
            .all(self.conn())
            .await?;
        let ids: Vec<Uuid> = entries
            .iter()
            .map(|e| e.case_id)
            .chain(tasks.iter().map(|t| t.case_id))
            .chain(holds.iter().map(|h| h.case_id))
            .collect();
        let received = self.arrivals(&ids).await?;
        let arrival =
            |case: Uuid, opened: DateTime<Utc>| received.get(&case).copied().unwrap_or(opened);
        let mut out = Vec::with_capacity(entries.len() + tasks.len());
        for e in entries {
            let stage = e
                .stage
                .parse::<Stage>()
                .map_err(|_| StoreError::Corrupt(format!("queue entry stage {:?}", e.stage)))?;
            out.push(OpenDeadline {
                id: e.id,
                case: CaseId::from_uuid(e.case_id),
                unit: e.unit_id,
                of: DeadlineOf::Stage(stage),
                received_at: arrival(e.case_id, e.opened_at),
                opened_at: e.opened_at,
                due_at: e.due_at,
            });
        }
        for t in tasks {
            let kind = t
                .kind
                .parse::<TaskKind>()
                .map_err(|_| StoreError::Corrupt(format!("task kind {:?}", t.kind)))?;
            out.push(OpenDeadline {
                id: t.id,
                case: CaseId::from_uuid(t.case_id),
                unit: t.unit_id,
                of: DeadlineOf::Task(kind),
                received_at: arrival(t.case_id, t.opened_at),
                opened_at: t.opened_at,
                due_at: t.due_at,
            });
        }
        for h in holds {
            let open = [
                (
                    DeadlineOf::HoldNotice,
                    h.notice_due_at,
                    h.confirmed_at.is_none(),
                ),
                (DeadlineOf::HoldMax, h.max_until, h.escalated_at.is_none()),
            ];
            for (of, due_at, still_open) in open {
                if still_open {
                    out.push(OpenDeadline {
                        id: h.id,
                        case: CaseId::from_uuid(h.case_id),
                        unit: h.unit_id.clone(),
                        of,
                        received_at: arrival(h.case_id, h.opened_at),
                        opened_at: h.opened_at,
                        due_at,
                    });
                }
            }
        }
        Ok(out)
    }

    /// When each case of `ids` arrived.
    async fn arrivals(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, DateTime<Utc>>, StoreError> {
        let mut received = HashMap::new();
        for chunk in ids.chunks(500) {
            let rows: Vec<(Uuid, DateTime<Utc>)> = case::Entity::find()
                .select_only()
                .column(case::Column::Id)
                .column(case::Column::ReceivedAt)
                .filter(case::Column::Id.is_in(chunk.to_vec()))
                .into_tuple()
                .all(self.conn())
                .await?;
            received.extend(rows);
        }
        Ok(received)
    }

    /// Moves one open deadline to `due_at`, with a history entry (staff
    /// side; the reporter's page shows the new date) and an audit entry
    /// whose detail ends with `why` (the last days before and after, and
    /// the reason, in the caller's words). The sweeper looks at it again at once, so reminders
    /// follow the new date. `false`: the deadline changed or closed since it
    /// was read, and nothing was written.
    pub async fn move_deadline(
        &self,
        deadline: &OpenDeadline,
        due_at: DateTime<Utc>,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.write_txn().await?;
        let moved = set_due(&txn, deadline, due_at, now).await?;
        if moved == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        let what = match deadline.of {
            DeadlineOf::Stage(stage) => {
                insert_transition(
                    &txn,
                    Step {
                        id: Uuid::new_v4(),
                        case: deadline.case,
                        from: stage,
                        to: stage,
                        action: "deadline_recomputed",
                        actor: None,
                        sealed_note: None,
                        reporter_visible: false,
                        at: now,
                    },
                )
                .await?;
                format!("stage={stage}")
            }
            DeadlineOf::Task(kind) => format!("task={kind}"),
            DeadlineOf::HoldNotice => "hold=notice".to_owned(),
            DeadlineOf::HoldMax => "hold=max".to_owned(),
        };
        append(
            &txn,
            AuditRecord {
                actor: "system:calendar".into(),
                action: "case.deadline_recomputed".into(),
                unit: deadline.unit.clone(),
                case_id: deadline.case.to_string(),
                detail: format!("{what} {why}"),
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(true)
    }
}

/// The one guarded write of a move: only while the deadline is open and
/// still where it was read; the number of rows changed (0 or 1).
async fn set_due(
    txn: &sea_orm::DatabaseTransaction,
    deadline: &OpenDeadline,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(match deadline.of {
        DeadlineOf::Stage(_) => {
            queue_entry::Entity::update_many()
                .col_expr(queue_entry::Column::DueAt, Expr::value(due_at))
                .col_expr(queue_entry::Column::NextSweepAt, Expr::value(Some(now)))
                .filter(queue_entry::Column::Id.eq(deadline.id))
                .filter(queue_entry::Column::ClosedAt.is_null())
                .filter(queue_entry::Column::DueAt.eq(deadline.due_at))
                .exec(txn)
                .await?
                .rows_affected
        }
        DeadlineOf::HoldNotice | DeadlineOf::HoldMax => {
            let column = if deadline.of == DeadlineOf::HoldNotice {
                hold::Column::NoticeDueAt
            } else {
                hold::Column::MaxUntil
            };
            hold::Entity::update_many()
                .col_expr(column, Expr::value(due_at))
                .filter(hold::Column::Id.eq(deadline.id))
                .filter(hold::Column::LiftedAt.is_null())
                .filter(column.eq(deadline.due_at))
                .exec(txn)
                .await?
                .rows_affected
        }
        DeadlineOf::Task(_) => {
            task::Entity::update_many()
                .col_expr(task::Column::DueAt, Expr::value(due_at))
                .col_expr(task::Column::NextSweepAt, Expr::value(Some(now)))
                .filter(task::Column::Id.eq(deadline.id))
                .filter(task::Column::DoneAt.is_null())
                .filter(task::Column::DueAt.eq(deadline.due_at))
                .exec(txn)
                .await?
                .rows_affected
        }
    })
}
