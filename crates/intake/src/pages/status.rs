//! /status and /status/messages: a reporter's look-up by code, the status page, and their follow-up messages and evidence.

use super::*;

#[derive(Template)]
#[template(path = "lookup.html")]
pub(super) struct Lookup {
    ui: Frame,
    errors: Vec<ErrorLine>,
    sent: bool,
    /// The sealing script's `integrity`; none where the suite seals on the
    /// server only.
    integrity: Option<&'static str>,
    limits: Limits,
    rating_choices: Vec<(&'static str, String)>,
}

/// The lookup form with the "sent" notice.
pub(super) fn lookup_page_sent(state: &AppState, lang: Lang) -> HttpResponse {
    render(
        StatusCode::OK,
        lang,
        &Lookup {
            ui: i18n::frame(lang, "/status"),
            errors: Vec::new(),
            sent: true,
            integrity: sealing_integrity(state),
            limits: state.filing.limits,
            rating_choices: super::rating::choices(lang),
        },
    )
}

pub(super) fn lookup_page(
    state: &AppState,
    lang: Lang,
    status: StatusCode,
    error: Option<String>,
) -> HttpResponse {
    let errors = error
        .map(|text| {
            vec![ErrorLine {
                anchor: Some("code"),
                text,
            }]
        })
        .unwrap_or_default();
    let integrity = sealing_integrity(state);
    with_sealing(
        integrity.is_some(),
        render(
            status,
            lang,
            &Lookup {
                ui: i18n::frame(lang, "/status"),
                errors,
                sent: false,
                integrity,
                limits: state.filing.limits,
                rating_choices: super::rating::choices(lang),
            },
        ),
    )
}

/// The lookup form again, saying what is wrong with the code that was sent
/// (malformed, or no report has it).
pub(super) fn code_refused(state: &AppState, lang: Lang, e: &IntakeError) -> HttpResponse {
    lookup_page(
        state,
        lang,
        e.status(),
        Some(e.message(lang, &state.filing.limits)),
    )
}

pub async fn status_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    lookup_page(&state, i18n::lang_of(&req), StatusCode::OK, None)
}

#[derive(Template)]
#[template(path = "status.html")]
pub(super) struct StatusPage {
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
    /// How the case ended, in the reporter's words (never "knowingly
    /// false": such a case reads as not substantiated).
    result: Option<String>,
    /// Where to turn when the answer is not accepted (closed cases).
    review: Option<String>,
    /// How the open step stands when it is not simply running: paused for
    /// the reporter's answer, extended, or late (阶段性反馈, no content).
    progress: Option<String>,
    messages: Vec<MessageLine>,
    files: Vec<(String, String)>,
    limits: Limits,
    reply_hint: String,
    attachment_hint: String,
    /// How the reporter rated this round's feedback, in words.
    rated: Option<String>,
    rating_open: bool,
    pub(super) rated_now: bool,
    rating_choices: Vec<(&'static str, String)>,
    /// Until when an objection may be sent, in words; None: no longer.
    objection_hint: Option<String>,
    /// The report's place in the public log, with the current proof.
    inclusion: Option<ReportEntry>,
}

/// A report's leaf in the log and, once a published head includes it,
/// that head and the proof, hashes in lower-case hex: the status page
/// shows it, and the sealed status route returns it for the page with
/// script.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReportEntry {
    pub leaf: String,
    /// The leaf's day, `YYYY-MM-DD`.
    pub day: String,
    /// Absent until a head that includes the leaf is published (daily).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<EntryHead>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EntryHead {
    pub size: u64,
    pub day: String,
    pub root: String,
    /// The leaf's index, and its audit path in this head.
    pub index: u64,
    pub path: Vec<String>,
}

impl From<&sunlight_filing::ReportInclusion> for ReportEntry {
    fn from(inc: &sunlight_filing::ReportInclusion) -> Self {
        let hex = |b: &[u8]| data_encoding::HEXLOWER.encode(b);
        Self {
            leaf: hex(&inc.leaf),
            day: inc.day.to_string(),
            head: inc.proof.as_ref().map(|(head, proof)| EntryHead {
                size: head.size,
                day: head.day.to_string(),
                root: hex(&head.root),
                index: proof.index,
                path: proof.path.clone(),
            }),
        }
    }
}

pub struct MessageLine {
    pub from_staff: bool,
    pub at: String,
    pub body: String,
}

pub(super) fn status_page(
    state: &AppState,
    lang: Lang,
    code: &TrackingCode,
    status: &Status,
    sent: bool,
    errors: Vec<ErrorLine>,
) -> HttpResponse {
    let page = status_view(state, lang, code, status, sent, errors);
    render(StatusCode::OK, lang, &page)
}

/// The status page's content, to render as is or with a notice.
pub(super) fn status_view(
    state: &AppState,
    lang: Lang,
    code: &TrackingCode,
    status: &Status,
    sent: bool,
    errors: Vec<ErrorLine>,
) -> StatusPage {
    let t = i18n::catalog(lang);
    let (rated, rating_open, objection_hint) =
        super::rating::rating_view(state, lang, &status.rating);
    let view = &status.view;
    let stage_code = view.case.stage.as_str();
    StatusPage {
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
        result: result_line(lang, &view.case),
        progress: view
            .open_entry
            .as_ref()
            .and_then(|e| progress_line(state, lang, e, chrono::Utc::now())),
        review: review_line(lang, status),
        inclusion: status.inclusion.as_ref().map(ReportEntry::from),
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
        rated,
        rating_open,
        rated_now: false,
        rating_choices: super::rating::choices(lang),
        objection_hint,
    }
}

