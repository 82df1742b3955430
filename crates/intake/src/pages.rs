//! The HTML pages: thin handlers that read the form, call `Filing`, and
//! render a compiled template. No page needs JavaScript.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use sunlight_core::i18n::Lang;
use sunlight_core::report::{
    Field, FieldError, Limits, Problem, ReportDraft, ValidReport, clean_file_name,
};
use sunlight_core::{AccusedRole, Category, Channel, SelectionStage, TrackingCode};
use sunlight_store::NewAttachment;

use crate::error::{Failure, Format, IntakeError};
use crate::filing::{Found, Prepared, Status};
use crate::input::{FormStream, Part, drain};
use crate::state::AppState;
use crate::{i18n, spool};

pub(crate) use sunlight_web::{ErrorLine, Frame, Opt, human_size, render, vocab_options};

fn error_lines(lang: Lang, errors: &[FieldError]) -> Vec<ErrorLine> {
    errors
        .iter()
        .map(|e| ErrorLine {
            anchor: Some(e.field.as_str()),
            text: i18n::field_error(lang, e),
        })
        .collect()
}

fn html(error: IntakeError, lang: Lang) -> Failure {
    Failure {
        error,
        lang,
        format: Format::Html,
    }
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage {
    ui: Frame,
    message: String,
}

/// The page for an error that is not about one form field.
pub fn problem_page(error: &IntakeError, lang: Lang) -> HttpResponse {
    let page = ProblemPage {
        ui: i18n::frame(lang, "/"),
        message: error.message(lang),
    };
    render(error.status(), lang, &page)
}

#[derive(Template)]
#[template(path = "index.html")]
struct Landing {
    ui: Frame,
    onion: Option<String>,
}

pub async fn landing(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let lang = i18n::lang_of(&req);
    render(
        StatusCode::OK,
        lang,
        &Landing {
            ui: i18n::frame(lang, "/"),
            onion: state.onion.clone(),
        },
    )
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    ui: Frame,
    errors: Vec<ErrorLine>,
    invalid_fields: Vec<&'static str>,
    form: &'a ReportDraft,
    units: Vec<Opt>,
    categories: Vec<Opt>,
    roles: Vec<Opt>,
    stages: Vec<Opt>,
    limits: Limits,
    narrative_hint: String,
    attachment_hint: String,
}

impl ReportPage<'_> {
    fn invalid(&self, field: &str) -> bool {
        self.invalid_fields.contains(&field)
    }
}

fn attachment_hint(lang: Lang, limits: &Limits) -> String {
    i18n::catalog(lang).format(
        "report.attachment_hint",
        &[
            ("count", &limits.attachments.to_string()),
            ("size", &i18n::size_limit(limits.attachment_bytes)),
        ],
    )
}

async fn report_page(
    state: &AppState,
    lang: Lang,
    status: StatusCode,
    form: &ReportDraft,
    errors: &[FieldError],
) -> Result<HttpResponse, Failure> {
    let units = state
        .unit_options(form.unit.trim())
        .await
        .map_err(|e| html(e, lang))?;
    let limits = state.filing.limits;
    let page = ReportPage {
        ui: i18n::frame(lang, "/report"),
        errors: error_lines(lang, errors),
        invalid_fields: errors.iter().map(|e| e.field.as_str()).collect(),
        form,
        units,
        categories: vocab_options(
            i18n::catalog(lang),
            "category",
            Category::ALL,
            Category::as_str,
            &form.category,
        ),
        roles: vocab_options(
            i18n::catalog(lang),
            "accused_role",
            AccusedRole::ALL,
            AccusedRole::as_str,
            &form.accused_role,
        ),
        stages: vocab_options(
            i18n::catalog(lang),
            "selection_stage",
            SelectionStage::ALL,
            SelectionStage::as_str,
            &form.selection_stage,
        ),
        limits,
        narrative_hint: i18n::catalog(lang).format(
            "report.narrative_hint",
            &[("max", &limits.narrative_chars.to_string())],
        ),
        attachment_hint: attachment_hint(lang, &limits),
    };
    Ok(render(status, lang, &page))
}

