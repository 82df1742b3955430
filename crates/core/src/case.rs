//! The case state machine (举报件办理流程): which staff action is allowed in
//! which stage, by whom, and what it changes. Pure: the caller loads the
//! state, passes `now` and the policy's [`Limits`], and stores the
//! [`Transition`] it gets back (new state plus the events for the history).
//!
//! ```text
//! received ─accept─▶ verify ─verified─▶ handle ─decided─▶ notify ─feedback, close─▶ closed
//!    ├─refer─▶ closed (disposition referred: 转交, outside the remit)
//!    └─ask_specifics─▶ (paused) ─no answer in time─▶ closed (filed_for_reference: 存查)
//!                      filed case + reporter material ─▶ received again
//!                     └─transfer─▶ recheck ─rechecked─┘
//! any open stage ─merge─▶ closed (merged_into set; the report is kept)
//! closed ─reopen─▶ verify or handle (重新办理; not a merged case)
//! closed, re-examination asked ─uphold─▶ closed (复查维持)
//! ```
//!
//! Each stage has its own queue: when a case changes stage it leaves its
//! owner and any pause behind and waits, unowned, to be claimed again.
//!
//! Role matrix (admins manage staff and keys and act on no case):
//!
//! | action | stages | intake | verifier | supervisor | owner only |
//! |---|---|---|---|---|---|
//! | `route` | received | ✓ | | ✓ | |
//! | `accept`, `refer`, `ask_specifics` (once) | received, routed | ✓ | | ✓ | |
//! | `knowingly_false` | handle, notify; outcome unsubstantiated | | | ✓ | not who verified |
//! | `claim` | received | ✓ | | ✓ | unowned; a supervisor may reassign |
//! | `claim` | verify, notify | | ✓ | ✓ | 〃 |
//! | `claim` | handle, recheck | | | ✓ | 〃 |
//! | `verified`, `transfer` | verify | | ✓ | ✓ | ✓ |
//! | `rechecked` (复核) | recheck | | | ✓ | ✓, not the one who transferred |
//! | `decided` (审核) | handle | | | ✓ | ✓ |
//! | `extend` | verify, once | | | ✓ | |
//! | `ask_reporter` | verify, handle, recheck | | ✓ | ✓ | ✓ |
//! | `feedback`, `close` | notify | | ✓ | ✓ | ✓ |
//! | `merge` | any open | | | ✓ | |
//! | `reopen` | closed, not merged | | | ✓ | |
//! | `uphold` | closed, re-examination open | | | ✓ | |
//!
//! Routing (分办) leaves a case in `received` with the acceptance deadline
//! (受理); the desk decides there. Every case carries a [`Disposition`]:
//! `open` until that decision, then `accepted`, `referred` or
//! `filed_for_reference`; `merged` for a duplicate; `concluded` at
//! `close`, or `knowingly_false` when a supervisor recorded that.
//!
//! `close` also needs a recorded outcome, decision and feedback (rule 1,
//! 件件有着落). `rechecked` carries the outcome the other body reached, so a
//! transferred case reaches `close` with an outcome too.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calendar::Calendar;
use crate::domain::{CaseId, Disposition, Outcome, ReferralBody, Role, SelectionStage, Stage};
use crate::policy::{DeadlineKind, Policy};

/// A staff member's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StaffId(Uuid);

impl StaffId {
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for StaffId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Who acts: a logged-in staff member and their role in the case's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub id: StaffId,
    pub role: Role,
}

