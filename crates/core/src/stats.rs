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

/// A unit of the tree, for roll-ups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeUnit {
    pub id: UnitId,
    pub name: String,
    pub level: Level,
    pub parent: Option<UnitId>,
}

/// The unit tree (组织部门层级).
#[derive(Debug, Clone, Default)]
pub struct Tree {
    units: BTreeMap<UnitId, TreeUnit>,
}

impl Tree {
    pub fn new(units: impl IntoIterator<Item = TreeUnit>) -> Self {
        Self {
            units: units.into_iter().map(|u| (u.id.clone(), u)).collect(),
        }
    }

    pub fn get(&self, id: &UnitId) -> Option<&TreeUnit> {
        self.units.get(id)
    }

    pub fn units(&self) -> impl Iterator<Item = &TreeUnit> {
        self.units.values()
    }

    /// `unit`, its parent, … up to the root (stops on a cycle).
    pub fn lineage<'a>(&'a self, unit: &'a UnitId) -> Vec<&'a UnitId> {
        let mut out = vec![unit];
        let mut at = unit;
        while let Some(parent) = self.units.get(at).and_then(|u| u.parent.as_ref()) {
            if out.contains(&parent) {
                break;
            }
            out.push(parent);
            at = parent;
        }
        out
    }

    /// Whether `unit` is `root` or below it.
    pub fn within(&self, unit: &UnitId, root: &UnitId) -> bool {
        self.lineage(unit).contains(&root)
    }

    pub fn children<'a>(&'a self, unit: &'a UnitId) -> impl Iterator<Item = &'a TreeUnit> + 'a {
        self.units
            .values()
            .filter(move |u| u.parent.as_ref() == Some(unit))
    }

    /// Under `root`, the child whose subtree holds `unit` (or `root` itself
    /// for its own cases): the row a roll-up counts `unit` in.
    pub fn branch<'a>(&'a self, unit: &'a UnitId, root: &UnitId) -> Option<&'a UnitId> {
        let lineage = self.lineage(unit);
        let at = lineage.iter().position(|u| *u == root)?;
        lineage.get(at.saturating_sub(1)).copied()
    }

    /// The unit a public figure may name for `unit`: itself, or the nearest
    /// ancestor at `lowest` or above (a county's cases show under its city).
    pub fn public_area<'a>(&'a self, unit: &'a UnitId, lowest: Level) -> Option<&'a UnitId> {
        self.lineage(unit)
            .into_iter()
            .find(|u| self.units.get(*u).is_some_and(|t| t.level <= lowest))
    }
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
        out.push_str(",stages_on_time,on_time_rate\n");
        let line = |label: &str, row: &Row, out: &mut String| {
            out.push_str(label);
            for m in Measure::ALL {
                out.push_str(&format!(",{}", row.get(*m).n));
            }
            let done = row.stages_done();
            out.push_str(&format!(",{}", done.on_time));
            match row.on_time_rate() {
                Some(r) => out.push_str(&format!(",{r:.3}\n")),
                None => out.push_str(",\n"),
            }
        };
        for (month, row) in &self.by_month {
            line(&month.to_string(), row, &mut out);
        }
        line("total", &self.total, &mut out);
        out
    }
}

/// Publication rules for the bulletin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulletinRules {
    /// Cells below this are shown as "< min" (default 5).
    pub min_cell: u64,
    /// No area below this level is named (default: city).
    pub lowest_level: Level,
    /// Months shown, the current one included.
    pub months: u32,
}

impl Default for BulletinRules {
    fn default() -> Self {
        Self {
            min_cell: 5,
            lowest_level: Level::City,
            months: 12,
        }
    }
}

/// A published number: the count, or only that it is below the minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shown {
    Count(u64),
    Suppressed,
}

impl Shown {
    pub fn count(self) -> Option<u64> {
        match self {
            Self::Count(n) => Some(n),
            Self::Suppressed => None,
        }
    }
}

/// One month of the bulletin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulletinMonth {
    pub month: Month,
    pub received: Shown,
    pub by_category: Vec<(Category, Shown)>,
    pub by_level: Vec<(Level, Shown)>,
    pub closed: Shown,
    pub feedback: Shown,
    /// Percent of stage completions on time; absent when fewer than the
    /// minimum stages were completed.
    pub on_time_percent: Option<u8>,
    /// Median days from arrival to feedback, when enough feedback was given.
    pub median_days_to_feedback: Option<u32>,
}

