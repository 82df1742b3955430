//! The staff JSON API (interfaces.md, "Staff triage"). Every route but
//! sign-in needs a session cookie; every state change also needs the
//! `X-CSRF-Token` returned at sign-in (logout included).

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sunlight_core::report::ReportDraft;
use sunlight_core::{CaseId, Category, Channel, Stage, UnitId};
use sunlight_store::QueueFilter;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;
use zeroize::Zeroizing;

mod account;
mod stats;

pub use account::{change_password, confirm_totp, staff_disable, staff_enable, staff_reset};
pub use stats::stats;

use crate::error::TriageError;
use crate::service::ActionRequest;
use crate::session::{Session, cookie_name, current};
use crate::state::AppState;

/// A signed-in staff member (from the session cookie).
#[derive(Debug)]
pub struct Staff(pub std::sync::Arc<Session>);

type Extracted<T> = futures_util::future::LocalBoxFuture<'static, Result<T, TriageError>>;

impl FromRequest for Staff {
    type Error = TriageError;
    type Future = Extracted<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { working(current(&req).await?).map(Staff) })
    }
}

/// Refuses members who must first replace a one-time password.
fn working(s: std::sync::Arc<Session>) -> Result<std::sync::Arc<Session>, TriageError> {
    if s.must_change_password() {
        Err(TriageError::PasswordChangeRequired)
    } else if s.must_confirm_totp() {
        Err(TriageError::TotpConfirmationRequired)
    } else {
        Ok(s)
    }
}

fn csrf_checked(
    req: &HttpRequest,
    s: std::sync::Arc<Session>,
) -> Result<std::sync::Arc<Session>, TriageError> {
    let sent = req
        .headers()
        .get("X-CSRF-Token")
        .and_then(|v| v.to_str().ok());
    if s.csrf_matches(sent) {
        Ok(s)
    } else {
        Err(TriageError::Csrf)
    }
}

/// A signed-in member with a CSRF header, even one who must change their
/// password (for the password route and logout).
#[derive(Debug)]
pub struct AnyStaffWrite(pub std::sync::Arc<Session>);

impl FromRequest for AnyStaffWrite {
    type Error = TriageError;
    type Future = Extracted<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { csrf_checked(&req, current(&req).await?).map(AnyStaffWrite) })
    }
}

/// A signed-in staff member whose request carries the right CSRF header.
#[derive(Debug)]
pub struct StaffWrite(pub std::sync::Arc<Session>);

impl FromRequest for StaffWrite {
    type Error = TriageError;
    type Future = Extracted<Self>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            csrf_checked(&req, current(&req).await?)
                .and_then(working)
                .map(StaffWrite)
        })
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
    /// The 6-digit code of the authenticator app; required for supervisors
    /// and admins.
    #[serde(default)]
    pub totp: Option<String>,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignIn(<redacted>)")
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    /// Send as `X-CSRF-Token` with every state-changing call.
    pub csrf_token: String,
    pub staff_id: Uuid,
    pub role: &'static str,
    pub unit: String,
    /// True until the member replaces the one-time password they were
    /// given (`POST /api/v1/password`); until then every other call is 403.
    pub must_change_password: bool,
}

/// The session cookie: HttpOnly, SameSite=Strict; over TLS also Secure and
/// `__Host-` prefixed (path `/`, no domain).
pub fn session_cookie(token: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(cookie_name(secure), token.to_owned())
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .finish()
}

/// Sign in.
#[utoipa::path(post, path = "/api/v1/session", request_body = SignIn,
    responses((status = 200, body = SessionOut), (status = 401, description = "Wrong email, password or code"), (status = 401, description = "Also while locked after failures: the same answer")))]
pub async fn sign_in(
    state: web::Data<AppState>,
    body: web::Json<SignIn>,
) -> Result<HttpResponse, TriageError> {
    let body = body.into_inner();
    let password = Zeroizing::new(body.password);
    let now = Utc::now();
    let new = crate::auth::sign_in(
        &state.triage.store,
        &state.gate,
        &body.email,
        &password,
        body.totp.as_deref(),
        now,
    )
    .await?;
    let opened = state
        .sessions
        .open(new, now)
        .map_err(|e| TriageError::Internal(e.to_string()))?;
    let s = &opened.session;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&opened.token, state.secure))
        .json(SessionOut {
            csrf_token: s.csrf().to_owned(),
            staff_id: s.staff_id,
            role: s.role.as_str(),
            unit: s.unit.to_string(),
            must_change_password: s.must_change_password(),
        }))
}

