//! /api/v1/cases/{id}/…: a case opened for a member of its units, claiming, actions, messages, attachments and hold notices.

use super::*;
use case_out::CaseOut;

pub(super) fn case_id(raw: &str) -> Result<CaseId, TriageError> {
    CaseId::parse(raw).map_err(|_| TriageError::NoSuchCase)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StageOut {
    pub stage: &'static str,
}

/// Take ownership of a case (one owner at a time).
#[utoipa::path(post, path = "/api/v1/cases/{id}/claim", params(("id" = Uuid, Path, description = "The case")),
    responses((status = 200, description = "Claimed: the member owns the case; its stage", body = StageOut)))]
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
    params(("id" = Uuid, Path, description = "The case")),
    request_body(content = serde_json::Value, description = "One action, named by `action`, with its values and an optional internal `note`"),
    responses((status = 200, description = "Done: the case's stage after the action", body = StageOut)))]
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

/// The decrypted report, history, messages and attachments. Audited.
#[utoipa::path(get, path = "/api/v1/cases/{id}", params(("id" = Uuid, Path, description = "The case")),
    responses((status = 200, description = "The case, decrypted for the member (the reading is audited)", body = CaseOut)))]
pub async fn case(
    staff: Staff,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, TriageError> {
    let id = case_id(&path)?;
    let v = state.triage.view(&staff.0, id, Utc::now()).await?;
    Ok(HttpResponse::Ok().json(CaseOut::new(v, &state.triage.policy)))
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
#[utoipa::path(get, path = "/api/v1/cases/{id}/attachments/{attachment}",
    params(("id" = Uuid, Path, description = "The case"), ("attachment" = Uuid, Path, description = "The attachment, as listed in the case")),
    responses((status = 200, description = "The file, decrypted (the download is audited)", content_type = "application/octet-stream", body = Vec<u8>)))]
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
            Err(e) => {
                // The download ends broken; the reason is logged here, since
                // actix's own line for it is filtered out with the parser's.
                tracing::error!(error = %e, "attachment stream failed");
                Some((
                    Err(actix_web::error::ErrorInternalServerError(e.to_string())),
                    s,
                ))
            }
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
    /// This message is the acknowledgement (受理告知) of a real-name
    /// report: it does the case's acknowledgement task.
    #[serde(default)]
    pub acknowledgement: bool,
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
#[utoipa::path(post, path = "/api/v1/cases/{id}/messages", params(("id" = Uuid, Path, description = "The case")), request_body = MessageIn,
    responses((status = 201, description = "Sealed to the reporter and stored", body = Created)))]
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
        .message(
            &staff.0,
            case_id(&path)?,
            &text,
            to,
            body.acknowledgement,
            Utc::now(),
        )
        .await?;
    Ok(HttpResponse::Created().json(Created { id }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentIn {
    /// Sealed to the case's units; the reporter never sees it.
    pub body: String,
}

impl std::fmt::Debug for CommentIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommentIn(<redacted>)")
    }
}

/// An internal comment (内部意见) in the case's history, open or closed.
#[utoipa::path(post, path = "/api/v1/cases/{id}/comments", params(("id" = Uuid, Path, description = "The case")), request_body = CommentIn,
    responses((status = 201, description = "Sealed to the case's units and kept in its history", body = Created)))]
pub async fn comment(
    staff: StaffWrite,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<CommentIn>,
) -> Result<HttpResponse, TriageError> {
    let text = Zeroizing::new(body.into_inner().body);
    let id = state
        .triage
        .comment(&staff.0, case_id(&path)?, &text, Utc::now())
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

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldConfirmed {
    pub confirmed: bool,
}

/// Confirm a hold (rule 4) and record to whom its notice went.
#[utoipa::path(post, path = "/api/v1/cases/{id}/holds/{hold}/confirm",
    params(("id" = Uuid, Path, description = "The case"), ("hold" = Uuid, Path, description = "The hold, as listed in the case")),
    request_body = HoldConfirm,
    responses((status = 200, description = "Confirmed, with to whom its notice went", body = HoldConfirmed)))]
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
    Ok(HttpResponse::Ok().json(HoldConfirmed { confirmed: true }))
}
