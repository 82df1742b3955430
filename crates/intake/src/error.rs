//! The intake side's errors and their one mapping to HTTP. Every error a
//! client can cause is a 4xx with a translated message; internal errors are
//! a bare 500/503 for the client and one log line here, without content.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use sunlight_core::code::CodeError;
use sunlight_core::crypto::CryptoError;
use sunlight_core::i18n::Lang;
use sunlight_core::report::{FieldError, Limits};
use sunlight_store::StoreError;

use askama::Template;
use sunlight_web::{Frame, render, size_limit};

use crate::i18n;

sunlight_web::error_kinds! {
    /// Every answer of the public side that is not a success: the one
    /// table the statuses, the codes and the OpenAPI document come from.
    pub enum Answer {
        Malformed = (400, "malformed_body", "the body could not be read as the API's JSON (or form)"),
        BadEncoding = (400, "bad_encoding", "the text is not UTF-8"),
        UnknownField = (400, "unknown_field", "a field the API does not have"),
        DuplicateField = (400, "duplicate_field", "a field sent twice"),
        AttachmentOrder = (400, "attachment_order", "a file came before the fields it belongs to"),
        BrokenUpload = (400, "broken_upload", "the upload ended or broke off"),
        NotFound = (404, "not_found", "no such resource"),
        RatingNotYet = (409, "rating_not_yet", "no feedback has been given yet, so there is nothing to rate"),
        AlreadyRated = (409, "already_rated", "this feedback was rated already; a rating is given once"),
        ObjectionTooLate = (409, "objection_too_late", "the time to object to this feedback has passed"),
        NoUnitAbove = (409, "no_unit_above", "the report was handled by the highest unit of this service: there is no unit above it here to re-examine it"),
        UnknownCode = (404, "unknown_code", "no report has this tracking code"),
        SealingNotOffered = (404, "sealing_not_offered", "this deployment seals on the server only (its cipher suite is, or was, shangmi): send the report or the code itself"),
        MethodNotAllowed = (405, "method_not_allowed", "the path does not take this method"),
        TooLarge = (413, "payload_too_large", "the body is over a limit in force; the message names it"),
        UnsupportedMediaType = (415, "unsupported_media_type", "the body must be application/json, sent without content coding"),
        InvalidFields = (422, "invalid_fields", "fields to correct, listed in `error.fields`"),
        CheckDigit = (422, "check_digit", "the tracking code's check digit does not match (a mistyped digit)"),
        MalformedCode = (422, "malformed_code", "not a tracking code: five groups of four digits"),
        InvalidRating = (422, "invalid_rating", "rating: satisfied, basically_satisfied or dissatisfied"),
        SealedStale = (409, "sealed_stale", "the case or message id was not handed out today or yesterday: fetch a new one and seal again"),
        SealedMisaddressed = (422, "sealed_misaddressed", "an envelope is not addressed to exactly the keys of the report's units and the reporter, in order"),
        SealedMalformed = (422, "sealed_malformed", "a sealed item is malformed or over its size limit"),
        KeysReplaced = (409, "keys_replaced", "a unit's key was replaced while this was being filed (a member left): nothing was stored; send it again"),
        RateLimited = (429, "rate_limited", "too many requests from everyone at once; try again in a minute"),
        Internal = (500, "internal", "the server failed; it is logged without content"),
        Unavailable = (503, "unavailable", "the database does not answer"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    #[error("bad tracking code: {0}")]
    Code(CodeError),
    #[error("unknown tracking code")]
    UnknownCode,
    #[error("rate limited")]
    RateLimited,
    #[error("body too large")]
    TooLarge(Oversize),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("malformed body")]
    Malformed(String),
    #[error("text is not UTF-8")]
    BadEncoding,
    #[error("unknown field")]
    UnknownField(String),
    #[error("duplicate field")]
    DuplicateField(String),
    #[error("attachment before the fields it depends on")]
    AttachmentOrder,
    #[error("broken upload: {0}")]
    BrokenUpload(String),
    #[error("not found")]
    NotFound,
    #[error("rating refused: {0}")]
    Rating(sunlight_filing::RatingRefusal),
    #[error("not a rating")]
    InvalidRating,
    #[error("sealed material refused: {0}")]
    Sealed(sunlight_filing::SealedRefusal),
    /// Sealed by the server to a unit key replaced before it was stored.
    #[error("a unit key was replaced meanwhile")]
    KeysReplaced,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a body too large went over, so the message names that limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    /// The files of a report or a message (their count and size).
    Files,
    /// A body of text (a form, JSON, a text part) over this many bytes.
    Text(u64),
}

impl IntakeError {
    pub fn spool(e: std::io::Error) -> Self {
        Self::Internal(format!("attachment spool: {e}"))
    }

    /// Which answer this is: its status and code come from the table.
    pub fn kind(&self) -> Answer {
        match self {
            Self::Invalid(_) => Answer::InvalidFields,
            Self::Code(CodeError::CheckDigit) => Answer::CheckDigit,
            Self::Code(_) => Answer::MalformedCode,
            Self::UnknownCode => Answer::UnknownCode,
            Self::RateLimited => Answer::RateLimited,
            Self::TooLarge(_) => Answer::TooLarge,
            Self::UnsupportedMediaType => Answer::UnsupportedMediaType,
            Self::Malformed(_) => Answer::Malformed,
            Self::BadEncoding => Answer::BadEncoding,
            Self::UnknownField(_) => Answer::UnknownField,
            Self::DuplicateField(_) => Answer::DuplicateField,
            Self::AttachmentOrder => Answer::AttachmentOrder,
            Self::BrokenUpload(_) => Answer::BrokenUpload,
            Self::NotFound => Answer::NotFound,
            Self::Rating(sunlight_filing::RatingRefusal::NotYet) => Answer::RatingNotYet,
            Self::Rating(sunlight_filing::RatingRefusal::AlreadyRated) => Answer::AlreadyRated,
            Self::Rating(sunlight_filing::RatingRefusal::TooLate) => Answer::ObjectionTooLate,
            Self::Rating(sunlight_filing::RatingRefusal::NoUnitAbove) => Answer::NoUnitAbove,
            Self::InvalidRating => Answer::InvalidRating,
            Self::Sealed(sunlight_filing::SealedRefusal::StaleId) => Answer::SealedStale,
            Self::Sealed(sunlight_filing::SealedRefusal::Misaddressed) => {
                Answer::SealedMisaddressed
            }
            Self::Sealed(sunlight_filing::SealedRefusal::Malformed) => Answer::SealedMalformed,
            Self::Sealed(sunlight_filing::SealedRefusal::TooManyFiles) => Answer::TooLarge,
            Self::Sealed(sunlight_filing::SealedRefusal::NotOffered) => Answer::SealingNotOffered,
            Self::KeysReplaced => Answer::KeysReplaced,
            Self::MethodNotAllowed => Answer::MethodNotAllowed,
            Self::Unavailable(_) => Answer::Unavailable,
            Self::Internal(_) => Answer::Internal,
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.kind().error().status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The stable machine-readable code of the JSON error object.
    pub fn code(&self) -> &'static str {
        self.kind().error().code
    }

    /// The message for the person, in their language; `limits` are the
    /// ones in force, which a body too large is told.
    pub fn message(&self, lang: Lang, limits: &Limits) -> String {
        let t = i18n::catalog(lang);
        match self {
            Self::Invalid(errors) => {
                let lines: Vec<String> =
                    errors.iter().map(|e| i18n::field_error(lang, e)).collect();
                format!("{} {}", t.get("errors.title"), lines.join("; "))
            }
            Self::Code(CodeError::CheckDigit) => t.get("errors.check_digit").to_owned(),
            Self::Code(CodeError::WrongLength) => t.get("errors.code_length").to_owned(),
            Self::Code(_) => t.get("errors.code_chars").to_owned(),
            Self::UnknownCode => t.get("errors.unknown_code").to_owned(),
            Self::RateLimited => t.get("errors.rate_limited").to_owned(),
            Self::TooLarge(Oversize::Files) => i18n::too_large(lang, limits),
            Self::TooLarge(Oversize::Text(bytes)) => {
                t.format("errors.text_too_large", &[("size", &size_limit(*bytes))])
            }
            Self::UnsupportedMediaType => t.get("errors.unsupported_media_type").to_owned(),
            // The parser's own words may quote what was sent: never shown.
            Self::Malformed(_) => t.get("errors.bad_request").to_owned(),
            Self::BrokenUpload(_) => t.get("errors.bad_request").to_owned(),
            Self::BadEncoding => t.get("errors.bad_encoding").to_owned(),
            // The name is whatever the client sent: never shown back.
            Self::UnknownField(_) => t.get("errors.unknown_field").to_owned(),
            Self::DuplicateField(name) => t.format("errors.duplicate_field", &[("name", name)]),
            Self::AttachmentOrder => t.get("errors.attachment_order").to_owned(),
            Self::NotFound => t.get("errors.not_found").to_owned(),
            Self::Rating(sunlight_filing::RatingRefusal::NotYet) => {
                t.get("errors.rating_not_yet").to_owned()
            }
            Self::Rating(sunlight_filing::RatingRefusal::AlreadyRated) => {
                t.get("errors.already_rated").to_owned()
            }
            Self::Rating(sunlight_filing::RatingRefusal::TooLate) => {
                t.get("errors.objection_too_late").to_owned()
            }
            Self::Rating(sunlight_filing::RatingRefusal::NoUnitAbove) => {
                t.get("errors.no_unit_above").to_owned()
            }
            Self::InvalidRating => t.get("errors.rating_invalid").to_owned(),
            Self::Sealed(sunlight_filing::SealedRefusal::StaleId) => {
                t.get("errors.sealed_stale").to_owned()
            }
            Self::Sealed(sunlight_filing::SealedRefusal::TooManyFiles) => {
                i18n::too_large(lang, limits)
            }
            Self::Sealed(_) => t.get("errors.sealed_refused").to_owned(),
            Self::KeysReplaced => t.get("errors.keys_replaced").to_owned(),
            Self::MethodNotAllowed => t.get("errors.method_not_allowed").to_owned(),
            Self::Unavailable(_) => t.get("errors.unavailable").to_owned(),
            Self::Internal(_) => t.get("errors.internal").to_owned(),
        }
    }

    /// Logs server-side failures once; client errors are not logged (their
    /// details could carry what a reporter typed).
    fn log(&self) {
        match self {
            Self::Internal(detail) => tracing::error!(error = %detail, "request failed"),
            Self::Unavailable(detail) => tracing::warn!(error = %detail, "database unavailable"),
            _ => {}
        }
    }
}

impl From<StoreError> for IntakeError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            Self::Unavailable(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }
}

impl From<CryptoError> for IntakeError {
    fn from(e: CryptoError) -> Self {
        Self::Internal(format!("crypto: {e}"))
    }
}

impl From<sunlight_filing::FilingError> for IntakeError {
    fn from(e: sunlight_filing::FilingError) -> Self {
        use sunlight_filing::FilingError as F;
        match e {
            F::Invalid(fields) => Self::Invalid(fields),
            F::UnknownCode => Self::UnknownCode,
            F::Code(c) => c.into(),
            F::Store(StoreError::Conflict(sunlight_store::Clash::KeyChanged)) => Self::KeysReplaced,
            F::Store(s) => s.into(),
            F::Crypto(c) => c.into(),
            F::Rating(r) => Self::Rating(r),
            F::Sealed(r) => Self::Sealed(r),
            F::Internal(detail) => Self::Internal(detail),
        }
    }
}

impl From<CodeError> for IntakeError {
    fn from(e: CodeError) -> Self {
        match e {
            CodeError::Random => Self::Internal("random generator failed".into()),
            other => Self::Code(other),
        }
    }
}

/// How a failed request is answered: as a page or as a JSON error object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Json,
}

