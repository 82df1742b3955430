//! The desk pages: a report taken by phone, letter or visit (its new code
//! shown once, to read out to the caller), and the admin's page of staff
//! and units.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;
use sunlight_core::report::{Field, FieldError, Limits, Problem, ReportDraft};
use sunlight_core::{AccusedRole, Category, Channel, Role, SelectionStage};
use zeroize::Zeroizing;

use super::{
    Opt, PageError, Ui, Viewer, jurisdiction_units, render, tree_order, unit_options, vocab_options,
};
use crate::error::TriageError;
use crate::i18n;
use crate::state::AppState;

/// The channels a report reaches the desk by.
const DESK_CHANNELS: [Channel; 3] = [Channel::Phone, Channel::Letter, Channel::Visit];

/// One line of the error summary; `anchor` is the id of the field to fix.
pub struct ErrorLine {
    pub anchor: Option<&'static str>,
    pub text: String,
}

#[derive(Template)]
#[template(path = "intake.html")]
struct IntakePage<'a> {
    ui: Ui,
    errors: Vec<ErrorLine>,
    invalid_fields: Vec<&'static str>,
    form: &'a ReportDraft,
    channels: Vec<Opt>,
    units: Vec<Opt>,
    categories: Vec<Opt>,
    roles: Vec<Opt>,
    stages: Vec<Opt>,
    limits: Limits,
    narrative_hint: String,
}

impl IntakePage<'_> {
    fn invalid(&self, field: &str) -> bool {
        self.invalid_fields.contains(&field)
    }
}

fn may_take_reports(viewer: &Viewer) -> Result<(), PageError> {
    if matches!(viewer.session.role, Role::Intake | Role::Supervisor) {
        Ok(())
    } else {
        Err(viewer.fail(TriageError::Forbidden))
    }
}

async fn intake_page(
    viewer: &Viewer,
    state: &AppState,
    status: StatusCode,
    form: &ReportDraft,
    channel: &str,
    errors: &[FieldError],
) -> Result<HttpResponse, PageError> {
    let lang = viewer.lang;
    let units = jurisdiction_units(state, &viewer.session)
        .await
        .map_err(|e| viewer.fail(e))?;
    let limits = Limits::default();
    let page = IntakePage {
        ui: viewer.ui("/intake"),
        errors: errors
            .iter()
            .map(|e| ErrorLine {
                anchor: Some(e.field.as_str()),
                text: i18n::field_error(lang, e),
            })
            .collect(),
        invalid_fields: errors.iter().map(|e| e.field.as_str()).collect(),
        form,
        channels: vocab_options(
            crate::i18n::catalog(lang),
            "channel",
            &DESK_CHANNELS,
            Channel::as_str,
            channel,
        ),
        units: unit_options(&units, form.unit.trim()),
        categories: vocab_options(
            crate::i18n::catalog(lang),
            "category",
            Category::ALL,
            Category::as_str,
            &form.category,
        ),
        roles: vocab_options(
            crate::i18n::catalog(lang),
            "accused_role",
            AccusedRole::ALL,
            AccusedRole::as_str,
            &form.accused_role,
        ),
        stages: vocab_options(
            crate::i18n::catalog(lang),
            "selection_stage",
            SelectionStage::ALL,
            SelectionStage::as_str,
            &form.selection_stage,
        ),
        narrative_hint: i18n::catalog(lang).format(
            "report.narrative_hint",
            &[("max", &limits.narrative_chars.to_string())],
        ),
        limits,
    };
    Ok(render(status, lang, &page))
}

pub async fn intake_form(
    viewer: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    may_take_reports(&viewer)?;
    intake_page(
        &viewer,
        &state,
        StatusCode::OK,
        &ReportDraft::default(),
        "phone",
        &[],
    )
    .await
}

/// The staff report form (the public form's fields plus `channel`).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeForm {
    csrf: String,
    channel: String,
    unit: String,
    category: String,
    accused_name: String,
    accused_position: String,
    accused_role: String,
    selection_stage: String,
    narrative: String,
    real_name: Option<String>,
    reporter_name: String,
    reporter_phone: String,
}

impl std::fmt::Debug for IntakeForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntakeForm(<redacted>)")
    }
}

#[derive(Template)]
#[template(path = "intake_done.html")]
struct IntakeDone {
    ui: Ui,
    code: Zeroizing<String>,
    case_href: String,
}

