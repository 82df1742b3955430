//! `/intake`, the desk: a report taken by phone, letter or visit (its new
//! code shown once, to read out to the caller).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;
use sunlight_core::report::{Field, FieldError, Limits, Problem, ReportDraft, ValidReport};
use sunlight_core::{AccusedRole, CaseId, Category, Channel, Role, SelectionStage};
use sunlight_store::{Jurisdiction, UnitRow};
use zeroize::Zeroizing;

use super::{Opt, PageError, Ui, Viewer, jurisdiction_units, render, unit_options, vocab_options};
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

impl<'a> IntakePage<'a> {
    /// The desk form refilled with `form`, each of `errors` listed and
    /// marked; the units are the member's own.
    fn new(
        viewer: &Viewer,
        form: &'a ReportDraft,
        channel: &str,
        errors: &[FieldError],
        units: &[UnitRow],
    ) -> Self {
        let lang = viewer.lang;
        let limits = Limits::default();
        IntakePage {
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
            units: unit_options(units, form.unit.trim()),
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
        }
    }

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
    let units = jurisdiction_units(state, &viewer.session)
        .await
        .map_err(|e| viewer.fail(e))?;
    let page = IntakePage::new(viewer, form, channel, errors, &units);
    Ok(render(status, viewer.lang, &page))
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

/// `POST /intake`: files the report through the one filing path and
/// shows its new code once, to read out to the caller.
pub async fn intake_submit(
    viewer: Viewer,
    state: web::Data<AppState>,
    form: web::Form<IntakeForm>,
) -> Result<HttpResponse, PageError> {
    let f = form.into_inner();
    viewer.check_csrf(&f.csrf)?;
    may_take_reports(&viewer)?;
    let (draft, channel) = f.into_draft();
    let valid = match check_desk_report(&draft, &channel, &viewer.session.jurisdiction) {
        Ok(valid) => valid,
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return intake_page(&viewer, &state, status, &draft, &channel, &errors).await;
        }
    };
    let (code, id) = state
        .triage
        .file_report(&viewer.session, valid, Utc::now())
        .await
        .map_err(|e| viewer.fail(e))?;
    Ok(done_page(&viewer, Zeroizing::new(code.to_string()), id))
}

impl IntakeForm {
    /// The report as the public form would send it, and the raw channel.
    fn into_draft(self) -> (ReportDraft, String) {
        let draft = ReportDraft {
            unit: self.unit,
            category: self.category,
            accused_name: self.accused_name,
            accused_position: self.accused_position,
            accused_role: self.accused_role,
            selection_stage: self.selection_stage,
            narrative: self.narrative,
            real_name: self
                .real_name
                .is_some_and(|v| matches!(v.as_str(), "on" | "true" | "1" | "yes")),
            reporter_name: self.reporter_name,
            reporter_phone: self.reporter_phone,
        };
        (draft, self.channel)
    }
}

/// The report checked as the public form's is, plus what only the desk
/// asks: a channel it takes reports by, and a unit of the member's own.
/// Every problem at once, the channel's first.
fn check_desk_report(
    draft: &ReportDraft,
    channel_raw: &str,
    jurisdiction: &Jurisdiction,
) -> Result<ValidReport, Vec<FieldError>> {
    let channel = channel_raw
        .parse::<Channel>()
        .ok()
        .filter(|c| DESK_CHANNELS.contains(c));
    let checked = draft.validate(channel.unwrap_or(Channel::Phone), &Limits::default());
    let mut errors = match &checked {
        Ok(valid) if !jurisdiction.contains(&valid.unit) => vec![FieldError {
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
    match checked {
        Ok(valid) if errors.is_empty() => Ok(valid),
        _ => Err(errors),
    }
}

/// The new code, shown this once and never cached.
fn done_page(viewer: &Viewer, code: Zeroizing<String>, id: CaseId) -> HttpResponse {
    let ui = viewer.ui("/intake");
    let page = IntakeDone {
        code,
        case_href: ui.href(&format!("/cases/{id}")),
        ui,
    };
    let mut res = render(StatusCode::CREATED, viewer.lang, &page);
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    res
}
