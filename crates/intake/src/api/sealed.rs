//! /api/v1/sealed/*: the routes the reporter's browser uses when it seals
//! itself (JavaScript on). No request carries the code, report text or
//! message text: only the lookup token, clear routing fields and sealed
//! bytes, which the server checks for their addressing and stores as sent.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use sunlight_core::Channel;
use sunlight_core::crypto::{CHUNK_SIZE, UnitPublicKey};
use sunlight_core::i18n::Lang;
use sunlight_core::policy::DeadlineKind;
use sunlight_core::report::ReportDraft;
use sunlight_filing::{ObjectionDraft, SealedMeta};
use sunlight_store::ReporterView;

use super::dto::RatingStored;
use super::sealed_dto::{
    PrepareRequest, PrepareResponse, SealedFiled, SealedMessageRequest, SealedRatingRequest,
    SealedReportRequest, SealedStatus, SealedStored, SealingParams, StatusDisplay, TokenRequest,
    b64, token,
};
use super::{json, read_json};
use crate::error::{Failure, IntakeError};
use crate::guard::Limiters;
use crate::state::AppState;

fn keys(keys: &[UnitPublicKey]) -> Vec<String> {
    keys.iter().map(|k| b64(k.as_bytes())).collect()
}

/// The largest sealed request: every file at its limit, in base64, and
/// the text fields sealed.
fn sealed_body_limit(state: &AppState) -> usize {
    let limits = &state.filing.limits;
    let files = usize::try_from(limits.attachment_bytes)
        .unwrap_or(usize::MAX)
        .saturating_mul(limits.attachments);
    files
        .saturating_add(limits.max_text_bytes())
        .saturating_mul(4)
        .div_ceil(3)
        .saturating_add(64 * 1024)
}

/// Sealed files arrive base64 in JSON, read whole and decoded: up to about
/// three times the body in memory. Bodies over 1 MiB (or of unknown
/// length) take a turn, two at a time, so that memory stays bounded however
/// many arrive at once; small ones, the usual report, never wait.
async fn big_body_permit(req: &HttpRequest) -> Option<tokio::sync::SemaphorePermit<'static>> {
    static BIG_BODIES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    let small = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n <= 1024 * 1024);
    if small {
        None
    } else {
        BIG_BODIES.acquire().await.ok()
    }
}

/// Salt and cost for stretching codes in the browser.
#[utoipa::path(get, path = "/api/v1/sealed/params", operation_id = "sealing_params", responses((status = 200, description = "The public salt and Argon2id cost codes are stretched with, and the sealed formats' sizes", body = SealingParams)))]
pub async fn params(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    let lang = crate::i18n::lang_of(&req);
    let (salt, p) = state.filing.stretch_public().map_err(|e| json(e, lang))?;
    let legacy_codes = !state
        .filing
        .other_schemes()
        .await
        .map_err(|e| json(e, lang))?
        .is_empty();
    Ok(HttpResponse::Ok().json(SealingParams {
        salt: b64(&salt),
        m_kib: p.m_kib,
        t: p.t,
        p: p.p,
        chunk_size: CHUNK_SIZE,
        pad_to: sunlight_core::report::PAD_TO,
        legacy_codes,
    }))
}

/// The keys a new report is sealed to, its case id, and the reporter key's share.
#[utoipa::path(
    post, path = "/api/v1/sealed/prepare", operation_id = "sealed_prepare", request_body = PrepareRequest,
    responses((status = 200, description = "Seal to these keys (then the reporter's own), bound to this case id", body = PrepareResponse))
)]
pub async fn prepare(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = state.admit_sealed(&req, Limiters::lookup)?;
    let request: PrepareRequest = read_json(&req, payload, 4096)
        .await
        .map_err(|e| json(e, lang))?;
    let token = token(&request.token).map_err(|e| json(e, lang))?;
    let meta = clear_fields(
        &state,
        &request.unit,
        "other",
        &request.accused_role,
        "none",
        false,
    )
    .await
    .map_err(|e| json(e, lang))?;
    let (_, recipients, _) = state
        .filing
        .addressed_recently(&meta.unit, meta.accused_role)
        .await
        .map_err(|e| json(e, lang))?;
    Ok(HttpResponse::Ok().json(PrepareResponse {
        case_id: state.filing.sealed_case_id(Utc::now()).to_string(),
        recipients: keys(&recipients),
        share: b64(state
            .filing
            .share(&token)
            .map_err(|e| json(e, lang))?
            .0
            .as_ref()),
    }))
}

