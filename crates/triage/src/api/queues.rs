//! /api/v1/queues/{stage}: a stage's open cases in the caller's units, by deadline.

use super::*;

/// The most lines one answer holds; `limit` above it is refused.
const MAX_LIMIT: u32 = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    pub unit: Option<String>,
    pub category: Option<String>,
    pub limit: Option<u32>,
    /// The answer's language, as on every route (read by `lang_of`, not
    /// here); accepted so that `?lang=` is not an unknown key.
    #[serde(default, rename = "lang")]
    _lang: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueLine {
    pub case_id: String,
    /// The case number; null until the arrival's day is over.
    #[schema(example = "gd-gz-tianhe-2026-00042")]
    pub number: Option<String>,
    pub category: &'static str,
    pub unit: String,
    pub stage: &'static str,
    pub deadline: DateTime<Utc>,
    pub overdue: bool,
    pub owner: Option<Uuid>,
    pub real_name: bool,
    pub paused_until: Option<DateTime<Utc>>,
    /// Reporter messages the case's staff have not opened yet; the
    /// caller's own cases with some come first.
    pub unread: u32,
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
    params(
        ("stage" = String, Path, description = "The queue", pattern = "^(received|verify|handle|recheck|notify)$"),
        ("unit" = Option<String>, Query, description = "Only this unit and the units below it (one of the caller's)"),
        ("category" = Option<String>, Query, description = "Only this category"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "At most this many lines (200 when absent)"),
    ),
    responses((status = 200, description = "The queue's open cases, soonest deadline first", body = [QueueLine])))]
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
    let filter = QueueFilter {
        unread_first_for: Some(staff.0.staff_id),
        ..query.into_inner().filter()?
    };
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
            limit: match self.limit {
                None => 200,
                Some(n @ 1..=MAX_LIMIT) => u64::from(n),
                Some(_) => return Err(TriageError::Invalid(Invalid::Limit)),
            },
            unread_first_for: None,
        })
    }
}

impl QueueLine {
    fn new(i: sunlight_store::QueueItem, now: DateTime<Utc>) -> Self {
        Self {
            case_id: i.entry.case_id.to_string(),
            number: i.number.as_ref().map(ToString::to_string),
            category: i.category.as_str(),
            unit: i.entry.unit.to_string(),
            stage: i.entry.stage.as_str(),
            deadline: i.entry.due_at,
            overdue: i.entry.due_at < now,
            owner: i.entry.owner,
            real_name: i.entry.real_name,
            paused_until: i.entry.paused_until,
            unread: i.unread,
        }
    }
}
