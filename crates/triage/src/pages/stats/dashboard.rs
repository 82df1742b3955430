//! The dashboard's view: what `GET /stats` reads for the member's
//! jurisdiction (figures, units, hotspots, stages overdue now) and the page
//! built from it, in the reader's language.

use askama::Template;
use chrono::{DateTime, Utc};
use sunlight_casework::stats::HotspotView;
use sunlight_core::i18n::{Catalog, Lang};
use sunlight_core::policy::Policy;
use sunlight_core::stats::{Figures, HotspotReason, Row};
use sunlight_core::{Measure, Stage, UnitId};
use sunlight_store::{QueueFilter, UnitRow};

use crate::error::TriageError;
use crate::i18n;
use crate::pages::{QUEUES, QueueLine, Ui, Viewer, jurisdiction_units, queue_line};
use crate::state::AppState;

/// The measures shown as columns (stage completions are in their own table).
const COLUMNS: [Measure; 15] = [
    Measure::Received,
    Measure::Routed,
    Measure::Accepted,
    Measure::Referred,
    Measure::FiledForReference,
    Measure::Verified,
    Measure::Concluded,
    Measure::Substantiated,
    Measure::KnowinglyFalse,
    Measure::Closed,
    Measure::Reopened,
    Measure::Feedback,
    Measure::Hold,
    Measure::Rated,
    Measure::Objected,
];

struct Line {
    label: String,
    cells: Vec<u64>,
    rate: String,
    /// 满意率 of the reporters' ratings.
    satisfied: String,
    /// 属实率 over the cases accepted and verified.
    substantiated: String,
}

struct Table {
    id: &'static str,
    title: String,
    first: String,
    rows: Vec<Line>,
}

struct StageLine {
    label: String,
    done: u64,
    on_time: u64,
    rate: String,
    median: String,
}

struct HotspotLine {
    unit: String,
    name: String,
    reason: String,
    count: u64,
    baseline: String,
    raised: String,
    cleared: Option<String>,
    open: bool,
    trend: String,
}

#[derive(Template)]
#[template(path = "stats.html")]
pub(super) struct StatsPage {
    ui: Ui,
    intro: String,
    refreshed: String,
    csv_href: String,
    chart_volume: String,
    chart_on_time: String,
    headers: Vec<String>,
    tables: Vec<Table>,
    stages: Vec<StageLine>,
    medians: Vec<(String, String)>,
    /// The ISO 37002 indicators, label and value.
    indicators: Vec<(String, String)>,
    hotspots_intro: String,
    hotspots: Vec<HotspotLine>,
    overdue_total: u64,
    overdue_line: String,
    overdue_stages: Vec<(String, u64)>,
    overdue_lines: Vec<(String, QueueLine)>,
}

fn rate(row: &Row) -> String {
    row.on_time_rate()
        .map_or_else(|| "–".to_owned(), |r| format!("{:.1} %", r * 100.0))
}

