//! The statistics dashboard (统计): the figures of the member's
//! jurisdiction by month, category, channel and unit; deadlines met per
//! stage and medians; hotspot units below; stages overdue now; a CSV of the
//! same figures, and charts served as SVG images.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::Utc;
use sunlight_charts::{LineChart, Series, line_chart};
use sunlight_core::Measure;
use sunlight_core::i18n::Lang;
use sunlight_core::stats::{Figures, HotspotReason, Row};
use sunlight_store::QueueFilter;

use super::{PageError, QUEUES, QueueLine, Viewer, jurisdiction_units, queue_line, render};
use crate::error::TriageError;
use crate::i18n;
use crate::state::AppState;

/// The measures shown as columns (stage completions are in their own table).
const COLUMNS: [Measure; 7] = [
    Measure::Received,
    Measure::Routed,
    Measure::Verified,
    Measure::Substantiated,
    Measure::Closed,
    Measure::Feedback,
    Measure::Hold,
];

struct Line {
    label: String,
    cells: Vec<u64>,
    rate: String,
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
struct StatsPage {
    ui: super::Ui,
    intro: String,
    refreshed: String,
    csv_href: String,
    chart_volume: String,
    chart_on_time: String,
    headers: Vec<String>,
    tables: Vec<Table>,
    stages: Vec<StageLine>,
    medians: Vec<(String, String)>,
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
    }
}

fn days_text(lang: Lang, days: Option<&u32>) -> String {
    let t = i18n::catalog(lang);
    days.map_or_else(
        || t.get("stats.none").to_owned(),
        |d| t.format("stats.days", &[("n", &d.to_string())]),
    )
}

/// `GET /stats`.
pub async fn stats_show(
    viewer: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let now = Utc::now();
    let lang = viewer.lang;
    let t = i18n::catalog(lang);
    let s = &viewer.session;
    let stats = &state.stats;
    let fail = |e: TriageError| viewer.fail(e);
    let fig = stats
        .figures(&s.unit, now)
        .await
        .map_err(|e| fail(e.into()))?;
    let units = jurisdiction_units(&state, s).await.map_err(fail)?;
    let name_of = |id: &sunlight_core::UnitId| {
        units
            .iter()
            .find(|u| u.id == *id)
            .map_or_else(|| id.to_string(), |u| u.name.clone())
    };
    let policy = &state.triage.policy;
    let local = |at: chrono::DateTime<Utc>| {
        at.with_timezone(&policy.utc_offset())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let refreshed = match stats.refreshed_at().await.map_err(|e| fail(e.into()))? {
        Some(at) => t.format("stats.refreshed", &[("at", &local(at))]),
        None => t.get("stats.never").to_owned(),
    };
    let tables = vec![
        Table {
            id: "by-month",
            title: t.get("stats.by_month").to_owned(),
            first: t.get("stats.month").to_owned(),
            rows: fig
                .by_month
                .iter()
                .map(|(m, r)| line(m.to_string(), r))
                .chain(std::iter::once(line(
                    t.get("stats.total").to_owned(),
                    &fig.total,
                )))
                .collect(),
        },
        Table {
            id: "by-category",
            title: t.get("stats.by_category").to_owned(),
            first: t.get("stats.what").to_owned(),
            rows: fig
                .by_category
                .iter()
                .map(|(c, r)| line(i18n::word(lang, "category", c.as_str()), r))
                .collect(),
        },
        Table {
            id: "by-channel",
            title: t.get("stats.by_channel").to_owned(),
            first: t.get("stats.what").to_owned(),
            rows: fig
                .by_channel
                .iter()
                .map(|(c, r)| line(i18n::word(lang, "channel", c.as_str()), r))
                .collect(),
        },
        Table {
            id: "by-unit",
            title: t.get("stats.by_unit").to_owned(),
            first: t.get("stats.hotspot_unit").to_owned(),
            rows: fig
                .by_unit
                .iter()
                .map(|(u, r)| line(name_of(u), r))
                .collect(),
        },
    ];
    let stages = QUEUES
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
        .collect();
    let medians = [Measure::Verified, Measure::Feedback, Measure::Closed]
        .iter()
        .map(|m| {
            (
                i18n::word(lang, "measure", m.as_str()),
                days_text(lang, fig.median_days.get(m)),
            )
        })
        .collect();
    let hotspots = stats
        .hotspots_under(&s.unit, now)
        .await
        .map_err(|e| fail(e.into()))?
        .into_iter()
        .map(|h| HotspotLine {
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
            raised: local(h.flag.raised_at),
            cleared: h.flag.cleared_at.map(local),
            open: h.flag.cleared_at.is_none(),
            trend: h
                .trend
                .iter()
                .map(|(m, n)| format!("{m}: {n}"))
                .collect::<Vec<_>>()
                .join(" · "),
        })
        .collect();
    let overdue = state
        .triage
        .store
        .overdue_counts(&s.jurisdiction, now)
        .await
        .map_err(|e| fail(e.into()))?;
    let overdue_total: u64 = overdue.iter().map(|(_, n)| n).sum();
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
            .await
            .map_err(|e| fail(e.into()))?;
        let label = i18n::word(lang, "stage", stage.as_str());
        overdue_lines.extend(
            items
                .into_iter()
                .map(|i| (label.clone(), queue_line(lang, &state, s, &units, i, now))),
        );
    }
    let ui = viewer.ui("/stats");
    let page = StatsPage {
        intro: t.format("stats.intro", &[("unit", &name_of(&s.unit))]),
        refreshed,
        csv_href: ui.href("/stats.csv"),
        chart_volume: ui.href("/stats/charts/volume.svg"),
        chart_on_time: ui.href("/stats/charts/on-time.svg"),
        headers: COLUMNS
            .iter()
            .map(|m| i18n::word(lang, "measure", m.as_str()))
            .collect(),
        tables,
        stages,
        medians,
        hotspots_intro: t.format(
            "stats.hotspots_intro",
            &[("days", &stats.settings.hotspot_window_days.to_string())],
        ),
        hotspots,
        overdue_line: t.format("stats.overdue_count", &[("n", &overdue_total.to_string())]),
        overdue_total,
        overdue_stages: overdue
            .iter()
            .map(|(s, n)| (i18n::word(lang, "stage", s.as_str()), *n))
            .collect(),
        overdue_lines,
        ui,
    };
    Ok(render(StatusCode::OK, lang, &page))
}

