//! Opening and finishing a task row (the one open task of a kind per case,
//! kept by `open_key`), for every module that opens or does a task in its
//! own transaction; the task listings and their sweep are `tasks.rs`.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, sea_query::Expr,
    sea_query::OnConflict,
};
use sunlight_core::{CaseId, TaskKind, UnitId};
use uuid::Uuid;

use crate::StoreError;
use crate::entity::task;

pub(crate) fn open_key(case: CaseId, kind: TaskKind) -> String {
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