fn line(label: String, row: &Row) -> Line {
    Line {
        label,
        cells: COLUMNS.iter().map(|m| row.get(*m).n).collect(),
        rate: rate(row),
        satisfied: percent(row.satisfaction_rate()),
        substantiated: percent(row.substantiated_rate()),
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".to_owned(), |r| format!("{:.1} %", r * 100.0))
}

fn days_text(lang: Lang, days: Option<&u32>) -> String {
    let t = i18n::catalog(lang);
    days.map_or_else(
        || t.get("stats.none").to_owned(),
        |d| t.format("stats.days", &[("n", &d.to_string())]),
    )
}

/// What the dashboard shows, read at one moment.
pub(super) struct Dashboard {
    fig: Figures,
    units: Vec<UnitRow>,
    refreshed_at: Option<DateTime<Utc>>,
    hotspots: Vec<HotspotView>,
    overdue: Vec<(Stage, u64)>,
    overdue_lines: Vec<(String, QueueLine)>,
}

impl Dashboard {
    pub(super) async fn load(
        state: &AppState,
        viewer: &Viewer,
        now: DateTime<Utc>,
    ) -> Result<Self, TriageError> {
        let s = &viewer.session;
        let stats = &state.stats;
        let fig = stats.figures(&s.unit, now).await?;
        let units = jurisdiction_units(state, s).await?;
        let refreshed_at = stats.refreshed_at().await?;
        let hotspots = stats.hotspots_under(&s.unit, now).await?;
        let overdue = state
            .triage
            .store
            .overdue_counts(&s.jurisdiction, now)
            .await?;
        let mut overdue_lines = Vec::new();
        for stage in QUEUES {
            if !overdue.iter().any(|(s, n)| *s == stage && *n > 0) {
                continue;
            }
            let filter = QueueFilter {
                due_before: Some(now),
                limit: 25,
                ..QueueFilter::default()
            };
            let items = state
                .triage
                .store
                .queue_items(&s.jurisdiction, stage, &filter)
                .await?;
            let label = i18n::word(viewer.lang, "stage", stage.as_str());
            overdue_lines.extend(items.into_iter().map(|i| {
                let line = queue_line(viewer.lang, state, s, &units, i, now);
                (label.clone(), line)
            }));
        }
        Ok(Self {
            fig,
            units,
            refreshed_at,
            hotspots,
            overdue,
            overdue_lines,
        })
    }

    fn name_of(&self, id: &UnitId) -> String {
        self.units
            .iter()
            .find(|u| u.id == *id)
            .map_or_else(|| id.to_string(), |u| u.name.clone())
    }

    pub(super) fn page(self, viewer: &Viewer, state: &AppState) -> StatsPage {
        let lang = viewer.lang;
        let t = i18n::catalog(lang);
        let policy = &state.triage.policy;
        let ui = viewer.ui("/stats");
        let overdue_total: u64 = self.overdue.iter().map(|(_, n)| n).sum();
        StatsPage {
            intro: t.format(
                "stats.intro",
                &[("unit", &self.name_of(&viewer.session.unit))],
            ),
            refreshed: match self.refreshed_at {
                Some(at) => t.format("stats.refreshed", &[("at", &local(policy, at))]),
                None => t.get("stats.never").to_owned(),
            },
            csv_href: ui.href("/stats.csv"),
            chart_volume: ui.href("/stats/charts/volume.svg"),
            chart_on_time: ui.href("/stats/charts/on-time.svg"),
            headers: COLUMNS
                .iter()
                .map(|m| i18n::word(lang, "measure", m.as_str()))
                .collect(),
            tables: self.tables(lang, t),
            stages: stage_lines(lang, &self.fig),
            medians: medians(lang, &self.fig),
            indicators: indicator_lines(lang, &self.fig),
            hotspots_intro: t.format(
                "stats.hotspots_intro",
                &[(
                    "days",
                    &state.stats.settings.hotspot_window_days.to_string(),
                )],
            ),
            hotspots: self
                .hotspots
                .into_iter()
                .map(|h| hotspot_line(t, policy, h))
                .collect(),
            overdue_line: t.format("stats.overdue_count", &[("n", &overdue_total.to_string())]),
            overdue_total,
            overdue_stages: self
                .overdue
                .iter()
                .map(|(s, n)| (i18n::word(lang, "stage", s.as_str()), *n))
                .collect(),
            overdue_lines: self.overdue_lines,
            ui,
        }
    }

    /// The figures by month (with the total), category, channel and unit.
    fn tables(&self, lang: Lang, t: &Catalog) -> Vec<Table> {
        let fig = &self.fig;
        let table = |id, title: &str, first: &str, rows| Table {
            id,
            title: t.get(title).to_owned(),
            first: t.get(first).to_owned(),
            rows,
        };
        vec![
            table(
                "by-month",
                "stats.by_month",
                "stats.month",
                fig.by_month
                    .iter()
                    .map(|(m, r)| line(m.to_string(), r))
                    .chain(std::iter::once(line(
                        t.get("stats.total").to_owned(),
                        &fig.total,
                    )))
                    .collect(),
            ),
            table(
                "by-category",
                "stats.by_category",
                "stats.what",
                fig.by_category
                    .iter()
                    .map(|(c, r)| line(i18n::word(lang, "category", c.as_str()), r))
                    .collect(),
            ),
            table(
                "by-channel",
                "stats.by_channel",
                "stats.what",
                fig.by_channel
                    .iter()
                    .map(|(c, r)| line(i18n::word(lang, "channel", c.as_str()), r))
                    .collect(),
            ),
            table(
                "by-unit",
                "stats.by_unit",
                "stats.hotspot_unit",
                fig.by_unit
                    .iter()
                    .map(|(u, r)| line(self.name_of(u), r))
                    .collect(),
            ),
        ]
    }
}

/// A time on the dashboard, in the deployment's zone, to the minute.
fn local(policy: &Policy, at: DateTime<Utc>) -> String {
    at.with_timezone(&policy.utc_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Deadlines met per stage, with the median days a stage took.
fn stage_lines(lang: Lang, fig: &Figures) -> Vec<StageLine> {
    QUEUES
        .iter()
        .filter_map(|stage| {
            let m = Measure::stage_done(*stage)?;
            let c = fig.total.get(m);
            let mut row = Row::default();
            row.0.insert(m, c);
            Some(StageLine {
                label: i18n::word(lang, "stage", stage.as_str()),
                done: c.n,
                on_time: c.on_time,
                rate: rate(&row),
                median: days_text(lang, fig.median_days.get(&m)),
            })
        })
        .collect()
}

/// Median days to the verification, the feedback and the close.
fn medians(lang: Lang, fig: &Figures) -> Vec<(String, String)> {
    [Measure::Verified, Measure::Feedback, Measure::Closed]
        .iter()
        .map(|m| {
            (
                i18n::word(lang, "measure", m.as_str()),
                days_text(lang, fig.median_days.get(m)),
            )
        })
        .collect()
}

fn hotspot_line(t: &Catalog, policy: &Policy, h: HotspotView) -> HotspotLine {
    HotspotLine {
        unit: h.flag.unit.to_string(),
        name: h.unit_name,
        reason: t
            .get(match h.flag.reason {
                HotspotReason::Threshold => "hotspot.threshold",
                HotspotReason::Rise => "hotspot.rise",
            })
            .to_owned(),
        count: h.flag.window_count,
        baseline: format!("{:.1}", h.flag.baseline),
        raised: local(policy, h.flag.raised_at),
        cleared: h.flag.cleared_at.map(|at| local(policy, at)),
        open: h.flag.cleared_at.is_none(),
        trend: h
            .trend
            .iter()
            .map(|(m, n)| format!("{m}: {n}"))
            .collect::<Vec<_>>()
            .join(" · "),
    }
}

/// The ISO 37002 indicators of the jurisdiction, as label and value.
fn indicator_lines(lang: Lang, fig: &Figures) -> Vec<(String, String)> {
    let t = i18n::catalog(lang);
    let i = sunlight_core::stats::Indicators::of(fig);
    let days = |d: Option<u32>| days_text(lang, d.as_ref());
    let mut out = vec![
        ("days_to_acknowledge", days(i.days_to_acknowledge)),
        ("acknowledged_on_time", percent(i.acknowledged_on_time)),
        ("out_of_scope", percent(i.out_of_scope)),
        ("filed_for_reference", percent(i.filed_for_reference)),
        ("substantiated", percent(i.substantiated)),
        ("knowingly_false", percent(i.knowingly_false)),
        ("satisfaction", percent(i.satisfaction)),
        (
            "mean_days_to_close",
            i.mean_days_to_close
                .map_or_else(|| "–".to_owned(), |d| format!("{d:.1}")),
        ),
        ("reopened", percent(i.reopened)),
    ]
    .into_iter()
    .map(|(k, v)| (t.get(&format!("indicator.{k}")).to_owned(), v))
    .collect::<Vec<_>>();
    let mix: Vec<String> = i
        .channel_mix
        .iter()
        .map(|(c, share)| {
            format!(
                "{} {}",
                i18n::word(lang, "channel", c.as_str()),
                percent(Some(*share))
            )
        })
        .collect();
    out.push((t.get("indicator.channel_mix").to_owned(), mix.join(", ")));
    out
}
