//! When the holiday rules change — an official file replaces the
//! provisional calendar of a year, or an upgrade brings the provisional
//! calendar and the roll to a working day — every open deadline they change
//! is recomputed once. A deadline already on the new rules is left alone,
//! so a second run, a second triage process or a deadline filed by an
//! intake that loaded the file first moves nothing.

use chrono::{DateTime, NaiveDate, Utc};
use sunlight_core::calendar::Calendar;
use sunlight_core::policy::{DeadlineKind, Policy};
use sunlight_core::{CaseId, TaskKind};
use sunlight_store::{DeadlineOf, OpenDeadline, StoreError};

use super::Sweeper;

/// One deadline that moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedDeadline {
    pub case: CaseId,
    pub of: DeadlineOf,
    /// Last local day before and after.
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The rules a deadline was computed with.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub policy: &'a Policy,
    pub calendar: &'a Calendar,
}

fn kind_of(of: DeadlineOf) -> Option<DeadlineKind> {
    match of {
        DeadlineOf::Stage(stage) => DeadlineKind::of_stage(stage),
        DeadlineOf::Task(TaskKind::Acknowledge) => Some(DeadlineKind::AcknowledgeRealName),
        DeadlineOf::Task(TaskKind::Reexamine) => Some(DeadlineKind::Reexamine),
        DeadlineOf::Task(TaskKind::Interim) => Some(DeadlineKind::Interim),
        DeadlineOf::HoldNotice => Some(DeadlineKind::HoldNotice),
        DeadlineOf::HoldMax => Some(DeadlineKind::HoldMax),
    }
}

/// Where `deadline` belongs under `new`, if it is not there already.
fn recomputed(deadline: &OpenDeadline, old: Rules<'_>, new: Rules<'_>) -> Option<DateTime<Utc>> {
    let kind = kind_of(deadline.of)?;
    // A deadline counts from its stage's opening, or from the arrival (the
    // acknowledgement; verification of a report routed by hand).
    let starts = [deadline.opened_at, deadline.received_at];
    let due = |rules: Rules<'_>, start| rules.policy.due(kind, start, rules.calendar);
    if starts.iter().any(|s| due(new, *s) == deadline.due_at) {
        return None;
    }
    let moved = match starts.iter().find(|s| due(old, **s) == deadline.due_at) {
        Some(start) => due(new, *start),
        // Extended or paused: moved by what the change does to a deadline
        // of its kind from its opening; the extension or pause is kept.
        None => {
            let shift = due(new, deadline.opened_at) - due(old, deadline.opened_at);
            deadline.due_at.checked_add_signed(shift)?
        }
    };
    (moved != deadline.due_at).then_some(moved)
}

impl Sweeper {
    /// Moves the open deadlines that `old` (the rules they were computed
    /// with) and this sweeper's policy and calendar disagree on; `reason`
    /// goes into each audit entry. A deadline changed meanwhile is left
    /// to whoever changed it.
    pub async fn recompute_deadlines(
        &self,
        old: Rules<'_>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<MovedDeadline>, StoreError> {
        let new = Rules {
            policy: &self.policy,
            calendar: &self.calendar,
        };
        let mut moved = Vec::new();
        for deadline in self.store.open_deadlines().await? {
            let Some(due_at) = recomputed(&deadline, old, new) else {
                continue;
            };
            let from = self.policy.last_day(deadline.due_at);
            let to = self.policy.last_day(due_at);
            let why = format!("from={from} to={to} reason={reason}");
            if self
                .store
                .move_deadline(&deadline, due_at, &why, now)
                .await?
            {
                moved.push(MovedDeadline {
                    case: deadline.case,
                    of: deadline.of,
                    from,
                    to,
                });
            }
        }
        Ok(moved)
    }
}