/// Checks the clear fields as the form's own validation does: the sealed
/// text fields are stood in for, as the browser checked them already.
async fn clear_fields(
    state: &AppState,
    unit: &str,
    category: &str,
    role: &str,
    selection_stage: &str,
    real_name: bool,
) -> Result<SealedMeta, IntakeError> {
    let stand_in = || "-".to_owned();
    let draft = ReportDraft {
        unit: unit.to_owned(),
        category: category.to_owned(),
        accused_name: stand_in(),
        accused_position: String::new(),
        accused_role: role.to_owned(),
        selection_stage: selection_stage.to_owned(),
        narrative: stand_in(),
        real_name,
        reporter_name: stand_in(),
        reporter_phone: String::new(),
    };
    let valid = state
        .filing
        .validate(&draft, Channel::Web)
        .await?
        .map_err(IntakeError::Invalid)?;
    Ok(SealedMeta {
        unit: valid.unit,
        category: valid.category,
        accused_role: valid.accused_role,
        selection_stage: valid.selection_stage,
        real_name: valid.real_name,
    })
}

/// File a report sealed in the browser.
#[utoipa::path(
    post, path = "/api/v1/sealed/reports", operation_id = "sealed_create", request_body = SealedReportRequest,
    responses((status = 201, description = "Stored (synced to disk) as sealed", body = SealedFiled))
)]
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    // A filing names a token: it spends a lookup as well as a submission,
    // or it would be a second, separately budgeted way to test tokens.
    let lang = state.admit_sealed(&req, Limiters::message)?;
    let _big = big_body_permit(&req).await;
    let limit = sealed_body_limit(&state);
    let mut r: SealedReportRequest = read_json(&req, payload, limit)
        .await
        .map_err(|e| json(e, lang))?;
    let files_in = std::mem::take(&mut r.files);
    let parts = r.parts(files_in).map_err(|e| json(e, lang))?;
    let meta = clear_fields(
        &state,
        &r.unit,
        &r.category,
        &r.accused_role,
        &r.selection_stage,
        r.real_name,
    )
    .await
    .map_err(|e| json(e, lang))?;
    let (day, receipt) = state
        .filing
        .file_sealed(parts.into_report(meta), Utc::now())
        .await
        .map_err(|e| json(e, lang))?;
    let due = state
        .filing
        .policy
        .due(DeadlineKind::Route, day, &state.filing.calendar);
    Ok(HttpResponse::Created().json(SealedFiled {
        received_on: state.filing.policy.local_date(day),
        deadline: state.deadline_date(due),
        receipt: receipt.into(),
    }))
}

/// The status with every item sealed, found by the token.
#[utoipa::path(
    post, path = "/api/v1/sealed/status", operation_id = "sealed_status", request_body = TokenRequest,
    responses((status = 200, description = "Where the report is; messages and file descriptions as sealed", body = SealedStatus))
)]
pub async fn status(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = state.admit_sealed(&req, Limiters::lookup)?;
    let request: TokenRequest = read_json(&req, payload, 1024)
        .await
        .map_err(|e| json(e, lang))?;
    let token = token(&request.token).map_err(|e| json(e, lang))?;
    let filing = &state.filing;
    let (located, mut view) = filing
        .find_by_token(&token)
        .await
        .map_err(|e| json(e, lang))?;
    sunlight_filing::Filing::own_material(&mut view);
    let now = Utc::now();
    let rating = filing
        .rating_state(&view, now)
        .await
        .map_err(|e| json(e, lang))?;
    let share = filing.share(&token).map_err(|e| json(e, lang))?;
    let id = filing.message_id(now);
    let mut out = SealedStatus::new(&view, &located, &share, id, &rating, &filing.policy);
    out.display = display(&state, lang, &view, &rating);
    // Best effort, as on the page without script: a log that cannot be
    // read hides the entry, never the status.
    let inclusion = filing.report_inclusion(&view).await;
    out.inclusion = inclusion.ok().flatten().as_ref().map(Into::into);
    Ok(HttpResponse::Ok().json(out))
}

