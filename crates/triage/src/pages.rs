//! The staff HTML pages: sign-in, the queues, a case with one form per
//! allowed action, the desk for reports taken by phone, letter or visit,
//! and the admin page. Server-rendered, no JavaScript; every word comes
//! from `locales/`. Handlers stay thin: read the form, check the CSRF
//! field, call `Triage`, render or redirect (303 after every change).

mod admin;
mod audit;
mod case;
mod dates;
mod desk;
mod login;
mod password;
mod queue;
mod register;
mod search;
mod stats;
mod totp;

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sunlight_core::calendar::Calendar;
use sunlight_core::i18n::Lang;
use sunlight_core::policy::{DeadlineKind, Policy, Span};
use sunlight_core::{Category, Role, Stage, UnitId};
use sunlight_store::{QueueFilter, UnitRow};
use zeroize::Zeroizing;

pub use admin::{
    admin_add_staff, admin_retry_mail, admin_rotate_key, admin_show, admin_staff_action,
};
pub use audit::audit_show;
pub use case::{
    case_action, case_comment, case_export, case_legal_hold, case_message, case_show, hold_confirm,
};
use dates::{Countdown, countdown, local_day, local_time, owner_word};
pub use desk::{intake_form, intake_submit};
pub use login::{login_form, login_submit, logout, root};
pub use password::{password_form, password_submit, totp_confirm};
pub use queue::queue;
use queue::{QUEUES, QueueLine, admin_elsewhere, queue_line};
pub use register::register_show;
pub use search::{search_form, search_submit};
pub use stats::{stats_chart, stats_csv, stats_show, stats_xlsx};
pub use totp::{totp_enrol_confirm, totp_renew, totp_show};

use crate::error::TriageError;
use crate::i18n;
use crate::state::AppState;
use sunlight_casework::session::Session;

use sunlight_web::Frame;
pub(crate) use sunlight_web::{Opt, render, vocab_options};

/// The signed-in member, as the page frame shows them.
pub struct Me {
    pub email: String,
    pub role: Role,
    csrf: String,
}

impl Me {
    fn of(session: &Session) -> Self {
        Self {
            email: session.email.clone(),
            role: session.role,
            csrf: session.csrf().to_owned(),
        }
    }

    /// The CSRF token every state-changing form carries.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Admins manage staff and act on no case.
    pub fn works_cases(&self) -> bool {
        self.role != Role::Admin
    }

    pub fn takes_reports(&self) -> bool {
        matches!(self.role, Role::Intake | Role::Supervisor)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Admins and supervisors read their units' audit log.
    pub fn reads_audit(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Supervisor)
    }
}

/// What every page's frame needs: the shared frame (language, catalog,
/// the page's own path) and who is signed in.
pub struct Ui {
    frame: Frame,
    pub me: Option<Me>,
}

impl Ui {
    pub fn new(lang: Lang, path: impl Into<String>, me: Option<Me>) -> Self {
        Self {
            frame: i18n::frame(lang, path),
            me,
        }
    }
}

impl std::ops::Deref for Ui {
    type Target = Frame;

    fn deref(&self) -> &Frame {
        &self.frame
    }
}

fn unit_options(units: &[UnitRow], chosen: &str) -> Vec<Opt> {
    units
        .iter()
        .map(|u| Opt {
            value: u.id.to_string(),
            label: unit_label(units, &u.id),
            selected: u.id.as_str() == chosen,
        })
        .collect()
}

/// A failed page request: answered with a translated page (or, without a
/// session, a redirect to the sign-in page).
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct PageError {
    pub error: TriageError,
    pub lang: Lang,
}

