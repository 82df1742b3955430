//! The HTML pages: thin handlers that read the form, call `Filing`, and
//! render a compiled template. No page needs JavaScript.

mod rating;
mod report;
mod status;

pub use rating::rating_submit;
pub(crate) use rating::{rate as rate_by_code, rating_view};
use report::attachment_hint;
pub use report::{report_form, report_submit, set_report_field};
pub use status::{ReportEntry, message_submit, status_form, status_lookup};

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
use crate::guard::Limiters;
use crate::input::{FormStream, Part, drain};
use crate::state::AppState;
use crate::{i18n, spool};
use sunlight_filing::{Found, Prepared, Status};

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

fn html(error: impl Into<IntakeError>, lang: Lang) -> Failure {
    Failure {
        error: error.into(),
        lang,
        format: Format::Html,
    }
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

pub async fn stylesheet() -> HttpResponse {
    sunlight_web::stylesheet(include_str!("../static/style.css"))
}

/// The sealing script, built from crates/intake/web (docs/crypto.md,
/// "Sealing in the browser"); .ci/run checks it is what its sources build.
const SEALING_JS: &str = include_str!("../static/sealing.js");

/// `sha384-…` of the script, for the pages' `integrity` attribute: a proxy
/// or cache that alters the script in transit breaks the page instead.
/// None where the deployment's suite seals on the server only (ShangMi:
/// docs/crypto.md says why), so its pages load no script at all.
pub fn sealing_integrity(state: &AppState) -> Option<&'static str> {
    use sha2::Digest;
    static INTEGRITY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    state.filing.seals_in_browser().then(|| {
        INTEGRITY
            .get_or_init(|| {
                let digest = sha2::Sha384::digest(SEALING_JS.as_bytes());
                format!("sha384-{}", data_encoding::BASE64.encode(&digest))
            })
            .as_str()
    })
}

pub async fn sealing_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "no-cache"))
        .body(SEALING_JS)
}

/// A page that loads the sealing script (when `script`): the one CSP that
/// allows it.
pub(crate) fn with_sealing(script: bool, mut res: HttpResponse) -> HttpResponse {
    if !script {
        return res;
    }
    res.headers_mut().insert(
        actix_web::http::header::CONTENT_SECURITY_POLICY,
        actix_web::http::header::HeaderValue::from_static(sunlight_web::CSP_SEALING),
    );
    res
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