/// The status page's words and dates for `view`.
fn display(
    state: &AppState,
    lang: Lang,
    view: &ReporterView,
    rating: &sunlight_filing::RatingState,
) -> StatusDisplay {
    let t = crate::i18n::catalog(lang);
    let (rated, _, objection_hint) = crate::pages::rating_view(state, lang, rating);
    StatusDisplay {
        rated,
        objection_hint,
        stage: t
            .get(&format!("stage.{}", view.case.stage.as_str()))
            .to_owned(),
        received: state.local_date(view.case.received_at),
        deadline: view.open_entry.as_ref().map_or_else(
            || t.get("status.no_deadline").to_owned(),
            |e| state.deadline_date(e.due_at),
        ),
        message_times: view
            .messages
            .iter()
            .map(|m| state.local_time(m.created_at))
            .collect(),
    }
}

/// A follow-up message (and files) sealed in the browser.
#[utoipa::path(
    post, path = "/api/v1/sealed/messages", operation_id = "sealed_add_message", request_body = SealedMessageRequest,
    responses((status = 201, description = "Stored with the report, as sealed", body = SealedStored))
)]
pub async fn add_message(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = state.admit_sealed(&req, Limiters::message)?;
    let _big = big_body_permit(&req).await;
    let limit = sealed_body_limit(&state);
    let mut r: SealedMessageRequest = read_json(&req, payload, limit)
        .await
        .map_err(|e| json(e, lang))?;
    let files_in = std::mem::take(&mut r.files);
    let m = r.parts(files_in).map_err(|e| json(e, lang))?;
    let (located, _) = state
        .filing
        .find_by_token(&m.token)
        .await
        .map_err(|e| json(e, lang))?;
    let day = state
        .filing
        .add_sealed_message(&located, m.case, m.id, m.body, m.files, Utc::now())
        .await
        .map_err(|e| json(e, lang))?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(SealedStored {
        received_on: state.filing.policy.local_date(day),
    }))
}

/// The reporter rates the feedback; an objection, sealed in the browser
/// like a follow-up, asks the unit above for a re-examination.
#[utoipa::path(
    post, path = "/api/v1/sealed/rating", operation_id = "sealed_rate", request_body = SealedRatingRequest,
    responses((status = 201, description = "Recorded (the day only); with an objection, the unit above re-examines the case", body = RatingStored))
)]
pub async fn rate(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = state.admit_sealed(&req, Limiters::message)?;
    let limit = state.filing.limits.message_chars.saturating_mul(8) + 16 * 1024;
    let request: SealedRatingRequest = read_json(&req, payload, limit)
        .await
        .map_err(|e| json(e, lang))?;
    let r = request.parts().map_err(|e| json(e, lang))?;
    let filing = &state.filing;
    let (located, view) = filing
        .find_by_token(&r.token)
        .await
        .map_err(|e| json(e, lang))?;
    // The rating answers the feedback of the case the status showed: after
    // a merge since, the reporter has not seen what they would rate.
    if r.case != located.case_id {
        let stale = IntakeError::Sealed(sunlight_filing::SealedRefusal::StaleId);
        return Err(json(stale, lang));
    }
    let objected = r.objection.is_some();
    let objection = r
        .objection
        .map(|(message_id, sealed_body)| ObjectionDraft::Sealed {
            located: &located,
            sealed_for: r.case,
            message_id,
            sealed_body,
        });
    filing
        .rate(&view, r.rating, objection, Utc::now())
        .await
        .map_err(|e| json(e, lang))?;
    Ok(HttpResponse::Created().json(RatingStored {
        objection: objected,
    }))
}
