//! Triage errors and their one mapping to HTTP: `{"error": {"code",
//! "message"}}` for the API. A refused action says why (409/403/422); an
//! internal error is opaque to the client and logged once.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use sunlight_casework::CaseworkError;
pub use sunlight_casework::Invalid;
use sunlight_core::case::{Refusal, RefusalClass};
use sunlight_core::i18n::Lang;
use sunlight_store::{Clash, StoreError};

use crate::i18n;

sunlight_web::error_kinds! {
    /// Every answer of the staff API that is not a success: the one table
    /// the statuses, the codes and the OpenAPI documents come from.
    pub enum Answer {
        Malformed = (400, "malformed_body", "the JSON, query or path could not be read"),
        BadCredentials = (401, "bad_credentials", "sign-in failed: wrong email, password or code"),
        NoSession = (401, "no_session", "not signed in, or the session ended"),
        Csrf = (403, "csrf", "the X-CSRF-Token header is missing or wrong"),
        PasswordChangeRequired = (403, "password_change_required", "replace the one-time password first (POST /api/v1/password)"),
        TotpConfirmationRequired = (403, "totp_confirmation_required", "confirm the new authenticator secret first (POST /api/v1/totp/confirm)"),
        Forbidden = (403, "forbidden", "the member's role may not do this"),
        WrongCurrentCredentials = (403, "wrong_current_credentials", "the current password or the authenticator code is wrong"),
        RefusedForbidden = (403, "refused", "the state machine refuses the member: not the owner, a role that may not, or the same member rechecking"),
        NoSuchCase = (404, "no_such_case", "no such case in the member's units"),
        NotFound = (404, "not_found", "no such resource"),
        MethodNotAllowed = (405, "method_not_allowed", "the path does not take this method"),
        RefusedConflict = (409, "refused", "the case's stage or state does not allow the action now (owned, closed, extended, …); the message says why"),
        Conflict = (409, "conflict", "the write lost to another: the case changed, a hold was settled, the email is taken, …"),
        TooLarge = (413, "payload_too_large", "the body is over 256 KiB"),
        UnsupportedMediaType = (415, "unsupported_media_type", "the body must be application/json"),
        RefusedInvalid = (422, "refused", "the action's own values are refused (an empty text, too long an extension, a merge into itself)"),
        Invalid = (422, "invalid", "a value is not acceptable; `error.detail` names it in English"),
        Internal = (500, "internal", "the server failed; it is logged"),
        Unavailable = (503, "unavailable", "the database does not answer"),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("sign-in failed: wrong email, password or code")]
    BadCredentials,
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
    Conflict(Clash),
    #[error("{0}")]
    Invalid(Invalid),
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

/// The catalog key of an invalid request, by what is wrong.
fn invalid_key(invalid: &Invalid) -> &'static str {
    match invalid {
        Invalid::UnitId | Invalid::NotYourUnit => "errors.not_your_unit",
        Invalid::Email => "errors.email_invalid",
        Invalid::Body(_) => "errors.body_invalid",
        Invalid::PasswordLength | Invalid::PasswordUnchanged => "errors.password_invalid",
        Invalid::ReplyTo => "errors.reply_to_invalid",
        Invalid::NoticeTo => "errors.notice_to_missing",
        Invalid::NoReporterKey => "errors.no_reporter_key",
        Invalid::Filter => "errors.filter_invalid",
        Invalid::Limit => "errors.limit_invalid",
        Invalid::RegisterFilter(_) => "errors.register_filter_invalid",
        Invalid::AuditFilter(_) => "errors.audit_filter_invalid",
        Invalid::SearchEmpty => "errors.search_empty",
        Invalid::SearchUnit => "errors.search_unit",
        Invalid::SearchLength => "errors.search_length",
        Invalid::Category | Invalid::Channel | Invalid::Role => "errors.invalid",
        Invalid::Report(_) | Invalid::Store(_) => "errors.invalid",
    }
}

