//! The working-day calendar (工作日): Monday to Friday, minus a year's public
//! holidays (法定节假日), plus the weekend days worked in exchange (调休上班).
//!
//! Calendars are data, one TOML file per year, because the State Council
//! publishes each year's arrangement only in the November before. A year
//! without a file uses a provisional calendar of the statutory holidays
//! ([`provisional`], mainland China 2020–2100) or, past that, plain
//! weekends; [`Calendar::missing_years`] and [`Calendar::provisional_years`]
//! tell the caller which years those are so it can warn.
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

pub mod provisional;

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
    /// Provisional holidays of years without a file; a day here counts
    /// only while its year has no file (an official file supersedes it).
    provisional: BTreeMap<NaiveDate, String>,
    provisional_years: BTreeSet<i32>,
}

impl Calendar {
    /// Plain Monday to Friday, no holidays.
    pub fn weekends_only() -> Self {
        Self::default()
    }

    /// Every shipped year of the mainland China calendar, and provisional
    /// holidays for the years without one.
    pub fn cn() -> Self {
        #[expect(
            clippy::expect_used,
            reason = "the shipped files are embedded and parsed by the tests"
        )]
        Self::builtin("cn").expect("shipped cn calendar files are valid")
    }

    /// A shipped calendar: a family (`cn`: all its years, and provisional
    /// holidays for the others), one year file (`cn-2026`), or `weekends`
    /// for none.
    pub fn builtin(name: &str) -> Result<Self, CalendarError> {
        Self::builtin_except(name, &BTreeSet::new())
    }

    /// [`Self::builtin`] without the year files of `skip` (those years then
    /// count as if no file were shipped): the calendar a deployment used
    /// before an upgrade shipped them.
    pub fn builtin_except(name: &str, skip: &BTreeSet<i32>) -> Result<Self, CalendarError> {
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
        let shipped = files.iter().copied().filter(|(file, _)| {
            file.rsplit('-')
                .next()
                .and_then(|y| y.parse::<i32>().ok())
                .is_none_or(|year| !skip.contains(&year))
        });
        let calendar = Self::from_toml_files(shipped)?;
        Ok(if name == "cn" {
            calendar.with_cn_provisional()
        } else {
            calendar
        })
    }

    /// Adds the provisional mainland China holidays of every year the
    /// lunar table covers; years with a file (now or added later) keep
    /// their official days.
    pub fn with_cn_provisional(mut self) -> Self {
        for year in provisional::table_years() {
            if let Some(days) = provisional::holidays(year) {
                self.provisional.extend(days);
                self.provisional_years.insert(year);
            }
        }
        self
    }

    /// The same calendar without provisional holidays: years without a
    /// file count weekends only, as releases before the provisional
    /// calendar did.
    pub fn without_provisional(mut self) -> Self {
        self.provisional.clear();
        self.provisional_years.clear();
        self
    }

    /// Years in `range` without a file whose deadlines use the provisional
    /// holidays (no 调休 known yet).
    pub fn provisional_years(&self, range: RangeInclusive<i32>) -> Vec<i32> {
        range
            .filter(|y| !self.years.contains(y) && self.provisional_years.contains(y))
            .collect()
    }

    /// Whether `year` has an official file.
    pub fn has_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// A provisional holiday that counts: its year has no file and no
    /// official day (a spill from a neighbouring file) covers the date.
    fn provisional_holiday(&self, date: NaiveDate) -> Option<&String> {
        if self.years.contains(&date.year()) || self.makeup.contains_key(&date) {
            return None;
        }
        self.provisional.get(&date)
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

    /// Years in `range` that have no file (provisional or weekends only).
    pub fn missing_years(&self, range: RangeInclusive<i32>) -> Vec<i32> {
        range.filter(|y| !self.years.contains(y)).collect()
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.holidays.contains_key(&date) || self.provisional_holiday(date).is_some() {
            return false;
        }
        self.makeup.contains_key(&date) || !is_weekend(date)
    }

    /// The holiday's name when `date` is a public holiday (provisional ones
    /// say so in their name).
    pub fn holiday_name(&self, date: NaiveDate) -> Option<&str> {
        self.holidays
            .get(&date)
            .or_else(|| self.provisional_holiday(date))
            .map(String::as_str)
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
        count += self.makeup.range(range.clone()).count() as i64;
        count -= self
            .provisional
            .range(range)
            .filter(|(d, _)| {
                !is_weekend(**d)
                    && !self.holidays.contains_key(d)
                    && self.provisional_holiday(**d).is_some()
            })
            .count() as i64;
        u32::try_from(count).unwrap_or(u32::MAX)
    }
}

/// The parser's message with the line it points at, without echoing the
/// file's contents.
pub fn toml_message(text: &str, err: &toml::de::Error) -> String {
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
mod tests;
