//! The case page: the report opened with the session's unit key, its
//! metadata, attachments, messages, history and holds, and one form per
//! action the member may take now. Every form posts back here and ends in
//! a 303 to the case page; a refusal re-renders it with the reason.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sunlight_core::case::{Action, Limits as ActionLimits};
use sunlight_core::policy::Policy;
use sunlight_core::report::{Limits, validate_message};
use sunlight_core::{CaseId, Outcome, Role, Stage};
use sunlight_store::UnitRow;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{
    Opt, PageError, Ui, Viewer, countdown, local_day, local_time, owner_word, render, unit_label,
    vocab_options,
};
use crate::error::TriageError;
use crate::i18n;
use crate::state::AppState;
use sunlight_casework::service::{ActionRequest, CaseView};

fn case_id(viewer: &Viewer, raw: &str) -> Result<CaseId, PageError> {
    CaseId::parse(raw).map_err(|_| viewer.fail(TriageError::NoSuchCase))
}

pub struct Fact {
    pub id: &'static str,
    pub label: String,
    pub value: String,
}

pub struct AttachmentLine {
    pub href: String,
    pub name: String,
    pub kind: String,
    pub size: String,
}

pub struct MessageLine<'a> {
    pub from_staff: bool,
    pub at: String,
    pub body: &'a str,
}

pub struct StepLine<'a> {
    pub at: String,
    pub from: String,
    pub to: String,
    pub action: String,
    pub actor: String,
    pub note: Option<&'a str>,
    pub for_reporter: bool,
}

pub struct HoldLine {
    pub id: String,
    pub confirm_href: String,
    pub notice_due: String,
    pub max_until: String,
    pub status: String,
    pub can_confirm: bool,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage<'a> {
    ui: Ui,
    errors: Vec<String>,
    id: String,
    csrf: String,
    action_href: String,
    message_href: String,
    stage_code: &'static str,
    stage: String,
    facts: Vec<Fact>,
    view: &'a CaseView,
    attachments: Vec<AttachmentLine>,
    messages: Vec<MessageLine<'a>>,
    history: Vec<StepLine<'a>>,
    holds: Vec<HoldLine>,
    allowed: Vec<&'static str>,
    claim_label: String,
    outcomes: Vec<Opt>,
    extension_hint: String,
    reply_hint: String,
    limits: Limits,
    open: bool,
}

impl CasePage<'_> {
    fn allows(&self, action: &str) -> bool {
        self.allowed.contains(&action)
    }
}

fn yes_no(ui: &Ui, yes: bool) -> String {
    ui.t(if yes { "case.yes" } else { "case.no" }).to_owned()
}

fn facts(
    ui: &Ui,
    state: &AppState,
    view: &CaseView,
    units: &[UnitRow],
    me: Uuid,
    now: DateTime<Utc>,
) -> Vec<Fact> {
    let c = &view.case;
    let policy = &state.triage.policy;
    let fact = |id, key: &str, value: String| Fact {
        id,
        label: ui.t(key).to_owned(),
        value,
    };
    let none = || ui.t("case.none").to_owned();
    let mut out = vec![
        fact("unit", "case.unit", unit_label(units, &c.unit)),
        fact(
            "addressed-unit",
            "case.addressed_unit",
            unit_label(units, &c.addressed_unit),
        ),
        fact(
            "category",
            "case.category",
            ui.word("category", c.category.as_str()),
        ),
        fact(
            "accused-role",
            "case.accused_role",
            ui.word("accused_role", c.accused_role.as_str()),
        ),
        fact(
            "selection-stage",
            "case.selection_stage",
            ui.word("selection_stage", c.selection_stage.as_str()),
        ),
        fact(
            "channel",
            "case.channel",
            ui.word("channel", c.channel.as_str()),
        ),
        fact("real-name", "case.real_name", yes_no(ui, c.real_name)),
        fact(
            "hold",
            "case.hold",
            ui.t(if c.hold {
                "case.hold_active"
            } else {
                "case.hold_none"
            })
            .to_owned(),
        ),
        fact(
            "outcome",
            "case.outcome",
            c.outcome
                .map_or_else(none, |o| ui.word("outcome", o.as_str())),
        ),
        fact(
            "received",
            "case.received",
            local_time(policy, c.received_at),
        ),
    ];
    match &view.entry {
        Some(e) => {
            let due = countdown(
                ui.lang,
                policy,
                &state.triage.calendar,
                c.stage,
                e.due_at,
                now,
            );
            out.push(fact(
                "deadline",
                "case.deadline",
                format!("{} · {}", due.date, due.text),
            ));
            if let Some(until) = e.paused_until.filter(|p| *p > now) {
                out.push(fact("paused", "case.paused", local_time(policy, until)));
            }
            out.push(fact(
                "owner",
                "case.owner",
                owner_word(ui.lang, e.owner, me).1,
            ));
        }
        None => out.push(fact("deadline", "case.deadline", none())),
    }
    if let Some(m) = c.merged_into {
        out.push(fact("merged-into", "case.merged_into", m.to_string()));
    }
    out
}

