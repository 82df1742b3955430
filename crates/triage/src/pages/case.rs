//! The case page: the report opened with the session's unit key, its
//! metadata, attachments, messages, history and holds, and one form per
//! action the member may take now. Every form posts back here and ends in
//! a 303 to the case page; a refusal re-renders it with the reason.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use sunlight_core::case::Action;
use sunlight_core::report::{Limits, validate_message};
use sunlight_core::{CaseId, Outcome, Role, Stage};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{PageError, Viewer, render};
use crate::error::TriageError;
use crate::i18n;
use crate::state::AppState;
use sunlight_casework::service::ActionRequest;

mod export;
mod tasks;
mod view;

pub use export::case_export;

use view::CasePage;

fn case_id(viewer: &Viewer, raw: &str) -> Result<CaseId, PageError> {
    CaseId::parse(raw).map_err(|_| viewer.fail(TriageError::NoSuchCase))
}

/// Renders the case page, with `errors` on top when an action was refused.
async fn case_page(
    viewer: &Viewer,
    state: &AppState,
    id: CaseId,
    status: StatusCode,
    errors: Vec<String>,
) -> Result<HttpResponse, PageError> {
    let now = Utc::now();
    let view = state
        .triage
        .view(&viewer.session, id, now)
        .await
        .map_err(|e| viewer.fail(e))?;
    let units = state
        .triage
        .store
        .units()
        .await
        .map_err(|e| viewer.fail(e))?;
    let page = CasePage::new(viewer, state, &view, &units, errors, now);
    Ok(render(status, viewer.lang, &page))
}

/// Errors a member can cause and fix on the case page itself.
fn shown_on_case(e: &TriageError) -> bool {
    matches!(
        e,
        TriageError::Refused(_)
            | TriageError::Conflict(_)
            | TriageError::Invalid(_)
            | TriageError::Forbidden
    )
}

/// After a change: back to the case, or the case with the reason.
async fn answer(
    viewer: &Viewer,
    state: &AppState,
    id: CaseId,
    outcome: Result<(), impl Into<TriageError>>,
) -> Result<HttpResponse, PageError> {
    match outcome.map_err(Into::into) {
        Ok(()) => Ok(viewer.back_to(&format!("/cases/{id}"))),
        Err(e) if shown_on_case(&e) => {
            let reason = e.message(viewer.lang);
            case_page(viewer, state, id, e.status(), vec![reason]).await
        }
        Err(e) => Err(viewer.fail(e)),
    }
}

pub async fn case_show(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    if viewer.session.role == Role::Admin {
        return Ok(super::admin_elsewhere(&viewer, &format!("/cases/{path}")));
    }
    let id = case_id(&viewer, &path)?;
    case_page(&viewer, &state, id, StatusCode::OK, Vec::new()).await
}

/// The fields of every action form; each form sends its own.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ActionForm {
    csrf: String,
    action: String,
    outcome: String,
    to: String,
    decision: String,
    days: String,
    reason: String,
    question: String,
    message: String,
    into: String,
    note: String,
}

impl std::fmt::Debug for ActionForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionForm")
            .field("action", &self.action)
            .finish_non_exhaustive()
    }
}

impl ActionForm {
    /// The state-machine action the form asks for, or the catalog key of
    /// what is wrong with it.
    fn request(&mut self) -> Result<ActionRequest, &'static str> {
        let take = std::mem::take;
        let outcome = |raw: &str| raw.parse::<Outcome>().map_err(|_| "errors.outcome");
        let action = match self.action.as_str() {
            "route" => Action::Route,
            "claim" => Action::Claim,
            "accept" => Action::Accept,
            "refer" => Action::Refer {
                to: self.to.trim().parse().map_err(|_| "errors.referral_body")?,
                message: take(&mut self.message),
            },
            "ask_specifics" => Action::AskSpecifics {
                question: take(&mut self.question),
            },
            "knowingly_false" => Action::KnowinglyFalse {
                reason: take(&mut self.reason),
            },
            "verified" => Action::Verified {
                outcome: outcome(&self.outcome)?,
            },
            "transfer" => Action::Transfer {
                to: take(&mut self.to),
            },
            "rechecked" => Action::Rechecked {
                outcome: outcome(&self.outcome)?,
            },
            "decided" => Action::Decided {
                decision: take(&mut self.decision),
            },
            "extend" => Action::Extend {
                days: self.days.trim().parse().map_err(|_| "errors.days")?,
                reason: take(&mut self.reason),
            },
            "ask_reporter" => Action::AskReporter {
                question: take(&mut self.question),
            },
            "feedback" => Action::Feedback {
                message: take(&mut self.message),
            },
            "close" => Action::Close,
            "merge" => Action::Merge {
                into: CaseId::parse(self.into.trim()).map_err(|_| "errors.merge_target")?,
            },
            "reopen" => Action::Reopen {
                reason: take(&mut self.reason),
                to: match self.to.trim() {
                    "" => Stage::Verify,
                    raw => raw.parse().map_err(|_| "refusal.reopen_to")?,
                },
            },
            "uphold" => Action::Uphold {
                message: take(&mut self.message),
            },
            _ => return Err("errors.unknown_action"),
        };
        let note = take(&mut self.note);
        Ok(ActionRequest {
            action,
            note: Some(note).filter(|n| !n.trim().is_empty()),
        })
    }
}