impl PageError {
    pub fn new(error: TriageError, lang: Lang) -> Self {
        Self { error, lang }
    }
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage {
    ui: Ui,
    message: String,
    /// Where to go instead: `(href, label)`.
    link: Option<(String, String)>,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self.error {
            TriageError::NoSession
            | TriageError::PasswordChangeRequired
            | TriageError::TotpConfirmationRequired => StatusCode::SEE_OTHER,
            _ => self.error.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match &self.error {
            TriageError::NoSession => {
                return see_other(&format!("/login?lang={}", self.lang.param()));
            }
            TriageError::PasswordChangeRequired => {
                return see_other(&format!("/password?lang={}", self.lang.param()));
            }
            TriageError::TotpConfirmationRequired => {
                return see_other(&format!("/account/totp?lang={}", self.lang.param()));
            }
            TriageError::Internal(detail) => tracing::error!(error = %detail, "page failed"),
            TriageError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "database unavailable");
            }
            _ => {}
        }
        let page = ProblemPage {
            ui: Ui::new(self.lang, "/", None),
            message: self.error.message(self.lang),
            link: None,
        };
        render(self.error.status(), self.lang, &page)
    }
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// A signed-in member reading a page, and the page's language.
#[derive(Debug)]
pub struct Viewer {
    pub session: Arc<Session>,
    pub lang: Lang,
}

impl FromRequest for Viewer {
    type Error = PageError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, PageError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let lang = i18n::lang_of(&req);
            // Until a one-time password is replaced, only the password page
            // (and logout) may be used.
            let free = matches!(req.path(), "/password" | "/password/totp" | "/logout");
            // ...and until an authenticator is confirmed, its page too.
            let enrol = matches!(req.path(), "/account/totp" | "/account/totp/confirm");
            crate::state::current(&req)
                .await
                .and_then(|session| {
                    if free {
                        Ok(session)
                    } else if session.must_change_password() {
                        Err(TriageError::PasswordChangeRequired)
                    } else if enrol {
                        Ok(session)
                    } else if session.must_confirm_totp() {
                        Err(TriageError::TotpConfirmationRequired)
                    } else {
                        Ok(session)
                    }
                })
                .map(|session| Viewer { session, lang })
                .map_err(|e| PageError::new(e, lang))
        })
    }
}

impl Viewer {
    fn ui(&self, path: impl Into<String>) -> Ui {
        Ui::new(self.lang, path, Some(Me::of(&self.session)))
    }

    fn fail(&self, error: impl Into<TriageError>) -> PageError {
        PageError::new(error.into(), self.lang)
    }

    /// The form's `csrf` field against the session's token (constant time).
    fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        if self.session.csrf_matches(Some(sent)) {
            Ok(())
        } else {
            Err(self.fail(TriageError::Csrf))
        }
    }

    /// A same-site redirect that keeps the language.
    fn back_to(&self, path: &str) -> HttpResponse {
        see_other(&format!("{path}?lang={}", self.lang.param()))
    }
}

/// Where a member starts: the verify queue, or the admin page for admins.
fn home_of(role: Role) -> &'static str {
    match role {
        Role::Admin => "/admin",
        _ => "/queues/verify",
    }
}

/// The units of the member's jurisdiction, in tree order (parents first).
async fn jurisdiction_units(
    state: &AppState,
    session: &Session,
) -> Result<Vec<UnitRow>, TriageError> {
    let all = state.triage.store.units().await?;
    Ok(tree_order(all)
        .into_iter()
        .filter(|(u, _)| session.jurisdiction.contains(&u.id))
        .map(|(u, _)| u)
        .collect())
}

/// Units with their depth, each parent followed by its children.
fn tree_order(units: Vec<UnitRow>) -> Vec<(UnitRow, usize)> {
    fn visit(
        parent: Option<&UnitId>,
        depth: usize,
        pool: &mut Vec<UnitRow>,
        out: &mut Vec<(UnitRow, usize)>,
    ) {
        let (children, rest): (Vec<_>, Vec<_>) = std::mem::take(pool)
            .into_iter()
            .partition(|u| u.parent.as_ref() == parent);
        *pool = rest;
        for child in children {
            let id = child.id.clone();
            out.push((child, depth));
            visit(Some(&id), depth + 1, pool, out);
        }
    }
    let mut pool = units;
    pool.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let mut out = Vec::new();
    visit(None, 0, &mut pool, &mut out);
    // Units whose parent is missing still show, at the top level.
    out.extend(pool.into_iter().map(|u| (u, 0)));
    out
}

