//! The working-day calendar (工作日): Monday to Friday, minus a year's public
//! holidays (法定节假日), plus the weekend days worked in exchange (调休上班).
//!
//! Calendars are data, one TOML file per year, because the State Council
//! publishes each year's arrangement only in the November before. A year
//! without a file falls back to plain weekends; [`Calendar::missing_years`]
//! tells the caller which years those are so it can warn at startup.
//!
//! A year file:
//!
//! ```toml
//! year = 2026
//!
//! [[holidays]]
//! name = "国庆节 National Day"
//! from = 2026-10-01          # inclusive
//! to = 2026-10-07            # inclusive
//! makeup_days = [2026-09-20, 2026-10-10]
//! ```
//!
//! Dates may be TOML dates or `"YYYY-MM-DD"` strings. A holiday must have at
//! least one day in the file's year; its days and make-up days may spill up
//! to 31 days into the neighbouring years, as the New Year arrangement
//! sometimes does (e.g. the 2019 notice made 2018-12-29 a working day).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

/// Year files shipped with the binary, by name. Names start with the
/// calendar family (`cn-`) so [`Calendar::builtin`] can load a whole family.
const BUILTIN: &[(&str, &str)] = &[("cn-2026", include_str!("../calendars/cn-2026.toml"))];

/// How far a year file's dates may reach into the neighbouring years.
const SPILL_DAYS: u64 = 31;

/// Why a calendar file was refused. `file` is the name the caller gave it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("{file}: not a valid calendar file: {message}")]
    Toml { file: String, message: String },
    #[error("{file}: {value} is not a date (write dates as 2026-10-01)")]
    BadDate { file: String, value: String },
    #[error("{file}: year {year} is out of range")]
    BadYear { file: String, year: i32 },
    #[error("{file}: holiday {holiday:?} ends on {to}, before it starts on {from}")]
    InvertedRange {
        file: String,
        holiday: String,
        from: NaiveDate,
        to: NaiveDate,
    },
    #[error("{file}: {date} does not belong to the file's year {year}")]
    YearMismatch {
        file: String,
        year: i32,
        date: NaiveDate,
    },
    #[error("{file}: {date} is both a holiday and a make-up working day")]
    MakeupOverlapsHoliday { file: String, date: NaiveDate },
    #[error("{file}: make-up working day {date} is not a Saturday or Sunday")]
    MakeupNotWeekend { file: String, date: NaiveDate },
    #[error("{file}: a calendar for {year} is already loaded")]
    DuplicateYear { file: String, year: i32 },
    #[error("no built-in calendar named {name:?}")]
    UnknownBuiltin { name: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: i32,
    #[serde(default)]
    holidays: Vec<RawHoliday>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    name: String,
    from: toml::Value,
    to: toml::Value,
    #[serde(default)]
    makeup_days: Vec<toml::Value>,
}

/// Which days are worked. Cheap to clone; build once at startup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeSet<i32>,
    /// Holiday day → holiday name.
    holidays: BTreeMap<NaiveDate, String>,
    /// Make-up working day → name of the holiday it pays for.
    makeup: BTreeMap<NaiveDate, String>,
}

impl Calendar {
    /// Plain Monday to Friday, no holidays.
    pub fn weekends_only() -> Self {
        Self::default()
    }

