//! The reporter's rating of a round of feedback (满意度评价) and the
//! objection that asks the unit above for a re-examination (复查): one
//! transaction, stamped with the day only, like every act of a reporter.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use sunlight_core::{CaseId, Rating, Stage, TaskKind, UnitId};
use uuid::Uuid;

use crate::audit::{AuditRecord, append};
use crate::entity::{case, message, rating};
use crate::error::Clash;
use crate::tasks::open_task;
use crate::{Store, StoreError};

/// A rating to store.
#[derive(Debug, Clone)]
pub struct NewRating {
    /// The case that carries on (the surviving one after a merge).
    pub case: CaseId,
    /// The reporter's own case (their code's): one rating each.
    pub reporter_case: CaseId,
    /// The round the reporter saw feedback for (`CaseRow::round`).
    pub round: i32,
    pub rating: Rating,
    /// Start of the local day the reporter rated.
    pub day: DateTime<Utc>,
    pub objection: Option<Objection>,
}

/// A reporter's objection: their words, sealed like a message, and the
/// re-examination it opens.
#[derive(Clone)]
pub struct Objection {
    pub message_id: Uuid,
    pub sealed_body: Vec<u8>,
    /// The message's day: the rating's, or for one sealed in the browser
    /// the day its id carries (as a sealed follow-up's).
    pub day: DateTime<Utc>,
    /// The unit that re-examines: the one above the case's unit.
    pub unit: UnitId,
    pub due_at: DateTime<Utc>,
    /// The unit keys `sealed_body` was sealed to: checked as a follow-up's.
    pub sealed_to: crate::SealedTo,
}

impl std::fmt::Debug for Objection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Objection")
            .field("unit", &self.unit)
            .field("due_at", &self.due_at)
            .finish_non_exhaustive()
    }
}

/// A stored rating, as the reporter and staff see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingRow {
    pub round: i32,
    pub rating: Rating,
    pub objection: bool,
    pub rated_on: DateTime<Utc>,
}

impl TryFrom<rating::Model> for RatingRow {
    type Error = StoreError;
    fn try_from(m: rating::Model) -> Result<Self, StoreError> {
        Ok(Self {
            round: m.round,
            rating: m.rating.parse().map_err(|_| {
                StoreError::Corrupt(format!("rating of case {}: bad value", m.case_id))
            })?,
            objection: m.objection,
            rated_on: m.rated_on,
        })
    }
}

/// The objection's message (unread for the case's people) and the
/// re-examination task it opens.
async fn record_objection(
    txn: &sea_orm::DatabaseTransaction,
    r: &NewRating,
    o: &Objection,
    suite: sunlight_core::crypto::Suite,
) -> Result<(), StoreError> {
    message::Entity::insert(message::ActiveModel {
        id: Set(o.message_id),
        case_id: Set(r.case.as_uuid()),
        author: Set("reporter".to_owned()),
        staff_id: Set(None),
        sealed_body: Set(o.sealed_body.clone()),
        created_at: Set(o.day),
        // The re-examination task's own notice tells its people.
        notice_pending: Set(false),
    })
    .exec_without_returning(txn)
    .await
    // An id the browser sealed under and sent already (a retry).
    .map_err(|e| StoreError::unique(e, Clash::Exists("message")))?;
    // A reporter's words, so a filing: it gets its leaf.
    let mut log = sunlight_core::log::EnvelopesHasher::new(suite);
    log.part(&o.sealed_body);
    let day = crate::log::log_day(o.day);
    crate::log::append_leaf(txn, suite, log, day, r.case, Some(o.message_id)).await?;
    case::Entity::update_many()
        .col_expr(
            case::Column::Unread,
            sea_orm::sea_query::ExprTrait::add(Expr::col(case::Column::Unread), 1),
        )
        .filter(case::Column::Id.eq(r.case.as_uuid()))
        .exec(txn)
        .await?;
    // Another reporter of a merged case may have objected already: one
    // re-examination answers them all, and this objection is in the case
    // beside theirs.
    open_task(txn, r.case, TaskKind::Reexamine, &o.unit, r.day, o.due_at).await?;
    Ok(())
}

