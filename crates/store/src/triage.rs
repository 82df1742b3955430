//! What the triage side writes: routing of new cases, staff actions on the
//! state machine, holds (rule 4), and the queue view. Each write is one
//! transaction with its audit entry, and each checks the state it was
//! computed from, so two staff (or two processes) acting on one case at
//! once cannot both succeed: the loser gets `Conflict` and nothing changes.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use sunlight_core::case::{Event, StaffId, Transition};
use sunlight_core::{CaseId, Category, Stage, UnitId};
use uuid::Uuid;

use crate::audit::{AuditRecord, append};
use crate::cases::{CaseRow, Jurisdiction, QueueRow};
use crate::entity::{case, hold, message, queue_entry, transition};
use crate::{Store, StoreError};

/// What routing decided for a received case.
#[derive(Debug, Clone)]
pub struct RoutePlan {
    /// Deadline of the verify stage.
    pub verify_due: DateTime<Utc>,
    /// A hold task, when the report points at a running selection.
    pub hold: Option<NewHold>,
}

#[derive(Debug, Clone)]
pub struct NewHold {
    pub notice_due_at: DateTime<Utc>,
    pub max_until: DateTime<Utc>,
}

/// A hold as listed.
#[derive(Debug, Clone)]
pub struct HoldRow {
    pub id: Uuid,
    pub case_id: CaseId,
    pub unit: UnitId,
    pub opened_at: DateTime<Utc>,
    pub notice_due_at: DateTime<Utc>,
    pub max_until: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub sealed_notice_to: Option<Vec<u8>>,
    pub lifted_at: Option<DateTime<Utc>>,
}

impl TryFrom<hold::Model> for HoldRow {
    type Error = StoreError;
    fn try_from(m: hold::Model) -> Result<Self, StoreError> {
        Ok(Self {
            id: m.id,
            case_id: CaseId::from_uuid(m.case_id),
            unit: UnitId::parse(&m.unit_id)
                .map_err(|_| StoreError::Corrupt(format!("hold {}: bad unit", m.id)))?,
            opened_at: m.opened_at,
            notice_due_at: m.notice_due_at,
            max_until: m.max_until,
            confirmed_at: m.confirmed_at,
            sealed_notice_to: m.sealed_notice_to,
            lifted_at: m.lifted_at,
        })
    }
}

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

/// A queue line: the entry and the case's category.
#[derive(Debug, Clone)]
pub struct QueueItem {
    pub entry: QueueRow,
    pub category: Category,
}

/// Filters of a queue listing.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only this unit (must lie in the jurisdiction).
    pub unit: Option<UnitId>,
    pub category: Option<Category>,
    /// Only entries due before this instant (overdue lists).
    pub due_before: Option<DateTime<Utc>>,
    pub limit: u64,
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

fn event_name(e: &Event) -> &'static str {
    match e {
        Event::Routed => "routed",
        Event::Claimed { .. } => "claimed",
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
    }
}

fn stage_changes_are_visible(from: Stage, to: Stage) -> bool {
    from != to
}

/// One history row to insert.
struct Step<'a> {
    id: Uuid,
    case: CaseId,
    from: Stage,
    to: Stage,
    action: &'a str,
    actor: Option<Uuid>,
    sealed_note: Option<Vec<u8>>,
    reporter_visible: bool,
    at: DateTime<Utc>,
}

