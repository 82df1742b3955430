//! `/intake`, the desk: a report taken by phone, letter or visit, with the
//! day it came in, a letter's envelope and attachments (its new code shown
//! once, on a slip to print for the reporter).

mod form;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::Utc;
use sunlight_core::report::desk::{DeskDetails, DeskDraft, RETURN_ADDRESS_CHARS};
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
    desk: &'a DeskDraft,
    today: String,
    earliest: String,
    return_address_chars: usize,
    attachment_hint: String,
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
        (form, desk, channel): (&'a ReportDraft, &'a DeskDraft, &str),
        errors: &[FieldError],
        units: &[UnitRow],
        today: chrono::NaiveDate,
    ) -> Self {
        let lang = viewer.lang;
        let limits = Limits::default();
        let earliest = today
            .checked_sub_days(chrono::Days::new(
                sunlight_core::report::desk::MAX_DAYS_BACK,
            ))
            .unwrap_or(today);
        IntakePage {
            desk,
            today: today.to_string(),
            earliest: earliest.to_string(),
            return_address_chars: RETURN_ADDRESS_CHARS,
            attachment_hint: i18n::catalog(lang).format(
                "intake.attachments_hint",
                &[
                    ("count", &limits.attachments.to_string()),
                    ("size", &sunlight_web::size_limit(limits.attachment_bytes)),
                ],
            ),
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
    form: &form::IntakeForm,
    errors: &[FieldError],
) -> Result<HttpResponse, PageError> {
    let units = jurisdiction_units(state, &viewer.session)
        .await
        .map_err(|e| viewer.fail(e))?;
    let today = state.triage.policy.local_date(Utc::now());
    let fields = (&form.report, &form.desk, form.channel.as_str());
    let page = IntakePage::new(viewer, fields, errors, &units, today);
    Ok(render(status, viewer.lang, &page))
}

pub async fn intake_form(
    viewer: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    may_take_reports(&viewer)?;
    let blank = form::IntakeForm {
        channel: "phone".into(),
        ..Default::default()
    };
    intake_page(&viewer, &state, StatusCode::OK, &blank, &[]).await
}

/// The report checked as the public form's is, plus what only the desk
/// asks: a channel it takes reports by, a unit of the member's own, the
/// day received and a letter's envelope. Every problem at once, the
/// channel's first.
fn check_desk_report(
    form: &form::IntakeForm,
    jurisdiction: &Jurisdiction,
    today: chrono::NaiveDate,
) -> Result<(ValidReport, DeskDetails), Vec<FieldError>> {
    let channel = form
        .channel
        .parse::<Channel>()
        .ok()
        .filter(|c| DESK_CHANNELS.contains(c));
    let by = channel.unwrap_or(Channel::Phone);
    let checked = form.report.validate(by, &Limits::default());
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
    let details = form.desk.validate(by, today);
    if let Err(desk_errors) = &details {
        errors.extend_from_slice(desk_errors);
    }
    match (checked, details) {
        (Ok(valid), Ok(details)) if errors.is_empty() => Ok((valid, details)),
        _ => Err(errors),
    }
}

/// `POST /intake` (multipart: the fields, then the files): files the
/// report through the one filing path, its attachments sealed as they
/// stream in, and shows its new code once, on a slip to print.
pub async fn intake_submit(
    viewer: Viewer,
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    may_take_reports(&viewer)?;
    let parts = form::open(&req, payload).map_err(|e| viewer.fail(e))?;
    let received = form::receive(&viewer, &state, parts).await?;
    let (desk, files, form) = match received {
        form::Received::Ready { desk, files, form } => (desk, files, form),
        form::Received::Invalid { form, errors } => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return intake_page(&viewer, &state, status, &form, &errors).await;
        }
    };
    let received_on = state.triage.policy.local_date(desk.received_at());
    let (code, id, receipt) = state
        .triage
        .file_desk(&viewer.session, *desk, files, Utc::now())
        .await
        .map_err(|e| viewer.fail(e))?;
    let mut slip = Slip::new(&viewer, &state, &form.channel, received_on).await?;
    slip.receipt = serde_json::to_string_pretty(&receipt).unwrap_or_default();
    Ok(done_page(
        &viewer,
        Zeroizing::new(code.to_string()),
        id,
        slip,
    ))
}

/// What the receipt slip says besides the code: nothing the reporter did
/// not tell the desk, and never the case number (public pages never show
/// it; a slip leaves the building).
struct Slip {
    received_on: String,
    channel: String,
    unit: String,
    onion: Option<String>,
    /// The filing receipt, as text to print (docs/crypto.md).
    receipt: String,
}

impl Slip {
    async fn new(
        viewer: &Viewer,
        state: &AppState,
        channel: &str,
        received_on: chrono::NaiveDate,
    ) -> Result<Self, PageError> {
        let units = jurisdiction_units(state, &viewer.session)
            .await
            .map_err(|e| viewer.fail(e))?;
        Ok(Slip {
            received_on: received_on.to_string(),
            channel: i18n::word(viewer.lang, "channel", channel),
            // The desk's own unit, which stamps the slip: never the unit
            // the report names, which a slip found later would give away.
            unit: units
                .iter()
                .find(|u| u.id == viewer.session.unit)
                .map(|u| u.name.clone())
                .unwrap_or_default(),
            onion: state.onion.clone(),
            receipt: String::new(),
        })
    }
}

#[derive(Template)]
#[template(path = "intake_done.html")]
struct IntakeDone {
    ui: Ui,
    code: Zeroizing<String>,
    case_href: String,
    slip: Slip,
    onion_line: Option<String>,
}

/// The new code, shown this once on a printable slip and never cached.
fn done_page(viewer: &Viewer, code: Zeroizing<String>, id: CaseId, slip: Slip) -> HttpResponse {
    let ui = viewer.ui("/intake");
    let page = IntakeDone {
        code,
        case_href: ui.href(&format!("/cases/{id}")),
        onion_line: slip
            .onion
            .as_ref()
            .map(|o| i18n::catalog(viewer.lang).format("intake.slip_onion", &[("onion", o)])),
        slip,
        ui,
    };
    let mut res = render(StatusCode::CREATED, viewer.lang, &page);
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    res
}
