//! The JSON API: the same behaviour as the pages, for programs. Errors are
//! `{"error": {"code", "message"}}` with the message in the caller's
//! language; the OpenAPI document is generated from these declarations.

pub mod contract;
mod dto;
pub mod sealed;
mod sealed_dto;

pub(crate) use dto::ReportRequest;
use dto::{
    Accused, CodeRequest, FilingReceipt, HistoryOut, MessageOut, MessageRequest, MessageStored,
    RatingOut, RatingRequest, RatingStored, ReceiptLeafOut, ReceiptResponse, Reporter,
    StatusResponse, UnitOut,
};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use sunlight_core::i18n::Lang;
use sunlight_core::report::validate_message;
use sunlight_core::{Channel, TrackingCode};
use utoipa::OpenApi;
use zeroize::Zeroizing;

use crate::error::{Failure, Format, IntakeError, Oversize};
use crate::guard::Limiters;
use crate::i18n;
use crate::input::{media_type, read_body, refuse_declared_oversize, require_identity_coding};
use crate::state::AppState;

fn json(error: impl Into<IntakeError>, lang: Lang) -> Failure {
    Failure {
        error: error.into(),
        lang,
        format: Format::Json,
    }
}

/// Reads a JSON body of at most `limit` bytes into `T`, strictly.
async fn read_json<T: for<'de> Deserialize<'de>>(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<T, IntakeError> {
    if media_type(req.headers()) != "application/json" {
        return Err(IntakeError::UnsupportedMediaType);
    }
    require_identity_coding(req.headers())?;
    let text = u64::try_from(limit).unwrap_or(u64::MAX);
    refuse_declared_oversize(req.headers(), text, Oversize::Text(text))?;
    let body = read_body(payload, limit).await?;
    parse_json(&body)
}

/// Parses a whole JSON body into `T`, strictly: UTF-8, no lists, no
/// unknown fields, and an error that never quotes what was sent.
pub(crate) fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, IntakeError> {
    if std::str::from_utf8(body).is_err() {
        return Err(IntakeError::BadEncoding);
    }
    if has_array(body) {
        return Err(IntakeError::Malformed(
            "a JSON object is expected; no field of this API is a list".into(),
        ));
    }
    // serde's own message can quote what was sent; the answer names only
    // the kind of problem and where (docs/LOGGING.md: never echo input).
    serde_json::from_slice(body).map_err(|e| {
        let kind = match e.classify() {
            serde_json::error::Category::Data => "fields or types do not match the API",
            serde_json::error::Category::Eof => "the JSON ends too early",
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                "the JSON is not well-formed"
            }
        };
        IntakeError::Malformed(format!("{kind} (line {}, column {})", e.line(), e.column()))
    })
}

/// Whether a JSON text holds a `[` outside its strings. No request of this
/// API has a list anywhere, and serde would otherwise read an array into a
/// struct by position (`["gd", "other", …]` filed as a report).
fn has_array(body: &[u8]) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'[' {
            return true;
        }
    }
    false
}

/// File a report.
#[utoipa::path(
    post, path = "/api/v1/reports", request_body = ReportRequest,
    responses((status = 201, description = "Sealed and stored (synced to disk): the tracking code, shown once", body = ReceiptResponse))
)]
pub async fn create_report(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = state.admit(&req, Limiters::submission, Format::Json)?;
    let limit = state.filing.limits.max_text_bytes().saturating_mul(2);
    let request: ReportRequest = read_json(&req, payload, limit)
        .await
        .map_err(|e| json(e, lang))?;
    let draft = request.into_draft();
    let valid = state
        .filing
        .validate(&draft, Channel::Web)
        .await
        .map_err(|e| json(e, lang))?
        .map_err(|errors| json(IntakeError::Invalid(errors), lang))?;
    let now = Utc::now();
    let prepared = state
        .filing
        .prepare(&valid, now)
        .await
        .map_err(|e| json(e, lang))?;
    let (code, receipt) = state
        .filing
        .file(prepared, valid, Vec::new())
        .await
        .map_err(|e| json(e, lang))?;
    Ok(HttpResponse::Created().json(ReceiptResponse {
        tracking_code: code.to_string(),
        receipt: receipt.into(),
    }))
}

fn parse_code(raw: &str, lang: Lang) -> Result<TrackingCode, Failure> {
    TrackingCode::parse(raw).map_err(|e| json(IntakeError::from(e), lang))
}

/// Status of a report by its tracking code.
#[utoipa::path(
    post, path = "/api/v1/status", request_body = CodeRequest,
    responses((status = 200, description = "Where the report is, and the messages staff sent", body = StatusResponse))
)]
pub async fn status(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = state.admit(&req, Limiters::lookup, Format::Json)?;
    let request: CodeRequest = read_json(&req, payload, 1024)
        .await
        .map_err(|e| json(e, lang))?;
    let raw = Zeroizing::new(request.code);
    let code = parse_code(&raw, lang)?;
    let (_, status) = state
        .filing
        .status(&code)
        .await
        .map_err(|e| json(e, lang))?;
    Ok(HttpResponse::Ok().json(StatusResponse::new(&status, &state.filing.policy)))
}

