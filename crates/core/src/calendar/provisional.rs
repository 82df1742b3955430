//! Provisional holidays (暂定) for a year the State Council has not
//! published yet: the statutory holidays of the 全国年节及纪念日放假办法 as
//! amended in 2024 (元旦 1 day, 春节 4 days from 除夕, 清明 1, 劳动节 2,
//! 端午 1, 中秋 1, 国庆 3), with a day off in lieu (补假) on the next
//! working day for each holiday day that falls on a weekend or on another
//! holiday (Article 6). The yearly notice moves days around with make-up
//! working days (调休); those cannot be known in advance, so a provisional
//! year has none. The lunar and solar-term dates come from
//! `calendars/cn-lunar.txt` (2020–2100, cross-checked there).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};

const TABLE: &str = include_str!("../../calendars/cn-lunar.txt");

/// The dates of one year's moving holidays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MovingDates {
    /// 除夕, the eve of the Spring Festival.
    pub eve: NaiveDate,
    pub qingming: NaiveDate,
    pub dragon_boat: NaiveDate,
    pub mid_autumn: NaiveDate,
}

/// The table row of `year`, if the table reaches it.
pub fn moving_dates(year: i32) -> Option<MovingDates> {
    TABLE
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .find_map(|line| {
            let mut cols = line.split_whitespace();
            if cols.next()?.parse::<i32>().ok()? != year {
                return None;
            }
            let mut date = || NaiveDate::parse_from_str(cols.next()?, "%Y-%m-%d").ok();
            Some(MovingDates {
                eve: date()?,
                qingming: date()?,
                dragon_boat: date()?,
                mid_autumn: date()?,
            })
        })
}