fn actor_word(ui: &Ui, actor: Option<Uuid>, me: Uuid) -> String {
    let key = match actor {
        Some(a) if a == me => "actor.you",
        Some(_) => "actor.other",
        None => "actor.system",
    };
    ui.t(key).to_owned()
}

/// The history, oldest first, with the opened notes.
fn history_lines<'a>(ui: &Ui, policy: &Policy, view: &'a CaseView, me: Uuid) -> Vec<StepLine<'a>> {
    view.history
        .iter()
        .map(|h| StepLine {
            at: local_time(policy, h.at),
            from: ui.word("stage", h.from.as_str()),
            to: ui.word("stage", h.to.as_str()),
            action: ui.word("event", &h.action),
            actor: actor_word(ui, h.actor, me),
            note: h.note.as_ref().map(|n| n.as_str()),
            for_reporter: h.reporter_visible,
        })
        .collect()
}

/// The case's holds; an open, unconfirmed one gets a confirm form for
/// verifiers and supervisors.
fn hold_lines(ui: &Ui, policy: &Policy, view: &CaseView, role: Role) -> Vec<HoldLine> {
    let id = view.case.id;
    let may_confirm =
        matches!(role, Role::Verifier | Role::Supervisor) && view.case.stage != Stage::Closed;
    view.holds
        .iter()
        .map(|h| {
            let (key, open) = match (h.confirmed_at, h.lifted_at) {
                (_, Some(_)) => ("case.hold_lifted", false),
                (Some(_), None) => ("case.hold_confirmed", false),
                (None, None) => ("case.hold_unconfirmed", true),
            };
            HoldLine {
                id: h.id.to_string(),
                confirm_href: ui.href(&format!("/cases/{id}/holds/{}/confirm", h.id)),
                notice_due: local_day(policy, h.notice_due_at),
                max_until: local_day(policy, h.max_until),
                status: ui.t(key).to_owned(),
                can_confirm: open && may_confirm,
            }
        })
        .collect()
}