impl Store {
    /// Stores a reporter's rating of the case's current round, once: a
    /// second rating of the round is `Conflict(AlreadyRated)`; a case that
    /// is not closed with feedback in that round any more (a reopen won
    /// the race) is `Conflict(CaseChanged)`. The case's version moves, so
    /// a staff action computed before the rating is refused, not applied
    /// over an objection it never saw.
    pub async fn rate(&self, r: &NewRating) -> Result<(), StoreError> {
        let suite = self.log_suite().await?;
        let txn = self.write_txn().await?;
        let won = case::Entity::update_many()
            .col_expr(
                case::Column::Version,
                sea_orm::sea_query::ExprTrait::add(Expr::col(case::Column::Version), 1),
            )
            .filter(case::Column::Id.eq(r.case.as_uuid()))
            .filter(case::Column::Round.eq(r.round))
            .filter(case::Column::FeedbackGiven.eq(true))
            .filter(case::Column::Stage.eq(Stage::Closed.as_str()))
            .filter(case::Column::MergedInto.is_null())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        let row = match won {
            true => case::Entity::find_by_id(r.case.as_uuid()).one(&txn).await?,
            false => None,
        };
        let Some(row) = row else {
            txn.rollback().await?;
            return Err(StoreError::Conflict(Clash::CaseChanged));
        };
        rating::Entity::insert(rating::ActiveModel {
            case_id: Set(row.id),
            round: Set(r.round),
            reporter_case: Set(r.reporter_case.as_uuid()),
            unit_id: Set(row.unit_id.clone()),
            rating: Set(r.rating.as_str().to_owned()),
            objection: Set(r.objection.is_some()),
            rated_on: Set(r.day),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(|e| StoreError::unique(e, Clash::AlreadyRated))?;
        if let Some(o) = &r.objection {
            record_objection(&txn, r, o, suite).await?;
        }
        append(
            &txn,
            AuditRecord {
                actor: "reporter".into(),
                action: if r.objection.is_some() {
                    "case.objected".into()
                } else {
                    "case.rated".into()
                },
                unit: row.unit_id.clone(),
                case_id: r.case.to_string(),
                detail: format!("round={} rating={}", r.round, r.rating),
            },
            r.day,
        )
        .await?;
        if let Some(o) = &r.objection
            && !self.keys_still_current(&txn, [&o.sealed_to]).await?
        {
            txn.rollback().await?;
            return Err(StoreError::Conflict(Clash::KeyChanged));
        }
        txn.commit().await?;
        Ok(())
    }

    /// One reporter's rating of the case's `round`, if given.
    pub async fn rating_of(
        &self,
        case: CaseId,
        round: i32,
        reporter_case: CaseId,
    ) -> Result<Option<RatingRow>, StoreError> {
        rating::Entity::find_by_id((case.as_uuid(), round, reporter_case.as_uuid()))
            .one(self.conn())
            .await?
            .map(RatingRow::try_from)
            .transpose()
    }

    /// Every reporter's rating of the case's `round` (staff see them all).
    pub async fn ratings_of(&self, case: CaseId, round: i32) -> Result<Vec<RatingRow>, StoreError> {
        rating::Entity::find()
            .filter(rating::Column::CaseId.eq(case.as_uuid()))
            .filter(rating::Column::Round.eq(round))
            .order_by_asc(rating::Column::RatedOn)
            .all(self.conn())
            .await?
            .into_iter()
            .map(RatingRow::try_from)
            .collect()
    }

    /// When feedback of the case's current round was given (the objection
    /// window counts from it); None before it was.
    pub async fn feedback_given_at(
        &self,
        case: CaseId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let steps = self.transitions_of(case).await?;
        // The newest feedback after the newest reopen.
        let since_reopen = steps
            .iter()
            .rposition(|t| t.action == "reopened")
            .map_or(0, |i| i + 1);
        Ok(steps
            .get(since_reopen..)
            .unwrap_or_default()
            .iter()
            .rev()
            .find(|t| t.action == "feedback_given")
            .map(|t| t.at))
    }
}
