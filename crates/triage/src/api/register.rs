//! /api/v1/cases: the register (登记簿), every case of the caller's units, open and closed, filtered, 50 a page.

use super::*;
use sunlight_casework::service::RegisterRequest;
use sunlight_store::{REGISTER_PAGE, RegisterCase};

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterLine {
    pub case_id: String,
    /// Null until the arrival's day is over.
    #[schema(example = "gd-gz-tianhe-2026-00042")]
    pub number: Option<String>,
    pub category: &'static str,
    pub unit: String,
    pub stage: &'static str,
    /// The open stage's deadline; null once closed.
    pub deadline: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub owner: Option<Uuid>,
    pub real_name: bool,
    pub paused_until: Option<DateTime<Utc>>,
    pub channel: &'static str,
    pub outcome: Option<&'static str>,
    /// How the case was disposed of: `open` until the acceptance decision.
    #[schema(example = "accepted")]
    pub disposition: &'static str,
    /// The local arrival day.
    pub received_on: chrono::NaiveDate,
    /// The local day the case closed.
    pub closed_on: Option<chrono::NaiveDate>,
    /// Reporter messages the case's staff have not opened yet.
    pub unread: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterOut {
    /// Every case the filters keep, on all pages.
    pub total: u64,
    pub page: u64,
    pub page_size: u64,
    pub cases: Vec<RegisterLine>,
}

/// The register of the caller's units, newest arrival first.
#[utoipa::path(get, path = "/api/v1/cases",
    params(
        ("stage" = Option<String>, Query, description = "Only this stage; blank: all", pattern = "^(received|verify|handle|recheck|notify|closed)?$"),
        ("unit" = Option<String>, Query, description = "Only this unit and the units below it (one of the caller's); blank: all"),
        ("category" = Option<String>, Query, description = "Only this category; blank: all"),
        ("channel" = Option<String>, Query, description = "Only this channel; blank: all", pattern = "^(web|phone|letter|visit)?$"),
        ("real_name" = Option<String>, Query, description = "Only real-name (true) or anonymous (false) reports; blank: both", pattern = "^(true|false)?$"),
        ("outcome" = Option<String>, Query, description = "Only this verification outcome; blank: all"),
        ("disposition" = Option<String>, Query, description = "Only this disposition; blank: all", pattern = "^(open|accepted|referred|filed_for_reference|merged|concluded|knowingly_false)?$"),
        ("from" = Option<String>, Query, description = "Arrived on this local day (YYYY-MM-DD, 2000-2999) or later; blank: no bound", pattern = "^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"),
        ("to" = Option<String>, Query, description = "Arrived on this local day (YYYY-MM-DD, 2000-2999) or earlier; blank: no bound", pattern = "^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"),
        ("owner" = Option<String>, Query, description = "Owned now by `me` or by the member with this id; blank: anyone"),
        ("number" = Option<String>, Query, description = "The case with this number (UNIT-YEAR-NNNNN); blank: any"),
        ("page" = Option<String>, Query, description = "The page, from 1 to 1000000; 50 cases a page; blank: 1", pattern = "^([0-9]{1,7})?$"),
    ),
    responses((status = 200, description = "One page of the register and the total", body = RegisterOut)))]
pub async fn register(
    staff: Staff,
    state: web::Data<AppState>,
    query: web::Query<RegisterRequest>,
) -> Result<HttpResponse, TriageError> {
    let page = state.triage.register(&staff.0, &query).await?;
    let now = Utc::now();
    let policy = &state.triage.policy;
    Ok(HttpResponse::Ok().json(RegisterOut {
        total: page.total,
        page: page.page,
        page_size: REGISTER_PAGE,
        cases: page
            .cases
            .into_iter()
            .map(|c| RegisterLine::new(c, policy, now))
            .collect(),
    }))
}

impl RegisterLine {
    fn new(c: RegisterCase, policy: &sunlight_core::policy::Policy, now: DateTime<Utc>) -> Self {
        Self {
            case_id: c.id.to_string(),
            number: c.number.as_ref().map(ToString::to_string),
            category: c.category.as_str(),
            unit: c.unit.to_string(),
            stage: c.stage.as_str(),
            deadline: c.entry.as_ref().map(|e| e.due_at),
            overdue: c.entry.as_ref().is_some_and(|e| e.due_at < now),
            owner: c.entry.as_ref().and_then(|e| e.owner),
            real_name: c.real_name,
            paused_until: c.entry.as_ref().and_then(|e| e.paused_until),
            channel: c.channel.as_str(),
            outcome: c.outcome.map(|o| o.as_str()),
            disposition: c.disposition.as_str(),
            received_on: policy.local_date(c.received_at),
            closed_on: c.closed_at.map(|t| policy.local_date(t)),
            unread: c.unread,
        }
    }
}
