//! The public bulletin (举报情况通报): what the triage side last published,
//! already suppressed — each count under the minimum is "< N", no area
//! below the configured level is named — shown as tables and as SVG charts
//! served as images. Nothing here counts anything: this app never holds a
//! number it must not show, and the page changes only at a refresh.

mod view;

use view::BulletinPage;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use sunlight_charts::{ChartError, LineChart, Series, line_chart};
use sunlight_core::i18n::Lang;
use sunlight_core::stats::{Bulletin, BulletinMonth, Shown};
use sunlight_store::setting_keys;

use crate::i18n;
use crate::pages::render;
use crate::state::AppState;

fn count(s: Shown) -> Option<f64> {
    s.count().map(|n| n as f64)
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

/// Chart `name` of the bulletin as SVG, or `None` when no chart has that
/// name; before the first refresh (`bulletin` is `None`) its lines are empty.
fn draw(lang: Lang, bulletin: Option<&Bulletin>, name: &str) -> Option<Result<String, ChartError>> {
    let t = i18n::catalog(lang);
    let data: &[BulletinMonth] = bulletin.map(|b| b.months.as_slice()).unwrap_or_default();
    let months: Vec<String> = data.iter().map(|m| m.month.to_string()).collect();
    let line = |key: &str, pick: fn(&BulletinMonth) -> Option<f64>| Series {
        label: t.get(key).to_owned(),
        points: data.iter().map(pick).collect(),
    };
    let (title, series, y_max) = match name {
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
        _ => return None,
    };
    Some(line_chart(&LineChart {
        title,
        months: &months,
        series: &series,
        y_label: "",
        y_max,
    }))
}

/// `GET /bulletin`.
pub async fn bulletin(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let lang = i18n::lang_of(&req);
    match published(&state).await {
        Ok(b) => {
            let page = BulletinPage::new(lang, b.as_ref(), &state);
            render(StatusCode::OK, lang, &page)
        }
        Err(e) => unavailable(&e),
    }
}

/// `GET /bulletin/charts/{volume|on-time}.svg`: only published values are
/// drawn; a suppressed one is a gap.
pub async fn bulletin_chart(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let lang = i18n::lang_of(&req);
    let b = match published(&state).await {
        Ok(b) => b,
        Err(e) => return unavailable(&e),
    };
    match draw(lang, b.as_ref(), path.as_str()) {
        Some(Ok(svg)) => HttpResponse::Ok()
            .content_type("image/svg+xml")
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .body(svg),
        Some(Err(e)) => unavailable(&e.to_string()),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found\n"),
    }
}
