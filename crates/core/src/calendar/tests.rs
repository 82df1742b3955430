//! Tests of the working-day calendar: shipped and operator files, spills,
//! provisional years, and the counting properties.

use super::*;
use proptest::prelude::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

impl Calendar {
    fn cn_official_only() -> Self {
        Self::from_toml_files(BUILTIN.iter().copied()).unwrap()
    }
}

fn file(body: &str) -> Result<Calendar, CalendarError> {
    Calendar::from_toml_files([("test.toml", body)])
}

#[test]
fn worked_example_national_day() {
    let cal = Calendar::cn();
    assert_eq!(cal.add_working_days(d(2026, 9, 30), 5), d(2026, 10, 13));
    assert_eq!(cal.working_days_between(d(2026, 9, 30), d(2026, 10, 13)), 5);
    for day in 1..=7 {
        assert!(!cal.is_working_day(d(2026, 10, day)), "10-{day}");
    }
    assert!(cal.is_working_day(d(2026, 10, 10)));
    assert_eq!(
        cal.holiday_name(d(2026, 10, 3)),
        Some("国庆节 National Day")
    );
}

#[test]
fn spring_festival_and_makeup_days() {
    let cal = Calendar::cn();
    for day in 15..=23 {
        assert!(!cal.is_working_day(d(2026, 2, day)), "02-{day}");
    }
    for makeup in [
        d(2026, 2, 14),
        d(2026, 2, 28),
        d(2026, 1, 4),
        d(2026, 5, 9),
        d(2026, 9, 20),
    ] {
        assert!(cal.is_working_day(makeup), "{makeup}");
    }
    assert!(!cal.is_working_day(d(2026, 1, 1)));
    assert!(!cal.is_working_day(d(2026, 3, 7)), "ordinary Saturday");
    assert!(cal.is_working_day(d(2026, 2, 24)));
}

#[test]
fn builtin_names_and_missing_years() {
    assert_eq!(
        Calendar::builtin("cn-2026"),
        Ok(Calendar::cn_official_only())
    );
    assert_eq!(Calendar::builtin("weekends"), Ok(Calendar::weekends_only()));
    assert!(matches!(
        Calendar::builtin("fr"),
        Err(CalendarError::UnknownBuiltin { .. })
    ));
    let cal = Calendar::cn();
    assert_eq!(cal.years().collect::<Vec<_>>(), vec![2026]);
    assert_eq!(cal.missing_years(2025..=2027), vec![2025, 2027]);
    assert_eq!(cal.provisional_years(2025..=2027), vec![2025, 2027]);
    // A year without a file has the statutory holidays, provisionally…
    assert!(!cal.is_working_day(d(2027, 1, 1)));
    assert_eq!(
        cal.holiday_name(d(2027, 2, 5)),
        Some("春节 Spring Festival (provisional)")
    );
    // …and past the lunar table, weekends only.
    assert!(cal.provisional_years(2101..=2101).is_empty());
    assert!(cal.is_working_day(d(2101, 1, 3)), "a Monday");
}

#[test]
fn a_working_day_deadline_skips_the_provisional_spring_festival() {
    let cal = Calendar::cn();
    // Thursday 28 January 2027 + 10 working days: 29 Jan, 1–4 Feb, then
    // 除夕 5 Feb to 10 Feb are off (8 and the two days in lieu of the
    // weekend), so 11, 12, 15, 16, 17 Feb.
    assert_eq!(cal.add_working_days(d(2027, 1, 28), 10), d(2027, 2, 17));
    assert_eq!(cal.working_days_between(d(2027, 1, 28), d(2027, 2, 17)), 10);
    let plain = Calendar::weekends_only();
    assert_eq!(plain.add_working_days(d(2027, 1, 28), 10), d(2027, 2, 11));
}

#[test]
fn operator_files_add_years_and_accept_string_dates() {
    let mut cal = Calendar::cn();
    let y2027 =
        "year = 2027\n[[holidays]]\nname = \"元旦\"\nfrom = \"2027-01-01\"\nto = \"2027-01-01\"\n";
    assert!(!cal.is_working_day(d(2027, 2, 5)), "provisional 除夕");
    cal.add_toml("cn-2027.toml", y2027).unwrap();
    assert!(!cal.is_working_day(d(2027, 1, 1)));
    assert!(cal.missing_years(2026..=2027).is_empty());
    assert!(cal.provisional_years(2026..=2027).is_empty());
    // The official file supersedes every provisional day of its year.
    assert!(cal.is_working_day(d(2027, 2, 5)));
    assert_eq!(cal.working_days_between(d(2027, 2, 4), d(2027, 2, 10)), 4);
    assert!(matches!(
        cal.add_toml("again.toml", y2027),
        Err(CalendarError::DuplicateYear { year: 2027, .. })
    ));
}

#[test]
fn new_year_may_spill_into_the_year_before() {
    let cal = file(
        "year = 2019\n[[holidays]]\nname = \"元旦\"\nfrom = 2018-12-30\nto = 2019-01-01\nmakeup_days = [2018-12-29]\n",
    )
    .unwrap();
    assert!(cal.is_working_day(d(2018, 12, 29)));
    assert!(!cal.is_working_day(d(2018, 12, 31)));
}