    /// Every shipped year of the mainland China calendar.
    pub fn cn() -> Self {
        #[expect(
            clippy::expect_used,
            reason = "the shipped files are embedded and parsed by the tests"
        )]
        Self::builtin("cn").expect("shipped cn calendar files are valid")
    }

    /// A shipped calendar: a family (`cn`: all its years), one year file
    /// (`cn-2026`), or `weekends` for none.
    pub fn builtin(name: &str) -> Result<Self, CalendarError> {
        if name == "weekends" {
            return Ok(Self::weekends_only());
        }
        let family = format!("{name}-");
        let files: Vec<_> = BUILTIN
            .iter()
            .copied()
            .filter(|(file, _)| *file == name || file.starts_with(&family))
            .collect();
        if files.is_empty() {
            return Err(CalendarError::UnknownBuiltin {
                name: name.to_owned(),
            });
        }
        Self::from_toml_files(files)
    }

    /// A calendar from year files given as `(name, contents)`; the name is
    /// only used in error messages. Reading the files is the caller's job.
    pub fn from_toml_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, CalendarError> {
        let mut calendar = Self::weekends_only();
        for (file, text) in files {
            calendar.add_toml(file, text)?;
        }
        Ok(calendar)
    }

    /// Adds one year file, e.g. an operator's file for a year not shipped.
    /// On error the calendar is left unchanged.
    pub fn add_toml(&mut self, file: &str, text: &str) -> Result<(), CalendarError> {
        let raw: RawYear = toml::from_str(text).map_err(|e| CalendarError::Toml {
            file: file.to_owned(),
            message: toml_message(text, &e),
        })?;
        if self.years.contains(&raw.year) {
            return Err(CalendarError::DuplicateYear {
                file: file.to_owned(),
                year: raw.year,
            });
        }
        let parsed = parse_year(file, &raw)?;
        // Checked against the whole calendar, not just this file, because
        // neighbouring years may spill into each other.
        for date in parsed.makeup.keys() {
            if self.holidays.contains_key(date) || parsed.holidays.contains_key(date) {
                return Err(CalendarError::MakeupOverlapsHoliday {
                    file: file.to_owned(),
                    date: *date,
                });
            }
        }
        if let Some(date) = parsed.holidays.keys().find(|d| self.makeup.contains_key(d)) {
            return Err(CalendarError::MakeupOverlapsHoliday {
                file: file.to_owned(),
                date: *date,
            });
        }
        self.years.insert(raw.year);
        for (date, name) in parsed.holidays {
            self.holidays.entry(date).or_insert(name);
        }
        self.makeup.extend(parsed.makeup);
        Ok(())
    }

    /// Years that have a calendar file.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// Years in `range` that have no file and so count weekends only.
    pub fn missing_years(&self, range: RangeInclusive<i32>) -> Vec<i32> {
        range.filter(|y| !self.years.contains(y)).collect()
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.holidays.contains_key(&date) {
            return false;
        }
        self.makeup.contains_key(&date) || !is_weekend(date)
    }

    /// The holiday's name when `date` is a public holiday.
    pub fn holiday_name(&self, date: NaiveDate) -> Option<&str> {
        self.holidays.get(&date).map(String::as_str)
    }

    /// The `n`th working day after `start`; `start` itself never counts, so
    /// `n = 0` gives `start`. Saturates at the last date chrono can hold.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut date = start;
        let mut left = n;
        while left > 0 {
            let Some(next) = date.succ_opt() else {
                return NaiveDate::MAX;
            };
            date = next;
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        date
    }

    /// Working days `d` with `from < d <= to`; zero when `to <= from`.
    /// Inverse of [`Self::add_working_days`].
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        if to <= from {
            return 0;
        }
        let Some(after) = from.succ_opt() else {
            return 0;
        };
        let range = after..=to;
        let mut count = weekdays_through(to) - weekdays_through(from);
        // Validation keeps make-up days off weekdays and off holidays, so
        // each listed day shifts the weekday count by exactly one.
        count -= self
            .holidays
            .range(range.clone())
            .filter(|(d, _)| !is_weekend(**d))
            .count() as i64;
        count += self.makeup.range(range).count() as i64;
        u32::try_from(count).unwrap_or(u32::MAX)
    }
}

