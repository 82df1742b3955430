//! What the JSON API reads and answers, as the OpenAPI document shows it,
//! and the conversions from the filing service's results.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sunlight_core::report::ReportDraft;
use sunlight_filing::{ShownMessage, Status};
use sunlight_store::{HistoryStep, UnitRow};
use utoipa::ToSchema;

/// The accused, as in the report form.
#[derive(Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Accused {
    pub name: String,
    pub position: String,
    pub role: String,
}

/// How to reach a real-name reporter (optional).
#[derive(Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Reporter {
    pub name: String,
    pub phone: String,
}

/// A new report. Missing text fields count as empty and are reported as
/// field errors (422), like the form.
#[derive(Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ReportRequest {
    /// A unit slug from `GET /api/v1/units`.
    pub unit: String,
    pub category: String,
    pub accused: Accused,
    pub selection_stage: String,
    pub narrative: String,
    pub real_name: bool,
    pub reporter: Reporter,
}

impl ReportRequest {
    pub fn into_draft(self) -> ReportDraft {
        ReportDraft {
            unit: self.unit,
            category: self.category,
            accused_name: self.accused.name,
            accused_position: self.accused.position,
            accused_role: self.accused.role,
            selection_stage: self.selection_stage,
            narrative: self.narrative,
            real_name: self.real_name,
            reporter_name: self.reporter.name,
            reporter_phone: self.reporter.phone,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptResponse {
    /// Shown once; write it down. Five groups of four digits.
    pub tracking_code: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    pub from: &'static str,
    pub body: String,
    pub at: DateTime<Utc>,
}

/// A message as the reporter reads it, opened by the filing service.
impl From<&ShownMessage> for MessageOut {
    fn from(m: &ShownMessage) -> Self {
        Self {
            from: if m.from_staff { "staff" } else { "reporter" },
            body: m.body.as_str().to_owned(),
            at: m.at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryOut {
    pub stage: &'static str,
    pub at: DateTime<Utc>,
}

/// A stage the case entered; the action that moved it is staff's own.
impl From<&HistoryStep> for HistoryOut {
    fn from(h: &HistoryStep) -> Self {
        Self {
            stage: h.to.as_str(),
            at: h.at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    pub stage: &'static str,
    pub received_at: DateTime<Utc>,
    /// The deadline of the current stage; absent once closed.
    pub deadline: Option<DateTime<Utc>>,
    /// True when the report was merged into another case; this is then the
    /// status of that case.
    pub merged: bool,
    pub history: Vec<HistoryOut>,
    pub messages: Vec<MessageOut>,
}

/// The same view as the status page: the case that carries on, which after
/// a merge is not the reporter's own.
impl From<&Status> for StatusResponse {
    fn from(status: &Status) -> Self {
        let view = &status.view;
        Self {
            stage: view.case.stage.as_str(),
            received_at: view.case.received_at,
            deadline: view.open_entry.as_ref().map(|e| e.due_at),
            merged: view.case.id != view.own_case,
            history: view.history.iter().map(HistoryOut::from).collect(),
            messages: status.messages.iter().map(MessageOut::from).collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageRequest {
    pub code: String,
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageStored {
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitOut {
    pub id: String,
    pub name: String,
    pub level: &'static str,
    pub parent: Option<String>,
}

/// A unit as callers choose one: its slug, never its keys.
impl From<UnitRow> for UnitOut {
    fn from(u: UnitRow) -> Self {
        Self {
            id: u.id.as_str().to_owned(),
            name: u.name,
            level: u.level.as_str(),
            parent: u.parent.map(|p| p.as_str().to_owned()),
        }
    }
}

/// What a person wrote never appears in a debug print.
macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($t), "(<redacted>)"))
            }
        }
    )*};
}
redacted_debug!(
    Accused,
    Reporter,
    ReportRequest,
    CodeRequest,
    MessageRequest
);