#[test]
fn bad_files_name_the_problem() {
    let head = "year = 2026\n[[holidays]]\nname = \"x\"\n";
    type Check = fn(&CalendarError) -> bool;
    let cases: [(&str, Check); 8] = [
        (
            "from = \"2026-02-30\"\nto = 2026-03-01\n",
            |e| matches!(e, CalendarError::BadDate { value, .. } if value.contains("2026-02-30")),
        ),
        ("from = 2026-03-01T10:00:00\nto = 2026-03-01\n", |e| {
            matches!(e, CalendarError::BadDate { .. })
        }),
        ("from = 2026-03-02\nto = 2026-03-01\n", |e| {
            matches!(e, CalendarError::InvertedRange { .. })
        }),
        ("from = 2025-06-01\nto = 2025-06-02\n", |e| {
            matches!(e, CalendarError::YearMismatch { year: 2026, .. })
        }),
        ("from = 2025-12-30\nto = 2025-12-31\n", |e| {
            matches!(e, CalendarError::YearMismatch { .. })
        }),
        (
            "from = 2026-10-01\nto = 2026-10-07\nmakeup_days = [2026-10-03]\n",
            |e| matches!(e, CalendarError::MakeupOverlapsHoliday { date, .. } if *date == NaiveDate::from_ymd_opt(2026, 10, 3).unwrap()),
        ),
        (
            "from = 2026-10-01\nto = 2026-10-07\nmakeup_days = [2026-10-08]\n",
            |e| matches!(e, CalendarError::MakeupNotWeekend { .. }),
        ),
        ("from = 2026-10-01\nto = 2026-10-07\ncolour = 1\n", |e| {
            matches!(e, CalendarError::Toml { .. })
        }),
    ];
    for (body, expected) in cases {
        let err = file(&format!("{head}{body}")).unwrap_err();
        assert!(expected(&err), "{body}: {err:?}");
        assert!(err.to_string().starts_with("test.toml: "), "{err}");
    }
    assert!(matches!(
        file("year = 2026\nholidays = 3\n"),
        Err(CalendarError::Toml { .. })
    ));
}

#[test]
fn makeup_day_clashing_with_another_files_holiday_is_refused() {
    let mut cal = Calendar::weekends_only();
    cal.add_toml(
        "a",
        "year = 2026\n[[holidays]]\nname = \"a\"\nfrom = 2026-12-26\nto = 2026-12-27\n",
    )
    .unwrap();
    let before = cal.clone();
    let err = cal
        .add_toml(
            "b",
            "year = 2027\n[[holidays]]\nname = \"b\"\nfrom = 2027-01-01\nto = 2027-01-01\nmakeup_days = [2026-12-26]\n",
        )
        .unwrap_err();
    assert!(matches!(err, CalendarError::MakeupOverlapsHoliday { .. }));
    assert_eq!(cal, before, "a refused file changes nothing");
}

/// Monday-to-Friday arithmetic written independently of the calendar.
fn mon_fri_add(start: NaiveDate, n: u32) -> NaiveDate {
    let wd = start.weekday().num_days_from_monday();
    // From a weekend, the next working day is the same as from Friday.
    let (base, pos) = if wd >= 5 {
        (start - Days::new(u64::from(wd - 4)), 4)
    } else {
        (start, wd)
    };
    let monday = base - Days::new(u64::from(pos));
    let target = pos + n;
    monday + Days::new(u64::from(target / 5 * 7 + target % 5))
}

fn any_date() -> impl Strategy<Value = NaiveDate> {
    (0u64..(366 * 4)).prop_map(|off| d(2024, 1, 1) + Days::new(off))
}

proptest! {
    #[test]
    fn add_working_days_properties(start in any_date(), n in 1u32..400) {
        for cal in [Calendar::cn(), Calendar::weekends_only()] {
            let due = cal.add_working_days(start, n);
            prop_assert!(cal.is_working_day(due));
            prop_assert!(due > start);
            prop_assert!(cal.add_working_days(start, n + 1) > due);
            prop_assert_eq!(cal.working_days_between(start, due), n);
        }
    }

    #[test]
    fn empty_calendar_is_mon_to_fri(start in any_date(), n in 1u32..400) {
        let cal = Calendar::weekends_only();
        prop_assert_eq!(cal.add_working_days(start, n), mon_fri_add(start, n));
        // n = 0 is "no working days later": the start itself, weekend or not.
        prop_assert_eq!(cal.add_working_days(start, 0), start);
    }

    #[test]
    fn between_matches_counting_day_by_day(a in any_date(), b in any_date()) {
        let cal = Calendar::cn();
        let counted = a.iter_days().skip(1).take_while(|x| *x <= b).filter(|x| cal.is_working_day(*x)).count();
        prop_assert_eq!(cal.working_days_between(a, b) as usize, counted);
    }
}
