//! Dates and deadlines as the pages show them: local days and times, and the countdown of a stage in the days it is measured in.

use super::*;

/// A local date and time in the deployment's time zone.
pub(super) fn local_time(policy: &Policy, at: DateTime<Utc>) -> String {
    at.with_timezone(&policy.utc_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The last local day of a deadline, `YYYY-MM-DD`.
pub(super) fn local_day(policy: &Policy, due: DateTime<Utc>) -> String {
    due_day(policy, due).format("%Y-%m-%d").to_string()
}

/// The last local day of a deadline (it runs out at that day's midnight).
pub(super) fn due_day(policy: &Policy, due: DateTime<Utc>) -> chrono::NaiveDate {
    policy.last_day(due)
}

/// How a deadline stands today, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Countdown {
    pub text: String,
    pub overdue: bool,
    /// The last local day, `YYYY-MM-DD`.
    pub date: String,
}

/// "due in 3 working days" / "2 days overdue": counted in working days when
/// the stage's deadline is set in working days, else in calendar days.
pub fn countdown(
    lang: Lang,
    policy: &Policy,
    cal: &Calendar,
    stage: Stage,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Countdown {
    let t = i18n::catalog(lang);
    let working = DeadlineKind::of_stage(stage)
        .is_some_and(|k| matches!(policy.span(k), Span::WorkingDays(_)));
    let last = due_day(policy, due);
    let today = policy.local_date(now);
    let count = |from, to| {
        if working {
            i64::from(cal.working_days_between(from, to))
        } else {
            (to - from).num_days().max(0)
        }
    };
    let overdue = now >= due;
    let n = if overdue {
        count(last, today)
    } else {
        count(today, last)
    };
    let key = match (overdue, working, n) {
        (false, _, 0) => "countdown.due_today",
        (false, true, 1) => "countdown.left_working_one",
        (false, true, _) => "countdown.left_working",
        (false, false, 1) => "countdown.left_days_one",
        (false, false, _) => "countdown.left_days",
        (true, _, 0) => "countdown.overdue",
        (true, true, 1) => "countdown.over_working_one",
        (true, true, _) => "countdown.over_working",
        (true, false, 1) => "countdown.over_days_one",
        (true, false, _) => "countdown.over_days",
    };
    Countdown {
        text: t.format(key, &[("n", &n.to_string())]),
        overdue,
        date: local_day(policy, due),
    }
}

/// "you", "someone else" or "nobody".
pub(super) fn owner_word(
    lang: Lang,
    owner: Option<uuid::Uuid>,
    me: uuid::Uuid,
) -> (&'static str, String) {
    let code = match owner {
        Some(o) if o == me => "you",
        Some(_) => "other",
        None => "none",
    };
    (code, i18n::word(lang, "owner", code))
}
