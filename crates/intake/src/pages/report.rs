//! /report: the report form, its answer (a receipt with the tracking code, or the form again with what to fix), reading its multipart body.

use super::*;

#[derive(Template)]
#[template(path = "report.html")]
pub(super) struct ReportPage<'a> {
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
    /// The sealing script's `integrity`; none where the suite seals on the
    /// server only.
    integrity: Option<&'static str>,
    /// The receipt's deadline line with `{date}` left for the script.
    deadline_template: String,
}

impl<'a> ReportPage<'a> {
    /// The form refilled with `form`, each of `errors` listed above it and
    /// marked on its field; `units` are the unit choices, `form`'s selected.
    fn new(
        lang: Lang,
        form: &'a ReportDraft,
        errors: &[FieldError],
        units: Vec<Opt>,
        limits: Limits,
        integrity: Option<&'static str>,
    ) -> Self {
        let t = i18n::catalog(lang);
        Self {
            ui: i18n::frame(lang, "/report"),
            errors: error_lines(lang, errors),
            invalid_fields: errors.iter().map(|e| e.field.as_str()).collect(),
            form,
            units,
            categories: vocab_options(
                t,
                "category",
                Category::ALL,
                Category::as_str,
                &form.category,
            ),
            roles: vocab_options(
                t,
                "accused_role",
                AccusedRole::ALL,
                AccusedRole::as_str,
                &form.accused_role,
            ),
            stages: vocab_options(
                t,
                "selection_stage",
                SelectionStage::ALL,
                SelectionStage::as_str,
                &form.selection_stage,
            ),
            limits,
            narrative_hint: t.format(
                "report.narrative_hint",
                &[("max", &limits.narrative_chars.to_string())],
            ),
            attachment_hint: attachment_hint(lang, &limits),
            integrity,
            deadline_template: t.get("receipt.deadline").to_owned(),
        }
    }

    fn invalid(&self, field: &str) -> bool {
        self.invalid_fields.contains(&field)
    }
}

pub(super) fn attachment_hint(lang: Lang, limits: &Limits) -> String {
    i18n::catalog(lang).format(
        "report.attachment_hint",
        &[
            ("count", &limits.attachments.to_string()),
            ("size", &i18n::size_limit(limits.attachment_bytes)),
        ],
    )
}

pub(super) async fn report_page(
    state: &AppState,
    lang: Lang,
    status: StatusCode,
    form: &ReportDraft,
    errors: &[FieldError],
) -> Result<HttpResponse, Failure> {
    let units = state
        .unit_options(form.unit.trim(), lang == Lang::En)
        .await
        .map_err(|e| html(e, lang))?;
    let integrity = sealing_integrity(state);
    let page = ReportPage::new(lang, form, errors, units, state.filing.limits, integrity);
    Ok(with_sealing(
        integrity.is_some(),
        render(status, lang, &page),
    ))
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
pub(super) enum Received {
    Filed(
        TrackingCode,
        Box<sunlight_core::log::Receipt>,
        DateTime<Utc>,
    ),
    Invalid(Box<ReportDraft>, Vec<FieldError>),
}

/// Validates, addresses and draws the code, or says what to fix.
pub(super) async fn prepare_or_refuse(
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
        Err(sunlight_filing::FilingError::Invalid(errors)) => Ok(Err(errors)),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn receive_report(
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
        true,
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
    let (code, receipt) = state.filing.file(prepared, valid, files).await?;
    Ok(Received::Filed(code, Box::new(receipt), due))
}

#[derive(Template)]
#[template(path = "receipt.html")]
pub(super) struct Receipt {
    ui: Frame,
    code: String,
    deadline_line: String,
    receipt_text: String,
    receipt_file: String,
    receipt_base64: String,
}

impl Receipt {
    /// The receipt of a filed report: its code, shown this once,
    /// `deadline`, the last day for routing it, and the filing receipt
    /// (printable, and as a file to save).
    fn new(
        lang: Lang,
        code: &TrackingCode,
        proof: &sunlight_core::log::Receipt,
        deadline: &str,
    ) -> Self {
        let text = serde_json::to_string_pretty(proof).unwrap_or_default();
        Self {
            ui: i18n::frame(lang, "/"),
            code: code.to_string(),
            deadline_line: i18n::catalog(lang).format("receipt.deadline", &[("date", deadline)]),
            receipt_file: format!("receipt-{}.json", proof.leaf.day),
            receipt_base64: data_encoding::BASE64.encode(text.as_bytes()),
            receipt_text: text,
        }
    }
}

pub async fn report_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = state.admit(&req, Limiters::submission, Format::Html)?;
    let (draft, errors) = match receive_report(&req, payload, &state).await {
        Ok(Received::Filed(code, proof, due)) => {
            let page = Receipt::new(lang, &code, &proof, &state.deadline_date(due));
            return Ok(render(StatusCode::OK, lang, &page));
        }
        Ok(Received::Invalid(draft, errors)) => (*draft, errors),
        Err(IntakeError::Invalid(errors)) => (ReportDraft::default(), errors),
        Err(e) => return Err(html(e, lang)),
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    report_page(&state, lang, unprocessable, &draft, &errors).await
}
