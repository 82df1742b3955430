//! /api/v1/cases/{id}/…: a case opened for a member of its units, claiming, actions, messages, attachments and hold notices.

use super::*;

pub(super) fn case_id(raw: &str) -> Result<CaseId, TriageError> {
    CaseId::parse(raw).map_err(|_| TriageError::NoSuchCase)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageOut {
    pub stage: &'static str,
}

/// Take ownership of a case (one owner at a time).
#[utoipa::path(post, path = "/api/v1/cases/{id}/claim", responses((status = 200, body = StageOut), (status = 409, description = "Someone else owns it")))]
pub async fn claim(
    staff: StaffWrite,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, TriageError> {
    let id = case_id(&path)?;
    let stage = state
        .triage
        .act(
            &staff.0,
            id,
            ActionRequest {
                action: sunlight_core::case::Action::Claim,
                note: None,
            },
            Utc::now(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(StageOut {
        stage: stage.as_str(),
    }))
}

/// A state-machine action (`{"action": "verified", "outcome": "partly"}`, …).
#[utoipa::path(post, path = "/api/v1/cases/{id}/transitions",
    request_body(content = serde_json::Value, description = "`{\"action\", \"note\", …}`; actions: verified (outcome), transfer (to), rechecked (outcome), decided (decision), extend (days, reason), ask_reporter (question), feedback (message), close, merge (into), route, claim"),
    responses((status = 200, body = StageOut), (status = 403, description = "Role or owner"), (status = 409, description = "Not allowed in this stage, with the reason"), (status = 422)))]
pub async fn transition(
    staff: StaffWrite,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<ActionRequest>,
) -> Result<HttpResponse, TriageError> {
    let id = case_id(&path)?;
    let stage = state
        .triage
        .act(&staff.0, id, body.into_inner(), Utc::now())
        .await?;
    Ok(HttpResponse::Ok().json(StageOut {
        stage: stage.as_str(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    pub id: Uuid,
    /// `staff` or `reporter`.
    pub from: &'static str,
    pub body: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepOut {
    pub from: &'static str,
    pub to: &'static str,
    pub action: String,
    pub actor: Option<Uuid>,
    pub note: Option<String>,
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
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseOut {
    pub case_id: String,
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
    /// Actions the caller may take now.
    pub allowed_actions: Vec<&'static str>,
}

/// The decrypted report, history, messages and attachments. Audited.
#[utoipa::path(get, path = "/api/v1/cases/{id}", responses((status = 200, body = CaseOut), (status = 404, description = "No such case in your units")))]
pub async fn case(
    staff: Staff,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, TriageError> {
    let id = case_id(&path)?;
    let v = state.triage.view(&staff.0, id, Utc::now()).await?;
    let c = &v.case;
    Ok(HttpResponse::Ok().json(CaseOut {
        case_id: c.id.to_string(),
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
        received_at: c.received_at,
        received_on: state.triage.policy.local_date(c.received_at),
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
        },
        history: v
            .history
            .iter()
            .map(|h| StepOut {
                from: h.from.as_str(),
                to: h.to.as_str(),
                action: h.action.clone(),
                actor: h.actor,
                note: h.note.as_ref().map(|n| n.to_string()),
                reporter_visible: h.reporter_visible,
                at: h.at,
            })
            .collect(),
        messages: v
            .messages
            .iter()
            .map(|m| MessageOut {
                id: m.id,
                from: if m.from_staff { "staff" } else { "reporter" },
                body: m.body.to_string(),
                at: m.at,
            })
            .collect(),
        attachments: v
            .attachments
            .iter()
            .map(|a| AttachmentOut {
                id: a.id,
                message_id: a.message_id,
                file_name: sunlight_core::report::without_format_chars(&a.meta.file_name),
                declared_type: a.meta.declared_type.clone(),
                size: a.meta.size,
            })
            .collect(),
        holds: v
            .holds
            .iter()
            .map(|h| HoldOut {
                id: h.id,
                notice_due_at: h.notice_due_at,
                max_until: h.max_until,
                confirmed_at: h.confirmed_at,
                lifted_at: h.lifted_at,
            })
            .collect(),
        allowed_actions: v.allowed,
    }))
}

/// `filename*=` per RFC 5987: only unreserved bytes stay, the rest is
/// percent-encoded, so no name can break out of the header.
pub(super) fn content_disposition(name: &str) -> String {
    // Names stored before format characters were stripped at upload lose
    // them here, so a download never saves as a name that lies.
    let name = sunlight_core::report::without_format_chars(name);
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"attachment\"; filename*=UTF-8''{encoded}")
}

/// Download an attachment, decrypted chunk by chunk. Audited.
#[utoipa::path(get, path = "/api/v1/cases/{id}/attachments/{attachment}", responses((status = 200, description = "The file, as application/octet-stream")))]
pub async fn attachment(
    staff: Staff,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
) -> Result<HttpResponse, TriageError> {
    let (id, aid) = path.into_inner();
    let (meta, stream) = state
        .triage
        .attachment(&staff.0, case_id(&id)?, aid, Utc::now())
        .await?;
    let body = futures_util::stream::unfold(stream, |mut s| async move {
        match s.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(web::Bytes::from(chunk)), s)),
            Ok(None) => None,
            Err(e) => Some((
                Err(actix_web::error::ErrorInternalServerError(e.to_string())),
                s,
            )),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(("Content-Disposition", content_disposition(&meta.file_name)))
        .insert_header(("Content-Length", meta.size.to_string()))
        .streaming(body))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageIn {
    pub body: String,
    /// The reporter addressed: the id of a case merged into this one (its
    /// reporter alone reads the message). Absent: the case's own reporter.
    #[serde(default)]
    pub to: Option<String>,
}

impl std::fmt::Debug for MessageIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MessageIn(<redacted>)")
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: Uuid,
}

/// A message the reporter reads with the code.
#[utoipa::path(post, path = "/api/v1/cases/{id}/messages", request_body = MessageIn, responses((status = 201, body = Created)))]
pub async fn message(
    staff: StaffWrite,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<MessageIn>,
) -> Result<HttpResponse, TriageError> {
    let body = body.into_inner();
    let to = body.to.as_deref().map(case_id).transpose()?;
    let text = Zeroizing::new(body.body);
    let id = state
        .triage
        .message(&staff.0, case_id(&path)?, &text, to, Utc::now())
        .await?;
    Ok(HttpResponse::Created().json(Created { id }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldConfirm {
    /// To whom the hold notice went (e.g. the unit running the selection).
    pub notice_to: String,
}

impl std::fmt::Debug for HoldConfirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HoldConfirm(<redacted>)")
    }
}

/// Confirm a hold (rule 4) and record to whom its notice went.
#[utoipa::path(post, path = "/api/v1/cases/{id}/holds/{hold}/confirm", request_body = HoldConfirm, responses((status = 200), (status = 409, description = "Already confirmed or lifted")))]
pub async fn confirm_hold(
    staff: StaffWrite,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
    body: web::Json<HoldConfirm>,
) -> Result<HttpResponse, TriageError> {
    let (id, hold) = path.into_inner();
    let notice_to = Zeroizing::new(body.into_inner().notice_to);
    state
        .triage
        .confirm_hold(&staff.0, case_id(&id)?, hold, &notice_to, Utc::now())
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"confirmed": true})))
}