/// `POST /cases/{id}/actions`: one state-machine action.
pub async fn case_action(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let mut form = form.into_inner();
    viewer.check_csrf(&form.csrf)?;
    let id = case_id(&viewer, &path)?;
    let request = match form.request() {
        Ok(r) => r,
        Err(key) => {
            let reason = i18n::catalog(viewer.lang).get(key).to_owned();
            return case_page(
                &viewer,
                &state,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![reason],
            )
            .await;
        }
    };
    let done = state
        .triage
        .act(&viewer.session, id, request, Utc::now())
        .await
        .map(|_| ());
    answer(&viewer, &state, id, done).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MessageForm {
    csrf: String,
    body: String,
    /// A case merged into this one, whose reporter alone is addressed;
    /// empty for the case's own reporter.
    to: String,
    /// A checked box: the message is the acknowledgement (受理告知).
    acknowledgement: Option<String>,
}

impl std::fmt::Debug for MessageForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MessageForm(<redacted>)")
    }
}

/// `POST /cases/{id}/messages`: a message the reporter reads with the code.
pub async fn case_message(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<MessageForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let (body, ack) = (Zeroizing::new(form.body), form.acknowledgement.is_some());
    viewer.check_csrf(&form.csrf)?;
    let id = case_id(&viewer, &path)?;
    if let Err(e) = validate_message(&body, &Limits::default()) {
        let reason = i18n::field_error(viewer.lang, &e);
        return case_page(
            &viewer,
            &state,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![reason],
        )
        .await;
    }
    let sent = match merged_reporter(&form.to) {
        Ok(to) => state
            .triage
            .message(&viewer.session, id, &body, to, ack, Utc::now())
            .await
            .map(|_| ())
            .map_err(TriageError::from),
        Err(e) => Err(e),
    };
    answer(&viewer, &state, id, sent).await
}

/// `POST /cases/{id}/comments`: an internal comment, staff only.
pub async fn case_comment(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<MessageForm>,
) -> Result<HttpResponse, PageError> {
    let MessageForm { csrf, body, .. } = form.into_inner();
    let body = Zeroizing::new(body);
    viewer.check_csrf(&csrf)?;
    let id = case_id(&viewer, &path)?;
    if let Err(e) = validate_message(&body, &Limits::default()) {
        // Named as the comment it is, never as a message to the reporter.
        let label = i18n::catalog(viewer.lang).get("case.comment_body");
        let reason = i18n::problem_with(viewer.lang, label, &e);
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return case_page(&viewer, &state, id, status, vec![reason]).await;
    }
    let noted = state
        .triage
        .comment(&viewer.session, id, &body, Utc::now())
        .await
        .map(|_| ())
        .map_err(TriageError::from);
    answer(&viewer, &state, id, noted).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LegalHoldForm {
    csrf: String,
    hold: String,
    reason: String,
}

impl std::fmt::Debug for LegalHoldForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LegalHoldForm(<redacted>)")
    }
}

/// `POST /cases/{id}/legal-hold`: a supervisor sets (`hold=on`) or lifts
/// (`hold=off`) the legal hold, with a reason.
pub async fn case_legal_hold(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<LegalHoldForm>,
) -> Result<HttpResponse, PageError> {
    let LegalHoldForm { csrf, hold, reason } = form.into_inner();
    viewer.check_csrf(&csrf)?;
    let id = case_id(&viewer, &path)?;
    let reason = Zeroizing::new(reason);
    let done = state
        .triage
        .legal_hold(&viewer.session, id, hold == "on", &reason, Utc::now())
        .await
        .map_err(TriageError::from);
    answer(&viewer, &state, id, done).await
}

/// The `to` field of a reply: empty for the case's own reporter.
fn merged_reporter(raw: &str) -> Result<Option<CaseId>, TriageError> {
    match raw.trim() {
        "" => Ok(None),
        raw => CaseId::parse(raw)
            .map(Some)
            .map_err(|_| TriageError::Invalid(crate::error::Invalid::ReplyTo)),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct HoldForm {
    csrf: String,
    notice_to: String,
}

impl std::fmt::Debug for HoldForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HoldForm(<redacted>)")
    }
}

/// `POST /cases/{id}/holds/{hold}/confirm`: the hold notice went out.
pub async fn hold_confirm(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<HoldForm>,
) -> Result<HttpResponse, PageError> {
    let HoldForm { csrf, notice_to } = form.into_inner();
    let notice_to = Zeroizing::new(notice_to);
    viewer.check_csrf(&csrf)?;
    let (raw_id, raw_hold) = path.into_inner();
    let id = case_id(&viewer, &raw_id)?;
    let hold = Uuid::parse_str(&raw_hold).map_err(|_| viewer.fail(TriageError::NotFound))?;
    if notice_to.trim().is_empty() {
        let reason = i18n::catalog(viewer.lang)
            .get("errors.notice_to_missing")
            .to_owned();
        return case_page(
            &viewer,
            &state,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![reason],
        )
        .await;
    }
    let done = state
        .triage
        .confirm_hold(&viewer.session, id, hold, &notice_to, Utc::now())
        .await;
    answer(&viewer, &state, id, done).await
}
