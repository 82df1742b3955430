//! The reporter rates a round of feedback (满意度评价) once the case is
//! closed, and may object, which asks the unit above the handling unit for
//! a re-examination (复查) with the policy's deadline. Stored with the day
//! only; the objection sealed like a message. Each reporter of a merged
//! case rates for themself and sees only their own rating. A closed case's
//! status also names the unit above, where to ask for a review.

use chrono::{DateTime, Utc};
use sunlight_core::crypto::{SealContext, seal};
use sunlight_core::policy::DeadlineKind;
use sunlight_core::report::{MessageContent, encode_padded, item};
use sunlight_core::{Rating, Stage, UnitId};
use sunlight_store::{Clash, NewRating, Objection, RatingRow, ReporterView, StoreError};
use uuid::Uuid;

use crate::{Filing, FilingError, Found, Located};

/// Why a rating was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RatingRefusal {
    #[error("the case is not closed with feedback yet")]
    NotYet,
    #[error("this feedback was rated already")]
    AlreadyRated,
    #[error("the time to object has passed")]
    TooLate,
    /// The case was handled by a unit with none above it on this service.
    #[error("no unit above the handling unit can re-examine it")]
    NoUnitAbove,
}

/// Where a reporter stands with rating their case's current feedback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RatingState {
    /// The case is not closed with feedback in this round yet.
    NotYet,
    /// They may rate, and object until `objection_until` (the end of that
    /// local day; None when the time passed or nobody is above).
    Open {
        objection_until: Option<DateTime<Utc>>,
        /// The unit that re-examines (the one above the handling unit);
        /// None at the top of the tree.
        reexamined_by: Option<UnitId>,
    },
    Rated(RatingRow),
}

/// An objection as it arrives: text the server seals (no JavaScript), or
/// a message sealed in the reporter's browser under an id the status
/// handed out, bound to the case the status named.
pub enum ObjectionDraft<'a> {
    Text {
        found: &'a Found,
        text: &'a str,
    },
    Sealed {
        located: &'a Located,
        sealed_for: sunlight_core::CaseId,
        message_id: Uuid,
        sealed_body: Vec<u8>,
    },
}

impl std::fmt::Debug for ObjectionDraft<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The text is the reporter's: never in a log.
        f.write_str(match self {
            Self::Text { .. } => "ObjectionDraft::Text(<redacted>)",
            Self::Sealed { .. } => "ObjectionDraft::Sealed",
        })
    }
}

impl Filing {
    /// Whether and until when the reporter may rate and object. Only a
    /// closed case is rated: an objection is answered by re-examining a
    /// finished answer (复查), and a case still open may yet change.
    pub async fn rating_state(
        &self,
        view: &ReporterView,
        now: DateTime<Utc>,
    ) -> Result<RatingState, FilingError> {
        let case = &view.case;
        if !case.feedback_given || case.stage != Stage::Closed || case.merged_into.is_some() {
            return Ok(RatingState::NotYet);
        }
        let mine = self
            .store
            .rating_of(case.id, case.round, view.own_case)
            .await?;
        if let Some(r) = mine {
            return Ok(RatingState::Rated(r));
        }
        let given = self.store.feedback_given_at(case.id).await?;
        let until = given
            .map(|at| {
                self.policy
                    .due(DeadlineKind::ReexamineRequest, at, &self.calendar)
            })
            .filter(|until| now < *until);
        let reexamined_by = self
            .store
            .public_unit(&case.unit)
            .await?
            .and_then(|u| u.parent);
        Ok(RatingState::Open {
            objection_until: until.filter(|_| reexamined_by.is_some()),
            reexamined_by,
        })
    }

