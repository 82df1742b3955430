//! `/admin`: the admin's page of the unit's staff, the unit tree, the mail
//! outbox's problems and the intake's onion address, and its forms — add a
//! member, disable, enable or reset one (the same as the JSON API's), send
//! a refused mail again.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{FixedOffset, Utc};
use serde::Deserialize;
use sunlight_core::i18n::Lang;
use sunlight_core::{Role, UnitId};
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
    pub unit: String,
    pub active: bool,
    /// Whether the member has a second factor to reset.
    pub totp: bool,
}

impl StaffLine {
    fn new(lang: Lang, s: StaffRow) -> Self {
        Self {
            id: s.id.to_string(),
            email: s.email,
            role: i18n::word(lang, "role", s.role.as_str()),
            unit: s.unit.to_string(),
            active: !s.disabled,
            totp: s.totp_sealed.is_some(),
        }
    }

    pub fn totp_reset_path(&self) -> String {
        format!("/admin/staff/{}/totp-reset", self.id)
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
    /// In the admin's jurisdiction: they may add staff and rotate its key.
    pub ours: bool,
}

impl UnitLine {
    pub fn rotate_path(&self) -> String {
        format!("/admin/units/{}/rotate-key", self.id)
    }
}

/// What an admin just created, shown this once: a member's first
/// secrets, or a unit's new recovery key after a key rotation.
pub struct Created {
    pub email: String,
    pub password: Zeroizing<String>,
    pub totp: Option<Zeroizing<String>>,
    pub recovery: Option<Zeroizing<String>>,
}

impl From<NewStaffSecrets> for Created {
    fn from(secrets: NewStaffSecrets) -> Self {
        Self {
            email: secrets.staff.email.clone(),
            password: secrets.password,
            totp: secrets.totp,
            recovery: None,
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
    rotated: Option<String>,
    email: String,
    unit: String,
}

impl Shown {
    fn ok(created: Option<Created>) -> Self {
        Self {
            status: StatusCode::OK,
            errors: Vec::new(),
            created,
            rotated: None,
            email: String::new(),
            unit: String::new(),
        }
    }

    fn refused(status: StatusCode, reason: String, email: String) -> Self {
        Self {
            status,
            errors: vec![reason],
            created: None,
            rotated: None,
            email,
            unit: String::new(),
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
    /// A key rotation's outcome, shown once.
    rotated: Option<String>,
    units: Vec<UnitLine>,
    /// The units a member can be added to.
    unit_choices: Vec<Opt>,
    email: String,
    mail: sunlight_store::OutboxStatus,
    mail_problems: Vec<MailLine>,
    /// The intake's onion address, when configured or read from Tor.
    onion: Option<String>,
    /// The warning when open deadlines reach a year without an official
    /// holiday file.
    provisional: Option<String>,
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
            rotated: shown.rotated,
            unit_choices: tree_order(units.clone())
                .into_iter()
                .filter(|(u, _)| viewer.session.jurisdiction.contains(&u.id))
                .map(|(u, _)| Opt {
                    selected: u.id.as_str() == shown.unit,
                    label: u.display_name(lang == Lang::En).to_owned(),
                    value: u.id.to_string(),
                })
                .collect(),
            units: tree_order(units)
                .into_iter()
                .map(|(u, depth)| UnitLine {
                    mine: u.id == viewer.session.unit,
                    ours: viewer.session.jurisdiction.contains(&u.id),
                    id: u.id.to_string(),
                    name: u.display_name(lang == Lang::En).to_owned(),
                    level: i18n::word(lang, "level", u.level.as_str()),
                    depth,
                })
                .collect(),
            email: shown.email,
            onion: state.onion.clone(),
            provisional: provisional_warning(&viewer.ui("/admin"), state).await?,
        })
    }
}

async fn provisional_warning(ui: &Ui, state: &AppState) -> Result<Option<String>, TriageError> {
    let years: Vec<String> = state
        .triage
        .provisional_years()
        .await?
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok((!years.is_empty()).then(|| {
        ui.t("admin.calendar_provisional")
            .replace("{years}", &years.join(", "))
    }))
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
    unit: String,
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
    let StaffForm {
        csrf,
        email,
        role,
        unit,
    } = form.into_inner();
    viewer.check_csrf(&csrf)?;
    // No unit chosen: the admin's own.
    let unit_id = Some(unit.trim())
        .filter(|u| !u.is_empty())
        .map(UnitId::parse)
        .transpose();
    let (Ok(role), Ok(unit_id)) = (role.parse::<Role>(), unit_id) else {
        let reason = i18n::catalog(viewer.lang).get("errors.role_invalid");
        let shown = Shown::refused(StatusCode::UNPROCESSABLE_ENTITY, reason.to_owned(), email);
        return admin_page(&viewer, &state, shown).await;
    };
    let added = state
        .triage
        .add_staff(&viewer.session, unit_id.as_ref(), &email, role, Utc::now())
        .await;
    let shown = match added.map_err(TriageError::from) {
        Ok(secrets) => Shown {
            status: StatusCode::CREATED,
            ..Shown::ok(Some(secrets.into()))
        },
        Err(e @ (TriageError::Invalid(_) | TriageError::Conflict(_))) => Shown {
            unit,
            ..Shown::refused(e.status(), e.message(viewer.lang), email)
        },
        Err(e) => return Err(viewer.fail(e)),
    };
    admin_page(&viewer, &state, shown).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CsrfForm {
    pub(super) csrf: String,
}

/// `POST /admin/staff/{id}/{disable|enable|reset|totp-reset}`: then shows the admin
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
    if !matches!(
        action.as_str(),
        "disable" | "enable" | "reset" | "totp-reset"
    ) {
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
                recovery: None,
            })
        }
        "totp-reset" => {
            state.triage.reset_second_factor(session, id, now).await?;
            None
        }
        _ => return Err(TriageError::NotFound),
    })
}

/// `POST /admin/units/{id}/rotate-key`: replaces the unit's key pair, then
/// shows the admin page with the outcome (and the unit's new recovery key,
/// once). The admin's own session ends if the unit is their own.
pub async fn admin_rotate_key(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    viewer.check_csrf(&form.csrf)?;
    let unit = UnitId::parse(&path.into_inner()).map_err(|_| viewer.fail(TriageError::NotFound))?;
    let done = state
        .triage
        .rotate_unit_key(&viewer.session, &unit, Utc::now())
        .await
        .map_err(TriageError::from);
    let shown = match done {
        Ok(r) => {
            state.sessions.end_unit(&unit);
            let t = i18n::catalog(viewer.lang);
            let args = [
                ("unit", unit.as_str()),
                ("members", &r.members.to_string()),
                ("left_out", &r.left_out.to_string()),
            ];
            Shown {
                rotated: Some(t.format("admin.rotated", &args)),
                created: r.recovery.map(|rk| Created {
                    email: unit.to_string(),
                    password: Zeroizing::new(String::new()),
                    totp: None,
                    recovery: Some(rk.reveal()),
                }),
                ..Shown::ok(None)
            }
        }
        Err(e @ (TriageError::Conflict(_) | TriageError::NotFound | TriageError::Forbidden)) => {
            Shown::refused(e.status(), e.message(viewer.lang), String::new())
        }
        Err(e) => return Err(viewer.fail(e)),
    };
    admin_page(&viewer, &state, shown).await
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
