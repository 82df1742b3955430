//! The mail outbox, as the delivery worker sees it. Mails are written by
//! the events that cause them (in their transaction, see `sweeper.rs`);
//! here a worker claims due mails, and records each as sent, to retry, or
//! refused for good. A claim moves the mail's next attempt forward
//! (compare-and-set), so two workers never send one mail at the same time,
//! and a worker that dies mid-send leaves the mail to be retried when the
//! claim runs out: mails are delivered at least once, and the Message-ID
//! (the row id) lets a mail server drop the rare duplicate.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};
use uuid::Uuid;

use crate::entity::outbox;
use crate::{Store, StoreError};

/// A mail to deliver.
#[derive(Debug, Clone)]
pub struct OutboxMail {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// A mail that is failing or failed, for the admin page.
#[derive(Debug, Clone)]
pub struct MailProblem {
    pub id: Uuid,
    pub recipient: String,
    pub kind: Option<String>,
    pub case_id: Option<Uuid>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub failed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The outbox at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStatus {
    /// Not sent yet and not refused for good.
    pub pending: u64,
    /// Pending mails that already failed at least once.
    pub retrying: u64,
    /// Refused for good; an admin must look.
    pub failed: u64,
    pub sent: u64,
}

impl Store {
    /// Queues mails outside any other change (each once: a mail whose
    /// `dedupe_key` is queued already is skipped). Returns how many were new.
    pub async fn enqueue_mails(
        &self,
        mails: &[crate::NewMail],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let txn = self.write_txn().await?;
        let mut new = 0;
        for mail in mails {
            new += crate::sweeper::insert_mail(&txn, mail, now).await?;
        }
        txn.commit().await?;
        Ok(new)
    }

    /// Claims up to `limit` mails due at `now`; each claimed mail's next
    /// attempt moves to `claim_until`.
    pub async fn claim_mails(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<OutboxMail>, StoreError> {
        let due = outbox::Entity::find()
            .filter(outbox::Column::SentAt.is_null())
            .filter(outbox::Column::FailedAt.is_null())
            .filter(outbox::Column::NextAttemptAt.lte(now))
            .order_by_asc(outbox::Column::NextAttemptAt)
            .limit(limit)
            .all(self.conn())
            .await?;
        let mut claimed = Vec::with_capacity(due.len());
        for m in due {
            let won = outbox::Entity::update_many()
                .col_expr(outbox::Column::NextAttemptAt, Expr::value(claim_until))
                .col_expr(outbox::Column::Attempts, Expr::value(m.attempts + 1))
                .filter(outbox::Column::Id.eq(m.id))
                .filter(outbox::Column::NextAttemptAt.eq(m.next_attempt_at))
                .filter(outbox::Column::Attempts.eq(m.attempts))
                .filter(outbox::Column::SentAt.is_null())
                .exec(self.conn())
                .await?
                .rows_affected
                == 1;
            if won {
                claimed.push(OutboxMail {
                    id: m.id,
                    recipient: m.recipient,
                    subject: m.subject,
                    body: m.body,
                    attempts: m.attempts + 1,
                    created_at: m.created_at,
                });
            }
        }
        Ok(claimed)
    }

    pub async fn mark_mail_sent(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::SentAt, Expr::value(now))
            .col_expr(
                outbox::Column::LastError,
                Expr::value(Option::<String>::None),
            )
            .filter(outbox::Column::Id.eq(id))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// A temporary failure: try again at `next_at`.
    pub async fn mark_mail_retry(
        &self,
        id: Uuid,
        next_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(next_at))
            .col_expr(outbox::Column::LastError, Expr::value(error))
            .filter(outbox::Column::Id.eq(id))
            .filter(outbox::Column::SentAt.is_null())
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Refused for good (the server said 5xx): kept and shown, not retried.
    pub async fn mark_mail_failed(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::FailedAt, Expr::value(now))
            .col_expr(outbox::Column::LastError, Expr::value(error))
            .filter(outbox::Column::Id.eq(id))
            .filter(outbox::Column::SentAt.is_null())
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Puts a failed mail back in the queue (an admin fixed the address).
    pub async fn retry_failed_mail(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(outbox::Entity::update_many()
            .col_expr(
                outbox::Column::FailedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(now))
            .filter(outbox::Column::Id.eq(id))
            .filter(outbox::Column::FailedAt.is_not_null())
            .exec(self.conn())
            .await?
            .rows_affected
            == 1)
    }

    pub async fn outbox_status(&self) -> Result<OutboxStatus, StoreError> {
        self.outbox_status_where(None).await
    }

    /// The same counts for the mails of one kind (`audit_head`: the daily
    /// audit-head mail, whose loss an operator must hear of).
    pub async fn outbox_status_of(&self, kind: &str) -> Result<OutboxStatus, StoreError> {
        self.outbox_status_where(Some(kind)).await
    }

    async fn outbox_status_where(&self, kind: Option<&str>) -> Result<OutboxStatus, StoreError> {
        let base = || {
            let all = outbox::Entity::find();
            match kind {
                Some(kind) => all.filter(outbox::Column::Kind.eq(kind)),
                None => all,
            }
        };
        Ok(OutboxStatus {
            pending: base()
                .filter(outbox::Column::SentAt.is_null())
                .filter(outbox::Column::FailedAt.is_null())
                .count(self.conn())
                .await?,
            retrying: base()
                .filter(outbox::Column::SentAt.is_null())
                .filter(outbox::Column::FailedAt.is_null())
                .filter(outbox::Column::LastError.is_not_null())
                .count(self.conn())
                .await?,
            failed: base()
                .filter(outbox::Column::FailedAt.is_not_null())
                .count(self.conn())
                .await?,
            sent: base()
                .filter(outbox::Column::SentAt.is_not_null())
                .count(self.conn())
                .await?,
        })
    }

    /// Mails that failed for good or are being retried, newest first.
    pub async fn mail_problems(&self, limit: u64) -> Result<Vec<MailProblem>, StoreError> {
        Ok(outbox::Entity::find()
            .filter(outbox::Column::SentAt.is_null())
            .filter(outbox::Column::LastError.is_not_null())
            .order_by_desc(outbox::Column::CreatedAt)
            .limit(limit)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|m| MailProblem {
                id: m.id,
                recipient: m.recipient,
                kind: m.kind,
                case_id: m.case_id,
                attempts: m.attempts,
                last_error: m.last_error,
                next_attempt_at: m.next_attempt_at,
                failed_at: m.failed_at,
                created_at: m.created_at,
            })
            .collect())
    }

    /// Every mail in the outbox, oldest first: for tests, the simulation
    /// and audits of what was mailed.
    pub async fn outbox_all(&self) -> Result<Vec<outbox::Model>, StoreError> {
        Ok(outbox::Entity::find()
            .order_by_asc(outbox::Column::CreatedAt)
            .order_by_asc(outbox::Column::Id)
            .all(self.conn())
            .await?)
    }
}