/// An error together with how to answer it.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct Failure {
    pub error: IntakeError,
    pub lang: Lang,
    pub format: Format,
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        self.error.status()
    }

    /// Logged here, once; `answer` below gives the client the answer with
    /// the limits this app runs with.
    fn error_response(&self) -> HttpResponse {
        self.error.log();
        self.respond(&Limits::default())
    }
}

impl Failure {
    fn respond(&self, limits: &Limits) -> HttpResponse {
        match self.format {
            Format::Json => json_error(&self.error, self.lang, limits),
            Format::Html => problem_page(&self.error, self.lang, limits),
        }
    }
}

impl sunlight_web::Problem for Failure {
    fn answer(&self, req: &actix_web::HttpRequest) -> HttpResponse {
        let limits = req
            .app_data::<actix_web::web::Data<Limits>>()
            .map(|limits| *limits.get_ref())
            .unwrap_or_default();
        self.respond(&limits)
    }
}

pub fn json_error(error: &IntakeError, lang: Lang, limits: &Limits) -> HttpResponse {
    let mut body = serde_json::json!({
        "error": { "code": error.code(), "message": error.message(lang, limits) }
    });
    if let (IntakeError::Invalid(fields), Some(obj)) =
        (error, body.get_mut("error").and_then(|e| e.as_object_mut()))
    {
        let list: Vec<_> = fields
            .iter()
            .map(|f| {
                serde_json::json!({
                    "field": f.field.as_str(),
                    "problem": f.problem,
                    "message": i18n::field_error(lang, f),
                })
            })
            .collect();
        obj.insert("fields".into(), serde_json::Value::Array(list));
    }
    HttpResponse::build(error.status())
        .insert_header(("Content-Language", lang.tag()))
        .json(body)
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage {
    ui: Frame,
    message: String,
}

/// The page for an error that is not about one form field.
pub fn problem_page(error: &IntakeError, lang: Lang, limits: &Limits) -> HttpResponse {
    let page = ProblemPage {
        ui: i18n::frame(lang, "/"),
        message: error.message(lang, limits),
    };
    render(error.status(), lang, &page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sunlight_core::report::{Field, Problem};

    /// The status and code of every variant, pinned: the match has no
    /// wildcard, so a new variant cannot be added without its row here.
    fn pinned(e: &IntakeError) -> (u16, &'static str) {
        match e {
            IntakeError::Invalid(_) => (422, "invalid_fields"),
            IntakeError::Code(CodeError::CheckDigit) => (422, "check_digit"),
            IntakeError::Code(_) => (422, "malformed_code"),
            IntakeError::UnknownCode => (404, "unknown_code"),
            IntakeError::RateLimited => (429, "rate_limited"),
            IntakeError::TooLarge(_) => (413, "payload_too_large"),
            IntakeError::UnsupportedMediaType => (415, "unsupported_media_type"),
            IntakeError::Malformed(_) => (400, "malformed_body"),
            IntakeError::BadEncoding => (400, "bad_encoding"),
            IntakeError::UnknownField(_) => (400, "unknown_field"),
            IntakeError::DuplicateField(_) => (400, "duplicate_field"),
            IntakeError::AttachmentOrder => (400, "attachment_order"),
            IntakeError::BrokenUpload(_) => (400, "broken_upload"),
            IntakeError::NotFound => (404, "not_found"),
            IntakeError::KeysReplaced => (409, "keys_replaced"),
            IntakeError::Rating(sunlight_filing::RatingRefusal::NotYet) => (409, "rating_not_yet"),
            IntakeError::Rating(sunlight_filing::RatingRefusal::AlreadyRated) => {
                (409, "already_rated")
            }
            IntakeError::Rating(sunlight_filing::RatingRefusal::TooLate) => {
                (409, "objection_too_late")
            }
            IntakeError::Rating(sunlight_filing::RatingRefusal::NoUnitAbove) => {
                (409, "no_unit_above")
            }
            IntakeError::InvalidRating => (422, "invalid_rating"),
            IntakeError::Sealed(sunlight_filing::SealedRefusal::StaleId) => (409, "sealed_stale"),
            IntakeError::Sealed(sunlight_filing::SealedRefusal::Misaddressed) => {
                (422, "sealed_misaddressed")
            }
            IntakeError::Sealed(sunlight_filing::SealedRefusal::Malformed) => {
                (422, "sealed_malformed")
            }
            IntakeError::Sealed(sunlight_filing::SealedRefusal::TooManyFiles) => {
                (413, "payload_too_large")
            }
            IntakeError::Sealed(sunlight_filing::SealedRefusal::NotOffered) => {
                (404, "sealing_not_offered")
            }
            IntakeError::MethodNotAllowed => (405, "method_not_allowed"),
            IntakeError::Unavailable(_) => (503, "unavailable"),
            IntakeError::Internal(_) => (500, "internal"),
        }
    }

    /// A store's refusal of a filing sealed to a rotated key is the
    /// reporter's "send it again", not a logged internal failure.
    #[test]
    fn a_key_replaced_while_filing_is_answered_as_such() {
        let e = IntakeError::from(sunlight_filing::FilingError::Store(StoreError::Conflict(
            sunlight_store::Clash::KeyChanged,
        )));
        assert_eq!((e.status().as_u16(), e.code()), (409, "keys_replaced"));
    }

    #[test]
    fn every_error_has_its_status_code_and_a_message_without_library_text() {
        let secret = "SECRET-library-detail";
        let all = [
            IntakeError::Invalid(vec![FieldError {
                field: Field::Narrative,
                problem: Problem::Missing,
            }]),
            IntakeError::Code(CodeError::CheckDigit),
            IntakeError::Code(CodeError::WrongLength),
            IntakeError::UnknownCode,
            IntakeError::RateLimited,
            IntakeError::TooLarge(Oversize::Files),
            IntakeError::TooLarge(Oversize::Text(1024)),
            IntakeError::UnsupportedMediaType,
            IntakeError::Malformed(secret.into()),
            IntakeError::BadEncoding,
            IntakeError::UnknownField(secret.into()),
            IntakeError::DuplicateField("x".into()),
            IntakeError::AttachmentOrder,
            IntakeError::BrokenUpload(secret.into()),
            IntakeError::Rating(sunlight_filing::RatingRefusal::NotYet),
            IntakeError::Rating(sunlight_filing::RatingRefusal::AlreadyRated),
            IntakeError::Rating(sunlight_filing::RatingRefusal::TooLate),
            IntakeError::Rating(sunlight_filing::RatingRefusal::NoUnitAbove),
            IntakeError::InvalidRating,
            IntakeError::Sealed(sunlight_filing::SealedRefusal::StaleId),
            IntakeError::Sealed(sunlight_filing::SealedRefusal::Misaddressed),
            IntakeError::Sealed(sunlight_filing::SealedRefusal::Malformed),
            IntakeError::Sealed(sunlight_filing::SealedRefusal::TooManyFiles),
            IntakeError::Sealed(sunlight_filing::SealedRefusal::NotOffered),
            IntakeError::NotFound,
            IntakeError::KeysReplaced,
            IntakeError::MethodNotAllowed,
            IntakeError::Unavailable(secret.into()),
            IntakeError::Internal(secret.into()),
        ];
        for e in &all {
            let (status, code) = pinned(e);
            assert_eq!(e.status().as_u16(), status, "{e:?}");
            assert_eq!(e.code(), code, "{e:?}");
            for lang in [Lang::ZhCn, Lang::En] {
                let message = e.message(lang, &Limits::default());
                assert!(
                    !message.is_empty() && !message.contains("errors."),
                    "{e:?}: {message}"
                );
                assert!(
                    !message.contains(secret),
                    "{e:?} shows its detail: {message}"
                );
            }
        }
    }
}
