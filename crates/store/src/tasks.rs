//! Tasks beside a case's stages (受理告知, 复查): opened by routing and by a
//! reporter's objection, done by staff in the same transaction as the act
//! that does them, reminded and escalated by the sweeper like a stage.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use sunlight_core::{CaseId, TaskKind, UnitId};
use uuid::Uuid;

use crate::cases::Jurisdiction;
use crate::entity::task;
use crate::{Store, StoreError};

/// A task as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    pub id: Uuid,
    pub case_id: CaseId,
    pub kind: TaskKind,
    /// The unit whose people must do it.
    pub unit: UnitId,
    pub opened_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub overdue_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<Uuid>,
    /// `acknowledged`, `upheld` or `reopened`.
    pub done_how: Option<String>,
    /// As read, for the sweeper's compare-and-set.
    pub(crate) next_sweep_at: Option<DateTime<Utc>>,
}

impl TaskRow {
    pub fn is_open(&self) -> bool {
        self.done_at.is_none()
    }

    /// When the sweeper must look again (None: never).
    pub fn next_sweep_at(&self) -> Option<DateTime<Utc>> {
        self.next_sweep_at
    }
}

impl TryFrom<task::Model> for TaskRow {
    type Error = StoreError;
    fn try_from(m: task::Model) -> Result<Self, StoreError> {
        let bad = |what: &str| StoreError::Corrupt(format!("task {}: bad {what}", m.id));
        Ok(Self {
            id: m.id,
            case_id: CaseId::from_uuid(m.case_id),
            kind: m.kind.parse().map_err(|_| bad("kind"))?,
            unit: UnitId::parse(&m.unit_id).map_err(|_| bad("unit"))?,
            opened_at: m.opened_at,
            due_at: m.due_at,
            overdue_at: m.overdue_at,
            done_at: m.done_at,
            done_by: m.done_by,
            done_how: m.done_how,
            next_sweep_at: m.next_sweep_at,
        })
    }
}

pub(crate) use crate::task_rows::{finish_task, open_task};

/// How many open tasks one listing shows at most.
pub const TASK_LIST_MAX: u64 = 500;

impl Store {
    /// Every task of a case, oldest first.
    pub async fn tasks_of(&self, case: CaseId) -> Result<Vec<TaskRow>, StoreError> {
        task::Entity::find()
            .filter(task::Column::CaseId.eq(case.as_uuid()))
            .order_by_asc(task::Column::OpenedAt)
            .order_by_asc(task::Column::Id)
            .all(self.conn())
            .await?
            .into_iter()
            .map(TaskRow::try_from)
            .collect()
    }

    /// Open tasks of the member's units, the earliest deadline first.
    pub async fn open_tasks(&self, j: &Jurisdiction) -> Result<Vec<TaskRow>, StoreError> {
        task::Entity::find()
            .filter(task::Column::DoneAt.is_null())
            .filter(task::Column::UnitId.is_in(j.ids()))
            .order_by_asc(task::Column::DueAt)
            .order_by_asc(task::Column::Id)
            .limit(TASK_LIST_MAX)
            .all(self.conn())
            .await?
            .into_iter()
            .map(TaskRow::try_from)
            .collect()
    }