/// Renders the case page, with `errors` on top when an action was refused.
async fn case_page(
    viewer: &Viewer,
    state: &AppState,
    id: CaseId,
    status: StatusCode,
    errors: Vec<String>,
) -> Result<HttpResponse, PageError> {
    let now = Utc::now();
    let view = state
        .triage
        .view(&viewer.session, id, now)
        .await
        .map_err(|e| viewer.fail(e))?;
    let units = state
        .triage
        .store
        .units()
        .await
        .map_err(|e| viewer.fail(e))?;
    let me = viewer.session.staff_id;
    let ui = viewer.ui(format!("/cases/{id}"));
    let policy = &state.triage.policy;
    let c = &view.case;
    let owner = view.entry.as_ref().and_then(|e| e.owner);
    let lang = viewer.lang;
    // Claiming a case one owns already changes nothing: no button for it.
    let allowed: Vec<&'static str> = view
        .allowed
        .iter()
        .copied()
        .filter(|a| *a != "claim" || owner != Some(me))
        .collect();
    let limits = Limits::default();
    let action_limits = ActionLimits::from_policy(policy, &state.triage.calendar, now);
    let t = i18n::catalog(lang);
    let page = CasePage {
        errors,
        id: id.to_string(),
        csrf: viewer.session.csrf().to_owned(),
        action_href: ui.href(&format!("/cases/{id}/actions")),
        message_href: ui.href(&format!("/cases/{id}/messages")),
        stage_code: c.stage.as_str(),
        stage: ui.word("stage", c.stage.as_str()),
        facts: facts(&ui, state, &view, &units, me, now),
        attachments: view
            .attachments
            .iter()
            .map(|a| AttachmentLine {
                href: format!("/api/v1/cases/{id}/attachments/{}", a.id),
                name: sunlight_core::report::without_format_chars(&a.meta.file_name),
                kind: a.meta.declared_type.clone(),
                size: sunlight_web::human_size(a.meta.size),
            })
            .collect(),
        messages: view
            .messages
            .iter()
            .map(|m| MessageLine {
                from_staff: m.from_staff,
                at: local_time(policy, m.at),
                body: m.body.as_str(),
            })
            .collect(),
        history: history_lines(&ui, policy, &view, me),
        holds: hold_lines(&ui, policy, &view, viewer.session.role),
        allowed,
        claim_label: ui
            .t(if owner.is_some() {
                "action.claim_over"
            } else {
                "action.claim"
            })
            .to_owned(),
        outcomes: vocab_options(
            crate::i18n::catalog(lang),
            "outcome",
            Outcome::ALL,
            Outcome::as_str,
            "",
        ),
        extension_hint: t.format(
            "case.extend_hint",
            &[("max", &action_limits.extension_max_days.to_string())],
        ),
        reply_hint: t.format(
            "case.reply_hint",
            &[("max", &limits.message_chars.to_string())],
        ),
        limits,
        open: c.stage != Stage::Closed,
        view: &view,
        ui,
    };
    Ok(render(status, lang, &page))
}

/// Errors a member can cause and fix on the case page itself.
fn shown_on_case(e: &TriageError) -> bool {
    matches!(
        e,
        TriageError::Refused(_)
            | TriageError::Conflict(_)
            | TriageError::Invalid(_)
            | TriageError::Forbidden
    )
}

/// After a change: back to the case, or the case with the reason.
async fn answer(
    viewer: &Viewer,
    state: &AppState,
    id: CaseId,
    outcome: Result<(), impl Into<TriageError>>,
) -> Result<HttpResponse, PageError> {
    match outcome.map_err(Into::into) {
        Ok(()) => Ok(viewer.back_to(&format!("/cases/{id}"))),
        Err(e) if shown_on_case(&e) => {
            let reason = e.message(viewer.lang);
            case_page(viewer, state, id, e.status(), vec![reason]).await
        }
        Err(e) => Err(viewer.fail(e)),
    }
}

pub async fn case_show(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    if viewer.session.role == Role::Admin {
        return Ok(super::admin_elsewhere(&viewer, &format!("/cases/{path}")));
    }
    let id = case_id(&viewer, &path)?;
    case_page(&viewer, &state, id, StatusCode::OK, Vec::new()).await
}

/// The fields of every action form; each form sends its own.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ActionForm {
    csrf: String,
    action: String,
    outcome: String,
    to: String,
    decision: String,
    days: String,
    reason: String,
    question: String,
    message: String,
    into: String,
    note: String,
}

impl std::fmt::Debug for ActionForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionForm")
            .field("action", &self.action)
            .finish_non_exhaustive()
    }
}

