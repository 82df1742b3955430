//! `/account/totp`: a member's authenticator. Enrolment shows the waiting
//! secret as text, as an `otpauth://` URI and as a QR code drawn on the
//! server (SVG, no script); one code from it makes it the one sign-in asks
//! for, and 10 recovery codes are shown once. With an authenticator in
//! place, the page asks for the password and a current code to set up a
//! new one (a new phone).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{PageError, Ui, Viewer, home_of, render};
use crate::error::TriageError;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "account_totp.html")]
struct TotpPage {
    ui: Ui,
    error: Option<String>,
    /// The waiting secret, its URI and the URI's QR code (SVG markup).
    secret: Option<String>,
    uri: Option<String>,
    qr: Option<String>,
    /// Recovery codes of a confirmation just made, shown this once.
    codes: Vec<String>,
    next: String,
}

/// The QR code of `uri` as an `<svg>` element (dark modules on white, a
/// quiet zone of four modules, 4 px a module).
fn qr_svg(uri: &str) -> Result<String, TriageError> {
    let code = qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| TriageError::Internal(format!("QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // The renderer writes a whole document; the page wants the element.
    Ok(svg
        .find("<svg")
        .and_then(|at| svg.get(at..))
        .unwrap_or_default()
        .to_owned())
}

impl Viewer {
    pub(super) async fn totp_page(
        &self,
        state: &AppState,
        status: StatusCode,
        error: Option<String>,
        codes: Vec<Zeroizing<String>>,
    ) -> Result<HttpResponse, PageError> {
        let enrolment = state
            .triage
            .enrolment(&self.session)
            .await
            .map_err(|e| self.fail(e))?;
        let (secret, uri, qr) = match enrolment.filter(|_| codes.is_empty()) {
            Some(e) => {
                let qr = qr_svg(&e.uri).map_err(|e| self.fail(e))?;
                (
                    Some(e.secret.to_string()),
                    Some(e.uri.to_string()),
                    Some(qr),
                )
            }
            None => (None, None, None),
        };
        let page = TotpPage {
            ui: self.ui("/account/totp"),
            error,
            secret,
            uri,
            qr,
            codes: codes.iter().map(|c| c.to_string()).collect(),
            next: format!("{}?lang={}", home_of(self.session.role), self.lang.param()),
        };
        Ok(render(status, self.lang, &page))
    }
}

/// `GET /account/totp`.
pub async fn totp_show(
    viewer: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    viewer
        .totp_page(&state, StatusCode::OK, None, Vec::new())
        .await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RenewForm {
    csrf: String,
    current_password: String,
    totp: String,
}

impl std::fmt::Debug for RenewForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RenewForm(<redacted>)")
    }
}

/// `POST /account/totp`: a new authenticator, proved by the password and
/// a current code; the page then shows the new secret.
pub async fn totp_renew(
    viewer: Viewer,
    state: web::Data<AppState>,
    form: web::Form<RenewForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    viewer.check_csrf(&form.csrf)?;
    let password = Zeroizing::new(form.current_password);
    let code = Some(form.totp.trim()).filter(|c| !c.is_empty());
    let done = state
        .triage
        .renew_second_factor(&state.gate, &viewer.session, &password, code, Utc::now())
        .await
        .map_err(TriageError::from);
    match done {
        Ok(()) => {
            viewer
                .totp_page(&state, StatusCode::OK, None, Vec::new())
                .await
        }
        Err(e @ TriageError::WrongCurrentCredentials) => {
            let message = e.message(viewer.lang);
            viewer
                .totp_page(&state, e.status(), Some(message), Vec::new())
                .await
        }
        Err(e) => Err(viewer.fail(e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ConfirmForm {
    csrf: String,
    totp: String,
}

impl std::fmt::Debug for ConfirmForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfirmForm(<redacted>)")
    }
}

/// `POST /account/totp/confirm`: one code of the waiting secret puts it in
/// force; the recovery codes are on this answer only.
pub async fn totp_enrol_confirm(
    viewer: Viewer,
    state: web::Data<AppState>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    viewer.check_csrf(&form.csrf)?;
    let done = state
        .triage
        .confirm_totp(&viewer.session, &form.totp, Utc::now())
        .await
        .map_err(TriageError::from);
    match done {
        Ok(codes) => viewer.totp_page(&state, StatusCode::OK, None, codes).await,
        Err(e @ (TriageError::WrongCurrentCredentials | TriageError::Conflict(_))) => {
            let message = e.message(viewer.lang);
            viewer
                .totp_page(&state, e.status(), Some(message), Vec::new())
                .await
        }
        Err(e) => Err(viewer.fail(e)),
    }
}