/// Where a case stands. The store keeps it; only [`apply`] moves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseState {
    pub id: CaseId,
    pub stage: Stage,
    pub owner: Option<StaffId>,
    /// The selection step the report points at, fixed at intake.
    pub selection_stage: SelectionStage,
    /// Rule 4 (暂缓): the selection waits until the report is verified.
    pub hold_active: bool,
    pub outcome: Option<Outcome>,
    pub decision: Option<String>,
    pub feedback_given: bool,
    pub transferred_to: Option<String>,
    pub transferred_by: Option<StaffId>,
    /// Days granted by the single verification extension.
    pub extension_days: Option<u32>,
    /// The stage's clock stands still until the reporter answers or this passes.
    pub paused_until: Option<DateTime<Utc>>,
    pub merged_into: Option<CaseId>,
    /// The reporter objected and the unit above has not answered yet (复查).
    pub reexamination: bool,
    /// How the case was disposed of; `open` until the acceptance decision.
    pub disposition: Disposition,
    /// Who recorded the verification outcome (or the 复核 of it): never the
    /// one who records the report as knowingly false.
    pub verified_by: Option<StaffId>,
    /// The reporter was asked for specifics at acceptance (only once).
    pub specifics_asked: bool,
}

impl CaseState {
    /// A report just received.
    pub fn new(id: CaseId, selection_stage: SelectionStage) -> Self {
        Self {
            id,
            stage: Stage::Received,
            owner: None,
            selection_stage,
            hold_active: selection_stage.triggers_hold(),
            outcome: None,
            decision: None,
            feedback_given: false,
            transferred_to: None,
            transferred_by: None,
            extension_days: None,
            paused_until: None,
            merged_into: None,
            reexamination: false,
            disposition: Disposition::Open,
            verified_by: None,
            specifics_asked: false,
        }
    }

    pub fn is_open(&self) -> bool {
        self.stage != Stage::Closed
    }

    pub fn is_paused(&self, now: DateTime<Utc>) -> bool {
        self.paused_until.is_some_and(|until| now < until)
    }

    /// The reporter answered: the clock runs again. `None` when not paused.
    pub fn resumed(&self, now: DateTime<Utc>) -> Option<Self> {
        self.is_paused(now).then(|| Self {
            paused_until: None,
            ..self.clone()
        })
    }
}

pub use action::{Action, ActionKind};
pub use refusal::{Refusal, RefusalClass};

mod action;
mod disposition;
mod refusal;

/// Bounds from the deadline policy that some actions check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest verification extension, in calendar days.
    pub extension_max_days: u32,
    /// When a pause started now must end at the latest.
    pub pause_ends: DateTime<Utc>,
}

impl Limits {
    /// The policy's bounds for an action taken at `now`. A months-long
    /// extension bound is counted in days from today.
    pub fn from_policy(policy: &Policy, cal: &Calendar, now: DateTime<Utc>) -> Self {
        Self {
            extension_max_days: policy
                .span(DeadlineKind::VerifyExtensionMax)
                .calendar_days_from(policy.local_date(now), cal),
            pause_ends: policy.due(DeadlineKind::ReporterPauseMax, now, cal),
        }
    }
}

/// What a transition records in the case's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Routed,
    Claimed {
        previous: Option<StaffId>,
    },
    /// 受理: verification starts.
    Accepted,
    /// 转交 to the body outside; the message tells the reporter why.
    Referred {
        to: ReferralBody,
        message: String,
    },
    /// The reporter is asked for what, who, when and where.
    SpecificsAsked {
        question: String,
        paused_until: DateTime<Utc>,
    },
    /// 存查: no answer came in time (written by the sweeper, not an action).
    FiledForReference,
    /// 诬告陷害; the reason is for staff only.
    MarkedKnowinglyFalse {
        reason: String,
    },
    Verified {
        outcome: Outcome,
    },
    /// Rule 4: the held selection may go on.
    HoldLifted,
    Transferred {
        to: String,
    },
    Rechecked {
        outcome: Outcome,
    },
    Decided {
        decision: String,
    },
    Extended {
        days: u32,
        reason: String,
    },
    ReporterAsked {
        question: String,
        paused_until: DateTime<Utc>,
    },
    FeedbackGiven {
        message: String,
    },
    Closed,
    /// `carry_hold`: the target case must take over this case's hold.
    Merged {
        into: CaseId,
        carry_hold: bool,
    },
    /// 内部意见: a comment, or an action's note, sealed to the units; never the reporter's.
    Noted,
    /// A closed case opened again; the reason is for staff.
    Reopened {
        to: Stage,
        reason: String,
    },
    /// The re-examination keeps the answer; the message goes to the reporter.
    Upheld {
        message: String,
    },
}

