//! The case page's view: the case opened for a member, as the template
//! shows it — facts, attachments, messages, history, holds and the forms
//! of the actions the member may take now.

use askama::Template;
use chrono::{DateTime, Utc};
use sunlight_casework::service::{Authenticity, CaseView};
use sunlight_core::case::Limits as ActionLimits;
use sunlight_core::policy::Policy;
use sunlight_core::report::Limits;
use sunlight_core::{Outcome, Role, Stage};
use sunlight_store::{CaseRow, UnitRow};
use uuid::Uuid;

use super::tasks::{TaskLine, can_acknowledge, rating_line, task_lines};
use crate::i18n;
use crate::pages::{
    Opt, Ui, Viewer, countdown, local_day, local_time, owner_word, unit_label, vocab_options,
};
use crate::state::AppState;

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
    /// Listed by a line saying so, with no link.
    pub unreadable: bool,
}

pub struct MessageLine<'a> {
    pub from_staff: bool,
    pub at: String,
    pub body: std::borrow::Cow<'a, str>,
    /// What the reader must know about who wrote it, when it is not the
    /// case unit's (an untagged or forged staff text).
    pub warning: Option<String>,
}

pub struct StepLine<'a> {
    pub at: String,
    pub from: String,
    pub to: String,
    pub action: String,
    pub actor: String,
    pub note: Option<&'a str>,
    pub warning: Option<String>,
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
pub(super) struct CasePage<'a> {
    ui: Ui,
    errors: Vec<String>,
    /// The case number, or the words for "not numbered yet".
    number: String,
    csrf: String,
    action_href: String,
    message_href: String,
    comment_href: String,
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
    referral_bodies: Vec<Opt>,
    extension_hint: String,
    reply_hint: String,
    limits: Limits,
    open: bool,
    tasks: Vec<TaskLine>,
    can_acknowledge: bool,
    /// Where a supervisor downloads the case for the paper file.
    export_href: Option<String>,
    /// The merge picker: `(case id, number · accused · arrival day)`.
    merge_options: Vec<(String, String)>,
    /// For a supervisor: where the legal hold is set or lifted, and
    /// whether one stands.
    legal_hold: Option<(String, bool)>,
}

impl<'a> CasePage<'a> {
    /// The page of `view` for the member: the forms of the actions they may
    /// take now, the texts opened, times in the deployment's zone.
    pub(super) fn new(
        viewer: &Viewer,
        state: &AppState,
        view: &'a CaseView,
        units: &[UnitRow],
        errors: Vec<String>,
        now: DateTime<Utc>,
    ) -> Self {
        let id = view.case.id;
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
        let claim_key = owner.map_or("action.claim", |_| "action.claim_over");
        CasePage {
            errors,
            number: c.number.as_ref().map_or_else(
                || ui.t("case.unnumbered_short").to_owned(),
                ToString::to_string,
            ),
            csrf: viewer.session.csrf().to_owned(),
            action_href: ui.href(&format!("/cases/{id}/actions")),
            message_href: ui.href(&format!("/cases/{id}/messages")),
            comment_href: ui.href(&format!("/cases/{id}/comments")),
            stage_code: c.stage.as_str(),
            stage: ui.word("stage", c.stage.as_str()),
            facts: facts(&ui, state, view, units, me, now),
            attachments: attachment_lines(&ui, view),
            messages: message_lines(&ui, policy, view),
            history: history_lines(&ui, policy, view, me),
            holds: hold_lines(&ui, policy, view, viewer.session.role),
            allowed,
            claim_label: ui.t(claim_key).to_owned(),
            outcomes: vocab_options(
                crate::i18n::catalog(lang),
                "outcome",
                Outcome::ALL,
                Outcome::as_str,
                "",
            ),
            referral_bodies: vocab_options(
                crate::i18n::catalog(lang),
                "referral_body",
                sunlight_core::ReferralBody::ALL,
                sunlight_core::ReferralBody::as_str,
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
            tasks: task_lines(&ui, policy, view, units),
            merge_options: merge_options(viewer.lang, policy, view),
            can_acknowledge: can_acknowledge(view, viewer.session.role),
            export_href: (viewer.session.role == Role::Supervisor)
                .then(|| format!("/cases/{}/export.zip", view.case.id)),
            legal_hold: (viewer.session.role == Role::Supervisor).then(|| legal_hold(view)),
            view,
            ui,
        }
    }

    fn allows(&self, action: &str) -> bool {
        self.allowed.contains(&action)
    }
}

/// The open cases this one may be merged into, as the picker lists them.
fn merge_options(
    lang: sunlight_core::i18n::Lang,
    policy: &Policy,
    view: &CaseView,
) -> Vec<(String, String)> {
    view.merge_candidates
        .iter()
        .map(|h| {
            let number = crate::pages::number_label(lang, h.number.as_ref(), h.case_id);
            let day = policy.local_date(h.received_at);
            (
                h.case_id.to_string(),
                format!("{number} · {} · {day}", h.accused_name.as_str()),
            )
        })
        .collect()
}

fn yes_no(ui: &Ui, yes: bool) -> String {
    ui.t(if yes { "case.yes" } else { "case.no" }).to_owned()
}

/// What the case's row says of it (no deadline, owner or rating): the
/// page's facts, and the head of an export's report.
pub(super) fn row_facts(ui: &Ui, policy: &Policy, c: &CaseRow, units: &[UnitRow]) -> Vec<Fact> {
    let fact = |id, key: &str, value: String| Fact {
        id,
        label: ui.t(key).to_owned(),
        value,
    };
    let none = || ui.t("case.none").to_owned();
    vec![
        fact(
            "number",
            "case.number",
            c.number
                .as_ref()
                .map_or_else(|| ui.t("case.unnumbered").to_owned(), ToString::to_string),
        ),
        fact("case-id", "case.system_id", c.id.to_string()),
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
            "disposition",
            "case.disposition",
            match c.referred_to {
                Some(body) => format!(
                    "{}: {}",
                    ui.word("disposition", c.disposition.as_str()),
                    ui.word("referral_body", body.as_str())
                ),
                None => ui.word("disposition", c.disposition.as_str()),
            },
        ),
        fact(
            "received",
            "case.received",
            local_time(policy, c.received_at),
        ),
    ]
}