/// `GET /stats.csv`: the dashboard's figures by month.
pub async fn stats_csv(
    viewer: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let fig = state
        .stats
        .figures(&viewer.session.unit, Utc::now())
        .await
        .map_err(|e| viewer.fail(e))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"sunlight-stats-{}.csv\"",
                viewer.session.unit
            ),
        ))
        .body(fig.to_csv()))
}

/// The monthly lines of a chart.
pub(crate) fn chart_svg(lang: Lang, fig: &Figures, name: &str) -> Result<String, TriageError> {
    let t = i18n::catalog(lang);
    let months: Vec<String> = fig.by_month.keys().map(ToString::to_string).collect();
    let series = |m: Measure| Series {
        label: i18n::word(lang, "measure", m.as_str()),
        points: fig
            .by_month
            .values()
            .map(|r| Some(r.get(m).n as f64))
            .collect(),
    };
    let (title, lines, y_max) = match name {
        "volume" => (
            t.get("stats.chart_volume"),
            vec![
                series(Measure::Received),
                series(Measure::Closed),
                series(Measure::Feedback),
            ],
            None,
        ),
        "on-time" => (
            t.get("stats.chart_on_time"),
            vec![Series {
                label: t.get("stats.on_time_rate").to_owned(),
                points: fig
                    .by_month
                    .values()
                    .map(|r| r.on_time_rate().map(|x| x * 100.0))
                    .collect(),
            }],
            Some(100.0),
        ),
        _ => return Err(TriageError::NotFound),
    };
    line_chart(&LineChart {
        title,
        months: &months,
        series: &lines,
        y_label: "",
        y_max,
    })
    .map_err(|e| TriageError::Internal(e.to_string()))
}

/// `GET /stats/charts/{name}.svg`.
pub async fn stats_chart(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let name = path.into_inner();
    let name = name.strip_suffix(".svg").unwrap_or("");
    let fig = state
        .stats
        .figures(&viewer.session.unit, Utc::now())
        .await
        .map_err(|e| viewer.fail(e))?;
    let svg = chart_svg(viewer.lang, &fig, name).map_err(|e| viewer.fail(e))?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(svg))
}