/// One public area (the province itself, or a city with its counties) over
/// the whole period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulletinArea {
    pub unit: UnitId,
    pub name: String,
    pub level: Level,
    pub received: Shown,
    pub closed: Shown,
    pub on_time_percent: Option<u8>,
}

/// What `/bulletin` shows: already suppressed, so the public app never
/// holds a number it must not show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bulletin {
    pub published_at: DateTime<Utc>,
    pub rules: BulletinRules,
    pub months: Vec<BulletinMonth>,
    pub areas: Vec<BulletinArea>,
}

/// Suppresses one group of numbers that add up to a published total: each
/// below the minimum, and then, if exactly one was, the smallest other one
/// too, so that no hidden value is the total minus the shown ones.
fn suppress_group(values: &[u64], min: u64, total_shown: bool) -> Vec<Shown> {
    let mut hidden: Vec<bool> = values.iter().map(|v| *v < min).collect();
    if total_shown && hidden.iter().filter(|h| **h).count() == 1 {
        let partner = values
            .iter()
            .enumerate()
            .filter(|(i, _)| hidden.get(*i) == Some(&false))
            .min_by_key(|(_, v)| **v)
            .map(|(i, _)| i);
        if let Some(slot) = partner.and_then(|i| hidden.get_mut(i)) {
            *slot = true;
        }
    }
    values
        .iter()
        .zip(hidden)
        .map(|(v, h)| {
            if h {
                Shown::Suppressed
            } else {
                Shown::Count(*v)
            }
        })
        .collect()
}

fn shown(n: u64, min: u64) -> Shown {
    if n < min {
        Shown::Suppressed
    } else {
        Shown::Count(n)
    }
}

fn percent(row: &Row, min: u64) -> Option<u8> {
    let done = row.stages_done();
    if done.n < min.max(1) {
        return None;
    }
    u8::try_from(done.on_time * 100 / done.n).ok()
}

impl Bulletin {
    /// The bulletin of the whole tree under `root` for the months ending with
    /// `now`'s.
    pub fn compute(
        cells: &BTreeMap<CellKey, Count>,
        days: &BTreeMap<DaysKey, u64>,
        tree: &Tree,
        root: &UnitId,
        rules: BulletinRules,
        now: DateTime<Utc>,
        offset: FixedOffset,
    ) -> Self {
        let min = rules.min_cell;
        let months = Month::of(now, offset).last(rules.months);
        let mut out = Vec::new();
        for month in &months {
            let f = Figures::compute(
                cells.iter().filter(|(k, _)| k.month == *month),
                days.iter().filter(|(k, _)| k.month == *month),
                tree,
                root,
                &[*month],
            );
            let received = f.total.get(Measure::Received).n;
            let received_shown = shown(received, min);
            let total_visible = matches!(received_shown, Shown::Count(_));
            let per_cat: Vec<u64> = Category::ALL
                .iter()
                .map(|c| {
                    f.by_category
                        .get(c)
                        .map_or(0, |r| r.get(Measure::Received).n)
                })
                .collect();
            let mut per_level = vec![0u64; Level::ALL.len()];
            for (k, c) in cells.iter().filter(|(k, _)| {
                k.month == *month && k.measure == Measure::Received && tree.within(&k.unit, root)
            }) {
                if let Some(level) = tree.get(&k.unit).map(|u| u.level)
                    && let Some(slot) = Level::ALL
                        .iter()
                        .position(|l| *l == level)
                        .and_then(|i| per_level.get_mut(i))
                {
                    *slot += c.n;
                }
            }
            let feedback = f.total.get(Measure::Feedback).n;
            out.push(BulletinMonth {
                month: *month,
                received: received_shown,
                by_category: Category::ALL
                    .iter()
                    .copied()
                    .zip(suppress_group(&per_cat, min, total_visible))
                    .collect(),
                by_level: Level::ALL
                    .iter()
                    .copied()
                    .zip(suppress_group(&per_level, min, total_visible))
                    .collect(),
                closed: shown(f.total.get(Measure::Closed).n, min),
                feedback: shown(feedback, min),
                on_time_percent: percent(&f.total, min),
                median_days_to_feedback: if feedback >= min.max(1) {
                    f.median_days.get(&Measure::Feedback).copied()
                } else {
                    None
                },
            });
        }
        // Areas over the whole period: the root's own cases, and each public
        // area below it with everything under it.
        let period = Figures::compute(cells, days, tree, root, &months);
        let mut areas: BTreeMap<UnitId, Row> = BTreeMap::new();
        for (k, c) in cells {
            if !months.contains(&k.month) || !tree.within(&k.unit, root) {
                continue;
            }
            if let Some(area) = tree.public_area(&k.unit, rules.lowest_level) {
                areas.entry(area.clone()).or_default().add(k.measure, *c);
            }
        }
        let total_visible = matches!(
            shown(period.total.get(Measure::Received).n, min),
            Shown::Count(_)
        );
        let received: Vec<u64> = areas.values().map(|r| r.get(Measure::Received).n).collect();
        let closed: Vec<u64> = areas.values().map(|r| r.get(Measure::Closed).n).collect();
        let received = suppress_group(&received, min, total_visible);
        let closed = suppress_group(&closed, min, total_visible);
        let areas = areas
            .iter()
            .zip(received.into_iter().zip(closed))
            .filter_map(|((id, row), (received, closed))| {
                let unit = tree.get(id)?;
                Some(BulletinArea {
                    unit: id.clone(),
                    name: unit.name.clone(),
                    level: unit.level,
                    received,
                    closed,
                    on_time_percent: percent(row, min),
                })
            })
            .collect();
        Self {
            published_at: now,
            rules,
            months: out,
            areas,
        }
    }