/// Sign out: the unit key leaves memory.
#[utoipa::path(delete, path = "/api/v1/session", responses((status = 204), (status = 401), (status = 403, description = "Missing CSRF token")))]
pub async fn sign_out(
    req: HttpRequest,
    staff: AnyStaffWrite,
    state: web::Data<AppState>,
) -> Result<HttpResponse, TriageError> {
    if let Some(c) = req.cookie(cookie_name(state.secure)) {
        state.sessions.close(c.value());
    }
    state
        .triage
        .store
        .audit(
            sunlight_store::AuditRecord {
                actor: format!("staff:{}", staff.0.staff_id),
                action: "session.close".into(),
                unit: staff.0.unit.to_string(),
                ..Default::default()
            },
            Utc::now(),
        )
        .await?;
    let mut gone = session_cookie("", state.secure);
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    pub unit: Option<String>,
    pub category: Option<String>,
    pub limit: Option<u64>,
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

fn parse_stage(raw: &str) -> Result<Stage, TriageError> {
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
    let q = query.into_inner();
    let filter = QueueFilter {
        unit: q
            .unit
            .map(|u| {
                UnitId::parse(&u).map_err(|_| TriageError::Invalid("unit: not a unit id".into()))
            })
            .transpose()?,
        category: q
            .category
            .map(|c| {
                c.parse::<Category>()
                    .map_err(|_| TriageError::Invalid("category: unknown".into()))
            })
            .transpose()?,
        due_before: None,
        limit: q.limit.unwrap_or(200),
    };
    let now = Utc::now();
    let items = state
        .triage
        .store
        .queue_items(&staff.0.jurisdiction, stage, &filter)
        .await?;
    let out: Vec<QueueLine> = items
        .into_iter()
        .map(|i| QueueLine {
            case_id: i.entry.case_id.to_string(),
            category: i.category.as_str(),
            unit: i.entry.unit.to_string(),
            stage: i.entry.stage.as_str(),
            deadline: i.entry.due_at,
            overdue: i.entry.due_at < now,
            owner: i.entry.owner,
            real_name: i.entry.real_name,
            paused_until: i.entry.paused_until,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

fn case_id(raw: &str) -> Result<CaseId, TriageError> {
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
fn content_disposition(name: &str) -> String {
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

#[derive(Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Accused {
    pub name: String,
    pub position: String,
    pub role: String,
}

#[derive(Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Reporter {
    pub name: String,
    pub phone: String,
}

/// A report taken by phone, letter or visit.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeIn {
    pub unit: String,
    pub category: String,
    pub accused: Accused,
    pub selection_stage: String,
    pub narrative: String,
    pub real_name: bool,
    pub reporter: Reporter,
    /// `phone`, `letter` or `visit`.
    pub channel: String,
}

impl std::fmt::Debug for Accused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Accused(<redacted>)")
    }
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reporter(<redacted>)")
    }
}

impl std::fmt::Debug for IntakeIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntakeIn(<redacted>)")
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeOut {
    /// Read it out to the caller once; it is not shown again.
    pub tracking_code: String,
    pub case_id: String,
}

