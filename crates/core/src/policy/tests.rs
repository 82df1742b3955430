//! Tests of deadline policies: the presets' figures, the worked example in
//! Shanghai time, the eu stage mapping, reminders and refused files.

use super::*;

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

#[test]
fn presets_carry_the_design_figures() {
    for name in Policy::PRESETS {
        assert_eq!(Policy::preset(name).unwrap().name(), *name);
    }
    let cn = Policy::cn_12380();
    assert_eq!(cn.calendar_name(), "cn");
    assert_eq!(cn.utc_offset().local_minus_utc(), 8 * 3600);
    assert_eq!(cn.reminder_fractions(), vec![0.5, 0.75, 0.9]);
    use DeadlineKind as K;
    use Span::*;
    let expected = [
        (K::Route, WorkingDays(5)),
        (K::AcknowledgeRealName, WorkingDays(15)),
        (K::HoldNotice, WorkingDays(2)),
        (K::HoldMax, Months(3)),
        (K::Verify, CalendarDays(60)),
        (K::VerifyExtensionMax, CalendarDays(30)),
        (K::Handle, WorkingDays(15)),
        (K::Recheck, WorkingDays(15)),
        (K::Notify, WorkingDays(15)),
        (K::ReporterPauseMax, CalendarDays(30)),
        (K::ReexamineRequest, CalendarDays(30)),
        (K::Reexamine, CalendarDays(30)),
        (K::Interim, WorkingDays(5)),
    ];
    assert_eq!(expected.len(), K::ALL.len());
    for (kind, span) in expected {
        assert_eq!(cn.span(kind), span, "{kind}");
    }

    let eu = Policy::preset("eu-2019-1937").unwrap();
    assert_eq!(eu.span(K::AcknowledgeRealName), CalendarDays(7));
    assert_eq!(eu.span(K::Reexamine), Months(3));
    assert_eq!(eu.calendar_name(), "weekends");
    assert_eq!(eu.utc_offset().local_minus_utc(), 3600);
}

#[test]
fn worked_example_in_shanghai_time() {
    let cn = Policy::cn_12380();
    let cal = Calendar::cn();
    let due = at("2026-10-14T00:00:00+08:00");
    assert_eq!(due, at("2026-10-13T16:00:00Z"));
    // Any moment of Wednesday 2026-09-30, Shanghai time, gives the same due.
    for start in [
        "2026-09-30T00:00:00+08:00",
        "2026-09-30T10:00:00+08:00",
        "2026-09-30T23:59:59+08:00",
    ] {
        assert_eq!(cn.due(DeadlineKind::Route, at(start), &cal), due, "{start}");
    }
    // 2026-09-29 in UTC but already 09-30 in Shanghai.
    assert_eq!(
        cn.due(DeadlineKind::Route, at("2026-09-29T16:30:00Z"), &cal),
        due
    );
    // One second earlier it is still 09-29 in Shanghai, so 09-30 counts
    // and the five days end on Monday 10-12.
    assert_eq!(
        cn.due(DeadlineKind::Route, at("2026-09-29T15:59:59Z"), &cal),
        at("2026-10-13T00:00:00+08:00")
    );
}

#[test]
fn calendar_days_and_months() {
    let cn = Policy::cn_12380();
    let cal = Calendar::cn();
    // 60 days from 2 March end on 1 May, Labour Day (1–5 May off), so the
    // deadline moves to the next working day, Wednesday 6 May.
    assert_eq!(
        cn.due(DeadlineKind::Verify, at("2026-03-02T09:00:00+08:00"), &cal),
        at("2026-05-07T00:00:00+08:00")
    );
    // 60 days from 10 March end on a working Saturday (make-up day 9 May).
    assert_eq!(
        cn.due(DeadlineKind::Verify, at("2026-03-10T09:00:00+08:00"), &cal),
        at("2026-05-10T00:00:00+08:00")
    );
    // Three months after the 30th of November is the last of February,
    // Sunday 28 February 2027: the deadline is Monday 1 March.
    assert_eq!(
        cn.due(DeadlineKind::HoldMax, at("2026-11-30T09:00:00+08:00"), &cal),
        at("2027-03-02T00:00:00+08:00")
    );
    let plain = Policy::preset("eu-2019-1937").unwrap();
    assert_eq!(
        plain.due(DeadlineKind::HoldMax, at("2026-11-30T09:00:00+01:00"), &cal),
        at("2027-03-01T00:00:00+01:00"),
        "without end_on_working_day the month ends where it falls"
    );
    assert_eq!(Span::Months(3).calendar_days_from(d(2026, 1, 31), &cal), 89);
    assert_eq!(
        Span::CalendarDays(30).calendar_days_from(d(2026, 1, 31), &cal),
        30
    );
    assert_eq!(
        Span::WorkingDays(5).calendar_days_from(d(2026, 9, 30), &cal),
        13
    );

    let eu = Policy::preset("eu-2019-1937").unwrap();
    let weekends = Calendar::builtin(eu.calendar_name()).unwrap();
    assert_eq!(
        eu.due(
            DeadlineKind::AcknowledgeRealName,
            at("2026-03-02T12:00:00Z"),
            &weekends
        ),
        at("2026-03-10T00:00:00+01:00")
    );
}