/// The largest JSON body that carries one message of the longest allowed
/// text (a character is at most 4 bytes, 8 when escaped) and a code.
fn message_body_limit(state: &AppState) -> usize {
    state
        .filing
        .limits
        .message_chars
        .saturating_mul(8)
        .saturating_add(4096)
}

/// A reply or added information from the reporter.
#[utoipa::path(
    post, path = "/api/v1/status/messages", request_body = MessageRequest,
    responses((status = 201, description = "Sealed and stored with the report", body = MessageStored))
)]
pub async fn add_message(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = state.admit(&req, Limiters::message, Format::Json)?;
    let limit = message_body_limit(&state);
    let request: MessageRequest = read_json(&req, payload, limit)
        .await
        .map_err(|e| json(e, lang))?;
    let raw = Zeroizing::new(request.code);
    let body = Zeroizing::new(request.body);
    let code = parse_code(&raw, lang)?;
    let text = validate_message(&body, &state.filing.limits)
        .map_err(|e| json(IntakeError::Invalid(vec![e]), lang))?;
    let (found, _) = state.filing.find(&code).await.map_err(|e| json(e, lang))?;
    let now = Utc::now();
    state
        .filing
        .add_message(&found, state.filing.message_id(now), &text, Vec::new(), now)
        .await
        .map_err(|e| json(e, lang))?;
    Ok(
        HttpResponse::build(StatusCode::CREATED).json(MessageStored {
            received_at: state.filing.arrival_day(now),
        }),
    )
}

/// The reporter rates the feedback; an objection asks for a re-examination.
#[utoipa::path(
    post, path = "/api/v1/status/rating", request_body = RatingRequest,
    responses((status = 201, description = "Recorded (the day only); with an objection, the unit above re-examines the case", body = RatingStored))
)]
pub async fn rate(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = state.admit(&req, Limiters::message, Format::Json)?;
    let limit = message_body_limit(&state);
    let request: RatingRequest = read_json(&req, payload, limit)
        .await
        .map_err(|e| json(e, lang))?;
    let raw = Zeroizing::new(request.code);
    let objection = request.objection.map(Zeroizing::new);
    let code = parse_code(&raw, lang)?;
    let rating: sunlight_core::Rating = request
        .rating
        .parse()
        .map_err(|_| json(IntakeError::InvalidRating, lang))?;
    let objection = objection.as_deref().map(String::as_str);
    let (_, outcome) = crate::pages::rate_by_code(&state, &code, Some(rating), objection)
        .await
        .map_err(|e| json(e, lang))?;
    outcome.map_err(|e| json(e, lang))?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(RatingStored {
        objection: objection.is_some_and(|o| !o.trim().is_empty()),
    }))
}

/// The unit tree.
#[utoipa::path(get, path = "/api/v1/units", responses((status = 200, description = "Every unit a report can be addressed to", body = [UnitOut])))]
pub async fn units(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Failure> {
    let lang = i18n::lang_of(&req);
    let units = state
        .filing
        .store
        .public_units()
        .await
        .map_err(|e| json(IntakeError::from(e), lang))?;
    let out: Vec<UnitOut> = units.into_iter().map(UnitOut::from).collect();
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Sunlight public intake API",
        description = "File reports about violations in cadre selection, follow them with the tracking code. Everything sent is sealed on arrival; no address or client metadata is stored."
    ),
    paths(
        create_report,
        status,
        add_message,
        rate,
        units,
        sealed::params,
        sealed::prepare,
        sealed::create,
        sealed::status,
        sealed::add_message,
        sealed::rate,
        crate::log::proof,
        crate::log::consistency
    ),
    components(schemas(
        ReportRequest,
        Accused,
        Reporter,
        ReceiptResponse,
        FilingReceipt,
        ReceiptLeafOut,
        CodeRequest,
        StatusResponse,
        HistoryOut,
        MessageOut,
        MessageRequest,
        MessageStored,
        RatingRequest,
        RatingStored,
        RatingOut,
        UnitOut,
        sealed_dto::SealingParams,
        sealed_dto::PrepareRequest,
        sealed_dto::PrepareResponse,
        sealed_dto::SealedFileIn,
        sealed_dto::SealedReportRequest,
        sealed_dto::SealedFiled,
        sealed_dto::TokenRequest,
        sealed_dto::SealedMessageOut,
        sealed_dto::SealedFileOut,
        sealed_dto::SealedStatus,
        sealed_dto::SealedMessageRequest,
        sealed_dto::SealedStored,
        sealed_dto::StatusDisplay,
        sealed_dto::SealedRatingRequest,
        sealed_dto::SealedObjectionIn,
        crate::log::InclusionOut,
        crate::log::ConsistencyOut
    ))
)]
pub struct ApiDoc;

/// The document, completed from the error table (`api/contract.rs`).
pub async fn openapi(req: HttpRequest) -> Result<HttpResponse, Failure> {
    let doc = contract::document()
        .map_err(|e| json(IntakeError::Internal(e.to_string()), i18n::lang_of(&req)))?;
    Ok(HttpResponse::Ok().json(doc))
}