    /// Open tasks whose next sweep falls at or before `now`, earliest first.
    pub async fn tasks_to_sweep(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<TaskRow>, StoreError> {
        task::Entity::find()
            .filter(task::Column::DoneAt.is_null())
            .filter(task::Column::NextSweepAt.is_not_null())
            .filter(task::Column::NextSweepAt.lte(now))
            .order_by_asc(task::Column::NextSweepAt)
            .order_by_asc(task::Column::Id)
            .limit(limit)
            .all(self.conn())
            .await?
            .into_iter()
            .map(TaskRow::try_from)
            .collect()
    }
}

impl Store {
    /// 受理告知: a staff message to the reporter of `task_case` (stored on
    /// `case`, where the work goes on — the same case unless it was merged
    /// into `case`) that does the case's acknowledgement task, in one
    /// transaction. `Conflict(TaskDone)` and nothing stored when no
    /// acknowledgement is open.
    pub async fn acknowledge(
        &self,
        case: CaseId,
        task_case: CaseId,
        message_id: Uuid,
        staff: Uuid,
        sealed_body: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use crate::audit::{AuditRecord, append};
        use crate::entity::message;
        let txn = self.write_txn().await?;
        if !finish_task(
            &txn,
            task_case,
            TaskKind::Acknowledge,
            Some(staff),
            "acknowledged",
            now,
        )
        .await?
        {
            txn.rollback().await?;
            return Err(StoreError::Conflict(crate::error::Clash::TaskDone));
        }
        message::Entity::insert(message::ActiveModel {
            id: Set(message_id),
            case_id: Set(case.as_uuid()),
            author: Set("staff".to_owned()),
            staff_id: Set(Some(staff)),
            sealed_body: Set(sealed_body),
            created_at: Set(now),
            notice_pending: Set(false),
        })
        .exec_without_returning(&txn)
        .await?;
        // Any word to the reporter is also the interim message a late
        // stage owes them.
        finish_task(&txn, case, TaskKind::Interim, Some(staff), "messaged", now).await?;
        let unit = crate::audit::case_unit(&txn, task_case).await?;
        append(
            &txn,
            AuditRecord {
                actor: format!("staff:{staff}"),
                action: "case.acknowledged".into(),
                unit,
                case_id: task_case.to_string(),
                ..Default::default()
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

/// The outcome of sweeping one open task.
#[derive(Debug, Clone)]
pub struct TaskSweep {
    pub task: TaskRow,
    pub notices: Vec<crate::NoticeWrite>,
    /// The deadline passed: mark the task overdue and audit it.
    pub overdue: bool,
    pub next_sweep_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Writes a batch of task sweeps in one transaction; a task done or
    /// swept by another process since it was read is skipped.
    pub async fn record_task_sweep(
        &self,
        batch: &[TaskSweep],
        now: DateTime<Utc>,
    ) -> Result<crate::SweepWritten, StoreError> {
        use crate::audit::{AuditRecord, append};
        use crate::sweeper::{About, write_notice};
        let mut out = crate::SweepWritten::default();
        let txn = self.write_txn().await?;
        for w in batch {
            let t = &w.task;
            let current = task::Entity::update_many()
                .col_expr(task::Column::NextSweepAt, Expr::value(w.next_sweep_at))
                .filter(task::Column::Id.eq(t.id))
                .filter(task::Column::DoneAt.is_null())
                .filter(task::Column::NextSweepAt.eq(t.next_sweep_at))
                .exec(&txn)
                .await?
                .rows_affected
                == 1;
            if !current {
                out.skipped += 1;
                continue;
            }
            let stage = format!("task:{}", t.kind);
            let about = About {
                id: t.id,
                case: t.case_id,
                stage: &stage,
                unit: &t.unit,
            };
            for n in &w.notices {
                let fresh = write_notice(&txn, &about, n, now, &mut out).await?;
                if fresh && w.overdue && n.kind == "overdue" {
                    task::Entity::update_many()
                        .col_expr(task::Column::OverdueAt, Expr::value(now))
                        .filter(task::Column::Id.eq(t.id))
                        .exec(&txn)
                        .await?;
                    append(
                        &txn,
                        AuditRecord {
                            actor: "system:sweeper".into(),
                            action: "task.overdue".into(),
                            unit: t.unit.to_string(),
                            case_id: t.case_id.to_string(),
                            detail: format!("task={} due={}", t.kind, t.due_at),
                        },
                        now,
                    )
                    .await?;
                    out.overdue += 1;
                }
            }
        }
        txn.commit().await?;
        Ok(out)
    }

    /// The owners of the open stages of `cases` (unowned ones left out).
    pub async fn stage_owners(
        &self,
        cases: &[CaseId],
    ) -> Result<std::collections::HashMap<CaseId, Uuid>, StoreError> {
        use crate::entity::queue_entry;
        let mut out = std::collections::HashMap::new();
        for chunk in cases.chunks(500) {
            let rows: Vec<(Uuid, Option<Uuid>)> = queue_entry::Entity::find()
                .select_only()
                .column(queue_entry::Column::CaseId)
                .column(queue_entry::Column::OwnerId)
                .filter(queue_entry::Column::OpenCaseId.is_in(chunk.iter().map(|c| c.as_uuid())))
                .into_tuple()
                .all(self.conn())
                .await?;
            for (case, owner) in rows {
                if let Some(owner) = owner {
                    out.insert(CaseId::from_uuid(case), owner);
                }
            }
        }
        Ok(out)
    }
}