impl Event {
    /// Whether the reporter sees this event with their tracking code.
    pub fn for_reporter(&self) -> bool {
        matches!(
            self,
            Self::Extended { .. }
                | Self::ReporterAsked { .. }
                | Self::Referred { .. }
                | Self::SpecificsAsked { .. }
                | Self::FeedbackGiven { .. }
                | Self::Upheld { .. }
        )
    }
}

/// The result of an allowed action. No events means nothing changed
/// (claiming a case one already owns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: Stage,
    pub to: Stage,
    pub state: CaseState,
    pub actor: StaffId,
    pub at: DateTime<Utc>,
    pub events: Vec<Event>,
}

/// Takes `action` on the case in `state`, or says why not.
pub fn apply(
    state: &CaseState,
    action: Action,
    actor: &Actor,
    now: DateTime<Utc>,
    limits: &Limits,
) -> Result<Transition, Refusal> {
    let kind = action.kind();
    let from = state.stage;
    if from == Stage::Closed && !kind.stages().contains(&Stage::Closed) {
        return Err(Refusal::AlreadyClosed);
    }
    if !kind.stages().contains(&from) {
        return Err(Refusal::NotAllowedInStage {
            action: kind,
            stage: from,
        });
    }
    if !kind.roles(from).contains(&actor.role) {
        return Err(Refusal::RoleNotAllowed {
            action: kind,
            role: actor.role,
        });
    }
    if kind.needs_owner() && state.owner != Some(actor.id) {
        return Err(Refusal::NotOwner { action: kind });
    }

    let mut next = state.clone();
    let mut events = Vec::new();
    match action {
        Action::Route => {
            next.stage = Stage::Verify;
            events.push(Event::Routed);
        }
        Action::Claim => match state.owner {
            Some(owner) if owner == actor.id => {}
            Some(_) if actor.role != Role::Supervisor => return Err(Refusal::AlreadyOwned),
            previous => {
                next.owner = Some(actor.id);
                events.push(Event::Claimed { previous });
            }
        },
        Action::Accept => disposition::accept(&mut next, &mut events),
        Action::Refer { to, message } => disposition::refer(&mut next, to, message, &mut events)?,
        Action::AskSpecifics { question } => {
            disposition::ask_specifics(state, &mut next, question, now, limits, &mut events)?;
        }
        Action::KnowinglyFalse { reason } => {
            disposition::knowingly_false(state, &mut next, actor, reason, &mut events)?;
        }
        Action::Verified { outcome } => {
            next.verified_by = Some(actor.id);
            next.outcome = Some(outcome);
            next.stage = Stage::Handle;
            events.push(Event::Verified { outcome });
            lift_hold(&mut next, &mut events);
        }
        Action::Transfer { to } => {
            let to = non_empty(to, "to")?;
            next.transferred_to = Some(to.clone());
            next.transferred_by = Some(actor.id);
            next.stage = Stage::Recheck;
            events.push(Event::Transferred { to });
        }
        Action::Rechecked { outcome } => {
            if state.transferred_by == Some(actor.id) {
                return Err(Refusal::RecheckBySameStaff);
            }
            next.verified_by = Some(actor.id);
            next.outcome = Some(outcome);
            next.stage = Stage::Handle;
            events.push(Event::Rechecked { outcome });
            lift_hold(&mut next, &mut events);
        }
        Action::Decided { decision } => {
            let decision = non_empty(decision, "decision")?;
            next.decision = Some(decision.clone());
            next.stage = Stage::Notify;
            events.push(Event::Decided { decision });
        }
        Action::Extend { days, reason } => {
            if state.extension_days.is_some() {
                return Err(Refusal::AlreadyExtended);
            }
            if days == 0 {
                return Err(Refusal::EmptyExtension);
            }
            if days > limits.extension_max_days {
                return Err(Refusal::ExtensionTooLong {
                    max: limits.extension_max_days,
                });
            }
            let reason = non_empty(reason, "reason")?;
            next.extension_days = Some(days);
            events.push(Event::Extended { days, reason });
        }
        Action::AskReporter { question } => {
            if state.is_paused(now) {
                return Err(Refusal::AlreadyPaused);
            }
            let question = non_empty(question, "question")?;
            next.paused_until = Some(limits.pause_ends);
            events.push(Event::ReporterAsked {
                question,
                paused_until: limits.pause_ends,
            });
        }
        Action::Feedback { message } => {
            let message = non_empty(message, "message")?;
            next.feedback_given = true;
            events.push(Event::FeedbackGiven { message });
        }
        Action::Close => {
            if state.outcome.is_none() {
                return Err(Refusal::MissingOutcome);
            }
            if state.decision.is_none() {
                return Err(Refusal::MissingDecision);
            }
            if !state.feedback_given {
                return Err(Refusal::MissingFeedback);
            }
            next.stage = Stage::Closed;
            if next.disposition != Disposition::KnowinglyFalse {
                next.disposition = Disposition::Concluded;
            }
            events.push(Event::Closed);
        }
        Action::Merge { into } => {
            if into == state.id {
                return Err(Refusal::MergeIntoSelf);
            }
            next.merged_into = Some(into);
            next.disposition = Disposition::Merged;
            next.stage = Stage::Closed;
            next.hold_active = false;
            events.push(Event::Merged {
                into,
                carry_hold: state.hold_active,
            });
        }
        Action::Reopen { reason, to } => reopen(state, &mut next, reason, to, &mut events)?,
        Action::Uphold { message } => {
            if !state.reexamination {
                return Err(Refusal::NoReexamination);
            }
            let message = non_empty(message, "message")?;
            next.reexamination = false;
            events.push(Event::Upheld { message });
        }
    }
    if next.stage != from {
        next.owner = None;
        next.paused_until = None;
    }
    Ok(Transition {
        from,
        to: next.stage,
        state: next,
        actor: actor.id,
        at: now,
        events,
    })
}

