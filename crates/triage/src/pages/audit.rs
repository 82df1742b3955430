//! The audit page (/audit, 审计日志): the entries of the member's units,
//! filtered by case number, member, action and day, newest first, 50 a
//! page; and whether the hash chain holds up to its head, with the head's
//! hash to compare with the daily anchor mail. Admins and supervisors.

use std::collections::HashMap;

use super::dates::local_time;
use super::*;
use sunlight_casework::service::{AuditPage, AuditRequest, ChainCheck};
use sunlight_core::audit::{ACTIONS, ChainError};
use sunlight_core::{CaseId, CaseNumber};
use sunlight_store::AuditEntry;

/// One entry as the page lists it.
pub struct AuditLine {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub unit: String,
    pub case: String,
    pub case_href: Option<String>,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub(super) struct AuditView {
    ui: Ui,
    q: AuditRequest,
    errors: Vec<String>,
    actions: &'static [&'static str],
    chain_ok: bool,
    chain_line: String,
    head_hash: Option<String>,
    lines: Vec<AuditLine>,
    older: Option<String>,
}

pub async fn audit_show(
    req: HttpRequest,
    viewer: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let q = web::Query::<AuditRequest>::from_query(req.query_string())
        .map_err(|e| viewer.fail(TriageError::Malformed(e.to_string())))?
        .into_inner();
    let now = Utc::now();
    let (status, page, errors) = match state.triage.audit_page(&viewer.session, &q, now).await {
        Ok(page) => (StatusCode::OK, Some(page), Vec::new()),
        Err(e) => {
            let e = TriageError::from(e);
            if !matches!(e, TriageError::Invalid(_)) {
                return Err(viewer.fail(e));
            }
            (e.status(), None, vec![e.message(viewer.lang)])
        }
    };
    let units = state
        .triage
        .store
        .units()
        .await
        .map_err(|e| viewer.fail(e))?;
    let view = AuditView::new(&viewer, &state.triage.policy, q, page, errors, &units);
    Ok(render(status, viewer.lang, &view))
}

impl AuditView {
    fn new(
        viewer: &Viewer,
        policy: &sunlight_core::policy::Policy,
        q: AuditRequest,
        page: Option<AuditPage>,
        errors: Vec<String>,
        units: &[UnitRow],
    ) -> Self {
        let ui = viewer.ui("/audit");
        let reads_cases = viewer.session.role == Role::Supervisor;
        let (chain_ok, chain_line, head_hash) = match &page {
            Some(p) => chain_words(&ui, policy, &p.chain),
            None => (true, String::new(), None),
        };
        let lines = page.as_ref().map_or_else(Vec::new, |p| {
            p.entries
                .iter()
                .map(|e| line(&ui, policy, e, &p.emails, &p.numbers, units, reads_cases))
                .collect()
        });
        let older = page
            .as_ref()
            .and_then(|p| p.older)
            .map(|seq| older_href(&ui, &q, seq));
        AuditView {
            ui,
            q,
            errors,
            actions: ACTIONS,
            chain_ok,
            chain_line,
            head_hash,
            lines,
            older,
        }
    }
}

/// Whether the chain holds, in words, and the head's hash.
fn chain_words(
    ui: &Ui,
    policy: &sunlight_core::policy::Policy,
    c: &ChainCheck,
) -> (bool, String, Option<String>) {
    let t = i18n::catalog(ui.lang);
    let checked = local_time(policy, c.checked_at);
    let full = local_time(policy, c.full_at);
    match &c.result {
        Ok(None) => (true, t.get("audit.chain_empty").to_owned(), None),
        Ok(Some(head)) => (
            true,
            t.format(
                "audit.chain_ok",
                &[
                    ("seq", &head.seq.to_string()),
                    ("full", &full),
                    ("checked", &checked),
                ],
            ),
            Some(data_encoding::HEXLOWER.encode(&head.hash)),
        ),
        Err(e) => {
            let (key, seq) = match e {
                ChainError::BrokenLink { seq } => ("audit.chain_broken_link", seq),
                ChainError::Altered { seq } => ("audit.chain_altered", seq),
                ChainError::Gap { seq, .. } => ("audit.chain_gap", seq),
                ChainError::Vanished { seq } => ("audit.chain_vanished", seq),
            };
            (
                false,
                t.format(key, &[("seq", &seq.to_string()), ("checked", &checked)]),
                None,
            )
        }
    }
}

fn line(
    ui: &Ui,
    policy: &sunlight_core::policy::Policy,
    e: &AuditEntry,
    emails: &HashMap<uuid::Uuid, String>,
    numbers: &HashMap<CaseId, CaseNumber>,
    units: &[UnitRow],
    reads_cases: bool,
) -> AuditLine {
    let member = e
        .actor
        .strip_prefix("staff:")
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
        .and_then(|id| emails.get(&id).cloned());
    // A reporter's and an arrival's entries are stamped with their day
    // only (docs/threat-model.md 7.8): shown as that day, not a midnight.
    let day_only = e.actor == "reporter" || e.actor.starts_with("channel:");
    let case = CaseId::parse(&e.case_id).ok();
    AuditLine {
        seq: e.seq,
        at: if day_only {
            policy.local_date(e.at).to_string()
        } else {
            local_time(policy, e.at)
        },
        actor: member.unwrap_or_else(|| e.actor.clone()),
        action: e.action.clone(),
        unit: UnitId::parse(&e.unit).map_or_else(|_| e.unit.clone(), |u| unit_label(units, &u)),
        case: case.map_or_else(String::new, |c| {
            numbers
                .get(&c)
                .map_or_else(|| short_case(c), ToString::to_string)
        }),
        case_href: case
            .filter(|_| reads_cases)
            .map(|c| ui.href(&format!("/cases/{c}"))),
        detail: shown_detail(&e.detail),
    }
}

/// The detail without a sealed value (a search's words, sealed to the
/// unit key): the page says that there is one, not its ciphertext.
fn shown_detail(detail: &str) -> String {
    detail
        .split(' ')
        .map(|part| match part.split_once('=') {
            Some(("sealed", _)) => "sealed=…".to_owned(),
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The page of entries before `seq`, with the same filters.
fn older_href(ui: &Ui, q: &AuditRequest, seq: i64) -> String {
    let query: Vec<String> = [
        ("number", &q.number),
        ("actor", &q.actor),
        ("action", &q.action),
        ("from", &q.from),
        ("to", &q.to),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().filter(|v| !v.is_empty()).map(|v| (k, v)))
    .map(|(k, v)| format!("{k}={}", super::register::percent(v)))
    .chain(std::iter::once(format!("before={seq}")))
    .collect();
    format!("{}&{}", ui.href("/audit"), query.join("&"))
}

fn short_case(c: CaseId) -> String {
    sunlight_casework::short_case(c)
}
