//! The public bulletin (通报): monthly figures per area with small counts suppressed so that no count can single out a reporter, primary and complementary.

use super::suppression::{hide_table, reveal, shown, suppress_group};
use super::*;

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
    /// 满意率: percent of reporters' ratings that were satisfied or
    /// basically so; absent when fewer than the minimum rated.
    #[serde(default)]
    pub satisfied_percent: Option<u8>,
    /// The cases closed, by disposition: concluded after verification,
    /// referred elsewhere (转交), filed for reference (存查); suppressed as
    /// a group adding up to `closed`.
    #[serde(default = "suppressed")]
    pub concluded: Shown,
    #[serde(default = "suppressed")]
    pub referred: Shown,
    #[serde(default = "suppressed")]
    pub filed_for_reference: Shown,
    /// Of the concluded, found knowingly false (诬告陷害); suppressed with
    /// its complement.
    #[serde(default = "suppressed")]
    pub knowingly_false: Shown,
    /// 属实率 over the cases accepted and verified only; absent when
    /// fewer than the minimum were concluded.
    #[serde(default)]
    pub substantiated_percent: Option<u8>,
}

fn suppressed() -> Shown {
    Shown::Suppressed
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

/// Satisfied or basically satisfied ratings, in percent, when at least
/// `min` ratings were given (a single dissatisfied reporter in a small unit
/// is not shown as "0 %").
pub(super) fn satisfied_percent(row: &Row, min: u64) -> Option<u8> {
    let rated = row.get(Measure::Rated).n;
    if rated < min.max(1) {
        return None;
    }
    u8::try_from(row.get(Measure::Satisfied).n * 100 / rated).ok()
}

/// 属实率 over the cases accepted and verified, when at least `min` were.
pub(super) fn substantiated_percent(row: &Row, min: u64) -> Option<u8> {
    let concluded = row.get(Measure::Concluded).n;
    if concluded < min.max(1) {
        return None;
    }
    u8::try_from(row.get(Measure::Substantiated).n * 100 / concluded).ok()
}

/// Concluded, referred, filed for reference (a group adding up to the
/// closed count), then knowingly false and substantiated, suppressed
/// together with the unsubstantiated that were not found knowingly false
/// (a group adding up to the concluded): so no shown figure, the
/// substantiated percent included, tells a reporter whose report was "not
/// substantiated" that it was found knowingly false. The knowingly false
/// are shown only beside at least the minimum of unsubstantiated cases
/// that were not (else "all of them" would be told, even when both of
/// the other cells are hidden).
fn dispositions(row: &Row, min: u64, closed: Shown) -> [Shown; 5] {
    // A closed count hidden as another month's partner may be large; its
    // split would add up to it.
    if closed == Shown::Suppressed {
        return [Shown::Suppressed; 5];
    }
    let concluded = row.get(Measure::Concluded).n;
    let group = suppress_group(
        &[
            concluded,
            row.get(Measure::Referred).n,
            row.get(Measure::FiledForReference).n,
        ],
        min,
        matches!(closed, Shown::Count(_)),
    );
    let false_ = row.get(Measure::KnowinglyFalse).n;
    let substantiated = row.get(Measure::Substantiated).n;
    let concluded_shown = group.first().copied().unwrap_or(Shown::Suppressed);
    let split = suppress_group(
        &[
            false_,
            substantiated,
            concluded.saturating_sub(false_ + substantiated),
        ],
        min,
        matches!(concluded_shown, Shown::Count(_)),
    );
    let at = |v: &[Shown], i: usize| v.get(i).copied().unwrap_or(Shown::Suppressed);
    let others_shown = matches!(at(&split, 2), Shown::Count(_));
    [
        concluded_shown,
        at(&group, 1),
        at(&group, 2),
        if others_shown {
            at(&split, 0)
        } else {
            Shown::Suppressed
        },
        at(&split, 1),
    ]
}

pub(super) fn percent(row: &Row, min: u64) -> Option<u8> {
    let done = row.stages_done();
    if done.n < min.max(1) {
        return None;
    }
    u8::try_from(done.on_time * 100 / done.n).ok()
}

/// One month's figures before suppression.
struct MonthFigures {
    month: Month,
    f: Figures,
    per_category: Vec<u64>,
    per_level: Vec<u64>,
}

impl MonthFigures {
    fn of(
        cells: &BTreeMap<CellKey, Count>,
        days: &BTreeMap<DaysKey, u64>,
        tree: &Tree,
        root: &UnitId,
        month: Month,
    ) -> Self {
        let f = Figures::compute(
            cells.iter().filter(|(k, _)| k.month == month),
            days.iter().filter(|(k, _)| k.month == month),
            tree,
            root,
            &[month],
        );
        let per_category = Category::ALL
            .iter()
            .map(|c| {
                f.by_category
                    .get(c)
                    .map_or(0, |r| r.get(Measure::Received).n)
            })
            .collect();
        let mut per_level = vec![0u64; Level::ALL.len()];
        for (k, c) in cells.iter().filter(|(k, _)| {
            k.month == month && k.measure == Measure::Received && tree.within(&k.unit, root)
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
        Self {
            month,
            f,
            per_category,
            per_level,
        }
    }
}

/// The months' lines, suppressed as linked tables rather than cell by
/// cell: the months' received (and closed) counts add up to the period's,
/// which the area lines give whenever all of them are shown, and the
/// root's own cases over the months add up to its area line. So one
/// hidden month always has a hidden partner month, a month hidden for
/// that reason shows no breakdown (which would add up to it), and the
/// root level's column of the by-level table hides no lone cell either.
fn publish_months(raw: &[MonthFigures], min: u64, root_level: Option<Level>) -> Vec<BulletinMonth> {
    let of = |m: Measure| -> Vec<u64> { raw.iter().map(|r| r.f.total.get(m).n).collect() };
    let received = suppress_group(&of(Measure::Received), min, true);
    let closed = suppress_group(&of(Measure::Closed), min, true);
    let whole: Vec<bool> = received.iter().map(|s| *s == Shown::Suppressed).collect();
    let per_category: Vec<Vec<u64>> = raw.iter().map(|r| r.per_category.clone()).collect();
    let per_level: Vec<Vec<u64>> = raw.iter().map(|r| r.per_level.clone()).collect();
    let root_column: Vec<usize> = root_level
        .and_then(|l| Level::ALL.iter().position(|x| *x == l))
        .into_iter()
        .collect();
    let category_hidden = hide_table(&per_category, min, &whole, &[]);
    let level_hidden = hide_table(&per_level, min, &whole, &root_column);
    raw.iter()
        .enumerate()
        .map(|(i, r)| {
            let f = &r.f;
            let closed = closed.get(i).copied().unwrap_or(Shown::Suppressed);
            let by_disposition = dispositions(&f.total, min, closed);
            let feedback = f.total.get(Measure::Feedback).n;
            let flags = |t: &[Vec<bool>]| t.get(i).cloned().unwrap_or_default();
            BulletinMonth {
                month: r.month,
                received: received.get(i).copied().unwrap_or(Shown::Suppressed),
                by_category: Category::ALL
                    .iter()
                    .copied()
                    .zip(reveal(&r.per_category, &flags(&category_hidden)))
                    .collect(),
                by_level: Level::ALL
                    .iter()
                    .copied()
                    .zip(reveal(&r.per_level, &flags(&level_hidden)))
                    .collect(),
                closed,
                concluded: by_disposition[0],
                referred: by_disposition[1],
                filed_for_reference: by_disposition[2],
                knowingly_false: by_disposition[3],
                // Over a shown concluded count only: with it hidden, the
                // percent and the other counts could pin it down.
                substantiated_percent: by_disposition[0]
                    .count()
                    .and(by_disposition[4].count())
                    .and_then(|_| substantiated_percent(&f.total, min)),
                feedback: shown(feedback, min),
                on_time_percent: percent(&f.total, min),
                median_days_to_feedback: if feedback >= min.max(1) {
                    f.median_days.get(&Measure::Feedback).copied()
                } else {
                    None
                },
                satisfied_percent: satisfied_percent(&f.total, min),
            }
        })
        .collect()
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
        let raw: Vec<MonthFigures> = months
            .iter()
            .map(|m| MonthFigures::of(cells, days, tree, root, *m))
            .collect();
        let root_level = tree.get(root).map(|u| u.level);
        let out = publish_months(&raw, min, root_level);
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
            let mut shown = vec![
                m.received,
                m.closed,
                m.feedback,
                m.concluded,
                m.referred,
                m.filed_for_reference,
                m.knowingly_false,
            ];
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
