//! `/admin`: the admin's page of the unit's staff, the unit tree, the mail
//! outbox's problems and the intake's onion address, and its forms — add a
//! member, disable, enable or reset one (the same as the JSON API's), send
//! a refused mail again.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{FixedOffset, Utc};
use serde::Deserialize;
use sunlight_core::Role;
use sunlight_core::i18n::Lang;
use sunlight_store::provision::NewStaffSecrets;
use sunlight_store::{MailProblem, StaffRow, UnitRow};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{Opt, PageError, Ui, Viewer, render, tree_order, vocab_options};
use crate::error::TriageError;
use crate::i18n;
use crate::state::AppState;

pub struct StaffLine {
    pub id: String,
    pub email: String,
    pub role: String,
    pub active: bool,
}

impl StaffLine {
    fn new(lang: Lang, s: StaffRow) -> Self {
        Self {
            id: s.id.to_string(),
            email: s.email,
            role: i18n::word(lang, "role", s.role.as_str()),
            active: !s.disabled,
        }
    }

    /// Where the row's first button posts: disable an active member,
    /// enable a disabled one.
    pub fn toggle_path(&self) -> String {
        let action = if self.active { "disable" } else { "enable" };
        format!("/admin/staff/{}/{action}", self.id)
    }

    pub fn reset_path(&self) -> String {
        format!("/admin/staff/{}/reset", self.id)
    }
}

pub struct UnitLine {
    pub id: String,
    pub name: String,
    pub level: String,
    pub depth: usize,
    pub mine: bool,
}

/// What an admin just created, shown this once.
pub struct Created {
    pub email: String,
    pub password: Zeroizing<String>,
    pub totp: Option<Zeroizing<String>>,
}

impl From<NewStaffSecrets> for Created {
    fn from(secrets: NewStaffSecrets) -> Self {
        Self {
            email: secrets.staff.email.clone(),
            password: secrets.password,
            totp: secrets.totp,
        }
    }
}

/// A failing mail on the admin page: who, what kind, how it went.
struct MailLine {
    id: String,
    recipient: String,
    kind: String,
    case_id: String,
    attempts: i32,
    error: String,
    when: String,
    failed: bool,
}

impl MailLine {
    fn new(p: MailProblem, offset: FixedOffset) -> Self {
        Self {
            id: p.id.to_string(),
            recipient: p.recipient,
            kind: p.kind.unwrap_or_default(),
            case_id: p.case_id.map(|c| c.to_string()).unwrap_or_default(),
            attempts: p.attempts,
            error: p.last_error.unwrap_or_default(),
            when: p
                .failed_at
                .unwrap_or(p.next_attempt_at)
                .with_timezone(&offset)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            failed: p.failed_at.is_some(),
        }
    }
}

/// How the admin page comes back after a form: its status, what was
/// refused, what was created (shown once) and the email to keep in the
/// add form.
pub(super) struct Shown {
    status: StatusCode,
    errors: Vec<String>,
    created: Option<Created>,
    email: String,
}

impl Shown {
    fn ok(created: Option<Created>) -> Self {
        Self {
            status: StatusCode::OK,
            errors: Vec::new(),
            created,
            email: String::new(),
        }
    }

    fn refused(status: StatusCode, reason: String, email: String) -> Self {
        Self {
            status,
            errors: vec![reason],
            created: None,
            email,
        }
    }
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    ui: Ui,
    errors: Vec<String>,
    staff: Vec<StaffLine>,
    roles: Vec<Opt>,
    created: Option<Created>,
    units: Vec<UnitLine>,
    email: String,
    mail: sunlight_store::OutboxStatus,
    mail_problems: Vec<MailLine>,
    /// The intake's onion address, when configured or read from Tor.
    onion: Option<String>,
}

impl AdminPage {
    async fn load(viewer: &Viewer, state: &AppState, shown: Shown) -> Result<Self, TriageError> {
        let lang = viewer.lang;
        let staff = state.triage.staff_list(&viewer.session).await?;
        let units: Vec<UnitRow> = state.triage.store.units().await?;
        let (mail, problems) = state.triage.mail_status(&viewer.session).await?;
        let offset = state.triage.policy.utc_offset();
        Ok(Self {
            mail,
            mail_problems: problems
                .into_iter()
                .map(|p| MailLine::new(p, offset))
                .collect(),
            ui: viewer.ui("/admin"),
            errors: shown.errors,
            staff: staff.into_iter().map(|s| StaffLine::new(lang, s)).collect(),
            roles: vocab_options(
                i18n::catalog(lang),
                "role",
                Role::ALL,
                Role::as_str,
                "verifier",
            ),
            created: shown.created,
            units: tree_order(units)
                .into_iter()
                .map(|(u, depth)| UnitLine {
                    mine: u.id == viewer.session.unit,
                    id: u.id.to_string(),
                    name: u.name,
                    level: i18n::word(lang, "level", u.level.as_str()),
                    depth,
                })
                .collect(),
            email: shown.email,
            onion: state.onion.clone(),
        })
    }
}

