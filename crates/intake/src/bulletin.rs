//! The public bulletin (举报情况通报): what the triage side last published,
//! already suppressed — each count under the minimum is "< N", no area
//! below the configured level is named — shown as tables and as SVG charts
//! served as images. Nothing here counts anything: this app never holds a
//! number it must not show, and the page changes only at a refresh.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use sunlight_charts::{LineChart, Series, line_chart};
use sunlight_core::i18n::Lang;
use sunlight_core::stats::{Bulletin, Shown};
use sunlight_store::setting_keys;

use crate::i18n;
use crate::pages::{Frame, render};
use crate::state::AppState;

struct MonthLine {
    month: String,
    received: String,
    categories: Vec<String>,
    levels: Vec<String>,
    closed: String,
    feedback: String,
    on_time: String,
    median: String,
}

struct AreaLine {
    name: String,
    level: String,
    received: String,
    closed: String,
    on_time: String,
}

#[derive(Template)]
#[template(path = "bulletin.html")]
struct BulletinPage {
    ui: Frame,
    published: Option<String>,
    intro: String,
    category_heads: Vec<String>,
    level_heads: Vec<String>,
    months: Vec<MonthLine>,
    areas: Vec<AreaLine>,
    chart_volume: String,
    chart_on_time: String,
}

fn word(lang: Lang, group: &str, value: &str) -> String {
    i18n::catalog(lang)
        .get(&format!("{group}.{value}"))
        .to_owned()
}

fn cell(lang: Lang, s: Shown, min: u64) -> String {
    match s {
        Shown::Count(n) => n.to_string(),
        Shown::Suppressed => {
            i18n::catalog(lang).format("bulletin.below", &[("min", &min.to_string())])
        }
    }
}

fn count(s: Shown) -> Option<f64> {
    s.count().map(|n| n as f64)
}

fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "–".to_owned())
}

/// The published bulletin of the first (usually only) root unit.
async fn published(state: &AppState) -> Result<Option<Bulletin>, String> {
    let raw = state
        .filing
        .store
        .setting(setting_keys::BULLETIN)
        .await
        .map_err(|e| e.to_string())?;
    let Some(raw) = raw else { return Ok(None) };
    let all: Vec<Bulletin> = serde_json::from_slice(&raw).map_err(|e| e.to_string())?;
    Ok(all.into_iter().next())
}

fn unavailable(e: &str) -> HttpResponse {
    tracing::warn!(error = %e, "bulletin unavailable");
    HttpResponse::ServiceUnavailable()
        .content_type("text/plain; charset=utf-8")
        .body("bulletin unavailable\n")
}

/// `GET /bulletin`.
pub async fn bulletin(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let lang = i18n::lang_of(&req);
    let t = i18n::catalog(lang);
    let b = match published(&state).await {
        Ok(b) => b,
        Err(e) => return unavailable(&e),
    };
    let ui = crate::i18n::frame(lang, "/bulletin");
    let mut page = BulletinPage {
        chart_volume: ui.href("/bulletin/charts/volume.svg"),
        chart_on_time: ui.href("/bulletin/charts/on-time.svg"),
        ui,
        published: None,
        intro: t.get("bulletin.none").to_owned(),
        category_heads: Vec::new(),
        level_heads: Vec::new(),
        months: Vec::new(),
        areas: Vec::new(),
    };
    if let Some(b) = b {
        let min = b.rules.min_cell;
        let offset = state.filing.policy.utc_offset();
        page.published = Some(
            b.published_at
                .with_timezone(&offset)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
        );
        page.intro = t.format(
            "bulletin.intro",
            &[
                ("min", &min.to_string()),
                ("level", &word(lang, "level", b.rules.lowest_level.as_str())),
            ],
        );
        if let Some(first) = b.months.first() {
            page.category_heads = first
                .by_category
                .iter()
                .map(|(c, _)| word(lang, "category", c.as_str()))
                .collect();
            page.level_heads = first
                .by_level
                .iter()
                .map(|(l, _)| word(lang, "level", l.as_str()))
                .collect();
        }
        page.months = b
            .months
            .iter()
            .rev()
            .map(|m| MonthLine {
                month: m.month.to_string(),
                received: cell(lang, m.received, min),
                categories: m
                    .by_category
                    .iter()
                    .map(|(_, s)| cell(lang, *s, min))
                    .collect(),
                levels: m
                    .by_level
                    .iter()
                    .map(|(_, s)| cell(lang, *s, min))
                    .collect(),
                closed: cell(lang, m.closed, min),
                feedback: cell(lang, m.feedback, min),
                on_time: or_dash(m.on_time_percent.map(|p| format!("{p} %"))),
                median: or_dash(
                    m.median_days_to_feedback
                        .map(|d| t.format("bulletin.days", &[("n", &d.to_string())])),
                ),
            })
            .collect();
        page.areas = b
            .areas
            .iter()
            .map(|a| AreaLine {
                name: a.name.clone(),
                level: word(lang, "level", a.level.as_str()),
                received: cell(lang, a.received, min),
                closed: cell(lang, a.closed, min),
                on_time: or_dash(a.on_time_percent.map(|p| format!("{p} %"))),
            })
            .collect();
    }
    render(StatusCode::OK, lang, &page)
}

/// `GET /bulletin/charts/{volume|on-time}.svg`: only published values are
/// drawn; a suppressed one is a gap.
pub async fn bulletin_chart(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let lang = i18n::lang_of(&req);
    let t = i18n::catalog(lang);
    let b = match published(&state).await {
        Ok(b) => b,
        Err(e) => return unavailable(&e),
    };
    let months: Vec<String> = b
        .iter()
        .flat_map(|b| b.months.iter().map(|m| m.month.to_string()))
        .collect();
    let line = |key: &str, pick: fn(&sunlight_core::stats::BulletinMonth) -> Option<f64>| Series {
        label: t.get(key).to_owned(),
        points: b.iter().flat_map(|b| b.months.iter().map(pick)).collect(),
    };
    let (title, series, y_max) = match path.as_str() {
        "volume.svg" => (
            t.get("bulletin.chart_volume"),
            vec![
                line("bulletin.received", |m| count(m.received)),
                line("bulletin.closed", |m| count(m.closed)),
                line("bulletin.feedback", |m| count(m.feedback)),
            ],
            None,
        ),
        "on-time.svg" => (
            t.get("bulletin.chart_on_time"),
            vec![line("bulletin.on_time", |m| {
                m.on_time_percent.map(f64::from)
            })],
            Some(100.0),
        ),
        _ => {
            return HttpResponse::NotFound()
                .content_type("text/plain; charset=utf-8")
                .body("not found\n");
        }
    };
    match line_chart(&LineChart {
        title,
        months: &months,
        series: &series,
        y_label: "",
        y_max,
    }) {
        Ok(svg) => HttpResponse::Ok()
            .content_type("image/svg+xml")
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .body(svg),
        Err(e) => unavailable(&e.to_string()),
    }
}
