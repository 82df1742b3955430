//! Reporter messages that still owe their notice mail: found a day at a
//! time, and marked done in the transaction that queues the mails, so a
//! message is noticed exactly once.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};
use sunlight_core::{CaseId, Stage, UnitId};
use uuid::Uuid;

use crate::entity::{case, message, queue_entry};
use crate::{NewMail, Store, StoreError};

/// A reporter message whose notice is due, with where its case stands.
#[derive(Debug, Clone)]
pub struct PendingReply {
    pub message_id: Uuid,
    /// The case whose people hear of it: the message's own, or the case it
    /// was merged into (where the work goes on, and the unread mark).
    pub case_id: CaseId,
    /// The case's stage now (`Closed`: the reply asks for re-examination).
    pub stage: Stage,
    /// The open stage's unit, or the case's unit once closed.
    pub unit: UnitId,
    pub owner: Option<Uuid>,
    pub due_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Reporter messages stamped before `before` whose notice is pending,
    /// oldest first; at most `limit`.
    pub async fn pending_replies(
        &self,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<PendingReply>, StoreError> {
        let rows: Vec<(Uuid, Uuid)> = message::Entity::find()
            .select_only()
            .column(message::Column::Id)
            .column(message::Column::CaseId)
            // Bare, so SQLite matches the partial index's `WHERE notice_pending`.
            .filter(Expr::col((message::Entity, message::Column::NoticePending)))
            .filter(message::Column::CreatedAt.lt(before))
            // A day's messages share their time; their ids are random past
            // the day, so the mails do not go out in the order of arrival.
            .order_by_asc(message::Column::CreatedAt)
            .order_by_asc(message::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(self.conn())
            .await?;
        // A reply on a case merged away is news for the case it lives on in.
        let mut rows_to = Vec::with_capacity(rows.len());
        for (message_id, case_id) in rows {
            rows_to.push((message_id, self.surviving_case(case_id).await?));
        }
        let rows = rows_to;
        let case_ids: Vec<Uuid> = rows.iter().map(|(_, c)| *c).collect();
        let cases: std::collections::HashMap<Uuid, (String, String)> = case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .column(case::Column::Stage)
            .column(case::Column::UnitId)
            .filter(case::Column::Id.is_in(case_ids.clone()))
            .into_tuple::<(Uuid, String, String)>()
            .all(self.conn())
            .await?
            .into_iter()
            .map(|(id, stage, unit)| (id, (stage, unit)))
            .collect();
        let entries: std::collections::HashMap<Uuid, queue_entry::Model> =
            queue_entry::Entity::find()
                .filter(queue_entry::Column::OpenCaseId.is_in(case_ids))
                .all(self.conn())
                .await?
                .into_iter()
                .map(|e| (e.case_id, e))
                .collect();
        rows.into_iter()
            .map(|(message_id, case_id)| {
                let bad = |what: &str| StoreError::Corrupt(format!("case {case_id}: bad {what}"));
                let (stage, unit) = cases.get(&case_id).ok_or_else(|| bad("message"))?;
                let entry = entries.get(&case_id);
                let unit = entry.map_or(unit.as_str(), |e| e.unit_id.as_str());
                Ok(PendingReply {
                    message_id,
                    case_id: CaseId::from_uuid(case_id),
                    stage: stage.parse().map_err(|_| bad("stage"))?,
                    unit: UnitId::parse(unit).map_err(|_| bad("unit"))?,
                    owner: entry.and_then(|e| e.owner_id),
                    due_at: entry.map(|e| e.due_at),
                })
            })
            .collect()
    }

    /// The case `case` was merged into, followed to the end (16 steps at
    /// most: chains of merges are short).
    async fn surviving_case(&self, case: Uuid) -> Result<Uuid, StoreError> {
        let mut at = case;
        for _ in 0..16 {
            let next = case::Entity::find_by_id(at)
                .select_only()
                .column(case::Column::MergedInto)
                .into_tuple::<Option<Uuid>>()
                .one(self.conn())
                .await?
                .flatten();
            match next {
                Some(into) => at = into,
                None => return Ok(at),
            }
        }
        Ok(at)
    }

    /// Queues each message's mails, marks its notice done and counts it
    /// unread on its case, in one transaction; a message another sweeper
    /// marked meanwhile is skipped with its mails. A case filed for
    /// reference is opened again for acceptance, due `accept_due`.
    /// Returns the mails queued.
    pub async fn record_reply_notices(
        &self,
        notices: &[(Uuid, CaseId, Vec<NewMail>)],
        accept_due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let txn = self.write_txn().await?;
        let mut queued = 0;
        for (message_id, case_id, mails) in notices {
            let won = message::Entity::update_many()
                .col_expr(message::Column::NoticePending, Expr::value(false))
                .filter(message::Column::Id.eq(*message_id))
                .filter(message::Column::NoticePending.eq(true))
                .exec(&txn)
                .await?
                .rows_affected
                == 1;
            if won {
                for mail in mails {
                    queued += crate::sweeper::insert_mail(&txn, mail, now).await?;
                }
                // Unread from now, not from the reply: a case that rose in
                // its owner's queue seconds after a reply, and the audited
                // read that follows, would time the reporter's return.
                case::Entity::update_many()
                    .col_expr(
                        case::Column::Unread,
                        sea_orm::sea_query::ExprTrait::add(Expr::col(case::Column::Unread), 1),
                    )
                    .filter(case::Column::Id.eq(case_id.as_uuid()))
                    .exec(&txn)
                    .await?;
                crate::dispositions::reopen_filed(&txn, *case_id, accept_due, now).await?;
            }
        }
        txn.commit().await?;
        Ok(queued)
    }
}
