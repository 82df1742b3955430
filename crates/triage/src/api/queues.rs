//! /api/v1/queues/{stage}: a stage's open cases in the caller's units, by deadline.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    pub unit: Option<String>,
    pub category: Option<String>,
    pub limit: Option<u64>,
    /// The answer's language, as on every route (read by `lang_of`, not
    /// here); accepted so that `?lang=` is not an unknown key.
    #[serde(default, rename = "lang")]
    _lang: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueLine {
    pub case_id: String,
    pub category: &'static str,
    pub unit: String,
    pub stage: &'static str,
    pub deadline: DateTime<Utc>,
    pub overdue: bool,
    pub owner: Option<Uuid>,
    pub real_name: bool,
    pub paused_until: Option<DateTime<Utc>>,
}

pub(super) fn parse_stage(raw: &str) -> Result<Stage, TriageError> {
    match raw.parse::<Stage>() {
        Ok(
            s @ (Stage::Received | Stage::Verify | Stage::Handle | Stage::Recheck | Stage::Notify),
        ) => Ok(s),
        _ => Err(TriageError::NotFound),
    }
}

/// Open cases of one queue in the caller's units.
#[utoipa::path(get, path = "/api/v1/queues/{stage}",
    params(("stage" = String, Path, description = "received, verify, handle, recheck or notify")),
    responses((status = 200, body = [QueueLine]), (status = 401), (status = 403)))]
pub async fn queue(
    staff: Staff,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, TriageError> {
    if staff.0.role == sunlight_core::Role::Admin {
        return Err(TriageError::Forbidden);
    }
    let stage = parse_stage(&path)?;
    let filter = query.into_inner().filter()?;
    let now = Utc::now();
    let items = state
        .triage
        .store
        .queue_items(&staff.0.jurisdiction, stage, &filter)
        .await?;
    let out: Vec<QueueLine> = items.into_iter().map(|i| QueueLine::new(i, now)).collect();
    Ok(HttpResponse::Ok().json(out))
}

impl QueueQuery {
    /// The filters asked for; none means all, at most 200 lines.
    fn filter(self) -> Result<QueueFilter, TriageError> {
        Ok(QueueFilter {
            unit: self
                .unit
                .map(|u| UnitId::parse(&u).map_err(|_| TriageError::Invalid(Invalid::Filter)))
                .transpose()?,
            category: self
                .category
                .map(|c| {
                    c.parse::<Category>()
                        .map_err(|_| TriageError::Invalid(Invalid::Filter))
                })
                .transpose()?,
            due_before: None,
            limit: self.limit.unwrap_or(200),
        })
    }
}

impl QueueLine {
    fn new(i: sunlight_store::QueueItem, now: DateTime<Utc>) -> Self {
        Self {
            case_id: i.entry.case_id.to_string(),
            category: i.category.as_str(),
            unit: i.entry.unit.to_string(),
            stage: i.entry.stage.as_str(),
            deadline: i.entry.due_at,
            overdue: i.entry.due_at < now,
            owner: i.entry.owner,
            real_name: i.entry.real_name,
            paused_until: i.entry.paused_until,
        }
    }
}