/// Reads the lookup form: exactly one field, `code`.
pub(super) async fn read_code_form(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<TrackingCode, IntakeError> {
    let mut form = FormStream::open(req.headers(), payload, 4096, 8192, false).await?;
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
    let lang = state.admit(&req, Limiters::lookup, Format::Html)?;
    let code = match read_code_form(&req, payload).await {
        Ok(code) => code,
        Err(e @ IntakeError::Code(_)) => return Ok(code_refused(&state, lang, &e)),
        Err(e) => return Err(html(e, lang)),
    };
    match state.filing.status(&code).await.map_err(IntakeError::from) {
        Ok((_, status)) => Ok(status_page(&state, lang, &code, &status, false, Vec::new())),
        Err(e @ IntakeError::UnknownCode) => Ok(code_refused(&state, lang, &e)),
        Err(e) => Err(html(e, lang)),
    }
}

/// Reads a reply form: `code` first, then `body`, then files.
pub(super) async fn receive_message(
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
        true,
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

/// The status page after a reply: with the "sent" notice once it is
/// stored, else a 422 listing what to fix in the form below.
fn replied(
    state: &AppState,
    lang: Lang,
    code: &TrackingCode,
    status: &Status,
    outcome: Result<(), Vec<FieldError>>,
) -> HttpResponse {
    match outcome {
        Ok(()) => status_page(state, lang, code, status, true, Vec::new()),
        Err(errors) => {
            let errors = error_lines(lang, &errors);
            let mut res = status_page(state, lang, code, status, false, errors);
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            res
        }
    }
}

pub async fn message_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = state.admit(&req, Limiters::message, Format::Html)?;
    let (code, outcome) = match receive_message(&req, payload, &state).await {
        Ok(r) => r,
        Err(e @ (IntakeError::Code(_) | IntakeError::UnknownCode)) => {
            return Ok(code_refused(&state, lang, &e));
        }
        Err(e) => return Err(html(e, lang)),
    };
    let status = match (state.filing.status(&code).await, &outcome) {
        (Ok((_, status)), _) => status,
        // The message is stored: never answer 5xx for it (the reporter
        // would send it again); say it was sent and offer the lookup.
        (Err(e), Ok(())) => {
            tracing::warn!(error = %e, "status after a stored message failed");
            return Ok(lookup_page_sent(&state, lang));
        }
        (Err(e), Err(_)) => return Err(html(e, lang)),
    };
    Ok(replied(&state, lang, &code, &status, outcome))
}

/// The result of a closed case as the reporter reads it.
fn result_line(lang: Lang, case: &sunlight_store::CaseRow) -> Option<String> {
    use sunlight_core::Disposition as D;
    let t = i18n::catalog(lang);
    match case.disposition {
        D::Referred => {
            let body = case
                .referred_to
                .map(|b| t.get(&format!("referral_body.{}", b.as_str())).to_owned())
                .unwrap_or_default();
            Some(t.format("status.result_referred", &[("body", &body)]))
        }
        D::FiledForReference => Some(t.get("status.result_filed").to_owned()),
        // A knowingly-false finding is for staff: the reporter reads the
        // verification outcome, as for any case verified as unsubstantiated.
        D::Concluded | D::KnowinglyFalse => case
            .outcome
            .map(|o| t.get(&format!("outcome.{}", o.as_str())).to_owned()),
        D::Open | D::Accepted | D::Merged => None,
    }
}

/// The open step's state beyond its deadline, at `now`: waiting for the
/// reporter, extended, or late. The dates only, never why.
fn progress_line(
    state: &AppState,
    lang: Lang,
    entry: &sunlight_store::QueueRow,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<String> {
    let t = i18n::catalog(lang);
    if let Some(until) = entry.paused_until.filter(|u| *u > now) {
        let until = state.deadline_date(until);
        return Some(t.format("status.progress_paused", &[("until", &until)]));
    }
    let due = state.deadline_date(entry.due_at);
    if entry.due_at <= now {
        return Some(t.format("status.progress_late", &[("due", &due)]));
    }
    entry
        .extended
        .then(|| t.format("status.progress_extended", &[("due", &due)]))
}

/// Where a closed case's reporter turns for a review (ISO 37002 §8.4).
fn review_line(lang: Lang, status: &Status) -> Option<String> {
    if status.view.case.stage != sunlight_core::Stage::Closed {
        return None;
    }
    let t = i18n::catalog(lang);
    let unit = status.review_by.as_ref().map(|(zh, en)| match lang {
        Lang::En => en.clone().unwrap_or_else(|| zh.clone()),
        Lang::ZhCn => zh.clone(),
    });
    // Referred or filed, the case had no answer to rate or object to.
    let rated = !matches!(
        status.view.case.disposition,
        sunlight_core::Disposition::Referred | sunlight_core::Disposition::FiledForReference
    );
    Some(match (unit, rated) {
        (Some(unit), true) => t.format("status.review_avenue", &[("unit", &unit)]),
        (Some(unit), false) => t.format("status.review_avenue_direct", &[("unit", &unit)]),
        (None, true) => t.get("status.review_avenue_top").to_owned(),
        (None, false) => t.get("status.review_avenue_national").to_owned(),
    })
}
