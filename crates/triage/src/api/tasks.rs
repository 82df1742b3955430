//! /api/v1/tasks: open acknowledgement (受理告知) and re-examination (复查)
//! tasks of the caller's units, by deadline.

use super::*;

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskLine {
    pub case_id: String,
    /// The case number; null until the arrival's day is over.
    pub number: Option<String>,
    /// `acknowledge` or `reexamine`.
    pub kind: &'static str,
    /// The unit whose people do it.
    pub unit: String,
    pub due_at: DateTime<Utc>,
    pub overdue: bool,
}

/// Open tasks of the caller's units.
#[utoipa::path(get, path = "/api/v1/tasks",
    responses((status = 200, description = "Open tasks, the earliest deadline first (at most 500)", body = [TaskLine])))]
pub async fn tasks(staff: Staff, state: web::Data<AppState>) -> Result<HttpResponse, TriageError> {
    let open = state.triage.open_tasks(&staff.0).await?;
    let out: Vec<TaskLine> = open
        .into_iter()
        .map(|o| TaskLine {
            case_id: o.task.case_id.to_string(),
            number: o.number.map(|n| n.to_string()),
            kind: o.task.kind.as_str(),
            unit: o.task.unit.to_string(),
            due_at: o.task.due_at,
            overdue: o.task.overdue_at.is_some(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}