/// The eu preset's stage mapping keeps feedback within 3 months of
/// receipt (Art. 9(1)(f)) even when every stage uses its full time.
#[test]
fn eu_stages_fit_in_three_months() {
    let eu = Policy::preset("eu-2019-1937").unwrap();
    let cal = Calendar::weekends_only();
    let second = TimeDelta::seconds(1);
    for offset in 0..(2 * 366) {
        let received = d(2026, 1, 1) + Days::new(offset);
        let start = eu.end_of_local_day(received) - TimeDelta::hours(1);
        let mut t = start;
        for kind in [
            DeadlineKind::Route,
            DeadlineKind::Verify,
            DeadlineKind::Handle,
        ] {
            t = eu.due(kind, t, &cal) - second;
        }
        let feedback_due = eu.due(DeadlineKind::Notify, t, &cal);
        let limit = eu.end_of_local_day(Span::Months(3).end_date(received, &cal));
        assert!(feedback_due <= limit, "received {received}");
    }
}

#[test]
fn reminders_at_shares_of_the_stage() {
    let cn = Policy::cn_12380();
    let start = at("2026-01-05T00:00:00Z");
    let due = start + TimeDelta::hours(100);
    let got = cn.reminder_instants(start, due);
    let hours = |h| start + TimeDelta::hours(h);
    assert_eq!(
        got,
        vec![
            (ReminderKind::Reminder { per_mille: 500 }, hours(50)),
            (ReminderKind::Reminder { per_mille: 750 }, hours(75)),
            (ReminderKind::Reminder { per_mille: 900 }, hours(90)),
            (ReminderKind::Overdue, due),
        ]
    );
    assert_eq!(
        ReminderKind::Reminder { per_mille: 750 }.to_string(),
        "reminder-750"
    );
    // A due date already past collapses every point onto the start.
    let past = cn.reminder_instants(due, start);
    assert!(past.iter().take(3).all(|(_, t)| *t == due));
}

#[test]
fn operator_file_overrides_a_preset() {
    let policy = Policy::from_toml(
        "preset = \"cn-12380\"\nname = \"gd\"\nreminders = [0.8]\n[deadlines]\nverify = { calendar_days = 45 }\n",
    )
    .unwrap();
    assert_eq!(policy.name(), "gd");
    assert_eq!(policy.span(DeadlineKind::Verify), Span::CalendarDays(45));
    assert_eq!(policy.span(DeadlineKind::Route), Span::WorkingDays(5));
    assert_eq!(policy.reminder_fractions(), vec![0.8]);
    assert_eq!(policy.utc_offset(), Policy::cn_12380().utc_offset());
}