impl ActionForm {
    /// The state-machine action the form asks for, or the catalog key of
    /// what is wrong with it.
    fn request(&mut self) -> Result<ActionRequest, &'static str> {
        let take = std::mem::take;
        let outcome = |raw: &str| raw.parse::<Outcome>().map_err(|_| "errors.outcome");
        let action = match self.action.as_str() {
            "route" => Action::Route,
            "claim" => Action::Claim,
            "verified" => Action::Verified {
                outcome: outcome(&self.outcome)?,
            },
            "transfer" => Action::Transfer {
                to: take(&mut self.to),
            },
            "rechecked" => Action::Rechecked {
                outcome: outcome(&self.outcome)?,
            },
            "decided" => Action::Decided {
                decision: take(&mut self.decision),
            },
            "extend" => Action::Extend {
                days: self.days.trim().parse().map_err(|_| "errors.days")?,
                reason: take(&mut self.reason),
            },
            "ask_reporter" => Action::AskReporter {
                question: take(&mut self.question),
            },
            "feedback" => Action::Feedback {
                message: take(&mut self.message),
            },
            "close" => Action::Close,
            "merge" => Action::Merge {
                into: CaseId::parse(self.into.trim()).map_err(|_| "errors.merge_target")?,
            },
            _ => return Err("errors.unknown_action"),
        };
        let note = take(&mut self.note);
        Ok(ActionRequest {
            action,
            note: Some(note).filter(|n| !n.trim().is_empty()),
        })
    }
}

/// `POST /cases/{id}/actions`: one state-machine action.
pub async fn case_action(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, PageError> {
    let mut form = form.into_inner();
    viewer.check_csrf(&form.csrf)?;
    let id = case_id(&viewer, &path)?;
    let request = match form.request() {
        Ok(r) => r,
        Err(key) => {
            let reason = i18n::catalog(viewer.lang).get(key).to_owned();
            return case_page(
                &viewer,
                &state,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![reason],
            )
            .await;
        }
    };
    let done = state
        .triage
        .act(&viewer.session, id, request, Utc::now())
        .await
        .map(|_| ());
    answer(&viewer, &state, id, done).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MessageForm {
    csrf: String,
    body: String,
    /// A case merged into this one, whose reporter alone is addressed;
    /// empty for the case's own reporter.
    to: String,
}

impl std::fmt::Debug for MessageForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MessageForm(<redacted>)")
    }
}

/// `POST /cases/{id}/messages`: a message the reporter reads with the code.
pub async fn case_message(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<MessageForm>,
) -> Result<HttpResponse, PageError> {
    let MessageForm { csrf, body, to } = form.into_inner();
    let body = Zeroizing::new(body);
    viewer.check_csrf(&csrf)?;
    let id = case_id(&viewer, &path)?;
    if let Err(e) = validate_message(&body, &Limits::default()) {
        let reason = i18n::field_error(viewer.lang, &e);
        return case_page(
            &viewer,
            &state,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![reason],
        )
        .await;
    }
    let sent = match merged_reporter(&to) {
        Ok(to) => state
            .triage
            .message(&viewer.session, id, &body, to, Utc::now())
            .await
            .map(|_| ())
            .map_err(TriageError::from),
        Err(e) => Err(e),
    };
    answer(&viewer, &state, id, sent).await
}

/// The `to` field of a reply: empty for the case's own reporter.
fn merged_reporter(raw: &str) -> Result<Option<CaseId>, TriageError> {
    match raw.trim() {
        "" => Ok(None),
        raw => CaseId::parse(raw)
            .map(Some)
            .map_err(|_| TriageError::Invalid(crate::error::Invalid::ReplyTo)),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct HoldForm {
    csrf: String,
    notice_to: String,
}

impl std::fmt::Debug for HoldForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HoldForm(<redacted>)")
    }
}

/// `POST /cases/{id}/holds/{hold}/confirm`: the hold notice went out.
pub async fn hold_confirm(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<HoldForm>,
) -> Result<HttpResponse, PageError> {
    let HoldForm { csrf, notice_to } = form.into_inner();
    let notice_to = Zeroizing::new(notice_to);
    viewer.check_csrf(&csrf)?;
    let (raw_id, raw_hold) = path.into_inner();
    let id = case_id(&viewer, &raw_id)?;
    let hold = Uuid::parse_str(&raw_hold).map_err(|_| viewer.fail(TriageError::NotFound))?;
    if notice_to.trim().is_empty() {
        let reason = i18n::catalog(viewer.lang)
            .get("errors.notice_to_missing")
            .to_owned();
        return case_page(
            &viewer,
            &state,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![reason],
        )
        .await;
    }
    let done = state
        .triage
        .confirm_hold(&viewer.session, id, hold, &notice_to, Utc::now())
        .await;
    answer(&viewer, &state, id, done).await
}