async fn insert_transition(txn: &DatabaseTransaction, step: Step<'_>) -> Result<(), StoreError> {
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

async fn open_entry(
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
    .map_err(|e| StoreError::unique(e, "open queue entry"))?;
    Ok(())
}

async fn close_open_entry(
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

/// Why a merge was refused although its target is an open case the actor
/// may see: the target's readers include a unit that cannot read the merged
/// case (matched by the web layer to translate it).
pub const MERGE_WOULD_WIDEN: &str = "merge would let another unit read this case";

// Queue entries, holds and the routing step get random (v4) ids: a
// time-ordered id written by the router, seconds after a report arrived,
// would carry its arrival to the second.

/// A unit and every unit above it (their ids), read in `txn`: the units
/// whose keys a case of `unit` is sealed to.
pub(crate) async fn unit_chain_in(
    txn: &DatabaseTransaction,
    unit: &str,
) -> Result<Vec<String>, StoreError> {
    let mut chain = Vec::new();
    let mut next = Some(unit.to_owned());
    while let Some(current) = next {
        let row = crate::entity::unit::Entity::find_by_id(current.clone())
            .one(txn)
            .await?
            .ok_or(StoreError::NotFound("unit"))?;
        next = row.parent_id;
        chain.push(current);
        if chain.len() > 8 {
            return Err(StoreError::Corrupt("unit tree has a cycle".into()));
        }
    }
    Ok(chain)
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

    /// Routes a received case into its unit's verify queue (and opens its
    /// hold task). Idempotent: a case already routed is left alone and
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
            .col_expr(case::Column::Stage, Expr::value(Stage::Verify.as_str()))
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
        close_open_entry(&txn, row.id, now).await?;
        open_entry(
            &txn,
            &row,
            Stage::Verify,
            &row.unit_id,
            plan.verify_due,
            now,
        )
        .await?;
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
        insert_transition(
            &txn,
            Step {
                id: Uuid::new_v4(),
                case: id,
                from: Stage::Received,
                to: Stage::Verify,
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

    /// A case and its open queue entry, if the case lies in the jurisdiction.
    pub async fn case_with_entry(
        &self,
        j: &Jurisdiction,
        id: CaseId,
    ) -> Result<Option<(CaseRow, Option<QueueRow>)>, StoreError> {
        let Some(case) = self.case_in(j, id).await? else {
            return Ok(None);
        };
        let entry = queue_entry::Entity::find()
            .filter(queue_entry::Column::OpenCaseId.eq(id.as_uuid()))
            .one(self.conn())
            .await?
            .map(QueueRow::try_from)
            .transpose()?;
        Ok(Some((case, entry)))
    }

    /// Stores a staff action computed by `sunlight_core::case::apply`.
    /// Fails with `Conflict` (and changes nothing) when the case's stage or
    /// owner moved since the state was read.
    pub async fn record_transition(
        &self,
        j: &Jurisdiction,
        w: TransitionWrite<'_>,
    ) -> Result<(), StoreError> {
        let t = w.transition;
        let s = &t.state;
        let now = t.at;
        let id = s.id.as_uuid();
        let actor = t.actor.as_uuid();
        let txn = self.write_txn().await?;

        let updated = case::Entity::update_many()
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
                case::Column::ClosedAt,
                Expr::value((t.to == Stage::Closed).then_some(now)),
            )
            .col_expr(
                case::Column::Version,
                sea_orm::sea_query::ExprTrait::add(Expr::col(case::Column::Version), 1),
            )
            .filter(case::Column::Id.eq(id))
            .filter(case::Column::Stage.eq(t.from.as_str()))
            .filter(case::Column::Version.eq(w.expected_version))
            .filter(case::Column::UnitId.is_in(j.ids()))
            .exec(&txn)
            .await?
            .rows_affected;
        if updated != 1 {
            txn.rollback().await?;
            return Err(StoreError::Conflict(
                "the case changed meanwhile; reload it",
            ));
        }

        // The open entry must still have the owner the action was checked against.
        let owner_cond = match w.expected_owner {
            Some(o) => Condition::all().add(queue_entry::Column::OwnerId.eq(o.as_uuid())),
            None => Condition::all().add(queue_entry::Column::OwnerId.is_null()),
        };
        let claimed = t.events.iter().any(|e| matches!(e, Event::Claimed { .. }));
        let mut entry_update = queue_entry::Entity::update_many()
            .filter(queue_entry::Column::OpenCaseId.eq(id))
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
            entry_update =
                entry_update.col_expr(queue_entry::Column::NextSweepAt, Expr::value(now));
        }
        if !touched {
            // A no-op update that still checks the owner.
            entry_update = entry_update.col_expr(
                queue_entry::Column::CaseId,
                Expr::col(queue_entry::Column::CaseId),
            );
        }
        if entry_update.exec(&txn).await?.rows_affected != 1 {
            txn.rollback().await?;
            return Err(StoreError::Conflict("someone else took the case meanwhile"));
        }

        let row = case::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound("case"))?;
        if t.from != t.to {
            close_open_entry(&txn, id, now).await?;
            if t.to != Stage::Closed {
                let due = w
                    .next_due
                    .ok_or(StoreError::Invalid("no deadline for the new stage"))?;
                open_entry(&txn, &row, t.to, &row.unit_id, due, now).await?;
            }
        }

        for (i, event) in t.events.iter().enumerate() {
            let note = w.sealed_notes.get(i).cloned().flatten();
            let visible =
                event.for_reporter() || (i == 0 && stage_changes_are_visible(t.from, t.to));
            insert_transition(
                &txn,
                Step {
                    id: w.row_ids.get(i).copied().unwrap_or_else(Uuid::now_v7),
                    case: s.id,
                    from: t.from,
                    to: t.to,
                    action: event_name(event),
                    actor: Some(actor),
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
                        .exec(&txn)
                        .await?;
                }
                Event::Merged { into, carry_hold } => {
                    // Whoever reads the surviving case reads what the merged
                    // reporter sends from now on, so its readers (its unit
                    // and the units above) must all be readers of the merged
                    // case already: the target's unit lies on the merged
                    // case's own chain. Anything else would, say, hand a
                    // key-person report to the accused's own unit.
                    let readers = unit_chain_in(&txn, &row.unit_id).await?;
                    let target = case::Entity::update_many()
                        .col_expr(
                            case::Column::Hold,
                            if *carry_hold {
                                Expr::value(true)
                            } else {
                                Expr::col(case::Column::Hold)
                            },
                        )
                        .col_expr(
                            case::Column::Version,
                            sea_orm::sea_query::ExprTrait::add(Expr::col(case::Column::Version), 1),
                        )
                        .filter(case::Column::Id.eq(into.as_uuid()))
                        .filter(case::Column::Stage.ne(Stage::Closed.as_str()))
                        .filter(case::Column::UnitId.is_in(j.ids()))
                        .filter(case::Column::UnitId.is_in(readers.clone()))
                        .exec(&txn)
                        .await?
                        .rows_affected;
                    if target != 1 {
                        let open_in_reach = case::Entity::find_by_id(into.as_uuid())
                            .filter(case::Column::Stage.ne(Stage::Closed.as_str()))
                            .filter(case::Column::UnitId.is_in(j.ids()))
                            .one(&txn)
                            .await?
                            .is_some();
                        txn.rollback().await?;
                        return Err(if open_in_reach {
                            StoreError::Conflict(MERGE_WOULD_WIDEN)
                        } else {
                            StoreError::Invalid(
                                "the case to merge into is not an open case of your units",
                            )
                        });
                    }
                    if *carry_hold {
                        hold::Entity::update_many()
                            .col_expr(hold::Column::CaseId, Expr::value(into.as_uuid()))
                            .filter(hold::Column::CaseId.eq(id))
                            .filter(hold::Column::LiftedAt.is_null())
                            .exec(&txn)
                            .await?;
                    }
                }
                _ => {}
            }
        }
        for (mid, sealed) in w.reporter_messages {
            message::Entity::insert(message::ActiveModel {
                id: Set(mid),
                case_id: Set(id),
                author: Set("staff".to_owned()),
                staff_id: Set(Some(actor)),
                sealed_body: Set(sealed),
                created_at: Set(now),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        let action = t.events.first().map_or("noop", event_name);
        append(
            &txn,
            AuditRecord {
                actor: format!("staff:{actor}"),
                action: format!("case.{action}"),
                unit: row.unit_id.clone(),
                case_id: s.id.to_string(),
                detail: format!("{}->{}", t.from.as_str(), t.to.as_str()),
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Open entries of one stage in the jurisdiction, real-name reports
    /// first, then by deadline; at most `filter.limit` (default 200).
    pub async fn queue_items(
        &self,
        j: &Jurisdiction,
        stage: Stage,
        filter: &QueueFilter,
    ) -> Result<Vec<QueueItem>, StoreError> {
        let units: Vec<String> = match &filter.unit {
            Some(u) if j.contains(u) => vec![u.as_str().to_owned()],
            Some(_) => return Ok(Vec::new()),
            None => j.ids(),
        };
        let limit = if filter.limit == 0 {
            200
        } else {
            filter.limit.min(1000)
        };
        let mut q = queue_entry::Entity::find()
            .filter(queue_entry::Column::UnitId.is_in(units))
            .filter(queue_entry::Column::Stage.eq(stage.as_str()))
            .filter(queue_entry::Column::ClosedAt.is_null());
        if let Some(before) = filter.due_before {
            q = q.filter(queue_entry::Column::DueAt.lt(before));
        }
        if let Some(cat) = filter.category {
            // A join, so the listing still walks the ordered index and
            // probes each case by key, stopping at the page size.
            use sea_orm::JoinType;
            q = q
                .join(
                    JoinType::InnerJoin,
                    queue_entry::Entity::belongs_to(case::Entity)
                        .from(queue_entry::Column::CaseId)
                        .to(case::Column::Id)
                        .into(),
                )
                .filter(case::Column::Category.eq(cat.as_str()));
        }
        let entries: Vec<QueueRow> = q
            .order_by_desc(queue_entry::Column::RealName)
            .order_by_asc(queue_entry::Column::DueAt)
            .limit(limit)
            .all(self.conn())
            .await?
            .into_iter()
            .map(QueueRow::try_from)
            .collect::<Result<_, _>>()?;
        let ids: Vec<Uuid> = entries.iter().map(|e| e.case_id.as_uuid()).collect();
        let cats: std::collections::HashMap<Uuid, String> = case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .column(case::Column::Category)
            .filter(case::Column::Id.is_in(ids))
            .into_tuple::<(Uuid, String)>()
            .all(self.conn())
            .await?
            .into_iter()
            .collect();
        entries
            .into_iter()
            .map(|entry| {
                let category = cats
                    .get(&entry.case_id.as_uuid())
                    .and_then(|c| c.parse().ok())
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("case {}: bad category", entry.case_id))
                    })?;
                Ok(QueueItem { entry, category })
            })
            .collect()
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

    /// The reporter key of `merged`, when that case was merged into `case`:
    /// a staff message on the surviving case addressed to that reporter is
    /// sealed to it (and to no other reporter).
    pub async fn merged_reporter_key(
        &self,
        case: CaseId,
        merged: CaseId,
    ) -> Result<Option<sunlight_core::crypto::UnitPublicKey>, StoreError> {
        let key = case::Entity::find_by_id(merged.as_uuid())
            .select_only()
            .column(case::Column::ReporterPublicKey)
            .filter(case::Column::MergedInto.eq(case.as_uuid()))
            .into_tuple::<Option<Vec<u8>>>()
            .one(self.conn())
            .await?
            .flatten();
        key.map(|k| {
            sunlight_core::crypto::UnitPublicKey::from_slice(&k).map_err(|_| {
                StoreError::Corrupt(format!("case merged into {case}: bad reporter key"))
            })
        })
        .transpose()
    }

    /// Reporter keys of the cases merged into `case`: their reporters read
    /// how the surviving case goes on (extensions, the feedback), never
    /// what is asked of or written to another reporter.
    pub async fn merged_reporter_keys(
        &self,
        case: CaseId,
    ) -> Result<Vec<sunlight_core::crypto::UnitPublicKey>, StoreError> {
        case::Entity::find()
            .select_only()
            .column(case::Column::ReporterPublicKey)
            .filter(case::Column::MergedInto.eq(case.as_uuid()))
            .into_tuple::<Option<Vec<u8>>>()
            .all(self.conn())
            .await?
            .into_iter()
            .flatten()
            .map(|k| {
                sunlight_core::crypto::UnitPublicKey::from_slice(&k).map_err(|_| {
                    StoreError::Corrupt(format!("case merged into {case}: bad reporter key"))
                })
            })
            .collect()
    }

    /// The cases merged into `case` (their ids), oldest first: the other
    /// reporters a staff message may be addressed to.
    pub async fn merged_cases(&self, case: CaseId) -> Result<Vec<CaseId>, StoreError> {
        Ok(case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .filter(case::Column::MergedInto.eq(case.as_uuid()))
            .order_by_asc(case::Column::Id)
            .into_tuple::<Uuid>()
            .all(self.conn())
            .await?
            .into_iter()
            .map(CaseId::from_uuid)
            .collect())
    }

    /// Holds of a case.
    pub async fn holds_of(&self, case: CaseId) -> Result<Vec<HoldRow>, StoreError> {
        hold::Entity::find()
            .filter(hold::Column::CaseId.eq(case.as_uuid()))
            .order_by_asc(hold::Column::OpenedAt)
            .all(self.conn())
            .await?
            .into_iter()
            .map(HoldRow::try_from)
            .collect()
    }

    /// Staff confirm a hold and record (sealed) to whom its notice went.
    pub async fn confirm_hold(
        &self,
        j: &Jurisdiction,
        case_id: CaseId,
        hold_id: Uuid,
        staff: Uuid,
        sealed_notice_to: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.write_txn().await?;
        // The hold must belong to the case named and the case to the
        // jurisdiction (a merged hold keeps its old unit).
        let in_reach = case::Entity::find_by_id(case_id.as_uuid())
            .filter(case::Column::UnitId.is_in(j.ids()))
            .one(&txn)
            .await?
            .is_some();
        if !in_reach {
            txn.rollback().await?;
            return Err(StoreError::NotFound("hold"));
        }
        let row = hold::Entity::find_by_id(hold_id)
            .filter(hold::Column::CaseId.eq(case_id.as_uuid()))
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound("hold"))?;
        let n = hold::Entity::update_many()
            .col_expr(hold::Column::ConfirmedAt, Expr::value(now))
            .col_expr(hold::Column::ConfirmedBy, Expr::value(staff))
            .col_expr(hold::Column::SealedNoticeTo, Expr::value(sealed_notice_to))
            .filter(hold::Column::Id.eq(hold_id))
            .filter(hold::Column::ConfirmedAt.is_null())
            .filter(hold::Column::LiftedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if n != 1 {
            txn.rollback().await?;
            return Err(StoreError::Conflict(
                "the hold was confirmed or lifted already",
            ));
        }
        append(
            &txn,
            AuditRecord {
                actor: format!("staff:{staff}"),
                action: "hold.confirm".into(),
                unit: row.unit_id,
                case_id: row.case_id.to_string(),
                detail: String::new(),
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