#[test]
fn bad_policies_are_refused_with_the_reason() {
    let full = PRESETS[0].1;
    let over = |extra: &str| Policy::from_toml(&format!("preset = \"cn-12380\"\n{extra}"));
    assert_eq!(
        Policy::preset("us"),
        Err(PolicyError::UnknownPreset { name: "us".into() })
    );
    assert_eq!(
        Policy::from_toml(&full.replace("notify = { working_days = 15 }", "")),
        Err(PolicyError::Missing {
            field: "deadlines.notify".into()
        })
    );
    assert_eq!(
        over("[deadlines]\nhandle = { working_days = 0 }"),
        Err(PolicyError::ZeroSpan {
            kind: DeadlineKind::Handle
        })
    );
    // Before this bound, the first one made every due date of the policy
    // walk to the end of chrono's calendar (seconds per case).
    for (span, max) in [
        ("{ working_days = 4294967295 }", "working_days = 2500"),
        ("{ calendar_days = 3661 }", "calendar_days = 3660"),
        ("{ months = 121 }", "months = 120"),
    ] {
        assert_eq!(
            over(&format!("[deadlines]\nverify = {span}")),
            Err(PolicyError::SpanTooLong {
                kind: DeadlineKind::Verify,
                max
            })
        );
    }
    assert!(over("[deadlines]\nverify = { working_days = 2500 }").is_ok());
    for reminders in [
        "[0.5, 0.5]",
        "[0.9, 0.5]",
        "[0.0]",
        "[1.0]",
        "[1.5]",
        "[nan]",
        "[0.5, 0.5004]",
    ] {
        assert!(
            matches!(
                over(&format!("reminders = {reminders}")),
                Err(PolicyError::BadReminders { .. })
            ),
            "{reminders}"
        );
    }
    assert!(over("reminders = []").is_ok());
    assert_eq!(
        over("utc_offset_minutes = 900"),
        Err(PolicyError::BadUtcOffset { minutes: 900 })
    );
    assert_eq!(
        over("calendar = \"mars\""),
        Err(PolicyError::UnknownCalendar {
            name: "mars".into()
        })
    );
    for bad in [
        "[deadlines]\nroute = { weeks = 2 }",
        "colour = 1",
        "[deadlines]\nroute = { working_days = -1 }",
    ] {
        assert!(matches!(over(bad), Err(PolicyError::Toml { .. })), "{bad}");
    }
    let err = over("colour = 1").unwrap_err().to_string();
    assert!(err.contains("line 2"), "{err}");
}

/// The case: a report received on Wednesday 2 December 2026,
/// routed within its 5 working days, verification opened on 9 December.
/// 60 calendar days end on Sunday 7 February 2027, inside the provisional
/// Spring Festival (除夕 5 February, four days, and Tuesday 9 and Wednesday
/// 10 in lieu of the weekend), so the deadline skips it to Thursday 11.
#[test]
fn a_verify_deadline_into_the_provisional_2027_skips_the_spring_festival() {
    let cn = Policy::cn_12380();
    let cal = Calendar::cn();
    assert_eq!(cal.provisional_years(2027..=2027), vec![2027]);
    let received = at("2026-12-02T10:00:00+08:00");
    let routed = cn.due(DeadlineKind::Route, received, &cal);
    assert_eq!(cn.last_day(routed), d(2026, 12, 9));
    let verify_due = cn.due(DeadlineKind::Verify, at("2026-12-09T09:00:00+08:00"), &cal);
    assert_eq!(cn.last_day(verify_due), d(2027, 2, 11));
    // Opened on 2 December itself: 31 January 2027 is a Sunday.
    assert_eq!(
        cn.last_day(cn.due(DeadlineKind::Verify, received, &cal)),
        d(2027, 2, 1)
    );
    // Weekends only (no provisional calendar) would end on Monday 8
    // February, the fourth day of the festival.
    let plain = Calendar::weekends_only();
    let verify_plain = cn.due(
        DeadlineKind::Verify,
        at("2026-12-09T09:00:00+08:00"),
        &plain,
    );
    assert_eq!(cn.last_day(verify_plain), d(2027, 2, 8));
    // The EU preset keeps calendar days as they fall.
    let eu = Policy::preset("eu-2019-1937").unwrap();
    let start = at("2027-01-30T09:00:00+01:00");
    let due = eu.due(DeadlineKind::Route, start, &plain);
    assert_eq!(eu.last_day(due), d(2027, 2, 6), "a Saturday");
}

#[test]
fn a_complete_file_from_before_the_interim_deadline_still_loads() {
    let text = include_str!("../../policies/cn-12380.toml")
        .lines()
        .filter(|l| !l.starts_with("interim"))
        .collect::<Vec<_>>()
        .join("\n");
    let p = Policy::from_toml(&text).unwrap();
    assert_eq!(p.span(DeadlineKind::Interim), Span::WorkingDays(5));
}