pub async fn report_form(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = i18n::lang_of(&req);
    report_page(&state, lang, StatusCode::OK, &ReportDraft::default(), &[]).await
}

/// Sets one named text field of the report form.
/// A value that is wrong but leaves the form readable (`real_name=maybe`)
/// goes to `soft`, so the form still comes back refilled.
pub fn set_report_field(
    draft: &mut ReportDraft,
    seen: &mut HashSet<String>,
    soft: &mut Vec<FieldError>,
    name: String,
    value: String,
) -> Result<(), IntakeError> {
    let slot = match name.as_str() {
        "unit" => &mut draft.unit,
        "category" => &mut draft.category,
        "accused_name" => &mut draft.accused_name,
        "accused_position" => &mut draft.accused_position,
        "accused_role" => &mut draft.accused_role,
        "selection_stage" => &mut draft.selection_stage,
        "narrative" => &mut draft.narrative,
        "reporter_name" => &mut draft.reporter_name,
        "reporter_phone" => &mut draft.reporter_phone,
        "real_name" => {
            draft.real_name = match value.as_str() {
                "on" | "true" | "1" | "yes" => true,
                "" | "off" | "false" | "0" | "no" => false,
                _ => {
                    soft.push(FieldError {
                        field: Field::RealName,
                        problem: Problem::UnknownValue,
                    });
                    false
                }
            };
            return if seen.insert(name.clone()) {
                Ok(())
            } else {
                Err(IntakeError::DuplicateField(name))
            };
        }
        _ => return Err(IntakeError::UnknownField(name)),
    };
    if !seen.insert(name.clone()) {
        return Err(IntakeError::DuplicateField(name));
    }
    *slot = value;
    Ok(())
}

/// What became of a submitted report form.
enum Received {
    Filed(TrackingCode, DateTime<Utc>),
    Invalid(Box<ReportDraft>, Vec<FieldError>),
}

/// Validates, addresses and draws the code, or says what to fix.
async fn prepare_or_refuse(
    state: &AppState,
    draft: &ReportDraft,
    soft: &[FieldError],
    now: DateTime<Utc>,
) -> Result<Result<(Prepared, ValidReport), Vec<FieldError>>, IntakeError> {
    let valid = match state.filing.validate(draft, Channel::Web).await? {
        Ok(_) if !soft.is_empty() => return Ok(Err(soft.to_vec())),
        Ok(v) => v,
        Err(mut errors) => {
            errors.extend_from_slice(soft);
            return Ok(Err(errors));
        }
    };
    match state.filing.prepare(&valid, now).await {
        Ok(prepared) => Ok(Ok((prepared, valid))),
        Err(IntakeError::Invalid(errors)) => Ok(Err(errors)),
        Err(e) => Err(e),
    }
}

