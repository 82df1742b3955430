//! Staff actions on the state machine (`record_transition`) and a case's
//! history. Each write is one transaction with its audit entry, and each
//! checks the state it was computed from, so two staff (or two processes)
//! acting on one case at once cannot both succeed: the loser gets
//! `Conflict` and nothing changes.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, sea_query::Expr,
};
use sunlight_core::case::{Event, StaffId, Transition};
use sunlight_core::{CaseId, Stage, TaskKind};
use uuid::Uuid;

use crate::audit::{AuditRecord, append};
use crate::cases::Jurisdiction;
use crate::entity::{case, hold, message, queue_entry, transition};
use crate::error::Clash;
use crate::merges::merge_into;
use crate::tasks::finish_task;
use crate::{Store, StoreError};

/// How the open queue entry changes with an action that keeps the stage.
#[derive(Debug, Clone, Default)]
pub struct EntryChange {
    pub due_at: Option<DateTime<Utc>>,
    pub extended: bool,
    /// `(paused_at, paused_until)` when the reporter is asked.
    pub pause: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// A staff action to store: the state machine's transition plus what the
/// triage side sealed for it.
#[derive(Debug)]
pub struct TransitionWrite<'a> {
    pub transition: &'a Transition,
    /// `CaseRow::version` as read when the transition was computed.
    pub expected_version: i32,
    /// The owner the transition was computed with.
    pub expected_owner: Option<StaffId>,
    /// Deadline of the new stage's entry when the stage changes to an open one.
    pub next_due: Option<DateTime<Utc>>,
    pub entry_change: EntryChange,
    /// The id of each event's history row (the seal of its note binds to it).
    pub row_ids: Vec<Uuid>,
    /// One sealed note per event (decision text, question, reason, …).
    pub sealed_notes: Vec<Option<Vec<u8>>>,
    /// Messages the reporter reads (feedback, a question): `(id, sealed)`.
    pub reporter_messages: Vec<(Uuid, Vec<u8>)>,
}

/// A step of a case's history, for staff.
#[derive(Debug, Clone)]
pub struct TransitionRow {
    pub id: Uuid,
    pub from: Stage,
    pub to: Stage,
    pub action: String,
    pub actor: Option<Uuid>,
    pub sealed_note: Option<Vec<u8>>,
    pub reporter_visible: bool,
    pub at: DateTime<Utc>,
}

pub(crate) fn event_name(e: &Event) -> &'static str {
    match e {
        Event::Routed => "routed",
        Event::Claimed { .. } => "claimed",
        Event::Accepted => "accepted",
        Event::Referred { .. } => "referred",
        Event::SpecificsAsked { .. } => "specifics_asked",
        Event::FiledForReference => "filed_for_reference",
        Event::MarkedKnowinglyFalse { .. } => "knowingly_false",
        Event::Verified { .. } => "verified",
        Event::HoldLifted => "hold_lifted",
        Event::Transferred { .. } => "transferred",
        Event::Rechecked { .. } => "rechecked",
        Event::Decided { .. } => "decided",
        Event::Extended { .. } => "extended",
        Event::ReporterAsked { .. } => "reporter_asked",
        Event::FeedbackGiven { .. } => "feedback_given",
        Event::Closed => "closed",
        Event::Merged { .. } => "merged",
        Event::Noted => "noted",
        Event::Reopened { .. } => "reopened",
        Event::Upheld { .. } => "upheld",
    }
}

pub(crate) fn stage_changes_are_visible(from: Stage, to: Stage) -> bool {
    from != to
}

/// One history row to insert.
pub(crate) struct Step<'a> {
    pub(crate) id: Uuid,
    pub(crate) case: CaseId,
    pub(crate) from: Stage,
    pub(crate) to: Stage,
    pub(crate) action: &'a str,
    pub(crate) actor: Option<Uuid>,
    pub(crate) sealed_note: Option<Vec<u8>>,
    pub(crate) reporter_visible: bool,
    pub(crate) at: DateTime<Utc>,
}