/// Years the table covers.
pub fn table_years() -> impl Iterator<Item = i32> {
    TABLE
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_whitespace().next()?.parse().ok())
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The provisional holidays of `year`, by date, each named with its
/// festival; `None` past the table.
pub fn holidays(year: i32) -> Option<BTreeMap<NaiveDate, String>> {
    let moving = moving_dates(year)?;
    let fixed = |month, day| NaiveDate::from_ymd_opt(year, month, day);
    let days = |start: NaiveDate, n: u64| -> Vec<NaiveDate> {
        start
            .iter_days()
            .take(usize::try_from(n).unwrap_or(0))
            .collect()
    };
    let festivals: Vec<(&str, Vec<NaiveDate>)> = vec![
        ("元旦 New Year", fixed(1, 1).map(|d| days(d, 1))?),
        ("春节 Spring Festival", days(moving.eve, 4)),
        ("清明节 Qingming", days(moving.qingming, 1)),
        ("劳动节 Labour Day", fixed(5, 1).map(|d| days(d, 2))?),
        ("端午节 Dragon Boat", days(moving.dragon_boat, 1)),
        ("中秋节 Mid-Autumn", days(moving.mid_autumn, 1)),
        ("国庆节 National Day", fixed(10, 1).map(|d| days(d, 3))?),
    ];
    let mut out: BTreeMap<NaiveDate, String> = BTreeMap::new();
    for (name, dates) in &festivals {
        let label = format!("{name} (provisional)");
        let mut in_lieu = 0usize;
        for date in dates {
            if is_weekend(*date) || out.contains_key(date) {
                in_lieu += 1;
            }
            out.entry(*date).or_insert_with(|| label.clone());
        }
        let mut next = dates.last().copied();
        while in_lieu > 0 {
            let Some(date) = next.and_then(|d| d.succ_opt()) else {
                break;
            };
            next = Some(date);
            if !is_weekend(date) && !out.contains_key(&date) {
                out.insert(date, label.clone());
                in_lieu -= 1;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// The dates the State Council's yearly notices (国务院办公厅关于…年部分
    /// 节假日安排的通知) gave, 2020–2026: the table must reproduce them.
    #[test]
    fn table_matches_the_published_dates_of_past_years() {
        let published = [
            (
                2020,
                d(2020, 1, 24),
                d(2020, 4, 4),
                d(2020, 6, 25),
                d(2020, 10, 1),
            ),
            (
                2021,
                d(2021, 2, 11),
                d(2021, 4, 4),
                d(2021, 6, 14),
                d(2021, 9, 21),
            ),
            (
                2022,
                d(2022, 1, 31),
                d(2022, 4, 5),
                d(2022, 6, 3),
                d(2022, 9, 10),
            ),
            (
                2023,
                d(2023, 1, 21),
                d(2023, 4, 5),
                d(2023, 6, 22),
                d(2023, 9, 29),
            ),
            (
                2024,
                d(2024, 2, 9),
                d(2024, 4, 4),
                d(2024, 6, 10),
                d(2024, 9, 17),
            ),
            (
                2025,
                d(2025, 1, 28),
                d(2025, 4, 4),
                d(2025, 5, 31),
                d(2025, 10, 6),
            ),
            (
                2026,
                d(2026, 2, 16),
                d(2026, 4, 5),
                d(2026, 6, 19),
                d(2026, 9, 25),
            ),
        ];
        for (year, eve, qingming, dragon_boat, mid_autumn) in published {
            assert_eq!(
                moving_dates(year),
                Some(MovingDates {
                    eve,
                    qingming,
                    dragon_boat,
                    mid_autumn
                }),
                "{year}"
            );
        }
        let years: Vec<i32> = table_years().collect();
        assert_eq!(years, (2020..=2100).collect::<Vec<_>>());
        for year in years {
            let row = moving_dates(year).unwrap();
            // 除夕 falls between 21 January and 19 February, 清明 on 4–6
            // April, and the others in their season: a slipped column fails.
            assert!(
                (d(year, 1, 20)..=d(year, 2, 19)).contains(&row.eve),
                "{year}"
            );
            assert!(
                (d(year, 4, 3)..=d(year, 4, 6)).contains(&row.qingming),
                "{year}"
            );
            assert!(
                (d(year, 5, 27)..=d(year, 6, 26)).contains(&row.dragon_boat),
                "{year}"
            );
            assert!(
                (d(year, 9, 7)..=d(year, 10, 8)).contains(&row.mid_autumn),
                "{year}"
            );
        }
    }

    /// Every statutory day of 2026 computed provisionally is a holiday in
    /// the official 2026 notice (which adds bridge days and 调休 on top).
    #[test]
    fn provisional_2026_is_within_the_official_2026() {
        let official = crate::calendar::Calendar::builtin("cn-2026").unwrap();
        let statutory = [
            d(2026, 1, 1),
            d(2026, 2, 16),
            d(2026, 2, 17),
            d(2026, 2, 18),
            d(2026, 2, 19),
            d(2026, 4, 5),
            d(2026, 5, 1),
            d(2026, 5, 2),
            d(2026, 6, 19),
            d(2026, 9, 25),
            d(2026, 10, 1),
            d(2026, 10, 2),
            d(2026, 10, 3),
        ];
        let provisional = holidays(2026).unwrap();
        for day in statutory {
            assert!(provisional.contains_key(&day), "{day} provisional");
            assert!(!official.is_working_day(day), "{day} official");
        }
    }

    #[test]
    fn weekend_holiday_days_get_a_day_in_lieu() {
        // 2027: 除夕 Friday 5 February; the Saturday and Sunday give
        // Tuesday 9 and Wednesday 10 off.
        let days = holidays(2027).unwrap();
        for day in 5..=10 {
            assert!(days.contains_key(&d(2027, 2, day)), "02-{day}");
        }
        assert!(!days.contains_key(&d(2027, 2, 11)));
        assert_eq!(
            days.get(&d(2027, 2, 9)).map(String::as_str),
            Some("春节 Spring Festival (provisional)")
        );
        // 国庆 2027: Friday 1 to Sunday 3 October, two days in lieu.
        assert!(days.contains_key(&d(2027, 10, 4)) && days.contains_key(&d(2027, 10, 5)));
        assert!(!days.contains_key(&d(2027, 10, 6)));
        // 2020's 中秋 fell on 1 October, a 国庆 day: one more day in lieu
        // (Thursday 1 shared, Saturday 3: Monday 5 and Tuesday 6).
        let y2020 = holidays(2020).unwrap();
        assert!(
            y2020.contains_key(&d(2020, 10, 5)),
            "in lieu of the shared day"
        );
        assert!(holidays(2101).is_none());
    }
}
