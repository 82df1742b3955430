//! Changing one's password (required after a one-time password): the
//! current password and, for members with a second factor, a fresh code
//! come with it. Members with a second factor leave with a new TOTP
//! secret, which replaces the old one once they confirm a code from it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{PageError, Ui, Viewer, home_of, render};
use crate::error::TriageError;
use crate::i18n;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    ui: Ui,
    error: Option<String>,
    done: bool,
    totp: Option<String>,
    /// A new TOTP secret waits for its first code.
    pending: bool,
    confirmed: bool,
    next: String,
}

/// What the page shows besides its frame.
#[derive(Default)]
struct Shown {
    error: Option<String>,
    done: bool,
    totp: Option<String>,
    pending: bool,
    confirmed: bool,
}

impl Shown {
    fn refused(error: String) -> Self {
        Self {
            error: Some(error),
            ..Self::default()
        }
    }
}

impl Viewer {
    fn password_page(&self, shown: Shown, status: StatusCode) -> HttpResponse {
        let page = PasswordPage {
            ui: self.ui("/password"),
            error: shown.error,
            done: shown.done,
            totp: shown.totp,
            pending: shown.pending,
            confirmed: shown.confirmed,
            next: format!("{}?lang={}", home_of(self.session.role), self.lang.param()),
        };
        render(status, self.lang, &page)
    }
}

pub async fn password_form(viewer: Viewer) -> Result<HttpResponse, PageError> {
    // A new secret shown at the change waits for its code: ask for it (a
    // member who lost it changes the password again for another).
    let waiting = viewer.session.must_confirm_totp() && !viewer.session.must_change_password();
    let shown = Shown {
        done: waiting,
        pending: waiting,
        ..Shown::default()
    };
    Ok(viewer.password_page(shown, StatusCode::OK))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordForm {
    csrf: String,
    current_password: String,
    totp: String,
    new_password: String,
    repeat: String,
}

impl std::fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordForm(<redacted>)")
    }
}

/// Replaces the password; members with a second factor see their new TOTP
/// secret once, with the form that confirms it.
pub async fn password_submit(
    viewer: Viewer,
    state: web::Data<AppState>,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    viewer.check_csrf(&form.csrf)?;
    let current = Zeroizing::new(form.current_password);
    let new_password = Zeroizing::new(form.new_password);
    if *new_password != *Zeroizing::new(form.repeat) {
        let mismatch = i18n::catalog(viewer.lang).get("password.mismatch");
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(viewer.password_page(Shown::refused(mismatch.to_owned()), status));
    }
    let code = Some(form.totp.trim()).filter(|c| !c.is_empty());
    let (gate, session) = (&state.gate, &viewer.session);
    let changed = state
        .triage
        .change_password(gate, session, &current, code, &new_password, Utc::now())
        .await;
    match changed.map_err(TriageError::from) {
        Ok(changed) => {
            state.sessions.end_member(session.staff_id, Some(session));
            let page = Shown {
                done: true,
                pending: changed.totp_pending.is_some(),
                totp: changed.totp_pending.map(|s| s.to_string()),
                ..Shown::default()
            };
            Ok(viewer.password_page(page, StatusCode::OK))
        }
        Err(e @ (TriageError::Invalid(_) | TriageError::WrongCurrentCredentials)) => {
            let page = Shown::refused(e.message(viewer.lang));
            Ok(viewer.password_page(page, e.status()))
        }
        Err(e) => Err(viewer.fail(e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TotpForm {
    csrf: String,
    totp: String,
}

impl std::fmt::Debug for TotpForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpForm(<redacted>)")
    }
}

/// `POST /password/totp`: a code of the new secret makes it the one that
/// signs in.
pub async fn totp_confirm(
    viewer: Viewer,
    state: web::Data<AppState>,
    form: web::Form<TotpForm>,
) -> Result<HttpResponse, PageError> {
    viewer.check_csrf(&form.csrf)?;
    match state
        .triage
        .confirm_totp(&viewer.session, &form.totp, Utc::now())
        .await
        .map_err(TriageError::from)
    {
        // The authenticator page shows the recovery codes, once.
        Ok(codes) => viewer.totp_page(&state, StatusCode::OK, None, codes).await,
        Err(e @ (TriageError::WrongCurrentCredentials | TriageError::Conflict(_))) => {
            let page = Shown {
                done: true,
                pending: matches!(e, TriageError::WrongCurrentCredentials),
                error: Some(e.message(viewer.lang)),
                ..Shown::default()
            };
            Ok(viewer.password_page(page, e.status()))
        }
        Err(e) => Err(viewer.fail(e)),
    }
}
