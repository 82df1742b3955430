//! /api/v1/search: search and the pre-appointment check (凡提必查) over the
//! caller's jurisdiction, opened in their session; audited.

use super::*;
use sunlight_casework::service::{SearchFound, SearchRequest};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchIn {
    /// The accused's name (widths, spaces and name dots do not matter).
    #[serde(default)]
    pub name: String,
    /// Words in the narrative or the accused's position.
    #[serde(default)]
    pub text: String,
    /// The accused's position (the pre-appointment check).
    #[serde(default)]
    pub position: String,
    /// Only this unit and the units below it (one of the caller's).
    #[serde(default)]
    pub unit: String,
}

impl std::fmt::Debug for SearchIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SearchIn(<redacted>)")
    }
}

#[derive(Serialize, ToSchema)]
pub struct SearchLine {
    pub case_id: String,
    pub number: Option<String>,
    pub stage: &'static str,
    pub outcome: Option<&'static str>,
    /// The arrival day in the deployment's time zone.
    pub received_on: chrono::NaiveDate,
    pub accused_name: String,
    pub accused_position: String,
}

#[derive(Serialize, ToSchema)]
pub struct SearchOut {
    /// Newest arrival first; at most 1000.
    pub cases: Vec<SearchLine>,
    /// Hits in all.
    pub total: u64,
    /// Reports read.
    pub scanned: u64,
    /// Reports of the caller's units that would not open with their key
    /// (damaged or tampered with): a check with any is not complete.
    pub unreadable: u64,
}

impl SearchOut {
    pub fn new(found: SearchFound, policy: &sunlight_core::policy::Policy) -> Self {
        Self {
            cases: found
                .hits
                .into_iter()
                .map(|h| SearchLine {
                    case_id: h.case_id.to_string(),
                    number: h.number.map(|n| n.to_string()),
                    stage: h.stage.as_str(),
                    outcome: h.outcome.map(|o| o.as_str()),
                    received_on: policy.local_date(h.received_at),
                    accused_name: h.accused_name.to_string(),
                    accused_position: h.accused_position.to_string(),
                })
                .collect(),
            total: found.total,
            scanned: found.scanned,
            unreadable: found.unreadable,
        }
    }
}

/// Every report of the caller's units naming that person or holding that
/// text. Nothing is indexed at rest; each search is audited.
#[utoipa::path(post, path = "/api/v1/search", request_body = SearchIn,
    responses((status = 200, description = "The hits, opened in the caller's session", body = SearchOut)))]
pub async fn search(
    staff: StaffWrite,
    state: web::Data<AppState>,
    body: web::Json<SearchIn>,
) -> Result<HttpResponse, TriageError> {
    let b = body.into_inner();
    let req = SearchRequest {
        name: b.name,
        text: b.text,
        position: b.position,
        unit: b.unit,
    };
    let found = state.triage.search(&staff.0, &req, Utc::now()).await?;
    Ok(HttpResponse::Ok().json(SearchOut::new(found, &state.triage.policy)))
}