/// A case's number, or "not numbered yet" and the id's random end (as
/// staff mails name it).
fn number_label(
    lang: Lang,
    number: Option<&sunlight_core::CaseNumber>,
    id: sunlight_core::CaseId,
) -> String {
    number.map_or_else(
        || {
            let short = sunlight_casework::mail::short_case(id);
            format!(
                "{} · {short}",
                i18n::catalog(lang).get("case.unnumbered_short")
            )
        },
        ToString::to_string,
    )
}

/// "天河区委组织部 (gd-gz-tianhe)", or the bare id of an unknown unit.
fn unit_label(units: &[UnitRow], id: &UnitId) -> String {
    units
        .iter()
        .find(|u| u.id == *id)
        .map_or_else(|| id.to_string(), |u| format!("{} ({})", u.name, u.id))
}

// ---------------------------------------------------------------- sign-in

// ---------------------------------------------------------------- queues

// ---------------------------------------------------------------- the rest

pub async fn stylesheet() -> HttpResponse {
    sunlight_web::stylesheet(include_str!("../static/style.css"))
}

/// 404 as a page (JSON under `/api/`, answered in `lib.rs`).
pub fn not_found_page(req: &HttpRequest) -> PageError {
    PageError::new(TriageError::NotFound, i18n::lang_of(req))
}

pub fn method_not_allowed_page(req: &HttpRequest) -> PageError {
    PageError::new(TriageError::MethodNotAllowed, i18n::lang_of(req))
}

/// What an unreadable form becomes: a translated 400/413/415 page.
pub fn form_error(err: actix_web::error::UrlencodedError, req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::UrlencodedError as U;
    let error = match err {
        U::Overflow { .. } | U::UnknownLength => TriageError::TooLarge,
        U::ContentType => TriageError::UnsupportedMediaType,
        other => TriageError::Malformed(other.to_string()),
    };
    PageError::new(error, i18n::lang_of(req)).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        // Local (UTC+8) wall time to an instant.
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap() - Duration::hours(8)
    }

    #[test]
    fn countdowns_count_the_days_the_stage_is_measured_in() {
        let policy = Policy::cn_12380();
        let cal = Calendar::cn();
        // Handle is counted in working days: due at the end of Friday 2026-03-13.
        let due = at(2026, 3, 14, 0);
        let c = countdown(
            Lang::En,
            &policy,
            &cal,
            Stage::Handle,
            due,
            at(2026, 3, 10, 9),
        );
        assert_eq!(c.text, "due in 3 working days");
        assert!(!c.overdue);
        assert_eq!(c.date, "2026-03-13");
        let c = countdown(
            Lang::En,
            &policy,
            &cal,
            Stage::Handle,
            due,
            at(2026, 3, 13, 9),
        );
        assert_eq!(c.text, "due today");
        // Monday and Tuesday after: two working days late.
        let c = countdown(
            Lang::ZhCn,
            &policy,
            &cal,
            Stage::Handle,
            due,
            at(2026, 3, 17, 9),
        );
        assert_eq!(c.text, "逾期 2 个工作日");
        assert!(c.overdue);
        // Verify is counted in calendar days.
        let c = countdown(
            Lang::ZhCn,
            &policy,
            &cal,
            Stage::Verify,
            due,
            at(2026, 3, 10, 9),
        );
        assert_eq!(c.text, "3 天后到期");
        let c = countdown(
            Lang::En,
            &policy,
            &cal,
            Stage::Verify,
            due,
            at(2026, 3, 15, 9),
        );
        assert_eq!(c.text, "2 days overdue");
        let c = countdown(
            Lang::En,
            &policy,
            &cal,
            Stage::Verify,
            due,
            at(2026, 3, 14, 9),
        );
        assert_eq!(c.text, "1 day overdue");
    }
}