async fn admin_page(
    viewer: &Viewer,
    state: &AppState,
    shown: Shown,
) -> Result<HttpResponse, PageError> {
    let status = shown.status;
    let page = AdminPage::load(viewer, state, shown)
        .await
        .map_err(|e| viewer.fail(e))?;
    Ok(render(status, viewer.lang, &page))
}

/// `GET /admin`.
pub async fn admin_show(
    viewer: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    admin_page(&viewer, &state, Shown::ok(None)).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StaffForm {
    csrf: String,
    email: String,
    role: String,
}

impl std::fmt::Debug for StaffForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaffForm(<redacted>)")
    }
}

/// `POST /admin/staff`: adds a member to the admin's unit; the one-time
/// password and TOTP secret are on this one answer only.
pub async fn admin_add_staff(
    viewer: Viewer,
    state: web::Data<AppState>,
    form: web::Form<StaffForm>,
) -> Result<HttpResponse, PageError> {
    let StaffForm { csrf, email, role } = form.into_inner();
    viewer.check_csrf(&csrf)?;
    let Ok(role) = role.parse::<Role>() else {
        let reason = i18n::catalog(viewer.lang).get("errors.role_invalid");
        let shown = Shown::refused(StatusCode::UNPROCESSABLE_ENTITY, reason.to_owned(), email);
        return admin_page(&viewer, &state, shown).await;
    };
    let added = state
        .triage
        .add_staff(&viewer.session, &email, role, Utc::now())
        .await;
    let shown = match added.map_err(TriageError::from) {
        Ok(secrets) => Shown {
            status: StatusCode::CREATED,
            ..Shown::ok(Some(secrets.into()))
        },
        Err(e @ (TriageError::Invalid(_) | TriageError::Conflict(_))) => {
            Shown::refused(e.status(), e.message(viewer.lang), email)
        }
        Err(e) => return Err(viewer.fail(e)),
    };
    admin_page(&viewer, &state, shown).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CsrfForm {
    pub(super) csrf: String,
}

/// `POST /admin/staff/{id}/{disable|enable|reset}`: then shows the admin
/// page (with the one-time password, once, after a reset).
pub async fn admin_staff_action(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    viewer.check_csrf(&form.csrf)?;
    let (id, action) = path.into_inner();
    let id = Uuid::parse_str(&id).map_err(|_| viewer.fail(TriageError::NotFound))?;
    if !matches!(action.as_str(), "disable" | "enable" | "reset") {
        return Err(viewer.fail(TriageError::NotFound));
    }
    let done = staff_action(&viewer, &state, id, &action).await;
    let shown = match done {
        Ok(created) => {
            state.sessions.end_member(id, None);
            Shown::ok(created)
        }
        Err(e @ (TriageError::Conflict(_) | TriageError::NotFound | TriageError::Forbidden)) => {
            Shown::refused(e.status(), e.message(viewer.lang), String::new())
        }
        Err(e) => return Err(viewer.fail(e)),
    };
    admin_page(&viewer, &state, shown).await
}

/// Disables, enables or resets member `id`; a reset's new one-time
/// password comes back to be shown once.
async fn staff_action(
    viewer: &Viewer,
    state: &AppState,
    id: Uuid,
    action: &str,
) -> Result<Option<Created>, TriageError> {
    let (session, now) = (&viewer.session, Utc::now());
    Ok(match action {
        "disable" | "enable" => {
            let disable = action == "disable";
            state.triage.set_disabled(session, id, disable, now).await?;
            None
        }
        "reset" => {
            let r = state.triage.reset(session, id, now).await?;
            Some(Created {
                email: r.staff.email,
                password: r.one_time_password,
                totp: None,
            })
        }
        _ => return Err(TriageError::NotFound),
    })
}

/// `POST /admin/mail/{id}/retry`: sends a refused mail again.
pub async fn admin_retry_mail(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    viewer.check_csrf(&form.csrf)?;
    let id = Uuid::parse_str(&path.into_inner()).map_err(|_| viewer.fail(TriageError::NotFound))?;
    state
        .triage
        .retry_mail(&viewer.session, id, Utc::now())
        .await
        .map_err(|e| viewer.fail(e))?;
    Ok(HttpResponse::SeeOther()
        .insert_header((
            actix_web::http::header::LOCATION,
            viewer.ui("/admin").href("/admin#mail"),
        ))
        .finish())
}
