//! `GET /api/v1/stats`: the dashboard's figures as JSON.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sunlight_casework::stats::HotspotView;
use sunlight_core::stats::{Figures, Indicators, Month};
use utoipa::ToSchema;

use super::Staff;
use crate::error::TriageError;
use crate::state::AppState;

/// One month of a hotspot's trend.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendPoint {
    #[schema(value_type = String, example = "2026-11")]
    pub month: Month,
    pub received: u64,
}

/// A hotspot unit (重点管理) below the caller's unit.
#[derive(Debug, Serialize, ToSchema)]
pub struct HotspotOut {
    pub unit: String,
    pub name: String,
    /// `threshold` or `rise`.
    pub reason: &'static str,
    pub window_count: u64,
    /// Mean reports per earlier window.
    pub baseline: f64,
    pub raised_at: DateTime<Utc>,
    pub cleared_at: Option<DateTime<Utc>>,
    pub trend: Vec<TrendPoint>,
}

/// Figures of the caller's jurisdiction. Counts are events per local month
/// (`{"received": {"n": 12, "on_time": 0}, …}`); `on_time` is meaningful
/// for the `*_done` stage measures.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsOut {
    pub unit: String,
    pub refreshed_at: Option<DateTime<Utc>>,
    /// Share of stage completions on time, 0–1.
    pub on_time_rate: Option<f64>,
    /// 满意率: satisfied or basically satisfied ratings over all ratings,
    /// 0–1; null before the first rating.
    pub satisfaction_rate: Option<f64>,
    /// 属实率: substantiated or partly over the cases accepted and
    /// verified (concluded or knowingly false), 0–1; referred, filed and
    /// merged cases are not in it.
    pub substantiated_rate: Option<f64>,
    /// The ISO 37002 indicators the metadata gives (docs/statistics.md).
    #[schema(value_type = Object)]
    pub indicators: Indicators,
    /// Open stages past their deadline now, per stage.
    pub overdue_now: BTreeMap<String, u64>,
    pub hotspots: Vec<HotspotOut>,
    /// `months`, `total`, `by_month`, `by_category`, `by_channel`,
    /// `by_unit`, `median_days`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub figures: Figures,
}

#[utoipa::path(get, path = "/api/v1/stats", responses((status = 200, description = "The figures of the member's units", body = StatsOut)))]
pub async fn stats(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, TriageError> {
    let now = Utc::now();
    let s = &staff.0;
    let figures = state.stats.figures(&s.unit, now).await?;
    let overdue_now = state
        .triage
        .store
        .overdue_counts(&s.jurisdiction, now)
        .await?
        .into_iter()
        .map(|(stage, n)| (stage.as_str().to_owned(), n))
        .collect();
    let hotspots = state
        .stats
        .hotspots_under(&s.unit, now)
        .await?
        .into_iter()
        .map(HotspotOut::from)
        .collect();
    Ok(HttpResponse::Ok().json(StatsOut {
        unit: s.unit.to_string(),
        refreshed_at: state.stats.refreshed_at().await?,
        on_time_rate: figures.total.on_time_rate(),
        satisfaction_rate: figures.total.satisfaction_rate(),
        substantiated_rate: figures.total.substantiated_rate(),
        indicators: Indicators::of(&figures),
        overdue_now,
        hotspots,
        figures,
    }))
}

impl From<HotspotView> for HotspotOut {
    fn from(h: HotspotView) -> Self {
        Self {
            unit: h.flag.unit.to_string(),
            name: h.unit_name,
            reason: h.flag.reason.as_str(),
            window_count: h.flag.window_count,
            baseline: h.flag.baseline,
            raised_at: h.flag.raised_at,
            cleared_at: h.flag.cleared_at,
            trend: h
                .trend
                .into_iter()
                .map(|(month, received)| TrendPoint { month, received })
                .collect(),
        }
    }
}
