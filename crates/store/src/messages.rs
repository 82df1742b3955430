//! Messages between a reporter and staff, sealed; a reporter's answer resumes a stage paused for it.

use crate::attachments::{self, NewAttachment};
use crate::audit::{AuditRecord, append};
use crate::entity::{case, message, queue_entry};
use crate::{Clash, Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use sunlight_core::CaseId;
use sunlight_core::log::EnvelopesHasher;
use uuid::Uuid;

impl Store {
    /// Adds a sealed message to a case (from staff or from the reporter).
    pub async fn add_message(
        &self,
        case: CaseId,
        from_staff: Option<Uuid>,
        sealed_body: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<Uuid, StoreError> {
        self.add_message_with(
            case,
            Uuid::now_v7(),
            from_staff,
            sealed_body,
            Vec::new(),
            now,
        )
        .await
    }

    /// `add_message` with a caller-chosen id (the seal binds to it) and
    /// attachments, in one transaction.
    pub async fn add_message_with(
        &self,
        case: CaseId,
        id: Uuid,
        from_staff: Option<Uuid>,
        sealed_body: Vec<u8>,
        attachments: Vec<NewAttachment>,
        now: DateTime<Utc>,
    ) -> Result<Uuid, StoreError> {
        let unchecked = crate::SealedTo::default();
        self.add_message_at(
            case,
            id,
            from_staff,
            sealed_body,
            attachments,
            &unchecked,
            now,
            now,
        )
        .await
    }

    /// `add_message_with`, its rows stamped `stamp` (a reporter's message:
    /// the start of its day) while `now` is the real time it arrived, and
    /// refused (`Clash::KeyChanged`) if a unit it was sealed to rotated its
    /// key since (`sealed_to`).
    #[expect(
        clippy::too_many_arguments,
        reason = "the message, its files and its two times are all required"
    )]
    pub async fn add_message_at(
        &self,
        case: CaseId,
        id: Uuid,
        from_staff: Option<Uuid>,
        sealed_body: Vec<u8>,
        attachments: Vec<NewAttachment>,
        sealed_to: &crate::SealedTo,
        stamp: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Uuid, StoreError> {
        let suite = self.log_suite().await?;
        let mut log = EnvelopesHasher::new(suite);
        log.part(&sealed_body);
        let txn = self.write_txn().await?;
        message::Entity::insert(message::ActiveModel {
            id: Set(id),
            case_id: Set(case.as_uuid()),
            author: Set(if from_staff.is_some() {
                "staff"
            } else {
                "reporter"
            }
            .to_owned()),
            staff_id: Set(from_staff),
            sealed_body: Set(sealed_body),
            created_at: Set(stamp),
            notice_pending: Set(from_staff.is_none()),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(|e| StoreError::unique(e, Clash::Exists("message")))?;
        attachments::insert_all(&txn, case, Some(id), attachments, stamp, &mut log).await?;
        match from_staff {
            // A reporter's message is a filing: it gets its leaf.
            None => {
                let day = crate::log::log_day(stamp);
                crate::log::append_leaf(&txn, suite, log, day, case, Some(id)).await?;
                resume_on_answer(&txn, case, stamp, now).await?;
            }
            // Any word to the reporter is also the interim message a late
            // stage owes them (阶段性反馈).
            Some(staff) => {
                let kind = sunlight_core::TaskKind::Interim;
                crate::tasks::finish_task(&txn, case, kind, Some(staff), "messaged", now).await?;
            }
        }
        let unit = crate::audit::case_unit(&txn, case).await?;
        append(
            &txn,
            AuditRecord {
                actor: from_staff.map_or_else(|| "reporter".to_owned(), |s| format!("staff:{s}")),
                action: "message.add".into(),
                unit,
                case_id: case.to_string(),
                ..Default::default()
            },
            stamp,
        )
        .await?;
        if !self.keys_still_current(&txn, [sealed_to]).await? {
            txn.rollback().await?;
            return Err(StoreError::Conflict(Clash::KeyChanged));
        }
        txn.commit().await?;
        Ok(id)
    }

    /// Staff of the case opened it, `seen` unread messages counted when it
    /// was read: those are read (one counted since stays unread). Not under
    /// `version`: it never makes an action fail.
    pub async fn mark_read(&self, case: CaseId, seen: u32) -> Result<(), StoreError> {
        let seen = i32::try_from(seen).unwrap_or(i32::MAX);
        case::Entity::update_many()
            .col_expr(
                case::Column::Unread,
                sea_orm::sea_query::ExprTrait::sub(Expr::col(case::Column::Unread), seen),
            )
            .filter(case::Column::Id.eq(case.as_uuid()))
            .filter(case::Column::Unread.gte(seen))
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Messages of a case, oldest first: `(id, author, sealed, at)`.
    pub async fn messages(&self, case: CaseId) -> Result<Vec<message::Model>, StoreError> {
        messages_on(self.reader(), case).await
    }
}

/// [`Store::messages`] on a given connection or transaction.
pub(crate) async fn messages_on(
    db: &impl ConnectionTrait,
    case: CaseId,
) -> Result<Vec<message::Model>, StoreError> {
    Ok(message::Entity::find()
        .filter(message::Column::CaseId.eq(case.as_uuid()))
        .order_by_asc(message::Column::CreatedAt)
        .all(db)
        .await?)
}

/// The reporter answered while the stage waited for them: the clock runs
/// again. Asking shifted the deadline by the whole pause bound; the part
/// not used is taken back, in whole days. Compared with the real time
/// `now`, but only whole days and `stamp` (the answer's day) are written,
/// so the stored deadline does not give the answer's moment.
pub(crate) async fn resume_on_answer(
    txn: &sea_orm::DatabaseTransaction,
    case: CaseId,
    stamp: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(entry) = queue_entry::Entity::find()
        .filter(queue_entry::Column::OpenCaseId.eq(case.as_uuid()))
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let Some(until) = entry.paused_until else {
        return Ok(());
    };
    if until <= now {
        // The pause ran out before the answer: the clock runs already, but
        // the answer still came. The desk decides on it (a case asked for
        // specifics is then not filed for reference).
        queue_entry::Entity::update_many()
            .col_expr(
                queue_entry::Column::PausedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(queue_entry::Column::Id.eq(entry.id))
            .exec(txn)
            .await?;
        return Ok(());
    }
    let unused = chrono::Duration::days((until - now).num_days());
    // A staff write computed before this answer must not undo it.
    case::Entity::update_many()
        .col_expr(
            case::Column::Version,
            sea_orm::sea_query::ExprTrait::add(Expr::col(case::Column::Version), 1),
        )
        .filter(case::Column::Id.eq(case.as_uuid()))
        .exec(txn)
        .await?;
    queue_entry::Entity::update_many()
        .col_expr(
            queue_entry::Column::DueAt,
            Expr::value(entry.due_at - unused),
        )
        .col_expr(
            queue_entry::Column::PausedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        // The reminders move with the deadline.
        .col_expr(queue_entry::Column::NextSweepAt, Expr::value(stamp))
        .filter(queue_entry::Column::Id.eq(entry.id))
        .exec(txn)
        .await?;
    Ok(())
}
