//! Statistics (举报情况统计) from plain routing metadata only: counts of
//! events per local month, unit, category, channel and [`Measure`], their
//! roll-up up the unit tree, medians from day histograms, the public
//! bulletin (举报情况通报) with small cells suppressed, and the hotspot rule
//! (重点管理). Nothing here ever sees sealed content.
//!
//! Cells are keyed by the month an event happened in, not the month its case
//! arrived, so a month's cells stop changing once it is over: the store
//! refreshes only recent months.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Category, Channel, Level, Measure, UnitId};

mod bulletin;
mod hotspot;
mod indicators;
mod suppression;
mod tree;

pub use bulletin::{Bulletin, BulletinArea, BulletinMonth, BulletinRules, Shown};
pub use hotspot::{HotspotReason, HotspotRule};
pub use indicators::Indicators;
pub use tree::{Tree, TreeUnit};

/// Why a statistics value from outside was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    #[error("a month is written YYYY-MM")]
    BadMonth,
}

/// A calendar month in the deployment's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    year: i32,
    /// 1–12.
    month: u32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Result<Self, StatsError> {
        NaiveDate::from_ymd_opt(year, month, 1)
            .map(|_| Self { year, month })
            .ok_or(StatsError::BadMonth)
    }

    /// The local month an instant falls in.
    pub fn of(at: DateTime<Utc>, offset: FixedOffset) -> Self {
        let local = at.with_timezone(&offset);
        Self {
            year: local.year(),
            month: local.month(),
        }
    }

    /// Local midnight at the start of the month, as an instant.
    pub fn start(self, offset: FixedOffset) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|local| local.and_utc() - TimeDelta::seconds(i64::from(offset.local_minus_utc())))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                month: self.month + 1,
                ..self
            }
        }
    }

    pub fn prev(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                month: self.month - 1,
                ..self
            }
        }
    }

    /// This month and the `count - 1` before it, oldest first.
    pub fn last(self, count: u32) -> Vec<Self> {
        let mut months = Vec::new();
        let mut m = self;
        for _ in 0..count.max(1) {
            months.push(m);
            m = m.prev();
        }
        months.reverse();
        months
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl std::str::FromStr for Month {
    type Err = StatsError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let (y, m) = raw.split_once('-').ok_or(StatsError::BadMonth)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(StatsError::BadMonth);
        }
        let year = y.parse().map_err(|_| StatsError::BadMonth)?;
        let month = m.parse().map_err(|_| StatsError::BadMonth)?;
        Self::new(year, month)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// Day histograms stop here: 366 means "a year or more".
pub const MAX_DAYS: u32 = 366;

/// One event, as the store reads it from routing metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub at: DateTime<Utc>,
    pub unit: UnitId,
    pub category: Category,
    pub channel: Channel,
    pub measure: Measure,
    /// For stage completions: done by the deadline.
    pub on_time: bool,
    /// Whole days from the report's arrival, for measures with a median.
    pub days: Option<u32>,
}

/// The dimensions of a count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    pub month: Month,
    pub unit: UnitId,
    pub category: Category,
    pub channel: Channel,
    pub measure: Measure,
}

/// Events counted, and of those with a deadline, how many met it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    pub n: u64,
    pub on_time: u64,
}

impl Count {
    fn add(&mut self, other: Self) {
        self.n += other.n;
        self.on_time += other.on_time;
    }
}

/// The dimensions of a day-histogram bucket (no category or channel: medians
/// are shown per unit and month only, which keeps the table small).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DaysKey {
    pub month: Month,
    pub unit: UnitId,
    pub measure: Measure,
    pub days: u32,
}

/// Counts and day histograms, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub cells: BTreeMap<CellKey, Count>,
    pub days: BTreeMap<DaysKey, u64>,
}

impl Tally {
    pub fn add(&mut self, fact: &Fact, offset: FixedOffset) {
        let month = Month::of(fact.at, offset);
        let cell = self
            .cells
            .entry(CellKey {
                month,
                unit: fact.unit.clone(),
                category: fact.category,
                channel: fact.channel,
                measure: fact.measure,
            })
            .or_default();
        cell.n += 1;
        if fact.measure.has_deadline() && fact.on_time {
            cell.on_time += 1;
        }
        if let Some(days) = fact.days {
            *self
                .days
                .entry(DaysKey {
                    month,
                    unit: fact.unit.clone(),
                    measure: fact.measure,
                    days: days.min(MAX_DAYS),
                })
                .or_default() += 1;
        }
    }
}

/// Whole days between two instants, never negative.
pub fn whole_days(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    u32::try_from((to - from).num_days().max(0)).unwrap_or(MAX_DAYS)
}

/// Counts per measure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Row(pub BTreeMap<Measure, Count>);

impl Row {
    pub fn get(&self, m: Measure) -> Count {
        self.0.get(&m).copied().unwrap_or_default()
    }