/// The parser's message with the line it points at, without echoing the
/// file's contents.
pub(crate) fn toml_message(text: &str, err: &toml::de::Error) -> String {
    match err.span() {
        Some(span) => {
            let line = text
                .bytes()
                .take(span.start)
                .filter(|b| *b == b'\n')
                .count()
                + 1;
            format!("line {line}: {}", err.message())
        }
        None => err.message().to_owned(),
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Monday-to-Friday days from 0001-01-01 (a Monday) through `date`.
fn weekdays_through(date: NaiveDate) -> i64 {
    let days = i64::from(date.num_days_from_ce());
    days.div_euclid(7) * 5 + days.rem_euclid(7).min(5)
}

struct ParsedYear {
    holidays: BTreeMap<NaiveDate, String>,
    makeup: BTreeMap<NaiveDate, String>,
}

fn parse_year(file: &str, raw: &RawYear) -> Result<ParsedYear, CalendarError> {
    let bad_year = || CalendarError::BadYear {
        file: file.to_owned(),
        year: raw.year,
    };
    let first = NaiveDate::from_ymd_opt(raw.year, 1, 1).ok_or_else(bad_year)?;
    let last = NaiveDate::from_ymd_opt(raw.year, 12, 31).ok_or_else(bad_year)?;
    let window = first
        .checked_sub_days(Days::new(SPILL_DAYS))
        .ok_or_else(bad_year)?
        ..=last
            .checked_add_days(Days::new(SPILL_DAYS))
            .ok_or_else(bad_year)?;
    let in_window = |date: NaiveDate| {
        if window.contains(&date) {
            Ok(date)
        } else {
            Err(CalendarError::YearMismatch {
                file: file.to_owned(),
                year: raw.year,
                date,
            })
        }
    };

    let mut parsed = ParsedYear {
        holidays: BTreeMap::new(),
        makeup: BTreeMap::new(),
    };
    for holiday in &raw.holidays {
        let from = in_window(parse_date(file, &holiday.from)?)?;
        let to = in_window(parse_date(file, &holiday.to)?)?;
        if to < from {
            return Err(CalendarError::InvertedRange {
                file: file.to_owned(),
                holiday: holiday.name.clone(),
                from,
                to,
            });
        }
        if to < first || from > last {
            return Err(CalendarError::YearMismatch {
                file: file.to_owned(),
                year: raw.year,
                date: from,
            });
        }
        for date in from.iter_days().take_while(|d| *d <= to) {
            parsed
                .holidays
                .entry(date)
                .or_insert_with(|| holiday.name.clone());
        }
        for value in &holiday.makeup_days {
            let date = in_window(parse_date(file, value)?)?;
            if !is_weekend(date) {
                return Err(CalendarError::MakeupNotWeekend {
                    file: file.to_owned(),
                    date,
                });
            }
            parsed.makeup.insert(date, holiday.name.clone());
        }
    }
    Ok(parsed)
}

fn parse_date(file: &str, value: &toml::Value) -> Result<NaiveDate, CalendarError> {
    let bad = || CalendarError::BadDate {
        file: file.to_owned(),
        value: value.to_string(),
    };
    match value {
        toml::Value::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => {
                NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                    .ok_or_else(bad)
            }
            _ => Err(bad()),
        },
        toml::Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
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
        assert_eq!(Calendar::builtin("cn-2026"), Ok(Calendar::cn()));
        assert_eq!(Calendar::builtin("weekends"), Ok(Calendar::weekends_only()));
        assert!(matches!(
            Calendar::builtin("fr"),
            Err(CalendarError::UnknownBuiltin { .. })
        ));
        let cal = Calendar::cn();
        assert_eq!(cal.years().collect::<Vec<_>>(), vec![2026]);
        assert_eq!(cal.missing_years(2025..=2027), vec![2025, 2027]);
        // A year without a file counts weekends only.
        assert!(cal.is_working_day(d(2027, 1, 1)));
    }

    #[test]
    fn operator_files_add_years_and_accept_string_dates() {
        let mut cal = Calendar::cn();
        let y2027 = "year = 2027\n[[holidays]]\nname = \"元旦\"\nfrom = \"2027-01-01\"\nto = \"2027-01-01\"\n";
        cal.add_toml("cn-2027.toml", y2027).unwrap();
        assert!(!cal.is_working_day(d(2027, 1, 1)));
        assert!(cal.missing_years(2026..=2027).is_empty());
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
}