/// The catalog key of a clash, by what the write lost to.
fn clash_key(clash: Clash) -> &'static str {
    match clash {
        Clash::Taken => "errors.conflict_taken",
        Clash::HoldSettled => "errors.conflict_hold",
        Clash::EmailTaken => "errors.email_taken",
        Clash::MergeWouldWiden => "errors.merge_widens",
        Clash::NoPendingTotp => "errors.no_pending_totp",
        Clash::AlreadyDisabled => "errors.already_disabled",
        Clash::NotDisabled => "errors.not_disabled",
        Clash::TaskDone => "errors.task_done",
        Clash::KeyChanged => "errors.key_changed",
        Clash::NoEscrow => "errors.no_escrow",
        Clash::SecondFactorUnauthenticated => "errors.second_factor_unauthenticated",
        Clash::LegalHoldUnchanged => "errors.legal_hold_unchanged",
        Clash::Purged => "errors.purged",
        Clash::Unreadable => "errors.unreadable",
        Clash::NotSealedToUnit => "errors.not_sealed_to_unit",
        Clash::CaseChanged | Clash::Exists(_) | Clash::AlreadyRated => "errors.conflict",
    }
}

impl TriageError {
    /// What a page or the API says about the error, in the reader's
    /// language: fixed, translated wording that never repeats input.
    pub fn message(&self, lang: Lang) -> String {
        let t = i18n::catalog(lang);
        let key = match self {
            Self::Refused(r) => return i18n::refusal(lang, r),
            Self::BadCredentials => "errors.bad_credentials",
            Self::NoSession => "errors.no_session",
            Self::Csrf => "errors.csrf",
            Self::PasswordChangeRequired => "errors.password_change_required",
            Self::TotpConfirmationRequired => "errors.totp_confirmation_required",
            Self::Forbidden => "errors.forbidden",
            Self::WrongCurrentCredentials => "errors.wrong_current_credentials",
            Self::NoSuchCase => "errors.no_such_case",
            Self::NotFound => "errors.not_found",
            Self::Conflict(clash) => clash_key(*clash),
            // Which fields, and what is wrong with each, in fixed words.
            Self::Invalid(Invalid::Report(fields)) if !fields.is_empty() => {
                let list: Vec<String> = fields.iter().map(|e| i18n::field_error(lang, e)).collect();
                return format!("{} {}", t.get("errors.invalid"), list.join(" "));
            }
            Self::Invalid(invalid) => invalid_key(invalid),
            Self::Malformed(_) => "errors.malformed",
            Self::UnsupportedMediaType => "errors.unsupported_media_type",
            Self::TooLarge => "errors.too_large",
            Self::MethodNotAllowed => "errors.method_not_allowed",
            Self::Unavailable(_) => "errors.unavailable",
            Self::Internal(_) => "errors.internal",
        };
        t.get(key).to_owned()
    }

