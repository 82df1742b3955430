//! What `GET /api/v1/cases/{id}` answers: a case opened for a member, as
//! JSON, converted from the engine's `CaseView`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sunlight_casework::service::{CaseView, OpenedAttachment, OpenedMessage, OpenedStep};
use sunlight_core::policy::Policy;
use sunlight_store::HoldRow;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    pub id: Uuid,
    /// `staff` or `reporter`.
    pub from: &'static str,
    pub body: String,
    /// A reporter's message that does not open (sealed in a browser, but
    /// broken): `body` is empty.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unreadable: bool,
    /// Who the text provably comes from (docs/crypto.md, "Staff material
    /// that cannot be forged"): `authenticated` (the case unit's tag),
    /// `unauthenticated` (no tag: written before tags, or by someone
    /// without the unit key), `forged` (a tag the unit's key did not make;
    /// `body` is empty), or `anonymous` (a reporter's message).
    #[schema(example = "authenticated")]
    pub authenticity: &'static str,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepOut {
    pub from: &'static str,
    pub to: &'static str,
    pub action: String,
    pub actor: Option<Uuid>,
    pub note: Option<String>,
    /// For a step with a note: `authenticated`, `unauthenticated` or
    /// `forged` (then `note` is empty), as for messages.
    pub note_authenticity: Option<&'static str>,
    pub reporter_visible: bool,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentOut {
    pub id: Uuid,
    pub message_id: Option<Uuid>,
    pub file_name: String,
    pub declared_type: String,
    pub size: u64,
    /// Its description does not open with the unit's key (sealed wrongly
    /// in the reporter's browser, damaged or altered): name and type are
    /// empty, and downloading it answers 409 (`conflict`, saying why;
    /// retrying does not help).
    pub unreadable: bool,
}

/// A task beside the stages: `acknowledge` (受理告知) or `reexamine` (复查).
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskOut {
    pub kind: &'static str,
    /// The unit whose people do it (for `reexamine`, the one above).
    pub unit: String,
    pub due_at: DateTime<Utc>,
    pub overdue: bool,
    pub done_at: Option<DateTime<Utc>>,
    /// `acknowledged`, `upheld` or `reopened`.
    pub done_how: Option<String>,
}