/// The legal hold form's target and whether a hold stands.
fn legal_hold(view: &CaseView) -> (String, bool) {
    (
        format!("/cases/{}/legal-hold", view.case.id),
        view.case.legal_hold_since.is_some(),
    )
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
    let mut out = row_facts(ui, policy, c, units);
    // When the retention rule purges the content, or that a hold keeps it.
    if let Some(since) = c.legal_hold_since {
        out.push(fact(
            "retention",
            "case.retention",
            ui.t("case.legal_hold_since")
                .replace("{day}", &policy.local_date(since).to_string()),
        ));
    } else if let Some(closed) = c.closed_at {
        out.push(fact(
            "retention",
            "case.retention",
            ui.t("case.purge_on").replace(
                "{day}",
                &policy.last_day(policy.purge_at(closed)).to_string(),
            ),
        ));
    }
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
    if let Some(line) = rating_line(ui, policy, view) {
        out.push(fact("rating", "case.rating", line));
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

/// The case's files, each a link to the API that streams it opened.
fn message_lines<'a>(ui: &Ui, policy: &Policy, view: &'a CaseView) -> Vec<MessageLine<'a>> {
    view.messages
        .iter()
        .map(|m| MessageLine {
            from_staff: m.from_staff,
            at: local_time(policy, m.at),
            body: if m.unreadable {
                ui.t("case.message_unreadable").to_owned().into()
            } else {
                m.body.as_str().into()
            },
            warning: authenticity_warning(ui, Some(m.authenticity)),
        })
        .collect()
}

fn attachment_lines(ui: &Ui, view: &CaseView) -> Vec<AttachmentLine> {
    let id = view.case.id;
    view.attachments
        .iter()
        .map(|a| AttachmentLine {
            href: format!("/api/v1/cases/{id}/attachments/{}", a.id),
            unreadable: a.unreadable,
            name: if a.unreadable {
                ui.t("case.attachment_unreadable").to_owned()
            } else {
                sunlight_core::report::without_format_chars(&a.meta.file_name)
            },
            kind: a.meta.declared_type.clone(),
            size: sunlight_web::human_size(a.meta.size),
        })
        .collect()
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
            warning: authenticity_warning(ui, h.authenticity),
            for_reporter: h.reporter_visible,
        })
        .collect()
}

/// The line shown over a staff text that its case unit's tag does not vouch for.
pub(super) fn authenticity_warning(ui: &Ui, a: Option<Authenticity>) -> Option<String> {
    match a? {
        Authenticity::Unauthenticated => Some(ui.t("case.text_unauthenticated").to_owned()),
        Authenticity::Forged => Some(ui.t("case.text_forged").to_owned()),
        Authenticity::Unchecked => Some(ui.t("case.text_unchecked").to_owned()),
        Authenticity::Authenticated | Authenticity::Anonymous => None,
    }
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
