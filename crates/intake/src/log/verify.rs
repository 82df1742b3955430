//! `/verify`: a receipt pasted into a form, checked by the server against
//! the heads it published, each step shown. The page works without
//! script; a reporter who does not trust this server checks the same with
//! `sunlight receipt verify` against the published heads.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use sunlight_core::i18n::Lang;
use sunlight_core::log::{Check, FINDINGS, InclusionProof, Outcome, Receipt, check_receipt};

use crate::error::{Failure, Format, IntakeError};
use crate::guard::Limiters;
use crate::i18n;
use crate::input::{FormStream, Part};
use crate::pages::{Frame, render, sealing_integrity, with_sealing};
use crate::state::AppState;

/// A receipt is a few hundred bytes; a pasted one with spaces, a few KiB.
const RECEIPT_LIMIT: usize = 8 * 1024;
const FORM_LIMIT: u64 = 16 * 1024;

struct CheckLine {
    name: String,
    passed: bool,
    outcome: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    ui: Frame,
    pasted: String,
    problem: Option<String>,
    checks: Vec<CheckLine>,
    verdict: Option<String>,
    /// The script's `integrity`, where the receipt is checked in the
    /// browser (the `modern` suite); none: the server checks it.
    integrity: Option<&'static str>,
    /// This deployment's log key, hex: the script names a receipt of
    /// another log as the server does.
    log_key: String,
    /// The script's words (key, text): each check, outcome and finding.
    words: Vec<(String, String)>,
}

/// The catalog keys (under `verify.`) the script draws a result with.
fn script_words(lang: Lang) -> Vec<(String, String)> {
    let t = i18n::catalog(lang);
    let checks = [
        "receipt",
        "signature",
        "heads_signed",
        "consistency",
        "inclusion",
    ];
    let keys = [
        "passed",
        "failed",
        "pending",
        "local",
        "not_a_receipt",
        "other_log",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(checks.iter().map(|c| format!("check_{c}")))
    .chain(["passed", "pending", "failed"].map(|o| format!("outcome_{o}")))
    .chain(FINDINGS.iter().map(|f| format!("detail_{f}")));
    keys.map(|k| {
        let words = t.get(&format!("verify.{k}")).to_owned();
        (k, words)
    })
    .collect()
}

async fn page(state: &AppState, lang: Lang) -> Result<VerifyPage, IntakeError> {
    let integrity = sealing_integrity(state);
    Ok(VerifyPage {
        ui: i18n::frame(lang, "/verify"),
        pasted: String::new(),
        problem: None,
        checks: Vec::new(),
        verdict: None,
        integrity,
        log_key: data_encoding::HEXLOWER.encode(&state.filing.log_key().await?.public().bytes),
        words: integrity.map(|_| script_words(lang)).unwrap_or_default(),
    })
}

/// The page, with the CSP that lets it load the script where it has one.
fn shown_page(status: StatusCode, lang: Lang, out: &VerifyPage) -> HttpResponse {
    with_sealing(out.integrity.is_some(), render(status, lang, out))
}

/// `GET /verify`.
pub async fn verify_form(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let lang = i18n::lang_of(&req);
    let out = page(&state, lang).await.map_err(|e| Failure {
        error: e,
        lang,
        format: Format::Html,
    })?;
    Ok(shown_page(StatusCode::OK, lang, &out))
}

async fn read_receipt(req: &HttpRequest, payload: web::Payload) -> Result<String, IntakeError> {
    let mut form =
        FormStream::open(req.headers(), payload, RECEIPT_LIMIT, FORM_LIMIT, false).await?;
    let mut text: Option<String> = None;
    while let Some(part) = form.next(RECEIPT_LIMIT).await? {
        match part {
            Part::Text { name, value } if name == "receipt" => {
                if text.replace(value).is_some() {
                    return Err(IntakeError::DuplicateField(name));
                }
            }
            Part::Text { name, .. } | Part::File { name, .. } => {
                return Err(IntakeError::UnknownField(name));
            }
        }
    }
    Ok(text.unwrap_or_default())
}

/// The checks of `receipt` against what this deployment published, or
/// `None` for a receipt of another log (its key is not this deployment's).
async fn checks(state: &AppState, receipt: &Receipt) -> Result<Option<Vec<Check>>, IntakeError> {
    if state.filing.log_key().await?.public().bytes != receipt.log_key {
        return Ok(None);
    }
    let store = &state.filing.store;
    let (heads, tree) = store.published_tree().await?;
    let index = match receipt.leaf_hash() {
        Some(leaf) => store.log_index_of(&leaf).await?,
        None => None,
    };
    let today = state.filing.policy.local_date(chrono::Utc::now());
    Ok(Some(check_receipt(
        receipt,
        &heads,
        Some(today),
        |_, size| InclusionProof::from_tree(&tree, index?, size),
        |from, to| tree.consistency_proof(from, to),
    )))
}

/// `POST /verify`, field `receipt`.
pub async fn verify_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    // Each check reads every head: limited like a lookup.
    let lang = state.admit(&req, Limiters::lookup, Format::Html)?;
    let t = i18n::catalog(lang);
    let fail = |e: IntakeError| Failure {
        error: e,
        lang,
        format: Format::Html,
    };
    let pasted = read_receipt(&req, payload).await.map_err(fail)?;
    let mut out = page(&state, lang).await.map_err(fail)?;
    let Ok(receipt) = serde_json::from_str::<Receipt>(pasted.trim()) else {
        out.problem = Some(t.get("verify.not_a_receipt").to_owned());
        out.pasted = pasted;
        return Ok(shown_page(StatusCode::UNPROCESSABLE_ENTITY, lang, &out));
    };
    let Some(found) = checks(&state, &receipt).await.map_err(fail)? else {
        out.problem = Some(t.get("verify.other_log").to_owned());
        out.pasted = pasted;
        return Ok(shown_page(StatusCode::UNPROCESSABLE_ENTITY, lang, &out));
    };
    shown(&mut out, lang, found);
    out.pasted = pasted;
    Ok(shown_page(StatusCode::OK, lang, &out))
}

/// The checks as the page words them.
fn shown(out: &mut VerifyPage, lang: Lang, found: Vec<Check>) {
    let t = i18n::catalog(lang);
    let verdict = if found.iter().any(|c| c.outcome == Outcome::Failed) {
        "verify.failed"
    } else if found.iter().any(|c| c.outcome == Outcome::Pending) {
        "verify.pending"
    } else {
        "verify.passed"
    };
    out.verdict = Some(t.get(verdict).to_owned());
    out.checks = found
        .into_iter()
        .map(|c| CheckLine {
            name: t
                .get(&format!("verify.check_{}", c.name.replace(' ', "_")))
                .to_owned(),
            passed: c.outcome == Outcome::Passed,
            outcome: t
                .get(&format!("verify.outcome_{:?}", c.outcome).to_lowercase())
                .to_owned(),
            detail: {
                let args: Vec<(&str, &str)> =
                    c.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                t.format(&format!("verify.detail_{}", c.key), &args)
            },
        })
        .collect();
}