pub async fn intake_submit(
    viewer: Viewer,
    state: web::Data<AppState>,
    form: web::Form<IntakeForm>,
) -> Result<HttpResponse, PageError> {
    let f = form.into_inner();
    viewer.check_csrf(&f.csrf)?;
    may_take_reports(&viewer)?;
    let channel_raw = f.channel;
    let draft = ReportDraft {
        unit: f.unit,
        category: f.category,
        accused_name: f.accused_name,
        accused_position: f.accused_position,
        accused_role: f.accused_role,
        selection_stage: f.selection_stage,
        narrative: f.narrative,
        real_name: f
            .real_name
            .is_some_and(|v| matches!(v.as_str(), "on" | "true" | "1" | "yes")),
        reporter_name: f.reporter_name,
        reporter_phone: f.reporter_phone,
    };
    let channel = channel_raw
        .parse::<Channel>()
        .ok()
        .filter(|c| DESK_CHANNELS.contains(c));
    let checked = draft.validate(channel.unwrap_or(Channel::Phone), &Limits::default());
    let mut errors = match &checked {
        Ok(valid) if !viewer.session.jurisdiction.contains(&valid.unit) => vec![FieldError {
            field: Field::Unit,
            problem: Problem::NoSuchUnit,
        }],
        Ok(_) => Vec::new(),
        Err(errors) => errors.clone(),
    };
    if channel.is_none() {
        errors.insert(
            0,
            FieldError {
                field: Field::Channel,
                problem: Problem::UnknownValue,
            },
        );
    }
    let valid = match checked {
        Ok(valid) if errors.is_empty() => valid,
        _ => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return intake_page(&viewer, &state, status, &draft, &channel_raw, &errors).await;
        }
    };
    let (code, id) = state
        .triage
        .file_report(&viewer.session, valid, Utc::now())
        .await
        .map_err(|e| viewer.fail(e))?;
    let ui = viewer.ui("/intake");
    let page = IntakeDone {
        code: Zeroizing::new(code.to_string()),
        case_href: ui.href(&format!("/cases/{id}")),
        ui,
    };
    let mut res = render(StatusCode::CREATED, viewer.lang, &page);
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

// ---------------------------------------------------------------- admin

pub struct StaffLine {
    pub id: String,
    pub email: String,
    pub role: String,
    pub active: bool,
}

impl StaffLine {
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

pub(super) async fn admin_page(
    viewer: &Viewer,
    state: &AppState,
    status: StatusCode,
    errors: Vec<String>,
    created: Option<Created>,
    email: String,
) -> Result<HttpResponse, PageError> {
    let lang = viewer.lang;
    let fail = |e| viewer.fail(e);
    let staff = state
        .triage
        .staff_list(&viewer.session)
        .await
        .map_err(fail)?;
    let units = state
        .triage
        .store
        .units()
        .await
        .map_err(|e| fail(e.into()))?;
    let (mail, problems) = state
        .triage
        .mail_status(&viewer.session)
        .await
        .map_err(fail)?;
    let offset = state.triage.policy.utc_offset();
    let page = AdminPage {
        mail,
        mail_problems: problems
            .into_iter()
            .map(|p| MailLine {
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
            })
            .collect(),
        ui: viewer.ui("/admin"),
        errors,
        staff: staff
            .into_iter()
            .map(|s| StaffLine {
                id: s.id.to_string(),
                email: s.email,
                role: i18n::word(lang, "role", s.role.as_str()),
                active: !s.disabled,
            })
            .collect(),
        roles: vocab_options(
            crate::i18n::catalog(lang),
            "role",
            Role::ALL,
            Role::as_str,
            "verifier",
        ),
        created,
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
        email,
        onion: state.onion.clone(),
    };
    Ok(render(status, lang, &page))
}

pub async fn admin_show(
    viewer: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    admin_page(
        &viewer,
        &state,
        StatusCode::OK,
        Vec::new(),
        None,
        String::new(),
    )
    .await
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

/// Adds a member to the admin's unit; the one-time password and TOTP
/// secret are on this one answer only.
pub async fn admin_add_staff(
    viewer: Viewer,
    state: web::Data<AppState>,
    form: web::Form<StaffForm>,
) -> Result<HttpResponse, PageError> {
    let StaffForm { csrf, email, role } = form.into_inner();
    viewer.check_csrf(&csrf)?;
    let t = i18n::catalog(viewer.lang);
    let refuse = |key: &str| vec![t.get(key).to_owned()];
    let Ok(role) = role.parse::<Role>() else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return admin_page(
            &viewer,
            &state,
            status,
            refuse("errors.role_invalid"),
            None,
            email,
        )
        .await;
    };
    match state
        .triage
        .add_staff(&viewer.session, &email, role, Utc::now())
        .await
        .map_err(TriageError::from)
    {
        Ok(secrets) => {
            let created = Created {
                email: secrets.staff.email.clone(),
                password: secrets.password,
                totp: secrets.totp,
            };
            let status = StatusCode::CREATED;
            admin_page(
                &viewer,
                &state,
                status,
                Vec::new(),
                Some(created),
                String::new(),
            )
            .await
        }
        Err(e @ (TriageError::Invalid(_) | TriageError::Conflict(_))) => {
            let reason = vec![e.message(viewer.lang)];
            admin_page(&viewer, &state, e.status(), reason, None, email).await
        }
        Err(e) => Err(viewer.fail(e)),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CsrfForm {
    pub(super) csrf: String,
}

/// Sends a refused mail again.
pub async fn admin_retry_mail(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    viewer.check_csrf(&form.csrf)?;
    let id = uuid::Uuid::parse_str(&path.into_inner())
        .map_err(|_| viewer.fail(TriageError::NotFound))?;
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
