//! The statistics dashboard (统计): the figures of the member's
//! jurisdiction by month, category, channel and unit; deadlines met per
//! stage and medians; hotspot units below; stages overdue now; a CSV of the
//! same figures, and charts served as SVG images.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use chrono::Utc;
use sunlight_charts::{LineChart, Series, line_chart};
use sunlight_core::Measure;
use sunlight_core::i18n::Lang;
use sunlight_core::stats::Figures;

mod dashboard;
mod export;

use dashboard::Dashboard;

use super::{PageError, Viewer, render};
use crate::error::TriageError;
use crate::i18n;
use crate::state::AppState;

/// `GET /stats`.
pub async fn stats_show(
    viewer: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let dashboard = Dashboard::load(&state, &viewer, Utc::now())
        .await
        .map_err(|e| viewer.fail(e))?;
    let page = dashboard.page(&viewer, &state);
    Ok(render(StatusCode::OK, viewer.lang, &page))
}

/// The member's units' figures as a file to save, named after their unit.
fn download(
    viewer: &Viewer,
    extension: &str,
    content_type: &'static str,
    body: impl actix_web::body::MessageBody + 'static,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"sunlight-stats-{}.{extension}\"",
                viewer.session.unit
            ),
        ))
        .body(body)
}

/// `GET /stats.csv`: the dashboard's figures by month; with `lang=zh`,
/// the four breakdowns with Chinese headers (按月份, 按单位, …).
pub async fn stats_csv(
    req: actix_web::HttpRequest,
    viewer: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let fig = state
        .stats
        .figures(&viewer.session.unit, Utc::now())
        .await
        .map_err(|e| viewer.fail(e))?;
    let chinese =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .is_ok_and(|q| q.get("lang").is_some_and(|l| l == "zh" || l == "zh-CN"));
    let body = if chinese {
        let units = super::jurisdiction_units(&state, &viewer.session)
            .await
            .map_err(|e| viewer.fail(e))?;
        export::to_csv(&export::tables(Lang::ZhCn, &fig, &units))
    } else {
        fig.to_csv()
    };
    Ok(download(&viewer, "csv", "text/csv; charset=utf-8", body))
}

/// `GET /stats.xlsx`: the figures by month, unit, category and channel as
/// an Excel workbook with Chinese headers, for reporting up.
pub async fn stats_xlsx(
    viewer: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let fig = state
        .stats
        .figures(&viewer.session.unit, Utc::now())
        .await
        .map_err(|e| viewer.fail(e))?;
    let units = super::jurisdiction_units(&state, &viewer.session)
        .await
        .map_err(|e| viewer.fail(e))?;
    let book = export::to_xlsx(&export::tables(Lang::ZhCn, &fig, &units))
        .map_err(|e| viewer.fail(TriageError::Internal(format!("xlsx: {e}"))))?;
    Ok(download(
        &viewer,
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        book,
    ))
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
