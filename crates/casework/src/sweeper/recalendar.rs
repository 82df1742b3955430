//! When an official holiday file replaces the provisional calendar of a
//! year, every open deadline the change affects moves: by as much as the
//! deadline of its kind, started when it was, moves between the two
//! calendars. Extensions and pauses already in the deadline are kept as
//! they are (they shift it by calendar time).

use chrono::{DateTime, NaiveDate, Utc};
use sunlight_core::calendar::Calendar;
use sunlight_core::policy::DeadlineKind;
use sunlight_core::{CaseId, TaskKind};
use sunlight_store::{DeadlineOf, StoreError};

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

fn kind_of(of: DeadlineOf) -> Option<DeadlineKind> {
    match of {
        DeadlineOf::Stage(stage) => DeadlineKind::of_stage(stage),
        DeadlineOf::Task(TaskKind::Acknowledge) => Some(DeadlineKind::AcknowledgeRealName),
        DeadlineOf::Task(TaskKind::Reexamine) => Some(DeadlineKind::Reexamine),
    }
}

impl Sweeper {
    /// Moves the open deadlines that `old` (the calendar they were computed
    /// with) and this sweeper's calendar disagree on; `reason` goes into
    /// each audit entry. A deadline changed meanwhile by staff is left to
    /// them (it was computed with the new calendar already).
    pub async fn recompute_deadlines(
        &self,
        old: &Calendar,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<MovedDeadline>, StoreError> {
        let mut moved = Vec::new();
        for deadline in self.store.open_deadlines().await? {
            let Some(kind) = kind_of(deadline.of) else {
                continue;
            };
            let before = self.policy.due(kind, deadline.opened_at, old);
            let after = self.policy.due(kind, deadline.opened_at, &self.calendar);
            if before == after {
                continue;
            }
            let Some(due_at) = deadline.due_at.checked_add_signed(after - before) else {
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