pub(crate) async fn insert_transition(
    txn: &DatabaseTransaction,
    step: Step<'_>,
) -> Result<(), StoreError> {
    transition::Entity::insert(transition::ActiveModel {
        id: Set(step.id),
        case_id: Set(step.case.as_uuid()),
        from_stage: Set(step.from.as_str().to_owned()),
        to_stage: Set(step.to.as_str().to_owned()),
        action: Set(step.action.to_owned()),
        actor_id: Set(step.actor),
        sealed_note: Set(step.sealed_note),
        reporter_visible: Set(step.reporter_visible),
        at: Set(step.at),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

pub(crate) async fn open_entry(
    txn: &DatabaseTransaction,
    case: &case::Model,
    stage: Stage,
    unit: &str,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    queue_entry::Entity::insert(queue_entry::ActiveModel {
        id: Set(Uuid::new_v4()),
        case_id: Set(case.id),
        open_case_id: Set(Some(case.id)),
        stage: Set(stage.as_str().to_owned()),
        unit_id: Set(unit.to_owned()),
        real_name: Set(case.real_name),
        opened_at: Set(now),
        due_at: Set(due_at),
        closed_at: Set(None),
        owner_id: Set(None),
        claimed_at: Set(None),
        paused_until: Set(None),
        extended: Set(false),
        paused_at: Set(None),
        next_sweep_at: Set(Some(now)),
        overdue_at: Set(None),
    })
    .exec_without_returning(txn)
    .await
    .map_err(|e| StoreError::unique(e, Clash::Exists("open queue entry")))?;
    Ok(())
}

pub(crate) async fn close_open_entry(
    txn: &DatabaseTransaction,
    case: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(queue_entry::Entity::update_many()
        .col_expr(queue_entry::Column::ClosedAt, Expr::value(now))
        .col_expr(
            queue_entry::Column::OpenCaseId,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(queue_entry::Column::OpenCaseId.eq(case))
        .exec(txn)
        .await?
        .rows_affected)
}

// Queue entries, holds and the routing step get random (v4) ids: a
// time-ordered id written by the router, seconds after a report arrived,
// would carry its arrival to the second.

impl Store {
    /// Stores a staff action computed by `sunlight_core::case::apply`.
    /// Fails with `Conflict` (and changes nothing) when the case's stage or
    /// owner moved since the state was read.
    pub async fn record_transition(
        &self,
        j: &Jurisdiction,
        w: TransitionWrite<'_>,
    ) -> Result<(), StoreError> {
        let txn = self.write_txn().await?;
        if let Err(e) = write_transition(&txn, j, &w).await {
            // A lost race or a refused merge leaves nothing behind; any
            // other failure rolls back as the transaction drops.
            if matches!(e, StoreError::Conflict(_) | StoreError::Invalid(_)) {
                txn.rollback().await?;
            }
            return Err(e);
        }
        txn.commit().await?;
        Ok(())
    }

    /// A case's history for staff, oldest first.
    pub async fn transitions_of(&self, case: CaseId) -> Result<Vec<TransitionRow>, StoreError> {
        transition::Entity::find()
            .filter(transition::Column::CaseId.eq(case.as_uuid()))
            .order_by_asc(transition::Column::At)
            .order_by_asc(transition::Column::Id)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|t| {
                let bad = || StoreError::Corrupt(format!("transition {}: bad stage", t.id));
                Ok(TransitionRow {
                    id: t.id,
                    from: t.from_stage.parse().map_err(|_| bad())?,
                    to: t.to_stage.parse().map_err(|_| bad())?,
                    action: t.action,
                    actor: t.actor_id,
                    sealed_note: t.sealed_note,
                    reporter_visible: t.reporter_visible,
                    at: t.at,
                })
            })
            .collect()
    }
}

/// A merge names its target in the case row, which must exist: a case id
/// that is none of the units' cases is refused before anything is written
/// (otherwise the foreign key fails the write as an internal error).
/// Whether the merge may happen at all is `merge_into`'s check.
async fn refuse_unknown_merge_target(
    txn: &DatabaseTransaction,
    j: &Jurisdiction,
    t: &Transition,
) -> Result<(), StoreError> {
    for event in &t.events {
        if let Event::Merged { into, .. } = event {
            let known = case::Entity::find_by_id(into.as_uuid())
                .filter(case::Column::UnitId.is_in(j.ids()))
                .one(txn)
                .await?
                .is_some();
            if !known {
                return Err(StoreError::Invalid(
                    "the case to merge into is not an open case of your units",
                ));
            }
        }
    }
    Ok(())
}

/// The steps of one staff action, in one transaction: the case moves only
/// from the state the action was computed from, the open entry only if its
/// owner is still the one checked, then the entries, the history with each
/// event's effect, the reporter's messages and the audit entry.
async fn write_transition(
    txn: &DatabaseTransaction,
    j: &Jurisdiction,
    w: &TransitionWrite<'_>,
) -> Result<(), StoreError> {
    let t = w.transition;
    refuse_unknown_merge_target(txn, j, t).await?;
    update_case(txn, j, w).await?;
    update_open_entry(txn, w).await?;
    let row = case::Entity::find_by_id(t.state.id.as_uuid())
        .one(txn)
        .await?
        .ok_or(StoreError::NotFound("case"))?;
    if t.from != t.to {
        close_open_entry(txn, row.id, t.at).await?;
        if t.to != Stage::Closed {
            let due = w
                .next_due
                .ok_or(StoreError::Invalid("no deadline for the new stage"))?;
            open_entry(txn, &row, t.to, &row.unit_id, due, t.at).await?;
        }
    }
    record_events(txn, j, w, &row).await?;
    let actor = t.actor.as_uuid();
    for (mid, sealed) in &w.reporter_messages {
        message::Entity::insert(message::ActiveModel {
            id: Set(*mid),
            case_id: Set(row.id),
            author: Set("staff".to_owned()),
            staff_id: Set(Some(actor)),
            sealed_body: Set(sealed.clone()),
            created_at: Set(t.at),
            notice_pending: Set(false),
        })
        .exec_without_returning(txn)
        .await?;
    }
    if !w.reporter_messages.is_empty() {
        // A question, feedback, a referral or an extension's reason told
        // the reporter how the case stands: the interim message too.
        finish_task(
            txn,
            t.state.id,
            TaskKind::Interim,
            Some(actor),
            "messaged",
            t.at,
        )
        .await?;
    }
    let action = t.events.first().map_or("noop", event_name);
    append(
        txn,
        AuditRecord {
            actor: format!("staff:{actor}"),
            action: format!("case.{action}"),
            unit: row.unit_id.clone(),
            case_id: t.state.id.to_string(),
            detail: format!("{}->{}", t.from.as_str(), t.to.as_str()),
        },
        t.at,
    )
    .await?;
    Ok(())
}

/// The case row takes the new state, if its stage and version are still
/// those the action was computed from and it is in the member's units.
async fn update_case(
    txn: &DatabaseTransaction,
    j: &Jurisdiction,
    w: &TransitionWrite<'_>,
) -> Result<(), StoreError> {
    let t = w.transition;
    let s = &t.state;
    let mut update = case::Entity::update_many()
        .col_expr(case::Column::Stage, Expr::value(t.to.as_str()))
        .col_expr(case::Column::Hold, Expr::value(s.hold_active))
        .col_expr(
            case::Column::Outcome,
            Expr::value(s.outcome.map(|o| o.as_str().to_owned())),
        )
        .col_expr(case::Column::HasDecision, Expr::value(s.decision.is_some()))
        .col_expr(case::Column::FeedbackGiven, Expr::value(s.feedback_given))
        .col_expr(
            case::Column::TransferredBy,
            Expr::value(s.transferred_by.map(|b| b.as_uuid())),
        )
        .col_expr(
            case::Column::ExtensionDays,
            Expr::value(s.extension_days.and_then(|d| i32::try_from(d).ok())),
        )
        .col_expr(
            case::Column::MergedInto,
            Expr::value(s.merged_into.map(|m| m.as_uuid())),
        )
        .col_expr(
            case::Column::Disposition,
            Expr::value(s.disposition.as_str()),
        )
        .col_expr(
            case::Column::VerifiedBy,
            Expr::value(s.verified_by.map(|b| b.as_uuid())),
        )
        .col_expr(case::Column::SpecificsAsked, Expr::value(s.specifics_asked))
        .col_expr(
            case::Column::Version,
            sea_orm::sea_query::ExprTrait::add(Expr::col(case::Column::Version), 1),
        );
    // An uphold leaves a closed case closed on the day it closed: the
    // statistics count that closure in its month once.
    if t.from != t.to {
        update = update.col_expr(
            case::Column::ClosedAt,
            Expr::value((t.to == Stage::Closed).then_some(t.at)),
        );
    }
    for event in &t.events {
        match event {
            Event::Referred { to, .. } => {
                update = update.col_expr(case::Column::ReferredTo, Expr::value(to.as_str()));
            }
            Event::Reopened { .. } => {
                let none = Option::<String>::None;
                update = update.col_expr(case::Column::ReferredTo, Expr::value(none));
            }
            _ => {}
        }
    }
    if t.events.iter().any(|e| matches!(e, Event::Reopened { .. })) {
        update = update.col_expr(
            case::Column::Round,
            sea_orm::sea_query::ExprTrait::add(Expr::col(case::Column::Round), 1),
        );
    }
    let updated = update
        .filter(case::Column::Id.eq(s.id.as_uuid()))
        .filter(case::Column::Stage.eq(t.from.as_str()))
        .filter(case::Column::Version.eq(w.expected_version))
        .filter(case::Column::UnitId.is_in(j.ids()))
        .exec(txn)
        .await?
        .rows_affected;
    if updated != 1 {
        return Err(StoreError::Conflict(Clash::CaseChanged));
    }
    Ok(())
}

/// The open entry takes the action's changes (owner, deadline, extension,
/// pause) if its owner is still the one the action was checked against.
async fn update_open_entry(
    txn: &DatabaseTransaction,
    w: &TransitionWrite<'_>,
) -> Result<(), StoreError> {
    let t = w.transition;
    if t.from == Stage::Closed {
        // A closed case has no open entry; its version guards the action.
        return Ok(());
    }
    let (now, actor) = (t.at, t.actor.as_uuid());
    // The open entry must still have the owner the action was checked against.
    let owner_cond = match w.expected_owner {
        Some(o) => Condition::all().add(queue_entry::Column::OwnerId.eq(o.as_uuid())),
        None => Condition::all().add(queue_entry::Column::OwnerId.is_null()),
    };
    let claimed = t.events.iter().any(|e| matches!(e, Event::Claimed { .. }));
    let mut entry_update = queue_entry::Entity::update_many()
        .filter(queue_entry::Column::OpenCaseId.eq(t.state.id.as_uuid()))
        .filter(owner_cond);
    let mut touched = false;
    if claimed {
        entry_update = entry_update
            .col_expr(queue_entry::Column::OwnerId, Expr::value(actor))
            .col_expr(queue_entry::Column::ClaimedAt, Expr::value(now));
        touched = true;
    }
    if let Some(due) = w.entry_change.due_at {
        entry_update = entry_update.col_expr(queue_entry::Column::DueAt, Expr::value(due));
        touched = true;
    }
    if w.entry_change.extended {
        entry_update = entry_update.col_expr(queue_entry::Column::Extended, Expr::value(true));
        touched = true;
    }
    if let Some((at, until)) = w.entry_change.pause {
        entry_update = entry_update
            .col_expr(queue_entry::Column::PausedAt, Expr::value(at))
            .col_expr(queue_entry::Column::PausedUntil, Expr::value(until));
        touched = true;
    }
    if w.entry_change.due_at.is_some() || w.entry_change.pause.is_some() {
        // The reminders move with the deadline.
        entry_update = entry_update.col_expr(queue_entry::Column::NextSweepAt, Expr::value(now));
    }
    if !touched {
        // A no-op update that still checks the owner.
        entry_update = entry_update.col_expr(
            queue_entry::Column::CaseId,
            Expr::col(queue_entry::Column::CaseId),
        );
    }
    if entry_update.exec(txn).await?.rows_affected != 1 {
        return Err(StoreError::Conflict(Clash::Taken));
    }
    Ok(())
}

/// One history row per event, each with its effect: a lifted hold ends,
/// a merge moves the reporter's future messages to the surviving case.
async fn record_events(
    txn: &DatabaseTransaction,
    j: &Jurisdiction,
    w: &TransitionWrite<'_>,
    row: &case::Model,
) -> Result<(), StoreError> {
    let t = w.transition;
    let (id, now) = (row.id, t.at);
    for (i, event) in t.events.iter().enumerate() {
        let note = w.sealed_notes.get(i).cloned().flatten();
        let visible = event.for_reporter() || (i == 0 && stage_changes_are_visible(t.from, t.to));
        insert_transition(
            txn,
            Step {
                id: w.row_ids.get(i).copied().unwrap_or_else(Uuid::now_v7),
                case: t.state.id,
                // An action's note is about where the case is now.
                from: if matches!(event, Event::Noted) {
                    t.to
                } else {
                    t.from
                },
                to: t.to,
                action: event_name(event),
                actor: Some(t.actor.as_uuid()),
                sealed_note: note,
                reporter_visible: visible,
                at: now,
            },
        )
        .await?;
        match event {
            Event::HoldLifted => {
                hold::Entity::update_many()
                    .col_expr(hold::Column::LiftedAt, Expr::value(now))
                    .filter(hold::Column::CaseId.eq(id))
                    .filter(hold::Column::LiftedAt.is_null())
                    .exec(txn)
                    .await?;
            }
            // A closed or merged case owes no acknowledgement any more:
            // the reporter has the answer, or gets the surviving case's.
            // How it ended is kept, and lateness was escalated already.
            Event::Merged { into, carry_hold } => {
                merge_into(txn, j, row, *into, *carry_hold).await?;
                let by = Some(t.actor.as_uuid());
                for kind in [TaskKind::Acknowledge, TaskKind::Interim] {
                    finish_task(txn, t.state.id, kind, by, "merged", now).await?;
                }
            }
            Event::Closed | Event::Referred { .. } => {
                let by = Some(t.actor.as_uuid());
                let how = event_name(event);
                for kind in [TaskKind::Acknowledge, TaskKind::Interim] {
                    finish_task(txn, t.state.id, kind, by, how, now).await?;
                }
            }
            Event::Reopened { .. } | Event::Upheld { .. } => {
                let how = event_name(event);
                let done = finish_task(
                    txn,
                    t.state.id,
                    TaskKind::Reexamine,
                    Some(t.actor.as_uuid()),
                    how,
                    now,
                )
                .await?;
                if !done && matches!(event, Event::Upheld { .. }) {
                    return Err(StoreError::Conflict(Clash::CaseChanged));
                }
            }
            _ => {}
        }
    }
    Ok(())
}
