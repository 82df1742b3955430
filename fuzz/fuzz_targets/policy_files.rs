//! The operator's files: deadline policies (`policy.toml`, a preset plus
//! overrides) and holiday calendars (one TOML file a year). Any text may
//! come in. Nothing may panic or run for long; a file that is refused
//! leaves the calendar as it was; what is accepted must give deadlines that
//! lie after their start, reminders between start and due, and working-day
//! arithmetic that adds and counts back to the same number.

#![no_main]

use chrono::{DateTime, Days, NaiveDate, Utc};
use libfuzzer_sys::fuzz_target;
use sunlight_core::calendar::Calendar;
use sunlight_core::policy::{DeadlineKind, Policy};

/// Input: two bytes of start day (after 2000-01-01, to about 2179), one
/// byte of working days to add, then the policy file and a year file
/// separated by a NUL. Seeds in `fuzz/seeds/policy_files` are the shipped
/// presets and calendars in this framing.
struct Input<'a> {
    start_day: u16,
    working_days: u8,
    policy: &'a str,
    year_file: &'a str,
}

impl<'a> Input<'a> {
    fn read(data: &'a [u8]) -> Option<Self> {
        let (head, text) = data.split_at_checked(3)?;
        let text = std::str::from_utf8(text).ok()?;
        let (policy, year_file) = text.split_once('\0').unwrap_or((text, ""));
        Some(Self {
            start_day: u16::from_le_bytes([head[0], head[1]]),
            working_days: head[2],
            policy,
            year_file,
        })
    }
}

fn check_calendar(cal: &Calendar, start: NaiveDate, n: u32) {
    let end = cal.add_working_days(start, n);
    assert!(end >= start);
    if n > 0 {
        assert!(
            cal.is_working_day(end),
            "the nth working day is not a working day"
        );
    }
    assert_eq!(
        cal.working_days_between(start, end),
        n,
        "adding and counting disagree"
    );
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::read(data) else {
        return;
    };
    let base = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");
    let start_date = base
        .checked_add_days(Days::new(u64::from(input.start_day)))
        .expect("within chrono's range");
    // Mid-morning UTC: late afternoon in Beijing, the previous evening in
    // the Americas, so local dates differ from UTC ones for some offsets.
    let start: DateTime<Utc> = start_date.and_hms_opt(9, 30, 0).expect("a time").and_utc();
    let n = u32::from(input.working_days);

    // A year file on top of the shipped Chinese calendar: refused files
    // change nothing; accepted ones keep the arithmetic consistent.
    let mut cal = Calendar::cn();
    let before = cal.clone();
    match cal.add_toml("fuzz.toml", input.year_file) {
        Ok(()) => check_calendar(&cal, start_date, n),
        Err(e) => {
            assert!(cal == before, "a refused year file changed the calendar");
            assert!(!e.to_string().is_empty());
        }
    }

    let Ok(policy) = Policy::from_toml(input.policy) else {
        return;
    };
    let cal = Calendar::builtin(policy.calendar_name()).expect("a policy names a known calendar");
    check_calendar(&cal, start_date, n);
    for &kind in DeadlineKind::ALL {
        let due = policy.due(kind, start, &cal);
        assert!(due > start, "{kind} is due before it starts");
        let reminders = policy.reminder_instants(start, due);
        assert!(reminders.iter().all(|(_, at)| *at >= start && *at <= due));
        assert!(
            reminders.windows(2).all(|w| w[0].1 <= w[1].1),
            "reminders out of order"
        );
    }
});