    /// Which answer this is: its status and code come from the table.
    pub fn kind(&self) -> Answer {
        match self {
            Self::BadCredentials => Answer::BadCredentials,
            Self::NoSession => Answer::NoSession,
            Self::Csrf => Answer::Csrf,
            Self::PasswordChangeRequired => Answer::PasswordChangeRequired,
            Self::TotpConfirmationRequired => Answer::TotpConfirmationRequired,
            Self::Forbidden => Answer::Forbidden,
            Self::WrongCurrentCredentials => Answer::WrongCurrentCredentials,
            Self::NoSuchCase => Answer::NoSuchCase,
            Self::NotFound => Answer::NotFound,
            Self::Refused(r) => match r.class() {
                RefusalClass::Conflict => Answer::RefusedConflict,
                RefusalClass::Forbidden => Answer::RefusedForbidden,
                RefusalClass::Invalid => Answer::RefusedInvalid,
            },
            Self::Conflict(_) => Answer::Conflict,
            Self::Invalid(_) => Answer::Invalid,
            Self::Malformed(_) => Answer::Malformed,
            Self::UnsupportedMediaType => Answer::UnsupportedMediaType,
            Self::TooLarge => Answer::TooLarge,
            Self::MethodNotAllowed => Answer::MethodNotAllowed,
            Self::Unavailable(_) => Answer::Unavailable,
            Self::Internal(_) => Answer::Internal,
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.kind().error().status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn code(&self) -> &'static str {
        self.kind().error().code
    }

    fn log(&self) {
        match self {
            Self::Internal(detail) => tracing::error!(error = %detail, "request failed"),
            Self::Unavailable(detail) => tracing::warn!(error = %detail, "database unavailable"),
            _ => {}
        }
    }
}

impl From<CaseworkError> for TriageError {
    fn from(e: CaseworkError) -> Self {
        match e {
            CaseworkError::BadCredentials => Self::BadCredentials,
            CaseworkError::NoSession => Self::NoSession,
            CaseworkError::Forbidden => Self::Forbidden,
            CaseworkError::WrongCurrentCredentials => Self::WrongCurrentCredentials,
            CaseworkError::NoSuchCase => Self::NoSuchCase,
            CaseworkError::NotFound => Self::NotFound,
            CaseworkError::Refused(r) => Self::Refused(r),
            CaseworkError::Conflict(clash) => Self::Conflict(clash),
            CaseworkError::Invalid(invalid) => Self::Invalid(invalid),
            CaseworkError::Unavailable(detail) => Self::Unavailable(detail),
            CaseworkError::Internal(detail) => Self::Internal(detail),
        }
    }
}

impl From<StoreError> for TriageError {
    fn from(e: StoreError) -> Self {
        CaseworkError::from(e).into()
    }
}

impl From<Refusal> for TriageError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl TriageError {
    /// `{"error": {"code", "message"}}` in `lang`; for an invalid request
    /// the fixed English `detail` names the field too.
    fn json(&self, lang: Lang) -> HttpResponse {
        let mut body =
            serde_json::json!({"error": {"code": self.code(), "message": self.message(lang)}});
        if let (Self::Invalid(invalid), Some(e)) =
            (self, body.get_mut("error").and_then(|e| e.as_object_mut()))
        {
            e.insert(
                "detail".into(),
                serde_json::Value::String(invalid.to_string()),
            );
        }
        let mut res = HttpResponse::build(self.status());
        res.insert_header(("Content-Language", lang.tag()));
        if let Self::NoSession = self {
            res.insert_header(("WWW-Authenticate", "Cookie"));
        }
        res.json(body)
    }
}

impl ResponseError for TriageError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    /// Logged here, once; `answer` below gives the client the same answer
    /// in its own language.
    fn error_response(&self) -> HttpResponse {
        self.log();
        self.json(Lang::default())
    }
}