async fn receive_report(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Received, IntakeError> {
    let limits = state.filing.limits;
    let now = Utc::now();
    let mut form = FormStream::open(
        req.headers(),
        payload,
        limits.max_text_bytes().saturating_mul(3),
        state.max_body_bytes(),
    )
    .await?;
    let mut draft = ReportDraft::default();
    let mut seen = HashSet::new();
    let mut soft = Vec::new();
    let mut ready: Option<(Prepared, ValidReport)> = None;
    let mut files: Vec<NewAttachment> = Vec::new();
    while let Some(part) = form.next(limits.max_text_bytes()).await? {
        match part {
            Part::Text { name, value } => {
                if ready.is_some() {
                    return Err(IntakeError::AttachmentOrder);
                }
                set_report_field(&mut draft, &mut seen, &mut soft, name, value)?;
            }
            Part::File {
                name,
                file_name,
                declared_type,
                mut field,
            } => {
                if name != "attachment" {
                    return Err(IntakeError::UnknownField(name));
                }
                if file_name.as_deref().is_none_or(str::is_empty) {
                    // An empty file input still sends a nameless part.
                    drain(&mut field).await?;
                    continue;
                }
                if ready.is_none() {
                    match prepare_or_refuse(state, &draft, &soft, now).await? {
                        Ok(r) => ready = Some(r),
                        Err(errors) => return Ok(Received::Invalid(Box::new(draft), errors)),
                    }
                }
                if files.len() >= limits.attachments {
                    let errors = vec![FieldError {
                        field: Field::Attachment,
                        problem: Problem::TooMany {
                            max: u64::try_from(limits.attachments).unwrap_or(u64::MAX),
                        },
                    }];
                    return Ok(Received::Invalid(Box::new(draft), errors));
                }
                let Some((prepared, _)) = ready.as_ref() else {
                    return Err(IntakeError::Internal("report not prepared".into()));
                };
                files.push(
                    spool::seal_upload(
                        &mut *field,
                        &state.spool_dir,
                        prepared.case_id,
                        &prepared.recipients,
                        clean_file_name(file_name.as_deref(), &limits),
                        declared_type,
                        limits.attachment_bytes,
                    )
                    .await?,
                );
            }
        }
    }
    let (prepared, valid) = match ready {
        Some(r) => r,
        None => match prepare_or_refuse(state, &draft, &soft, now).await? {
            Ok(r) => r,
            Err(errors) => return Ok(Received::Invalid(Box::new(draft), errors)),
        },
    };
    let due = state.route_deadline(prepared.received_at);
    let code = state.filing.file(prepared, valid, files).await?;
    Ok(Received::Filed(code, due))
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct Receipt {
    ui: Frame,
    code: String,
    deadline_line: String,
}

pub async fn report_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = i18n::lang_of(&req);
    if !state.limiters.submission() {
        return Err(html(IntakeError::RateLimited, lang));
    }
    match receive_report(&req, payload, &state).await {
        Ok(Received::Filed(code, due)) => {
            let page = Receipt {
                ui: i18n::frame(lang, "/"),
                code: code.to_string(),
                deadline_line: i18n::catalog(lang)
                    .format("receipt.deadline", &[("date", &state.deadline_date(due))]),
            };
            Ok(render(StatusCode::OK, lang, &page))
        }
        Ok(Received::Invalid(draft, errors)) => {
            report_page(
                &state,
                lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                &draft,
                &errors,
            )
            .await
        }
        Err(IntakeError::Invalid(errors)) => {
            report_page(
                &state,
                lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                &ReportDraft::default(),
                &errors,
            )
            .await
        }
        Err(e) => Err(html(e, lang)),
    }
}

#[derive(Template)]
#[template(path = "lookup.html")]
struct Lookup {
    ui: Frame,
    errors: Vec<ErrorLine>,
    sent: bool,
}

/// The lookup form with the "sent" notice.
fn lookup_page_sent(lang: Lang) -> HttpResponse {
    render(
        StatusCode::OK,
        lang,
        &Lookup {
            ui: i18n::frame(lang, "/status"),
            errors: Vec::new(),
            sent: true,
        },
    )
}

fn lookup_page(lang: Lang, status: StatusCode, error: Option<&IntakeError>) -> HttpResponse {
    let errors = error
        .map(|e| {
            vec![ErrorLine {
                anchor: Some("code"),
                text: e.message(lang),
            }]
        })
        .unwrap_or_default();
    render(
        status,
        lang,
        &Lookup {
            ui: i18n::frame(lang, "/status"),
            errors,
            sent: false,
        },
    )
}

pub async fn status_form(req: HttpRequest) -> HttpResponse {
    lookup_page(i18n::lang_of(&req), StatusCode::OK, None)
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    ui: Frame,
    errors: Vec<ErrorLine>,
    sent: bool,
    merged: bool,
    code: String,
    stage_code: &'static str,
    stage: String,
    received: String,
    deadline: String,
    history: Vec<(String, String)>,
    messages: Vec<MessageLine>,
    files: Vec<(String, String)>,
    limits: Limits,
    reply_hint: String,
    attachment_hint: String,
}

pub struct MessageLine {
    pub from_staff: bool,
    pub at: String,
    pub body: String,
}

fn status_page(
    state: &AppState,
    lang: Lang,
    code: &TrackingCode,
    status: &Status,
    sent: bool,
    errors: Vec<ErrorLine>,
) -> HttpResponse {
    let t = i18n::catalog(lang);
    let view = &status.view;
    let stage_code = view.case.stage.as_str();
    let page = StatusPage {
        ui: i18n::frame(lang, "/status"),
        errors,
        sent,
        merged: view.case.id != view.own_case,
        code: code.to_string(),
        stage_code,
        stage: t.get(&format!("stage.{stage_code}")).to_owned(),
        received: state.local_date(view.case.received_at),
        deadline: view.open_entry.as_ref().map_or_else(
            || t.get("status.no_deadline").to_owned(),
            |e| state.deadline_date(e.due_at),
        ),
        history: view
            .history
            .iter()
            .map(|h| {
                (
                    state.local_date(h.at),
                    t.get(&format!("stage.{}", h.to.as_str())).to_owned(),
                )
            })
            .collect(),
        messages: status
            .messages
            .iter()
            .map(|m| MessageLine {
                from_staff: m.from_staff,
                at: state.local_time(m.at),
                body: m.body.as_str().to_owned(),
            })
            .collect(),
        files: status
            .files
            .iter()
            .map(|f| (f.file_name.clone(), human_size(f.size)))
            .collect(),
        limits: state.filing.limits,
        reply_hint: t.format(
            "status.reply_hint",
            &[("max", &state.filing.limits.message_chars.to_string())],
        ),
        attachment_hint: attachment_hint(lang, &state.filing.limits),
    };
    render(StatusCode::OK, lang, &page)
}

/// Reads the lookup form: exactly one field, `code`.
async fn read_code_form(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<TrackingCode, IntakeError> {
    let mut form = FormStream::open(req.headers(), payload, 4096, 8192).await?;
    let mut code: Option<String> = None;
    while let Some(part) = form.next(1024).await? {
        match part {
            Part::Text { name, value } if name == "code" => {
                if code.replace(value).is_some() {
                    return Err(IntakeError::DuplicateField(name));
                }
            }
            Part::Text { name, .. } | Part::File { name, .. } => {
                return Err(IntakeError::UnknownField(name));
            }
        }
    }
    let raw = zeroize::Zeroizing::new(code.unwrap_or_default());
    Ok(TrackingCode::parse(&raw)?)
}

pub async fn status_lookup(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = i18n::lang_of(&req);
    if !state.limiters.lookup() {
        return Err(html(IntakeError::RateLimited, lang));
    }
    let code = match read_code_form(&req, payload).await {
        Ok(code) => code,
        Err(e @ IntakeError::Code(_)) => return Ok(lookup_page(lang, e.status(), Some(&e))),
        Err(e) => return Err(html(e, lang)),
    };
    match state.filing.status(&code).await {
        Ok((_, status)) => Ok(status_page(&state, lang, &code, &status, false, Vec::new())),
        Err(e @ IntakeError::UnknownCode) => Ok(lookup_page(lang, e.status(), Some(&e))),
        Err(e) => Err(html(e, lang)),
    }
}

/// Reads a reply form: `code` first, then `body`, then files.
async fn receive_message(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(TrackingCode, Result<(), Vec<FieldError>>), IntakeError> {
    let limits = state.filing.limits;
    let now = Utc::now();
    let text_limit = limits.message_chars.saturating_mul(4).saturating_add(1024);
    let mut form = FormStream::open(
        req.headers(),
        payload,
        text_limit.saturating_mul(3),
        state.max_body_bytes(),
    )
    .await?;
    let mut code: Option<TrackingCode> = None;
    let mut body: Option<zeroize::Zeroizing<String>> = None;
    let mut found: Option<Found> = None;
    let mut files: Vec<NewAttachment> = Vec::new();
    let message_id = state.filing.message_id(now);
    while let Some(part) = form.next(text_limit).await? {
        match part {
            Part::Text { name, value } => {
                let value = zeroize::Zeroizing::new(value);
                if found.is_some() {
                    return Err(IntakeError::AttachmentOrder);
                }
                match name.as_str() {
                    "code" if code.is_none() => code = Some(TrackingCode::parse(&value)?),
                    "body" if body.is_none() => body = Some(value),
                    "code" | "body" => return Err(IntakeError::DuplicateField(name)),
                    _ => return Err(IntakeError::UnknownField(name)),
                }
            }
            Part::File {
                name,
                file_name,
                declared_type,
                mut field,
            } => {
                if name != "attachment" {
                    return Err(IntakeError::UnknownField(name));
                }
                if file_name.as_deref().is_none_or(str::is_empty) {
                    drain(&mut field).await?;
                    continue;
                }
                let Some(code) = code.as_ref() else {
                    return Err(IntakeError::AttachmentOrder);
                };
                if found.is_none() {
                    found = Some(state.filing.find(code).await?.0);
                }
                let Some(f) = found.as_ref() else {
                    return Err(IntakeError::Internal("case not found".into()));
                };
                if files.len() >= limits.attachments {
                    return Ok((
                        code.clone(),
                        Err(vec![FieldError {
                            field: Field::Attachment,
                            problem: Problem::TooMany {
                                max: u64::try_from(limits.attachments).unwrap_or(u64::MAX),
                            },
                        }]),
                    ));
                }
                files.push(
                    spool::seal_upload(
                        &mut *field,
                        &state.spool_dir,
                        f.case_id,
                        &f.recipients,
                        clean_file_name(file_name.as_deref(), &limits),
                        declared_type,
                        limits.attachment_bytes,
                    )
                    .await?,
                );
            }
        }
    }
    let code = code.ok_or(IntakeError::Code(sunlight_core::CodeError::WrongLength))?;
    let raw_body = body.unwrap_or_default();
    let text = if raw_body.trim().is_empty() && !files.is_empty() {
        zeroize::Zeroizing::new(String::new())
    } else {
        match sunlight_core::report::validate_message(&raw_body, &limits) {
            Ok(text) => text,
            Err(e) => return Ok((code, Err(vec![e]))),
        }
    };
    let found = match found {
        Some(f) => f,
        None => state.filing.find(&code).await?.0,
    };
    state
        .filing
        .add_message(&found, message_id, &text, files, now)
        .await?;
    Ok((code, Ok(())))
}

pub async fn message_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = i18n::lang_of(&req);
    if !state.limiters.message() {
        return Err(html(IntakeError::RateLimited, lang));
    }
    let (code, outcome) = match receive_message(&req, payload, &state).await {
        Ok(r) => r,
        Err(e @ (IntakeError::Code(_) | IntakeError::UnknownCode)) => {
            return Ok(lookup_page(lang, e.status(), Some(&e)));
        }
        Err(e) => return Err(html(e, lang)),
    };
    let status = match (state.filing.status(&code).await, &outcome) {
        (Ok((_, status)), _) => status,
        // The message is stored: never answer 5xx for it (the reporter
        // would send it again); say it was sent and offer the lookup.
        (Err(e), Ok(())) => {
            tracing::warn!(error = %e, "status after a stored message failed");
            return Ok(lookup_page_sent(lang));
        }
        (Err(e), Err(_)) => return Err(html(e, lang)),
    };
    match outcome {
        Ok(()) => Ok(status_page(&state, lang, &code, &status, true, Vec::new())),
        Err(errors) => {
            let mut res = status_page(
                &state,
                lang,
                &code,
                &status,
                false,
                error_lines(lang, &errors),
            );
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
    }
}

pub async fn stylesheet() -> HttpResponse {
    sunlight_web::stylesheet(include_str!("../static/style.css"))
}

/// 404 for unknown paths, as a page or JSON by where the client was going.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, Failure> {
    Err(Failure {
        error: IntakeError::NotFound,
        lang: i18n::lang_of(&req),
        format: format_of(&req),
    })
}

pub async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, Failure> {
    Err(Failure {
        error: IntakeError::MethodNotAllowed,
        lang: i18n::lang_of(&req),
        format: format_of(&req),
    })
}

pub fn format_of(req: &HttpRequest) -> Format {
    if req.path().starts_with("/api/") {
        Format::Json
    } else {
        Format::Html
    }
}