    /// Every count this bulletin publishes, for checks.
    pub fn published_counts(&self) -> Vec<u64> {
        let mut all = Vec::new();
        for m in &self.months {
            let mut shown = vec![m.received, m.closed, m.feedback];
            shown.extend(m.by_category.iter().map(|(_, s)| *s));
            shown.extend(m.by_level.iter().map(|(_, s)| *s));
            all.extend(shown.into_iter().filter_map(Shown::count));
        }
        for a in &self.areas {
            all.extend([a.received, a.closed].into_iter().filter_map(Shown::count));
        }
        all
    }
}

/// When a unit is put under focused management (重点管理).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HotspotRule {
    /// The rolling window, in days (default 90).
    pub window_days: u32,
    /// Reports in one window that flag a unit whatever its past (default 30).
    pub threshold: u64,
    /// A window at this multiple of the mean of the earlier windows flags
    /// the unit (default 3.0) …
    pub rise_factor: f64,
    /// … when it holds at least this many reports (default 10), so 1 → 3
    /// does not.
    pub rise_min: u64,
    /// Earlier windows the mean is taken over (default 4).
    pub history_windows: u32,
}

impl Default for HotspotRule {
    fn default() -> Self {
        Self {
            window_days: 90,
            threshold: 30,
            rise_factor: 3.0,
            rise_min: 10,
            history_windows: 4,
        }
    }
}

/// Why a unit was flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HotspotReason {
    /// At or over the threshold.
    Threshold,
    /// A sharp rise against its own past.
    Rise,
}

impl HotspotReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Threshold => "threshold",
            Self::Rise => "rise",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "threshold" => Some(Self::Threshold),
            "rise" => Some(Self::Rise),
            _ => None,
        }
    }
}

impl HotspotRule {
    /// Whether a unit with `current` reports in the latest window, and
    /// `past` in the windows before it, is a hotspot.
    pub fn judge(&self, current: u64, past: &[u64]) -> Option<HotspotReason> {
        if current >= self.threshold {
            return Some(HotspotReason::Threshold);
        }
        let baseline = Self::baseline(past);
        (current >= self.rise_min && current as f64 >= self.rise_factor * baseline.max(1.0))
            .then_some(HotspotReason::Rise)
    }

    /// The mean of the earlier windows, shown beside a flag.
    pub fn baseline(past: &[u64]) -> f64 {
        if past.is_empty() {
            0.0
        } else {
            past.iter().sum::<u64>() as f64 / past.len() as f64
        }
    }
}

#[cfg(test)]
mod tests;
