//! What staff must be told about an open stage, and when (催办 before a
//! deadline, 督办 after it): the sweeper's schedule, computed from the
//! deadline policy. Pure: the sweeper in `sunlight-triage` supplies the
//! clock, the store supplies the entry and what was already sent.
//!
//! Each notice of a stage has a stable key (`reminder-500`, `overdue`, …);
//! the store records `(queue entry, key)` once, which is what makes every
//! reminder and escalation happen exactly once.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::calendar::Calendar;
use crate::domain::{Stage, TaskKind};
use crate::policy::{Policy, ReminderKind};

/// A notice about an open stage or a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoticeKind {
    /// A case arrived in a queue and nobody owns it yet.
    Opened,
    /// This share (‰) of the stage's time has passed (to the owner).
    Reminder { per_mille: u16 },
    /// Nobody claimed the case within one working day (to supervisors).
    Unclaimed,
    /// The deadline passed (督办: supervisors and the unit above).
    Overdue,
    /// The hold notice to the selection body was not confirmed in time.
    HoldNoticeLate,
    /// A hold ran past its maximum: the level above decides.
    HoldExpired,
}

impl NoticeKind {
    /// The catalog key of the notice's mail (`mail.<key>.subject`).
    pub fn mail_key(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Reminder { .. } => "reminder",
            Self::Unclaimed => "unclaimed",
            Self::Overdue => "overdue",
            Self::HoldNoticeLate => "hold_notice_late",
            Self::HoldExpired => "hold_expired",
        }
    }

    /// Escalations tell the level above, not only the people at the desk.
    pub fn is_escalation(self) -> bool {
        matches!(self, Self::Overdue | Self::HoldExpired)
    }
}

impl From<ReminderKind> for NoticeKind {
    fn from(k: ReminderKind) -> Self {
        match k {
            ReminderKind::Reminder { per_mille } => Self::Reminder { per_mille },
            ReminderKind::Overdue => Self::Overdue,
        }
    }
}

impl fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reminder { per_mille } => write!(f, "reminder-{per_mille}"),
            Self::Opened => f.write_str("opened"),
            Self::Unclaimed => f.write_str("unclaimed"),
            Self::Overdue => f.write_str("overdue"),
            Self::HoldNoticeLate => f.write_str("hold-notice-late"),
            Self::HoldExpired => f.write_str("hold-expired"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown notice kind {0:?}")]
pub struct UnknownNotice(pub String);

impl FromStr for NoticeKind {
    type Err = UnknownNotice;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "opened" => Self::Opened,
            "unclaimed" => Self::Unclaimed,
            "overdue" => Self::Overdue,
            "hold-notice-late" => Self::HoldNoticeLate,
            "hold-expired" => Self::HoldExpired,
            other => {
                let per_mille = other
                    .strip_prefix("reminder-")
                    .and_then(|n| n.parse::<u16>().ok())
                    .filter(|n| (1..=999).contains(n))
                    .ok_or_else(|| UnknownNotice(other.to_owned()))?;
                Self::Reminder { per_mille }
            }
        })
    }
}

/// The clock of one open stage, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageClock {
    pub stage: Stage,
    pub opened_at: DateTime<Utc>,
    /// Already moved for pauses and extensions.
    pub due_at: DateTime<Utc>,
    pub owned: bool,
    pub paused_until: Option<DateTime<Utc>>,
}

/// Every notice of a stage with the instant it falls due, in time order.
/// An owned stage has no `Opened` or `Unclaimed` notice. `Received` is the
/// acceptance decision (受理), announced to the desk like any stage; the
/// desk decides without claiming, so it has no `Unclaimed` notice.
pub fn stage_schedule(
    policy: &Policy,
    cal: &Calendar,
    clock: &StageClock,
) -> Vec<(NoticeKind, DateTime<Utc>)> {
    let mut out = Vec::with_capacity(6);
    if !clock.owned {
        out.push((NoticeKind::Opened, clock.opened_at));
    }
    if !clock.owned && clock.stage != Stage::Received {
        let next_working_day = cal.add_working_days(policy.local_date(clock.opened_at), 1);
        out.push((
            NoticeKind::Unclaimed,
            policy.end_of_local_day(next_working_day),
        ));
    }
    out.extend(
        policy
            .reminder_instants(clock.opened_at, clock.due_at)
            .into_iter()
            .map(|(k, at)| (NoticeKind::from(k), at)),
    );
    out.sort_by_key(|(k, at)| (*at, *k));
    out
}

