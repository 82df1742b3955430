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
mod case_out;
mod cases;
pub mod contract;
mod intake;
mod legal_hold;
mod queues;
mod register;
mod search;
mod session;
mod staff;
mod stats;
mod tasks;
mod units;

pub use account::{
    change_password, confirm_totp, staff_disable, staff_enable, staff_reset, staff_totp_reset,
};
pub use cases::{attachment, case, claim, comment, confirm_hold, message, transition};
pub use intake::intake;
pub use legal_hold::legal_hold;
pub use queues::queue;
pub use register::register;
pub use search::search;
pub use session::{session_cookie, sign_in, sign_out};
pub use staff::{staff_add, staff_list};
pub use stats::stats;
pub use tasks::tasks;
pub use units::rotate_key;

use crate::cookie::cookie_name;
use crate::error::{Invalid, TriageError};
use crate::state::AppState;
use crate::state::current;
use sunlight_casework::ActionRequest;
use sunlight_casework::session::Session;

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

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Sunlight staff triage API",
        description = "Queues, cases and actions for organization department staff. Sign in with POST /api/v1/session; send the session cookie and, on state changes, X-CSRF-Token."
    ),
    paths(
        session::sign_in,
        session::sign_out,
        account::change_password,
        account::confirm_totp,
        account::staff_disable,
        account::staff_enable,
        account::staff_reset,
        account::staff_totp_reset,
        units::rotate_key,
        legal_hold::legal_hold,
        queues::queue,
        register::register,
        tasks::tasks,
        search::search,
        cases::claim,
        cases::case,
        cases::transition,
        cases::message,
        cases::comment,
        cases::attachment,
        cases::confirm_hold,
        intake::intake,
        staff::staff_list,
        staff::staff_add,
        stats::stats
    ),
    components(schemas(
        stats::StatsOut,
        stats::HotspotOut,
        stats::TrendPoint,
        session::SignIn,
        session::SessionOut,
        queues::QueueLine,
        register::RegisterLine,
        register::RegisterOut,
        cases::StageOut,
        case_out::CaseOut,
        case_out::ReportOut,
        case_out::StepOut,
        case_out::MessageOut,
        case_out::AttachmentOut,
        case_out::HoldOut,
        case_out::TaskOut,
        case_out::RatingOut,
        tasks::TaskLine,
        search::SearchIn,
        search::SearchLine,
        search::SearchOut,
        cases::MessageIn,
        cases::CommentIn,
        cases::Created,
        cases::HoldConfirm,
        cases::HoldConfirmed,
        intake::IntakeIn,
        intake::IntakeOut,
        intake::Accused,
        intake::Reporter,
        staff::StaffOut,
        staff::StaffIn,
        staff::StaffCreated,
        account::PasswordIn,
        account::PasswordOut,
        account::TotpIn,
        account::TotpConfirmed,
        account::ResetOut,
        units::RotatedOut,
        legal_hold::LegalHoldIn
    ))
)]
pub struct ApiDoc;

/// The document, completed from the error table (`api/contract.rs`).
pub async fn openapi(state: web::Data<AppState>) -> Result<HttpResponse, TriageError> {
    let doc = contract::document(state.secure).map_err(|e| TriageError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().json(doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Moving handlers between files must not rename what integrators see:
    /// every schema keeps its type's name and every route its path.
    #[test]
    fn the_document_keeps_its_schema_names_and_paths() {
        let doc = contract::document(false).expect("the document and the error table agree");
        let tls = contract::document(true).expect("the document and the error table agree");
        assert_eq!(
            tls["components"]["securitySchemes"]["session"]["name"],
            "__Host-sunlight_staff"
        );
        assert_eq!(
            doc["components"]["securitySchemes"]["session"]["name"],
            "sunlight_staff"
        );
        let schemas: Vec<&str> = doc["components"]["schemas"]
            .as_object()
            .expect("schemas")
            .keys()
            .map(String::as_str)
            .collect();
        for name in [
            "SignIn",
            "SessionOut",
            "QueueLine",
            "RegisterLine",
            "RegisterOut",
            "CaseOut",
            "StageOut",
            "ReportOut",
            "StepOut",
            "MessageOut",
            "AttachmentOut",
            "HoldOut",
            "TaskOut",
            "RatingOut",
            "TaskLine",
            "MessageIn",
            "Created",
            "HoldConfirm",
            "IntakeIn",
            "IntakeOut",
            "Accused",
            "Reporter",
            "StaffOut",
            "StaffIn",
            "StaffCreated",
            "PasswordIn",
            "PasswordOut",
            "TotpIn",
            "ResetOut",
            "RotatedOut",
            "StatsOut",
        ] {
            assert!(schemas.contains(&name), "{name} missing from {schemas:?}");
        }
        let paths = doc["paths"].as_object().expect("paths");
        assert_eq!(paths.len(), 23, "{:?}", paths.keys().collect::<Vec<_>>());
        assert!(paths.contains_key("/api/v1/cases/{id}/legal-hold"));
        assert!(paths.contains_key("/api/v1/units/{id}/rotate-key"));
        assert!(paths.contains_key("/api/v1/staff/{id}/totp-reset"));
        assert!(paths.contains_key("/api/v1/cases/{id}/transitions"));
        assert!(paths.contains_key("/api/v1/cases"));
    }
}
