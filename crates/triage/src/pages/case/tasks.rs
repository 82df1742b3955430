//! The case page's tasks (受理告知, 复查) and the reporter's rating, in the
//! reader's words.

use sunlight_casework::service::CaseView;
use sunlight_core::policy::Policy;
use sunlight_core::{Role, TaskKind};
use sunlight_store::UnitRow;

use crate::pages::{Ui, local_day, unit_label};

pub struct TaskLine {
    pub kind: &'static str,
    pub label: String,
    pub unit: String,
    pub due: String,
    pub status: String,
    pub open: bool,
    pub overdue: bool,
}

/// Every task of the case, oldest first, with its state.
pub(super) fn task_lines(
    ui: &Ui,
    policy: &Policy,
    view: &CaseView,
    units: &[UnitRow],
) -> Vec<TaskLine> {
    view.tasks
        .iter()
        .map(|t| {
            let status = match (&t.done_how, t.overdue_at) {
                (Some(how), _) => format!(
                    "{} · {}",
                    ui.word("task_done", how),
                    t.done_at
                        .map(|d| policy.local_date(d).to_string())
                        .unwrap_or_default()
                ),
                (None, Some(_)) => ui.t("case.task_overdue").to_owned(),
                (None, None) => ui.t("case.task_open").to_owned(),
            };
            TaskLine {
                kind: t.kind.as_str(),
                label: ui.word("task", t.kind.as_str()),
                unit: unit_label(units, &t.unit),
                due: local_day(policy, t.due_at),
                status,
                open: t.is_open(),
                overdue: t.is_open() && t.overdue_at.is_some(),
            }
        })
        .collect()
}

/// Whether the member may send the acknowledgement now: an open
/// acknowledgement task, and a role that answers reporters.
pub(super) fn can_acknowledge(view: &CaseView, role: Role) -> bool {
    matches!(role, Role::Verifier | Role::Supervisor)
        && view
            .tasks
            .iter()
            .any(|t| t.is_open() && t.kind == TaskKind::Acknowledge)
}

/// The reporters' ratings of the current round, as one line.
pub(super) fn rating_line(ui: &Ui, policy: &Policy, view: &CaseView) -> Option<String> {
    let lines: Vec<String> = view
        .ratings
        .iter()
        .map(|r| {
            let mut line = format!(
                "{} · {}",
                ui.word("rating", r.rating.as_str()),
                policy.local_date(r.rated_on)
            );
            if r.objection {
                line.push_str(" · ");
                line.push_str(ui.t("case.rating_objection"));
            }
            line
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("; "))
}
