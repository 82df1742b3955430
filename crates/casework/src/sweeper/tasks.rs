//! Tasks in the sweep: an acknowledgement (受理告知) is reminded to the
//! case's owner (or the people who may take its stage) and escalated like
//! a stage; a re-examination (复查) is announced to the supervisors of the
//! unit above the handling unit, reminded to them and escalated above.

use sunlight_core::notice::{task_schedule, task_step};
use sunlight_core::{Role, TaskKind};
use sunlight_store::TaskSweep;

use super::*;
use crate::mail::render_task;

const SUPERVISORS: &[Role] = &[Role::Supervisor];
const WORKERS: &[Role] = &[Role::Verifier, Role::Supervisor];

impl Sweeper {
    /// Every open task whose next look falls due at `now`.
    pub(super) async fn sweep_tasks(&self, now: DateTime<Utc>) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        // Each batch moves its tasks' next look past `now` or drops a stale
        // one, so this ends; the cap guards against a stuck store.
        for _ in 0..100_000 {
            let tasks = self.store.tasks_to_sweep(now, BATCH).await?;
            if tasks.is_empty() {
                break;
            }
            report.looked_at += tasks.len() as u64;
            let dir = self.directory().await?;
            let ids: Vec<Uuid> = tasks.iter().map(|t| t.id).collect();
            let recorded = self.store.notices_recorded(&ids).await?;
            let cases: Vec<CaseId> = tasks.iter().map(|t| t.case_id).collect();
            let numbers = self.store.case_numbers(&cases).await?;
            let owners = self.store.stage_owners(&cases).await?;
            let writes: Vec<TaskSweep> = tasks
                .into_iter()
                .map(|task| {
                    let done = recorded.get(&task.id).map_or(&[][..], Vec::as_slice);
                    let number = numbers.get(&task.case_id);
                    let owner = owners.get(&task.case_id).copied();
                    self.sweep_task(&dir, task, number, owner, done, now)
                })
                .collect();
            report.written += self.store.record_task_sweep(&writes, now).await?;
        }
        Ok(report)
    }

    fn sweep_task(
        &self,
        dir: &Directory,
        task: sunlight_store::TaskRow,
        number: Option<&CaseNumber>,
        owner: Option<Uuid>,
        done: &[String],
        now: DateTime<Utc>,
    ) -> TaskSweep {
        let schedule = task_schedule(&self.policy, task.kind, task.opened_at, task.due_at);
        let recorded: Vec<NoticeKind> = done.iter().filter_map(|k| k.parse().ok()).collect();
        let step = task_step(&schedule, &recorded, now);
        let at = |kind: NoticeKind| {
            schedule
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or(now, |(_, at)| *at)
        };
        // The acknowledgement is the case owner's; the re-examination the
        // supervisors' of the unit it sits with.
        let (workers, owner) = match task.kind {
            TaskKind::Acknowledge | TaskKind::Interim => (WORKERS, owner),
            TaskKind::Reexamine => (SUPERVISORS, None),
        };
        let facts = MailFacts {
            case: task.case_id,
            number,
            unit_name: dir.unit_name(&task.unit),
            stage: None,
            due: Some(task.due_at),
        };
        let mut notices: Vec<NoticeWrite> = step
            .send
            .iter()
            .map(|&kind| {
                let to = dir.recipients(kind, &task.unit, workers, owner);
                let (subject, body) =
                    render_task(&self.style, &self.policy, task.kind, kind, &facts);
                NoticeWrite {
                    kind: kind.to_string(),
                    scheduled_at: at(kind),
                    mails: to
                        .iter()
                        .map(|staff| NewMail {
                            dedupe_key: format!("{}/{kind}/{}", task.id, staff.id),
                            recipient: staff.email.clone(),
                            subject: subject.clone(),
                            body: body.clone(),
                            case_id: Some(task.case_id),
                            kind: format!("task-{}-{kind}", task.kind),
                        })
                        .collect(),
                }
            })
            .collect();
        notices.extend(step.superseded.iter().map(|&kind| NoticeWrite {
            kind: kind.to_string(),
            scheduled_at: at(kind),
            mails: Vec::new(),
        }));
        TaskSweep {
            overdue: step.send.contains(&NoticeKind::Overdue),
            task,
            notices,
            next_sweep_at: step.next_at,
        }
    }
}
