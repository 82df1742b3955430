//! Notice of a reporter's reply (new words or evidence), once per message:
//! to the case's owner, to the people who may take it while nobody owns
//! it, or — the case closed — to its unit's supervisors, who may reopen it
//! (复查) instead of the reply going nowhere. Sent once the message's
//! local day is over: a mail within a minute of a reply would tell the
//! accused's mail server when the reporter came back.

use chrono::{DateTime, Utc};
use sunlight_core::Stage;
use sunlight_core::case::ActionKind;
use sunlight_core::policy::DeadlineKind;
use sunlight_store::{NewMail, PendingReply, StaffRow, StoreError};

use super::{BATCH, Directory, Role, Sweeper};
use crate::mail::{MailFacts, render_reply};
use crate::service::numbering::GRACE;

impl Sweeper {
    /// Queues the notices of every reporter message of a day that is over;
    /// returns how many mails it queued.
    pub async fn notify_replies(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // The hour numbering waits too: a reply begun before midnight and
        // stored after it still goes out with its day.
        let before = self.policy.start_of_local_day(now - GRACE);
        let mut queued = 0;
        // Each batch marks what it read done (or finds it done), so this
        // ends; the cap only guards against a store that stops progressing.
        for _ in 0..100_000 {
            let pending = self.store.pending_replies(before, BATCH).await?;
            if pending.is_empty() {
                break;
            }
            let dir = self.directory().await?;
            let cases: Vec<_> = pending.iter().map(|p| p.case_id).collect();
            let numbers = self.store.case_numbers(&cases).await?;
            let notices: Vec<_> = pending
                .iter()
                .map(|p| {
                    let mails = self.reply_mails(&dir, p, numbers.get(&p.case_id));
                    (p.message_id, p.case_id, mails)
                })
                .collect();
            // A filed case the reporter came back to is decided on afresh.
            let accept_due = self.policy.due(DeadlineKind::Route, now, &self.calendar);
            queued += self
                .store
                .record_reply_notices(&notices, accept_due, now)
                .await?;
        }
        Ok(queued)
    }

    fn reply_mails(
        &self,
        dir: &Directory,
        reply: &PendingReply,
        number: Option<&sunlight_core::CaseNumber>,
    ) -> Vec<NewMail> {
        let closed = reply.stage == Stage::Closed;
        let mut to: Vec<&StaffRow> = if closed {
            dir.with_roles(&reply.unit, &[Role::Supervisor]).collect()
        } else if let Some(owner) = reply.owner.and_then(|o| dir.member(o)) {
            vec![owner]
        } else {
            dir.with_roles(&reply.unit, ActionKind::Claim.roles(reply.stage))
                .collect()
        };
        // Nobody there (no enabled supervisor, nobody who may take the
        // stage): the unit above hears of it rather than nobody.
        if to.is_empty() {
            to = dir
                .parent(&reply.unit)
                .into_iter()
                .flat_map(|p| dir.with_roles(p, &[Role::Supervisor]))
                .collect();
        }
        let facts = MailFacts {
            case: reply.case_id,
            number,
            unit_name: dir.unit_name(&reply.unit),
            stage: (!closed).then_some(reply.stage),
            due: reply.due_at,
        };
        let (subject, body) = render_reply(&self.style, &self.policy, closed, &facts);
        let kind = if closed { "closed_reply" } else { "reply" };
        to.into_iter()
            .map(|staff| NewMail {
                dedupe_key: format!("{}/{kind}/{}", reply.message_id, staff.id),
                recipient: staff.email.clone(),
                subject: subject.clone(),
                body: body.clone(),
                case_id: Some(reply.case_id),
                kind: kind.to_owned(),
            })
            .collect()
    }
}