    fn add(&mut self, m: Measure, c: Count) {
        self.0.entry(m).or_default().add(c);
    }

    /// Stage completions, all stages together.
    pub fn stages_done(&self) -> Count {
        let mut total = Count::default();
        for (m, c) in &self.0 {
            if m.has_deadline() {
                total.add(*c);
            }
        }
        total
    }

    /// Share of stage completions that met their deadline, 0–1.
    pub fn on_time_rate(&self) -> Option<f64> {
        let done = self.stages_done();
        (done.n > 0).then(|| done.on_time as f64 / done.n as f64)
    }

    /// 满意率: satisfied or basically satisfied ratings over all ratings, 0–1.
    pub fn satisfaction_rate(&self) -> Option<f64> {
        let rated = self.get(Measure::Rated).n;
        (rated > 0).then(|| self.get(Measure::Satisfied).n as f64 / rated as f64)
    }
}

/// The lower median of a day histogram.
pub fn median(hist: &BTreeMap<u32, u64>) -> Option<u32> {
    let total: u64 = hist.values().sum();
    if total == 0 {
        return None;
    }
    let half = total.div_ceil(2);
    let mut seen = 0;
    for (days, n) in hist {
        seen += n;
        if seen >= half {
            return Some(*days);
        }
    }
    None
}

/// The figures of one unit's jurisdiction over some months: what the staff
/// dashboard and `GET /api/v1/stats` show.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Figures {
    pub unit: Option<UnitId>,
    pub months: Vec<Month>,
    pub total: Row,
    pub by_month: BTreeMap<Month, Row>,
    pub by_category: BTreeMap<Category, Row>,
    pub by_channel: BTreeMap<Channel, Row>,
    /// The unit's own cases under its id, each child's subtree under the child.
    pub by_unit: BTreeMap<UnitId, Row>,
    /// Days from arrival, per measure with a histogram.
    pub median_days: BTreeMap<Measure, u32>,
    #[serde(skip)]
    pub day_hist: BTreeMap<Measure, BTreeMap<u32, u64>>,
}

impl Figures {
    /// Rolls stored cells up to `root`'s jurisdiction for `months`.
    pub fn compute<'a>(
        cells: impl IntoIterator<Item = (&'a CellKey, &'a Count)>,
        days: impl IntoIterator<Item = (&'a DaysKey, &'a u64)>,
        tree: &Tree,
        root: &UnitId,
        months: &[Month],
    ) -> Self {
        let wanted: BTreeSet<Month> = months.iter().copied().collect();
        let mut f = Self {
            unit: Some(root.clone()),
            months: months.to_vec(),
            ..Self::default()
        };
        for m in months {
            f.by_month.entry(*m).or_default();
        }
        for (k, c) in cells {
            if !wanted.contains(&k.month) {
                continue;
            }
            let Some(branch) = tree.branch(&k.unit, root) else {
                continue;
            };
            f.total.add(k.measure, *c);
            f.by_month.entry(k.month).or_default().add(k.measure, *c);
            f.by_category
                .entry(k.category)
                .or_default()
                .add(k.measure, *c);
            f.by_channel
                .entry(k.channel)
                .or_default()
                .add(k.measure, *c);
            f.by_unit
                .entry(branch.clone())
                .or_default()
                .add(k.measure, *c);
        }
        for (k, n) in days {
            if wanted.contains(&k.month) && tree.within(&k.unit, root) {
                *f.day_hist
                    .entry(k.measure)
                    .or_default()
                    .entry(k.days)
                    .or_default() += n;
            }
        }
        f.median_days = f
            .day_hist
            .iter()
            .filter_map(|(m, h)| median(h).map(|d| (*m, d)))
            .collect();
        f
    }

    /// The figures as CSV: one line per month, then totals; plain ASCII
    /// headers so spreadsheets open it whatever their locale.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("month");
        for m in Measure::ALL {
            out.push(',');
            out.push_str(m.as_str());
        }
        out.push_str(
            ",stages_on_time,on_time_rate,satisfaction_rate,substantiated_rate,\
             out_of_scope_share,filed_share,knowingly_false_rate,reopened_share\n",
        );
        let line = |label: &str, row: &Row, out: &mut String| {
            out.push_str(label);
            for m in Measure::ALL {
                out.push_str(&format!(",{}", row.get(*m).n));
            }
            let done = row.stages_done();
            out.push_str(&format!(",{}", done.on_time));
            for rate in row.rates() {
                match rate {
                    Some(r) => out.push_str(&format!(",{r:.3}")),
                    None => out.push(','),
                }
            }
            out.push('\n');
        };
        for (month, row) in &self.by_month {
            line(&month.to_string(), row, &mut out);
        }
        line("total", &self.total, &mut out);
        out
    }
}

#[cfg(test)]
mod tests;
