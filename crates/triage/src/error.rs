//! Triage errors and their one mapping to HTTP: `{"error": {"code",
//! "message"}}` for the API. A refused action says why (409/403/422); an
//! internal error is opaque to the client and logged once.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use sunlight_core::case::{Refusal, RefusalClass};
use sunlight_core::crypto::CryptoError;
use sunlight_store::StoreError;

tokio::task_local! {
    /// The language of the request being answered (set by `guard::wrap`).
    pub static REQUEST_LANG: sunlight_core::i18n::Lang;
}

#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("sign-in failed: wrong email, password or code")]
    BadCredentials,
    #[error("too many failed sign-ins; try again after {0}")]
    Locked(String),
    #[error("not signed in, or the session expired")]
    NoSession,
    #[error("the CSRF token is missing or wrong")]
    Csrf,
    #[error("change your one-time password first (POST /api/v1/password)")]
    PasswordChangeRequired,
    #[error("confirm your new authenticator secret first (POST /api/v1/totp/confirm)")]
    TotpConfirmationRequired,
    #[error("your role may not do this")]
    Forbidden,
    #[error("the current password or the authenticator code is wrong")]
    WrongCurrentCredentials,
    #[error("no such case in your units")]
    NoSuchCase,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Refused(Refusal),
    #[error("{0}")]
    Conflict(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("the request must be application/json")]
    UnsupportedMediaType,
    #[error("the request body is too large")]
    TooLarge,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the database is unavailable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl TriageError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadCredentials | Self::NoSession => StatusCode::UNAUTHORIZED,
            Self::Locked(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Csrf
            | Self::Forbidden
            | Self::PasswordChangeRequired
            | Self::TotpConfirmationRequired
            | Self::WrongCurrentCredentials => StatusCode::FORBIDDEN,
            Self::NoSuchCase | Self::NotFound => StatusCode::NOT_FOUND,
            Self::Refused(r) => match r.class() {
                RefusalClass::Conflict => StatusCode::CONFLICT,
                RefusalClass::Forbidden => StatusCode::FORBIDDEN,
                RefusalClass::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            },
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadCredentials => "bad_credentials",
            Self::Locked(_) => "locked",
            Self::NoSession => "no_session",
            Self::Csrf => "csrf",
            Self::PasswordChangeRequired => "password_change_required",
            Self::TotpConfirmationRequired => "totp_confirmation_required",
            Self::Forbidden => "forbidden",
            Self::WrongCurrentCredentials => "wrong_current_credentials",
            Self::NoSuchCase => "no_such_case",
            Self::NotFound => "not_found",
            Self::Refused(_) => "refused",
            Self::Conflict(_) => "conflict",
            Self::Invalid(_) => "invalid",
            Self::Malformed(_) => "malformed_body",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::TooLarge => "payload_too_large",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    fn log(&self) {
        match self {
            Self::Internal(detail) => tracing::error!(error = %detail, "request failed"),
            Self::Unavailable(detail) => tracing::warn!(error = %detail, "database unavailable"),
            _ => {}
        }
    }
}

impl From<StoreError> for TriageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Self::Conflict(what),
            StoreError::Invalid(what) => Self::Invalid(what.to_owned()),
            StoreError::NotFound(_) => Self::NotFound,
            e if e.is_unavailable() => Self::Unavailable(e.to_string()),
            e => Self::Internal(e.to_string()),
        }
    }
}

impl From<CryptoError> for TriageError {
    fn from(e: CryptoError) -> Self {
        Self::Internal(format!("crypto: {e}"))
    }
}

impl From<Refusal> for TriageError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl ResponseError for TriageError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let lang = REQUEST_LANG.try_with(|l| *l).unwrap_or_default();
        // The message in the caller's language; for field problems the
        // fixed English detail names the field too.
        let message = crate::i18n::error_message(lang, self);
        let mut body = serde_json::json!({"error": {"code": self.code(), "message": message}});
        if let (Self::Invalid(detail), Some(e)) =
            (self, body.get_mut("error").and_then(|e| e.as_object_mut()))
        {
            e.insert("detail".into(), serde_json::Value::String(detail.clone()));
        }
        let mut res = HttpResponse::build(self.status());
        res.insert_header(("Content-Language", lang.tag()));
        if let Self::NoSession = self {
            res.insert_header(("WWW-Authenticate", "Cookie"));
        }
        res.json(body)
    }
}
