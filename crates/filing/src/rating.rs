//! The reporter rates a round of feedback (满意度评价) and may object,
//! which asks the unit above for a re-examination (复查) with the policy's
//! deadline. Stored with the day only; the objection sealed like a message.

use chrono::{DateTime, Utc};
use sunlight_core::Rating;
use sunlight_core::crypto::{SealContext, seal};
use sunlight_core::policy::DeadlineKind;
use sunlight_core::report::{MessageContent, encode_padded, item};
use sunlight_store::{Clash, NewRating, Objection, RatingRow, ReporterView, StoreError};

use crate::{Filing, FilingError, Found};

/// Why a rating was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RatingRefusal {
    #[error("no feedback has been given yet")]
    NotYet,
    #[error("this feedback was rated already")]
    AlreadyRated,
    #[error("the time to object has passed")]
    TooLate,
}

/// Where a reporter stands with rating their case's current feedback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RatingState {
    /// No feedback in this round yet.
    NotYet,
    /// Feedback given: they may rate, and object until `objection_until`
    /// (the end of that local day; None when the time passed).
    Open {
        objection_until: Option<DateTime<Utc>>,
    },
    Rated(RatingRow),
}

impl Filing {
    /// Whether and until when the reporter may rate and object.
    pub async fn rating_state(&self, view: &ReporterView) -> Result<RatingState, FilingError> {
        let case = &view.case;
        if !case.feedback_given {
            return Ok(RatingState::NotYet);
        }
        if let Some(r) = self.store.rating_of(case.id, case.round).await? {
            return Ok(RatingState::Rated(r));
        }
        let given = self.store.feedback_given_at(case.id).await?;
        let until = given
            .map(|at| {
                self.policy
                    .due(DeadlineKind::ReexamineRequest, at, &self.calendar)
            })
            .filter(|until| Utc::now() < *until);
        Ok(RatingState::Open {
            objection_until: until,
        })
    }

    /// Stores the rating of the case's current feedback and, with an
    /// objection (already validated text), opens its re-examination by
    /// the unit above the handling unit (a root unit re-examines itself).
    pub async fn rate(
        &self,
        found: &Found,
        view: &ReporterView,
        rating: Rating,
        objection: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), FilingError> {
        let objection_until = match self.rating_state(view).await? {
            RatingState::NotYet => return Err(RatingRefusal::NotYet.into()),
            RatingState::Rated(_) => return Err(RatingRefusal::AlreadyRated.into()),
            RatingState::Open { objection_until } => objection_until,
        };
        let day = self.arrival_day(now);
        let objection = match objection {
            None => None,
            Some(_) if objection_until.is_none_or(|u| now >= u) => {
                return Err(RatingRefusal::TooLate.into());
            }
            Some(text) => {
                let unit = self.reexamining_unit(view).await?;
                Some(self.objection(found, text, unit, day, now)?)
            }
        };
        let stored = self
            .store
            .rate(&NewRating {
                case: view.case.id,
                round: view.case.round,
                rating,
                day,
                objection,
            })
            .await;
        match stored {
            Err(StoreError::Conflict(Clash::AlreadyRated)) => {
                Err(RatingRefusal::AlreadyRated.into())
            }
            Err(StoreError::Conflict(_)) => Err(RatingRefusal::NotYet.into()),
            other => Ok(other?),
        }
    }

    /// The objection sealed to the case's readers and the reporter, with
    /// the re-examination's deadline counted from the day it came in.
    fn objection(
        &self,
        found: &Found,
        text: &str,
        unit: sunlight_core::UnitId,
        day: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Objection, FilingError> {
        let message_id = self.message_id(now);
        let payload = encode_padded(&MessageContent {
            body: text.to_owned(),
        })
        .map_err(|e| FilingError::Internal(e.to_string()))?;
        let item = item::message(message_id);
        let sealed_body = seal(
            &payload,
            &SealContext {
                case_id: found.case_id,
                item: &item,
            },
            &found.recipients,
        )?;
        Ok(Objection {
            message_id,
            sealed_body,
            unit,
            due_at: self
                .policy
                .due(DeadlineKind::Reexamine, day, &self.calendar),
        })
    }

    /// The unit above the handling unit, or the unit itself at the root.
    async fn reexamining_unit(
        &self,
        view: &ReporterView,
    ) -> Result<sunlight_core::UnitId, FilingError> {
        let unit = self.store.unit(&view.case.unit).await?;
        Ok(unit
            .and_then(|u| u.parent)
            .unwrap_or_else(|| view.case.unit.clone()))
    }
}
