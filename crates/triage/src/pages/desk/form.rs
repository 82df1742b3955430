//! The desk form as it streams in: its text fields first, then its files,
//! each sealed to the case's units as it arrives (never whole in memory,
//! never readable on disk), as the public form does.

use std::collections::HashSet;

use actix_multipart::{Field as Part, Multipart, MultipartError};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{HttpRequest, mime, web};
use futures_util::StreamExt;
use sunlight_casework::service::DeskReport;
use sunlight_core::report::desk::DeskDraft;
use sunlight_core::report::{Field, FieldError, Limits, Problem, ReportDraft, clean_file_name};
use sunlight_filing::{UploadError, UploadTarget};
use sunlight_store::NewAttachment;

use super::{PageError, Viewer, check_desk_report};
use crate::error::TriageError;
use crate::state::AppState;

/// The longest text field read: a narrative at its limit in 4-byte
/// characters, with room to spare.
const TEXT_BYTES: usize = 256 * 1024;

/// The staff report form (the public form's fields plus the desk's).
#[derive(Default)]
pub struct IntakeForm {
    pub csrf: String,
    pub channel: String,
    pub report: ReportDraft,
    pub desk: DeskDraft,
}

impl IntakeForm {
    /// Sets the field `name`; an unknown or repeated name is refused.
    fn set(
        &mut self,
        seen: &mut HashSet<String>,
        name: &str,
        value: String,
    ) -> Result<(), TriageError> {
        if !seen.insert(name.to_owned()) {
            return Err(TriageError::Malformed(format!("field {name} twice")));
        }
        let r = &mut self.report;
        let slot = match name {
            "csrf" => &mut self.csrf,
            "channel" => &mut self.channel,
            "unit" => &mut r.unit,
            "category" => &mut r.category,
            "accused_name" => &mut r.accused_name,
            "accused_position" => &mut r.accused_position,
            "accused_role" => &mut r.accused_role,
            "selection_stage" => &mut r.selection_stage,
            "narrative" => &mut r.narrative,
            "reporter_name" => &mut r.reporter_name,
            "reporter_phone" => &mut r.reporter_phone,
            "received_on" => &mut self.desk.received_on,
            "postmark_on" => &mut self.desk.postmark_on,
            "return_address" => &mut self.desk.return_address,
            "real_name" => {
                r.real_name = matches!(value.as_str(), "on" | "true" | "1" | "yes");
                return Ok(());
            }
            _ => return Err(TriageError::Malformed("unknown field".into())),
        };
        *slot = value;
        Ok(())
    }
}

/// What became of a submitted desk form.
pub enum Received {
    Ready {
        desk: Box<DeskReport>,
        files: Vec<NewAttachment>,
        form: IntakeForm,
    },
    Invalid {
        form: IntakeForm,
        errors: Vec<FieldError>,
    },
}

fn malformed(e: MultipartError) -> TriageError {
    match e {
        MultipartError::Payload(PayloadError::Overflow) => TriageError::TooLarge,
        other => TriageError::Malformed(other.to_string()),
    }
}

/// The most a desk form may send: its text fields and its files.
fn total_limit(limits: &Limits) -> u64 {
    let files = limits
        .attachment_bytes
        .saturating_mul(u64::try_from(limits.attachments).unwrap_or(u64::MAX));
    let text = u64::try_from(TEXT_BYTES.saturating_mul(16)).unwrap_or(u64::MAX);
    files.saturating_add(text)
}

/// Opens the body as the public form's is opened: multipart only, no
/// content coding, bounded in total, and cut off bodies refused rather
/// than read as complete.
pub fn open(req: &HttpRequest, payload: web::Payload) -> Result<Multipart, TriageError> {
    let headers = req.headers();
    let coded = headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.essence_str() == "multipart/form-data");
    let boundary = sunlight_web::multipart::boundary(headers);
    let (Some(boundary), true, false) = (boundary, multipart, coded) else {
        return Err(TriageError::UnsupportedMediaType);
    };
    let limit = total_limit(&Limits::default());
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(TriageError::TooLarge);
    }
    let framed = sunlight_web::multipart::framed(payload, &boundary, limit);
    Ok(Multipart::new(headers, framed))
}

