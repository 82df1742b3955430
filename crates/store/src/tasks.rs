//! Tasks beside a case's stages (受理告知, 复查): opened by routing and by a
//! reporter's objection, done by staff in the same transaction as the act
//! that does them, reminded and escalated by the sweeper like a stage.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, sea_query::Expr, sea_query::OnConflict,
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

fn open_key(case: CaseId, kind: TaskKind) -> String {
    format!("{case}/{kind}")
}

/// Opens a task unless one of its kind is open on the case already;
/// `false` then. The sweeper looks at it at once (its first notice).
pub(crate) async fn open_task(
    txn: &DatabaseTransaction,
    case: CaseId,
    kind: TaskKind,
    unit: &UnitId,
    opened_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let rows = task::Entity::insert(task::ActiveModel {
        // Random, not time-ordered: an objection's task must not carry the
        // reporter's moment in its id.
        id: Set(Uuid::new_v4()),
        case_id: Set(case.as_uuid()),
        kind: Set(kind.as_str().to_owned()),
        unit_id: Set(unit.as_str().to_owned()),
        open_key: Set(Some(open_key(case, kind))),
        opened_at: Set(opened_at),
        due_at: Set(due_at),
        next_sweep_at: Set(Some(opened_at)),
        overdue_at: Set(None),
        done_at: Set(None),
        done_by: Set(None),
        done_how: Set(None),
    })
    .on_conflict(
        OnConflict::column(task::Column::OpenKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(rows == 1)
}

/// Marks the case's open task of `kind` done; `false` when none was open.
pub(crate) async fn finish_task(
    txn: &DatabaseTransaction,
    case: CaseId,
    kind: TaskKind,
    by: Option<Uuid>,
    how: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let rows = task::Entity::update_many()
        .col_expr(task::Column::DoneAt, Expr::value(now))
        .col_expr(task::Column::DoneBy, Expr::value(by))
        .col_expr(task::Column::DoneHow, Expr::value(how))
        .col_expr(task::Column::OpenKey, Expr::value(Option::<String>::None))
        .col_expr(
            task::Column::NextSweepAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(task::Column::OpenKey.eq(open_key(case, kind)))
        .exec(txn)
        .await?
        .rows_affected;
    Ok(rows == 1)
}

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
