//! Replacing a one-time password: until it is done, every page leads
//! here; members with a second factor leave with a fresh TOTP secret.

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
    next: String,
}

pub async fn password_form(viewer: Viewer) -> Result<HttpResponse, PageError> {
    let page = PasswordPage {
        ui: viewer.ui("/password"),
        error: None,
        done: false,
        totp: None,
        next: String::new(),
    };
    Ok(render(StatusCode::OK, viewer.lang, &page))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordForm {
    csrf: String,
    new_password: String,
    repeat: String,
}

impl std::fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordForm(<redacted>)")
    }
}

/// Replaces the password; members with a second factor see their new TOTP
/// secret once.
pub async fn password_submit(
    viewer: Viewer,
    state: web::Data<AppState>,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let PasswordForm {
        csrf,
        new_password,
        repeat,
    } = form.into_inner();
    viewer.check_csrf(&csrf)?;
    let new_password = Zeroizing::new(new_password);
    let repeat = Zeroizing::new(repeat);
    let t = i18n::catalog(viewer.lang);
    let again = |status: StatusCode, error: String| {
        render(
            status,
            viewer.lang,
            &PasswordPage {
                ui: viewer.ui("/password"),
                error: Some(error),
                done: false,
                totp: None,
                next: String::new(),
            },
        )
    };
    if *new_password != *repeat {
        return Ok(again(
            StatusCode::UNPROCESSABLE_ENTITY,
            t.get("password.mismatch").to_owned(),
        ));
    }
    match state
        .triage
        .change_password(&viewer.session, &new_password, Utc::now())
        .await
    {
        Ok(totp) => {
            let page = PasswordPage {
                ui: viewer.ui("/password"),
                error: None,
                done: true,
                totp: totp.map(|s| s.to_string()),
                next: format!(
                    "{}?lang={}",
                    home_of(viewer.session.role),
                    viewer.lang.param()
                ),
            };
            Ok(render(StatusCode::OK, viewer.lang, &page))
        }
        Err(e @ TriageError::Invalid(_)) => Ok(again(
            StatusCode::UNPROCESSABLE_ENTITY,
            i18n::error_message(viewer.lang, &e),
        )),
        Err(e) => Err(viewer.fail(e)),
    }
}