/// The reporter's rating of the current round of feedback.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingOut {
    /// `satisfied`, `basically_satisfied` or `dissatisfied`.
    pub rating: &'static str,
    /// The reporter objected and asked for a re-examination.
    pub objection: bool,
    /// The day only.
    pub rated_on: chrono::NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldOut {
    pub id: Uuid,
    pub notice_due_at: DateTime<Utc>,
    pub max_until: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub lifted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportOut {
    pub accused_name: String,
    pub accused_position: String,
    pub narrative: String,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    /// A letter's postmark date (`YYYY-MM-DD`), for reports the desk took
    /// by letter.
    pub postmark_on: Option<String>,
    /// A letter's return address (sealed at rest like the rest).
    pub return_address: Option<String>,
    /// The report does not open with the unit's key although it is
    /// addressed to it (sealed wrongly in the reporter's browser, damaged
    /// or altered): the texts above are empty, the optional ones null.
    pub unreadable: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseOut {
    pub case_id: String,
    /// The case number `UNIT-YEAR-NNNNN`, given once the arrival's day is
    /// over (a day's cases are numbered together, in a random order);
    /// null until then.
    #[schema(example = "gd-gz-tianhe-2026-00042")]
    pub number: Option<String>,
    pub unit: String,
    pub addressed_unit: String,
    pub category: &'static str,
    pub accused_role: &'static str,
    pub selection_stage: &'static str,
    pub channel: &'static str,
    pub real_name: bool,
    pub stage: &'static str,
    pub hold: bool,
    pub outcome: Option<&'static str>,
    /// How the case was disposed of: `open` until the acceptance decision,
    /// then `accepted`, `referred`, `filed_for_reference`, `merged`,
    /// `concluded` or `knowingly_false`.
    #[schema(example = "accepted")]
    pub disposition: &'static str,
    /// Where a referred case went (`discipline_inspection`, `petitions`,
    /// `public_security`, `other`); null otherwise.
    pub referred_to: Option<&'static str>,
    /// Midnight at the start of the arrival day: no stored time of a
    /// report's arrival is finer than its day.
    pub received_at: DateTime<Utc>,
    /// The arrival day (local to the deadline policy).
    pub received_on: chrono::NaiveDate,
    pub deadline: Option<DateTime<Utc>>,
    pub owner: Option<Uuid>,
    pub merged_into: Option<String>,
    /// Cases merged into this one; a message names one as `to` to reach
    /// its reporter (and only that reporter).
    pub merged_cases: Vec<String>,
    pub report: ReportOut,
    pub history: Vec<StepOut>,
    pub messages: Vec<MessageOut>,
    pub attachments: Vec<AttachmentOut>,
    pub holds: Vec<HoldOut>,
    pub tasks: Vec<TaskOut>,
    /// Rounds of feedback: 0, and one more each time the case is reopened.
    pub round: i32,
    /// The reporters' ratings of the current round (one per reporter;
    /// several when cases were merged into this one).
    pub ratings: Vec<RatingOut>,
    /// Actions the caller may take now.
    pub allowed_actions: Vec<&'static str>,
    /// The day the sealed content (report, messages, attachments, notes)
    /// is purged under the retention rule; null while the case is open.
    /// Not while a legal hold stands.
    pub purge_on: Option<chrono::NaiveDate>,
    /// Since when a supervisor holds the case from purging; null when not.
    pub legal_hold_since: Option<chrono::NaiveDate>,
}

impl CaseOut {
    /// The case as the API shows it; the arrival day in `policy`'s zone.
    pub fn new(v: CaseView, policy: &Policy) -> Self {
        let c = &v.case;
        Self {
            case_id: c.id.to_string(),
            number: c.number.as_ref().map(ToString::to_string),
            unit: c.unit.to_string(),
            addressed_unit: c.addressed_unit.to_string(),
            category: c.category.as_str(),
            accused_role: c.accused_role.as_str(),
            selection_stage: c.selection_stage.as_str(),
            channel: c.channel.as_str(),
            real_name: c.real_name,
            stage: c.stage.as_str(),
            hold: c.hold,
            outcome: c.outcome.map(|o| o.as_str()),
            disposition: c.disposition.as_str(),
            referred_to: c.referred_to.map(|b| b.as_str()),
            received_at: c.received_at,
            received_on: policy.local_date(c.received_at),
            purge_on: c
                .closed_at
                .filter(|_| c.legal_hold_since.is_none())
                .map(|at| policy.last_day(policy.purge_at(at))),
            legal_hold_since: c.legal_hold_since.map(|at| policy.local_date(at)),
            deadline: v.entry.as_ref().map(|e| e.due_at),
            owner: v.entry.as_ref().and_then(|e| e.owner),
            merged_into: c.merged_into.map(|m| m.to_string()),
            merged_cases: v.merged_cases.iter().map(ToString::to_string).collect(),
            report: ReportOut {
                accused_name: v.report.accused_name.clone(),
                accused_position: v.report.accused_position.clone(),
                narrative: v.report.narrative.clone(),
                reporter_name: v.report.reporter_name.clone(),
                reporter_phone: v.report.reporter_phone.clone(),
                postmark_on: v.report.letter.as_ref().and_then(|l| l.postmark_on.clone()),
                return_address: v
                    .report
                    .letter
                    .as_ref()
                    .map(|l| l.return_address.clone())
                    .filter(|a| !a.is_empty()),
                unreadable: v.report_unreadable,
            },
            history: v.history.iter().map(StepOut::from).collect(),
            messages: v.messages.iter().map(MessageOut::from).collect(),
            attachments: v.attachments.iter().map(AttachmentOut::from).collect(),
            holds: v.holds.iter().map(HoldOut::from).collect(),
            tasks: v
                .tasks
                .iter()
                .map(|t| TaskOut {
                    kind: t.kind.as_str(),
                    unit: t.unit.to_string(),
                    due_at: t.due_at,
                    overdue: t.is_open() && t.overdue_at.is_some(),
                    done_at: t.done_at,
                    done_how: t.done_how.clone(),
                })
                .collect(),
            round: c.round,
            ratings: v
                .ratings
                .iter()
                .map(|r| RatingOut {
                    rating: r.rating.as_str(),
                    objection: r.objection,
                    rated_on: policy.local_date(r.rated_on),
                })
                .collect(),
            allowed_actions: v.allowed,
        }
    }
}

impl From<&OpenedStep> for StepOut {
    fn from(h: &OpenedStep) -> Self {
        Self {
            from: h.from.as_str(),
            to: h.to.as_str(),
            action: h.action.clone(),
            actor: h.actor,
            note: h.note.as_ref().map(|n| n.to_string()),
            note_authenticity: h.authenticity.map(|a| a.as_str()),
            reporter_visible: h.reporter_visible,
            at: h.at,
        }
    }
}

impl From<&OpenedMessage> for MessageOut {
    fn from(m: &OpenedMessage) -> Self {
        Self {
            id: m.id,
            from: if m.from_staff { "staff" } else { "reporter" },
            body: m.body.to_string(),
            unreadable: m.unreadable,
            authenticity: m.authenticity.as_str(),
            at: m.at,
        }
    }
}

impl From<&OpenedAttachment> for AttachmentOut {
    fn from(a: &OpenedAttachment) -> Self {
        Self {
            id: a.id,
            message_id: a.message_id,
            file_name: sunlight_core::report::without_format_chars(&a.meta.file_name),
            declared_type: a.meta.declared_type.clone(),
            size: a.meta.size,
            unreadable: a.unreadable,
        }
    }
}

impl From<&HoldRow> for HoldOut {
    fn from(h: &HoldRow) -> Self {
        Self {
            id: h.id,
            notice_due_at: h.notice_due_at,
            max_until: h.max_until,
            confirmed_at: h.confirmed_at,
            lifted_at: h.lifted_at,
        }
    }
}