/// Every notice of a task (受理告知, 复查) with the instant it falls due:
/// a re-examination is announced to the unit above (it is new work
/// there), an hour after the day it opened is over: it opens on a
/// reporter's objection, and a mail seconds later would time the
/// reporter's visit. An acknowledgement is not announced (its case's
/// verify stage just was). Then the policy's reminders and overdue, as a
/// stage.
pub fn task_schedule(
    policy: &Policy,
    task: TaskKind,
    opened_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
) -> Vec<(NoticeKind, DateTime<Utc>)> {
    let mut out = Vec::with_capacity(5);
    if task == TaskKind::Reexamine {
        let day_over = policy.end_of_local_day(policy.local_date(opened_at));
        out.push((NoticeKind::Opened, day_over + chrono::TimeDelta::hours(1)));
    }
    out.extend(
        policy
            .reminder_instants(opened_at, due_at)
            .into_iter()
            .map(|(k, at)| (NoticeKind::from(k), at)),
    );
    out.sort_by_key(|(k, at)| (*at, *k));
    out
}

/// What a sweep does with one task at `now`: as [`sweep_step`] for a
/// stage that is never paused.
pub fn task_step(
    schedule: &[(NoticeKind, DateTime<Utc>)],
    recorded: &[NoticeKind],
    now: DateTime<Utc>,
) -> SweepStep {
    step(schedule, recorded, None, now)
}

/// What a sweep does with one stage at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SweepStep {
    /// Notices to record and mail.
    pub send: Vec<NoticeKind>,
    /// Notices to record without a mail: an earlier reminder that a later
    /// one (or the overdue escalation) supersedes, after the sweeper was away.
    pub superseded: Vec<NoticeKind>,
    /// When the stage needs the sweeper again; `None`: never, unless the
    /// stage changes (a new deadline, a pause).
    pub next_at: Option<DateTime<Utc>>,
}

/// Which notices of a stage fall due at `now`, given those already recorded.
/// While the reporter is asked, the stage's clock stands still: nothing is
/// sent, and the sweeper comes back when the pause ends.
pub fn sweep_step(
    schedule: &[(NoticeKind, DateTime<Utc>)],
    recorded: &[NoticeKind],
    clock: &StageClock,
    now: DateTime<Utc>,
) -> SweepStep {
    step(schedule, recorded, clock.paused_until, now)
}