    /// Stores the rating of the case's current feedback and, with an
    /// objection (already validated text, or sealed in the browser), opens
    /// its re-examination by the unit above the handling unit (none at the
    /// top: refused).
    pub async fn rate(
        &self,
        view: &ReporterView,
        rating: Rating,
        objection: Option<ObjectionDraft<'_>>,
        now: DateTime<Utc>,
    ) -> Result<(), FilingError> {
        let (objection_until, reexamined_by) = match self.rating_state(view, now).await? {
            RatingState::NotYet => return Err(RatingRefusal::NotYet.into()),
            RatingState::Rated(_) => return Err(RatingRefusal::AlreadyRated.into()),
            RatingState::Open {
                objection_until,
                reexamined_by,
            } => (objection_until, reexamined_by),
        };
        let day = self.arrival_day(now);
        let sealed_in_browser = matches!(objection, Some(ObjectionDraft::Sealed { .. }));
        let objection = match (objection, reexamined_by) {
            (None, _) => None,
            (Some(_), None) => return Err(RatingRefusal::NoUnitAbove.into()),
            (Some(_), Some(_)) if objection_until.is_none_or(|u| now >= u) => {
                return Err(RatingRefusal::TooLate.into());
            }
            (Some(draft), Some(unit)) => Some(self.objection(draft, unit, day, now)?),
        };
        let stored = self
            .store
            .rate(&NewRating {
                case: view.case.id,
                reporter_case: view.own_case,
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
            Err(StoreError::Conflict(Clash::Exists(_))) => {
                Err(crate::SealedRefusal::StaleId.into())
            }
            // A unit's key replaced since the status was read: the
            // objection was sealed to the retired one and nothing is
            // stored. The browser reads the status again and seals to the
            // new keys (as for a follow-up); the page without script is
            // told to send it again (`keys_replaced`).
            Err(StoreError::Conflict(Clash::KeyChanged)) if sealed_in_browser => {
                Err(crate::SealedRefusal::Misaddressed.into())
            }
            Err(e @ StoreError::Conflict(Clash::KeyChanged)) => Err(e.into()),
            Err(StoreError::Conflict(_)) => Err(RatingRefusal::NotYet.into()),
            other => Ok(other?),
        }
    }

    /// The objection sealed to the case's readers and the reporter (here,
    /// or checked for that addressing when the browser sealed it), with
    /// the re-examination's deadline counted from the day it came in.
    fn objection(
        &self,
        draft: ObjectionDraft<'_>,
        unit: sunlight_core::UnitId,
        day: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Objection, FilingError> {
        let (message_id, sealed_body, message_day, sealed_to) = match draft {
            ObjectionDraft::Text { found, text } => {
                let message_id = self.message_id(now);
                let payload = encode_padded(&MessageContent {
                    body: text.to_owned(),
                })
                .map_err(|e| FilingError::Internal(e.to_string()))?;
                let item = item::message(message_id);
                let context = SealContext {
                    case_id: found.case_id,
                    item: &item,
                };
                let sealed = seal(&payload, &context, &found.recipients)?;
                (message_id, sealed, day, found.sealed_to.clone())
            }
            ObjectionDraft::Sealed {
                located,
                sealed_for,
                message_id,
                sealed_body,
            } => {
                // Dated by its id's day, as a sealed follow-up is.
                let issued =
                    self.check_sealed_message(located, sealed_for, message_id, &sealed_body, now)?;
                (message_id, sealed_body, issued, located.sealed_to.clone())
            }
        };
        Ok(Objection {
            message_id,
            sealed_body,
            day: message_day,
            sealed_to,
            unit,
            due_at: self
                .policy
                .due(DeadlineKind::Reexamine, day, &self.calendar),
        })
    }
}

impl Filing {
    /// The independent avenue of review of a closed case (ISO 37002
    /// §8.4): the unit above its unit.
    pub(crate) async fn review_by(
        &self,
        view: &ReporterView,
    ) -> Result<Option<(String, Option<String>)>, FilingError> {
        if view.case.stage != Stage::Closed {
            return Ok(None);
        }
        let units = self.store.public_units().await?;
        let parent = units
            .iter()
            .find(|u| u.id == view.case.unit)
            .and_then(|u| u.parent.clone());
        Ok(parent.and_then(|p| {
            units
                .into_iter()
                .find(|u| u.id == p)
                .map(|u| (u.name, u.name_en))
        }))
    }
}