/// Reads the form; files are sealed once the fields before them are
/// checked (the CSRF token first of all) and the case is prepared.
pub async fn receive(
    viewer: &Viewer,
    state: &AppState,
    mut parts: Multipart,
) -> Result<Received, PageError> {
    let limits = Limits::default();
    let mut form = IntakeForm::default();
    let mut seen = HashSet::new();
    let mut ready: Option<DeskReport> = None;
    let mut files = Vec::new();
    while let Some(part) = parts.next().await {
        let mut part = part.map_err(|e| viewer.fail(malformed(e)))?;
        let name = part.name().unwrap_or_default().to_owned();
        if name != "attachment" {
            if ready.is_some() {
                return Err(viewer.fail(TriageError::Malformed("a field after files".into())));
            }
            let value = read_text(&mut part).await.map_err(|e| viewer.fail(e))?;
            form.set(&mut seen, &name, value)
                .map_err(|e| viewer.fail(e))?;
            continue;
        }
        let file_name = part
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_owned);
        if file_name.as_deref().is_none_or(str::is_empty) {
            // An empty file input still sends a nameless part.
            drain(&mut part).await.map_err(|e| viewer.fail(e))?;
            continue;
        }
        let desk = match ready.take() {
            Some(desk) => desk,
            None => match prepare(viewer, state, &form).await? {
                Ok(desk) => desk,
                Err(errors) => return Ok(Received::Invalid { form, errors }),
            },
        };
        if files.len() >= limits.attachments {
            let max = u64::try_from(limits.attachments).unwrap_or(u64::MAX);
            let errors = vec![file_error(Problem::TooMany { max })];
            return Ok(Received::Invalid { form, errors });
        }
        match seal(state, &desk, &mut part, file_name.as_deref(), &limits).await {
            Ok(file) => files.push(file),
            Err(Sealed::Refused(problem)) => {
                let errors = vec![file_error(problem)];
                return Ok(Received::Invalid { form, errors });
            }
            Err(Sealed::Failed(e)) => return Err(viewer.fail(e)),
        }
        ready = Some(desk);
    }
    let desk = match ready {
        Some(desk) => desk,
        None => match prepare(viewer, state, &form).await? {
            Ok(desk) => desk,
            Err(errors) => return Ok(Received::Invalid { form, errors }),
        },
    };
    Ok(Received::Ready {
        desk: Box::new(desk),
        files,
        form,
    })
}

fn file_error(problem: Problem) -> FieldError {
    FieldError {
        field: Field::Attachment,
        problem,
    }
}

/// Checks the token and the fields, then prepares the case (its id and
/// keys, for the files that follow).
async fn prepare(
    viewer: &Viewer,
    state: &AppState,
    form: &IntakeForm,
) -> Result<Result<DeskReport, Vec<FieldError>>, PageError> {
    viewer.check_csrf(&form.csrf)?;
    let today = state.triage.policy.local_date(chrono::Utc::now());
    match check_desk_report(form, &viewer.session.jurisdiction, today) {
        Ok((valid, details)) => Ok(Ok(state
            .triage
            .prepare_desk(&viewer.session, valid, details)
            .await
            .map_err(|e| viewer.fail(e))?)),
        Err(errors) => Ok(Err(errors)),
    }
}

/// Why a file was not sealed: a problem to show on the form, or a failure.
enum Sealed {
    Refused(Problem),
    Failed(TriageError),
}

async fn seal(
    state: &AppState,
    desk: &DeskReport,
    part: &mut Part,
    file_name: Option<&str>,
    limits: &Limits,
) -> Result<NewAttachment, Sealed> {
    let target = UploadTarget {
        spool_dir: &state.spool_dir,
        case: desk.case_id(),
        recipients: desk.recipients(),
        max_bytes: limits.attachment_bytes,
    };
    let declared_type = part
        .content_type()
        .map(ToString::to_string)
        .unwrap_or_default();
    let name = clean_file_name(file_name, limits);
    sunlight_filing::seal_upload(part, target, name, declared_type)
        .await
        .map_err(|e| match e {
            UploadError::TooLarge => Sealed::Refused(Problem::FileTooLarge {
                max: limits.attachment_bytes / (1024 * 1024),
            }),
            UploadError::Stream(e) => Sealed::Failed(malformed(e)),
            UploadError::Crypto(e) => Sealed::Failed(TriageError::Internal(e.to_string())),
            UploadError::Spool(e) => Sealed::Failed(TriageError::Internal(e)),
        })
}

/// A text part as UTF-8, at most [`TEXT_BYTES`].
async fn read_text(part: &mut Part) -> Result<String, TriageError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = part.next().await {
        let chunk = chunk.map_err(malformed)?;
        if bytes.len().saturating_add(chunk.len()) > TEXT_BYTES {
            return Err(TriageError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| TriageError::Malformed("text is not UTF-8".into()))
}

/// Reads a part to its end, keeping nothing.
async fn drain(part: &mut Part) -> Result<(), TriageError> {
    while let Some(chunk) = part.next().await {
        chunk.map_err(malformed)?;
    }
    Ok(())
}
