//! What the JSON API reads and answers, as the OpenAPI document shows it,
//! and the conversions from the filing service's results.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sunlight_core::policy::Policy;
use sunlight_core::report::ReportDraft;
use sunlight_filing::{RatingState, ShownMessage, Status};
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
    /// The filing receipt: keep it, and check it with `sunlight receipt
    /// verify` or `/verify`. It never holds the tracking code.
    pub receipt: FilingReceipt,
}

/// A filing receipt (docs/crypto.md, "Transparency log"): the leaf's
/// record and the log's signed promise to include it in every head signed
/// on a later day. Hashes, keys and signatures in lower-case hex.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilingReceipt {
    /// 1.
    pub version: u8,
    /// `modern` (SHA-256, Ed25519) or `shangmi` (SM3, SM2).
    pub suite: String,
    /// The log's public key.
    pub log_key: String,
    pub leaf: ReceiptLeafOut,
    /// The signature of the promise.
    pub promise: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptLeafOut {
    /// The hash of the filing's sealed material.
    pub envelopes: String,
    /// 16 random bytes.
    pub nonce: String,
    /// The day of the filing, `YYYY-MM-DD`.
    pub day: String,
}

impl From<sunlight_core::log::Receipt> for FilingReceipt {
    fn from(r: sunlight_core::log::Receipt) -> Self {
        let hex = |b: &[u8]| data_encoding::HEXLOWER.encode(b);
        Self {
            version: r.version,
            suite: r.suite.as_str().to_owned(),
            log_key: hex(&r.log_key),
            leaf: ReceiptLeafOut {
                envelopes: hex(&r.leaf.envelopes),
                nonce: hex(&r.leaf.nonce),
                day: r.leaf.day.to_string(),
            },
            promise: hex(&r.promise),
        }
    }
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
    /// Present once feedback was given: null until the reporter rated it
    /// (`POST /api/v1/status/rating`), then the rating.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RatingOut>)]
    pub rating: Option<Option<RatingOut>>,
    /// The last day an objection (复查请求) may be sent; absent when it
    /// cannot (no feedback yet, rated already, or the time passed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objection_until: Option<chrono::NaiveDate>,
}

/// The reporter's rating of the feedback.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingOut {
    /// `satisfied`, `basically_satisfied` or `dissatisfied`.
    pub rating: &'static str,
    /// An objection was sent with it (a re-examination was asked for).
    pub objection: bool,
    /// The day it was given.
    pub rated_on: chrono::NaiveDate,
}

/// `POST /api/v1/status/rating`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    pub code: String,
    /// `satisfied`, `basically_satisfied` or `dissatisfied`.
    pub rating: String,
    /// Optional: why the answer is not accepted; asks the unit above for
    /// a re-examination (复查).
    #[serde(default)]
    pub objection: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatingStored {
    /// Whether a re-examination was asked for.
    pub objection: bool,
}

/// The same view as the status page: the case that carries on, which after
/// a merge is not the reporter's own.
impl StatusResponse {
    /// Days (the rating's, the objection's last) in `policy`'s time zone.
    pub fn new(status: &Status, policy: &Policy) -> Self {
        let view = &status.view;
        Self {
            stage: view.case.stage.as_str(),
            received_at: view.case.received_at,
            deadline: view.open_entry.as_ref().map(|e| e.due_at),
            merged: view.case.id != view.own_case,
            history: view.history.iter().map(HistoryOut::from).collect(),
            messages: status.messages.iter().map(MessageOut::from).collect(),
            rating: rating_out(&status.rating, policy),
            objection_until: match &status.rating {
                RatingState::Open {
                    objection_until: Some(until),
                    ..
                } => Some(policy.last_day(*until)),
                _ => None,
            },
        }
    }
}

/// Absent before feedback, null until rated, then the rating.
pub fn rating_out(state: &RatingState, policy: &Policy) -> Option<Option<RatingOut>> {
    match state {
        RatingState::NotYet => None,
        RatingState::Open { .. } => Some(None),
        RatingState::Rated(r) => Some(Some(RatingOut {
            rating: r.rating.as_str(),
            objection: r.objection,
            rated_on: policy.local_date(r.rated_on),
        })),
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
    /// The English name, when the unit has one.
    pub name_en: Option<String>,
    pub level: &'static str,
    pub parent: Option<String>,
}

/// A unit as callers choose one: its slug, never its keys.
impl From<UnitRow> for UnitOut {
    fn from(u: UnitRow) -> Self {
        Self {
            id: u.id.as_str().to_owned(),
            name: u.name,
            name_en: u.name_en,
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