impl sunlight_web::Problem for TriageError {
    fn answer(&self, req: &actix_web::HttpRequest) -> HttpResponse {
        self.json(i18n::lang_of(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sunlight_core::case::ActionKind;

    /// The status and code of every variant, pinned: the match has no
    /// wildcard, so a new variant cannot be added without its row here.
    fn pinned(e: &TriageError) -> (u16, &'static str) {
        match e {
            TriageError::BadCredentials => (401, "bad_credentials"),
            TriageError::NoSession => (401, "no_session"),
            TriageError::Csrf => (403, "csrf"),
            TriageError::PasswordChangeRequired => (403, "password_change_required"),
            TriageError::TotpConfirmationRequired => (403, "totp_confirmation_required"),
            TriageError::Forbidden => (403, "forbidden"),
            TriageError::WrongCurrentCredentials => (403, "wrong_current_credentials"),
            TriageError::NoSuchCase => (404, "no_such_case"),
            TriageError::NotFound => (404, "not_found"),
            TriageError::Refused(Refusal::AlreadyOwned) => (409, "refused"),
            TriageError::Refused(Refusal::NotOwner { .. }) => (403, "refused"),
            TriageError::Refused(_) => (422, "refused"),
            TriageError::Conflict(_) => (409, "conflict"),
            TriageError::Invalid(_) => (422, "invalid"),
            TriageError::Malformed(_) => (400, "malformed_body"),
            TriageError::UnsupportedMediaType => (415, "unsupported_media_type"),
            TriageError::TooLarge => (413, "payload_too_large"),
            TriageError::MethodNotAllowed => (405, "method_not_allowed"),
            TriageError::Unavailable(_) => (503, "unavailable"),
            TriageError::Internal(_) => (500, "internal"),
        }
    }

    #[test]
    fn every_error_has_its_status_code_and_its_own_words() {
        let secret = "SECRET-library-detail";
        let clashes = [
            (Clash::Taken, "errors.conflict_taken"),
            (Clash::HoldSettled, "errors.conflict_hold"),
            (Clash::EmailTaken, "errors.email_taken"),
            (Clash::MergeWouldWiden, "errors.merge_widens"),
            (Clash::NoPendingTotp, "errors.no_pending_totp"),
            (Clash::AlreadyDisabled, "errors.already_disabled"),
            (Clash::NotDisabled, "errors.not_disabled"),
            (Clash::TaskDone, "errors.task_done"),
            (Clash::CaseChanged, "errors.conflict"),
            (Clash::Unreadable, "errors.unreadable"),
            (Clash::NotSealedToUnit, "errors.not_sealed_to_unit"),
            (Clash::Exists("unit"), "errors.conflict"),
            (
                Clash::SecondFactorUnauthenticated,
                "errors.second_factor_unauthenticated",
            ),
        ];
        let invalids = [
            (Invalid::UnitId, "errors.not_your_unit"),
            (Invalid::NotYourUnit, "errors.not_your_unit"),
            (Invalid::Email, "errors.email_invalid"),
            (Invalid::Body("problem.missing"), "errors.body_invalid"),
            (Invalid::PasswordLength, "errors.password_invalid"),
            (Invalid::PasswordUnchanged, "errors.password_invalid"),
            (Invalid::ReplyTo, "errors.reply_to_invalid"),
            (Invalid::NoticeTo, "errors.notice_to_missing"),
            (Invalid::NoReporterKey, "errors.no_reporter_key"),
            (Invalid::Category, "errors.invalid"),
            (Invalid::Channel, "errors.invalid"),
            (Invalid::Role, "errors.invalid"),
            (Invalid::Filter, "errors.filter_invalid"),
            (Invalid::Limit, "errors.limit_invalid"),
            (Invalid::SearchEmpty, "errors.search_empty"),
            (Invalid::SearchUnit, "errors.search_unit"),
            (Invalid::SearchLength, "errors.search_length"),
            (
                Invalid::RegisterFilter("from"),
                "errors.register_filter_invalid",
            ),
            (Invalid::Report(Vec::new()), "errors.invalid"),
            (Invalid::Store(secret), "errors.invalid"),
        ];
        let mut all = vec![
            TriageError::BadCredentials,
            TriageError::NoSession,
            TriageError::Csrf,
            TriageError::PasswordChangeRequired,
            TriageError::TotpConfirmationRequired,
            TriageError::Forbidden,
            TriageError::WrongCurrentCredentials,
            TriageError::NoSuchCase,
            TriageError::NotFound,
            TriageError::Refused(Refusal::AlreadyOwned),
            TriageError::Refused(Refusal::NotOwner {
                action: ActionKind::Verified,
            }),
            TriageError::Refused(Refusal::MergeIntoSelf),
            TriageError::Malformed(secret.into()),
            TriageError::UnsupportedMediaType,
            TriageError::TooLarge,
            TriageError::MethodNotAllowed,
            TriageError::Unavailable(secret.into()),
            TriageError::Internal(secret.into()),
        ];
        for (lang, t) in [Lang::ZhCn, Lang::En].map(|l| (l, i18n::catalog(l))) {
            for (clash, key) in clashes {
                assert_eq!(
                    TriageError::Conflict(clash).message(lang),
                    t.get(key),
                    "{clash:?}"
                );
            }
            for (invalid, key) in &invalids {
                let e = TriageError::Invalid(invalid.clone());
                assert_eq!(e.message(lang), t.get(key), "{invalid:?}");
            }
        }
        all.extend(clashes.map(|(c, _)| TriageError::Conflict(c)));
        all.extend(invalids.map(|(i, _)| TriageError::Invalid(i)));
        for e in &all {
            let (status, code) = pinned(e);
            assert_eq!(e.status().as_u16(), status, "{e:?}");
            assert_eq!(e.code(), code, "{e:?}");
            for lang in [Lang::ZhCn, Lang::En] {
                let message = e.message(lang);
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