/// Enter a report received by phone, letter or visit.
#[utoipa::path(post, path = "/api/v1/intake", request_body = IntakeIn, responses((status = 201, body = IntakeOut), (status = 422, description = "Field errors")))]
pub async fn intake(
    staff: StaffWrite,
    state: web::Data<AppState>,
    body: web::Json<IntakeIn>,
) -> Result<HttpResponse, TriageError> {
    let b = body.into_inner();
    let channel = match b.channel.parse::<Channel>() {
        Ok(c @ (Channel::Phone | Channel::Letter | Channel::Visit)) => c,
        _ => {
            return Err(TriageError::Invalid(
                "channel: phone, letter or visit".into(),
            ));
        }
    };
    let draft = ReportDraft {
        unit: b.unit,
        category: b.category,
        accused_name: b.accused.name,
        accused_position: b.accused.position,
        accused_role: b.accused.role,
        selection_stage: b.selection_stage,
        narrative: b.narrative,
        real_name: b.real_name,
        reporter_name: b.reporter.name,
        reporter_phone: b.reporter.phone,
    };
    let valid = draft
        .validate(channel, &sunlight_core::report::Limits::default())
        .map_err(|errors| {
            let list: Vec<String> = errors
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.field.as_str(),
                        e.problem.key().trim_start_matches("problem.")
                    )
                })
                .collect();
            TriageError::Invalid(list.join("; "))
        })?;
    let (code, id) = state
        .triage
        .file_report(&staff.0, valid, Utc::now())
        .await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(IntakeOut {
        tracking_code: code.to_string(),
        case_id: id.to_string(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffOut {
    pub id: Uuid,
    pub email: String,
    pub role: &'static str,
    pub unit: String,
    pub disabled: bool,
}

/// Staff of the admin's unit.
#[utoipa::path(get, path = "/api/v1/staff", responses((status = 200, body = [StaffOut]), (status = 403)))]
pub async fn staff_list(
    staff: Staff,
    state: web::Data<AppState>,
) -> Result<HttpResponse, TriageError> {
    let rows = state.triage.staff_list(&staff.0).await?;
    let out: Vec<StaffOut> = rows
        .into_iter()
        .map(|r| StaffOut {
            id: r.id,
            email: r.email,
            role: r.role.as_str(),
            unit: r.unit.to_string(),
            disabled: r.disabled,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffIn {
    pub email: String,
    /// `intake`, `verifier`, `supervisor` or `admin`.
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct StaffCreated {
    pub id: Uuid,
    /// Shown once: hand it to the new member, who changes it.
    pub one_time_password: String,
    /// Base32 TOTP secret for the authenticator app (supervisors and
    /// admins), shown once.
    pub totp_secret: Option<String>,
}

impl std::fmt::Debug for StaffCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffCreated")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Add a member to the admin's unit; the unit key is wrapped from the
/// admin's session. Audited.
#[utoipa::path(post, path = "/api/v1/staff", request_body = StaffIn, responses((status = 201, body = StaffCreated), (status = 403), (status = 409, description = "Email taken")))]
pub async fn staff_add(
    staff: StaffWrite,
    state: web::Data<AppState>,
    body: web::Json<StaffIn>,
) -> Result<HttpResponse, TriageError> {
    let body = body.into_inner();
    let role = body
        .role
        .parse::<sunlight_core::Role>()
        .map_err(|_| TriageError::Invalid("role: intake, verifier, supervisor or admin".into()))?;
    let created = state
        .triage
        .add_staff(&staff.0, &body.email, role, Utc::now())
        .await?;
    Ok(HttpResponse::Created().json(StaffCreated {
        id: created.staff.id,
        one_time_password: created.password.to_string(),
        totp_secret: created.totp.as_ref().map(|t| t.to_string()),
    }))
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Sunlight staff triage API",
        description = "Queues, cases and actions for organization department staff. Sign in with POST /api/v1/session; send the session cookie and, on state changes, X-CSRF-Token."
    ),
    paths(
        sign_in,
        sign_out,
        account::change_password,
        account::confirm_totp,
        account::staff_disable,
        account::staff_enable,
        account::staff_reset,
        queue,
        claim,
        case,
        transition,
        message,
        attachment,
        confirm_hold,
        intake,
        staff_list,
        staff_add,
        stats::stats
    ),
    components(schemas(
        stats::StatsOut,
        stats::HotspotOut,
        stats::TrendPoint,
        SignIn,
        SessionOut,
        QueueLine,
        StageOut,
        CaseOut,
        ReportOut,
        StepOut,
        MessageOut,
        AttachmentOut,
        HoldOut,
        MessageIn,
        Created,
        HoldConfirm,
        IntakeIn,
        IntakeOut,
        Accused,
        Reporter,
        StaffOut,
        StaffIn,
        StaffCreated,
        account::PasswordIn,
        account::PasswordOut,
        account::TotpIn,
        account::ResetOut
    ))
)]
pub struct ApiDoc;

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