fn step(
    schedule: &[(NoticeKind, DateTime<Utc>)],
    recorded: &[NoticeKind],
    paused_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> SweepStep {
    let pending = schedule.iter().filter(|(k, _)| !recorded.contains(k));
    if let Some(until) = paused_until.filter(|u| *u > now) {
        let next = pending.map(|(_, at)| (*at).max(until)).min();
        return SweepStep {
            next_at: next,
            ..SweepStep::default()
        };
    }
    let (due, later): (Vec<_>, Vec<_>) = pending.partition(|(_, at)| *at <= now);
    let mut step = SweepStep {
        next_at: later.iter().map(|(_, at)| *at).min(),
        ..SweepStep::default()
    };
    let overdue = due.iter().any(|(k, _)| *k == NoticeKind::Overdue);
    let last_reminder = due
        .iter()
        .rev()
        .find(|(k, _)| matches!(k, NoticeKind::Reminder { .. }))
        .map(|(k, _)| *k);
    for (kind, _) in due {
        let is_reminder = matches!(kind, NoticeKind::Reminder { .. });
        if is_reminder && (overdue || Some(kind) != last_reminder) {
            step.superseded.push(kind);
        } else {
            step.send.push(kind);
        }
    }
    step
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeDelta, TimeZone};

    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .expect("valid")
    }

    fn clock(owned: bool) -> StageClock {
        StageClock {
            stage: Stage::Verify,
            opened_at: at(2026, 3, 2, 2),
            due_at: at(2026, 3, 12, 16),
            owned,
            paused_until: None,
        }
    }

    #[test]
    fn kinds_round_trip_through_their_keys() {
        for k in [
            NoticeKind::Opened,
            NoticeKind::Reminder { per_mille: 500 },
            NoticeKind::Reminder { per_mille: 1 },
            NoticeKind::Unclaimed,
            NoticeKind::Overdue,
            NoticeKind::HoldNoticeLate,
            NoticeKind::HoldExpired,
        ] {
            assert_eq!(k.to_string().parse::<NoticeKind>(), Ok(k));
        }
        for bad in ["", "reminder-", "reminder-0", "reminder-1000", "late"] {
            assert!(bad.parse::<NoticeKind>().is_err(), "{bad}");
        }
    }

    #[test]
    fn schedule_of_an_owned_stage_is_the_policy_reminders_then_overdue() {
        let policy = Policy::cn_12380();
        let cal = Calendar::cn();
        let s = stage_schedule(&policy, &cal, &clock(true));
        let kinds: Vec<String> = s.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(
            kinds,
            ["reminder-500", "reminder-750", "reminder-900", "overdue"]
        );
        let c = clock(true);
        let total = c.due_at - c.opened_at;
        assert_eq!(s[0].1, c.opened_at + total / 2);
        assert_eq!(s[3].1, c.due_at);
    }

    #[test]
    fn an_unowned_stage_is_announced_and_flagged_after_one_working_day() {
        let policy = Policy::cn_12380();
        let cal = Calendar::cn();
        // Opened on Friday 2026-03-06 (Beijing time): the next working day
        // is Monday the 9th, which ends at 16:00 UTC.
        let c = StageClock {
            stage: Stage::Verify,
            opened_at: at(2026, 3, 6, 3),
            due_at: at(2026, 4, 6, 16),
            owned: false,
            paused_until: None,
        };
        let s = stage_schedule(&policy, &cal, &c);
        assert_eq!(s[0], (NoticeKind::Opened, c.opened_at));
        assert_eq!(s[1], (NoticeKind::Unclaimed, at(2026, 3, 9, 16)));
        assert_eq!(
            policy.last_day(s[1].1),
            NaiveDate::from_ymd_opt(2026, 3, 9).expect("date")
        );
        let routing = StageClock {
            stage: Stage::Received,
            ..c
        };
        // The acceptance decision is announced to the desk like any stage,
        // and needs no claim.
        let s = stage_schedule(&policy, &cal, &routing);
        assert_eq!(s.first().map(|(k, _)| *k), Some(NoticeKind::Opened));
        assert!(s.iter().all(|(k, _)| *k != NoticeKind::Unclaimed));
    }

    #[test]
    fn each_notice_falls_due_once_and_the_next_visit_is_the_next_point() {
        let policy = Policy::cn_12380();
        let cal = Calendar::cn();
        let c = clock(true);
        let s = stage_schedule(&policy, &cal, &c);
        let mut recorded = Vec::new();
        let mut sent = Vec::new();
        let mut now = c.opened_at;
        while let Some(next) = sweep_step(&s, &recorded, &c, now).next_at {
            now = next;
            let step = sweep_step(&s, &recorded, &c, now);
            assert!(step.superseded.is_empty());
            recorded.extend(step.send.iter().chain(&step.superseded));
            sent.extend(step.send);
        }
        assert_eq!(sent.len(), 4);
        assert_eq!(sent.last(), Some(&NoticeKind::Overdue));
        assert_eq!(sweep_step(&s, &recorded, &c, now), SweepStep::default());
    }

    #[test]
    fn after_an_absence_only_the_latest_reminder_or_the_escalation_goes_out() {
        let policy = Policy::cn_12380();
        let cal = Calendar::cn();
        let c = clock(true);
        let s = stage_schedule(&policy, &cal, &c);
        let late = c.opened_at + (c.due_at - c.opened_at) * 95 / 100;
        let step = sweep_step(&s, &[], &c, late);
        assert_eq!(step.send, [NoticeKind::Reminder { per_mille: 900 }]);
        assert_eq!(step.superseded.len(), 2);
        assert_eq!(step.next_at, Some(c.due_at));
        let step = sweep_step(&s, &[], &c, c.due_at + TimeDelta::days(3));
        assert_eq!(step.send, [NoticeKind::Overdue]);
        assert_eq!(step.superseded.len(), 3);
        assert_eq!(step.next_at, None);
    }

    #[test]
    fn a_paused_stage_waits_for_the_pause_to_end() {
        let policy = Policy::cn_12380();
        let cal = Calendar::cn();
        let mut c = clock(true);
        let s = stage_schedule(&policy, &cal, &c);
        let pause_end = c.opened_at + (c.due_at - c.opened_at) * 6 / 10;
        c.paused_until = Some(pause_end);
        let now = c.opened_at + (c.due_at - c.opened_at) * 55 / 100;
        let step = sweep_step(&s, &[], &c, now);
        assert!(step.send.is_empty() && step.superseded.is_empty());
        assert_eq!(step.next_at, Some(pause_end));
        let step = sweep_step(&s, &[], &c, pause_end);
        assert_eq!(step.send, [NoticeKind::Reminder { per_mille: 500 }]);
    }

    #[test]
    fn a_reexamination_is_announced_an_acknowledgement_only_reminded() {
        let policy = Policy::cn_12380();
        let (open, due) = (at(2026, 3, 2, 2), at(2026, 4, 1, 16));
        let kinds = |task| -> Vec<String> {
            task_schedule(&policy, task, open, due)
                .iter()
                .map(|(k, _)| k.to_string())
                .collect()
        };
        assert_eq!(
            kinds(TaskKind::Reexamine),
            [
                "opened",
                "reminder-500",
                "reminder-750",
                "reminder-900",
                "overdue"
            ]
        );
        assert_eq!(
            kinds(TaskKind::Acknowledge),
            ["reminder-500", "reminder-750", "reminder-900", "overdue"]
        );
        let s = task_schedule(&policy, TaskKind::Reexamine, open, due);
        // Opened 2026-03-02 10:00 Shanghai: announced 01:00 on the 3rd.
        assert_eq!(s[0], (NoticeKind::Opened, at(2026, 3, 2, 17)));
        assert!(task_step(&s, &[], at(2026, 3, 2, 16)).send.is_empty());
        let step = task_step(&s, &[], due);
        assert_eq!(step.send, [NoticeKind::Opened, NoticeKind::Overdue]);
        assert_eq!(
            step.superseded.len(),
            3,
            "missed reminders are not sent late"
        );
        assert_eq!(step.next_at, None);
    }
}