/// 重新办理: back to verify (a new verification, with its own extension)
/// or to handle (the outcome stands); a new decision and feedback follow,
/// and an open re-examination is answered by it.
fn reopen(
    state: &CaseState,
    next: &mut CaseState,
    reason: String,
    to: Stage,
    events: &mut Vec<Event>,
) -> Result<(), Refusal> {
    if state.merged_into.is_some() {
        return Err(Refusal::MergedCase);
    }
    if !matches!(to, Stage::Verify | Stage::Handle) {
        return Err(Refusal::ReopenTo { to });
    }
    // A referred or filed case was never verified: it is handled again
    // from verification, or it could never be closed.
    if to == Stage::Handle && state.outcome.is_none() {
        return Err(Refusal::MissingOutcome);
    }
    let reason = non_empty(reason, "reason")?;
    if to == Stage::Verify {
        next.outcome = None;
        next.extension_days = None;
    }
    next.decision = None;
    next.feedback_given = false;
    next.reexamination = false;
    // Opened again, the case is within the remit whatever it was before;
    // a knowingly-false finding is made again after the new verification.
    next.disposition = Disposition::Accepted;
    next.stage = to;
    events.push(Event::Reopened { to, reason });
    Ok(())
}

pub(crate) fn lift_hold(state: &mut CaseState, events: &mut Vec<Event>) {
    if state.hold_active {
        state.hold_active = false;
        events.push(Event::HoldLifted);
    }
}

pub(crate) fn non_empty(text: String, field: &'static str) -> Result<String, Refusal> {
    if text.trim().is_empty() {
        Err(Refusal::EmptyText { field })
    } else {
        Ok(text)
    }
}

#[cfg(test)]
mod tests;
