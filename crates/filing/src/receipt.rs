//! When a filing counts and what proves it: its day (the only time kept
//! of it), the transparency log's key (derived from the deployment's
//! pepper, so a database writer cannot sign) and the signed promise a
//! reporter keeps for each filing.

use chrono::{DateTime, NaiveDate, Utc};
use sunlight_core::log::{Hash, InclusionProof, LeafRecord, LogKey, Receipt, SignedHead};
use uuid::Uuid;

use sunlight_store::ReporterView;

use crate::{Filing, FilingError};

/// Where a report stands in the public log, for its reporter: its leaf,
/// and the newest published head that includes it, with the proof.
#[derive(Debug, Clone)]
pub struct ReportInclusion {
    pub leaf: Hash,
    pub day: NaiveDate,
    /// `None` until a head that includes the leaf is published (daily).
    pub proof: Option<(SignedHead, InclusionProof)>,
}

impl Filing {
    /// The inclusion of the report `view` was found by in the newest
    /// published head; `None` for a case filed before the log.
    pub async fn report_inclusion(
        &self,
        view: &ReporterView,
    ) -> Result<Option<ReportInclusion>, FilingError> {
        let Some((leaf, index, day)) = view.own_leaf else {
            return Ok(None);
        };
        let proof = match index {
            Some(i) => {
                let (heads, tree) = self.store.published_tree().await?;
                // Shown only when the tree holds this very leaf there and
                // matches the head: a proof that would not verify is not
                // offered as one (`/verify` names what is wrong).
                heads
                    .last()
                    .filter(|h| {
                        h.size > i
                            && tree.leaf(i) == Some(leaf)
                            && tree.root(h.size) == Some(h.root)
                    })
                    .and_then(|h| Some((h.clone(), InclusionProof::from_tree(&tree, i, h.size)?)))
            }
            None => None,
        };
        Ok(Some(ReportInclusion { leaf, day, proof }))
    }

    /// The start of the local day of `now`: what is stored of the time a
    /// report or a reporter's message arrived.
    pub fn arrival_day(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.policy.start_of_local_day(now)
    }

    /// A new id for a reporter's message: its time part is the day only.
    pub fn message_id(&self, now: DateTime<Utc>) -> Uuid {
        sunlight_core::arrival_id(self.arrival_day(now))
    }

    /// The deployment's transparency-log key, derived from its pepper in
    /// the log's suite.
    pub async fn log_key(&self) -> Result<LogKey, FilingError> {
        let suite = self.store.log_suite().await?;
        LogKey::derive(suite, &self.stretcher.secrets().pepper)
            .map_err(|e| FilingError::Internal(e.to_string()))
    }

    /// The receipt of a stored filing: its leaf and the log's signed
    /// promise to include it in every head signed on a later day. The key
    /// is derived before the filing is stored (`log_key`), so a filing is
    /// not stored when no receipt could be signed for it.
    pub fn receipt(key: &LogKey, leaf: &LeafRecord) -> Result<Receipt, FilingError> {
        let promise = key
            .promise(&leaf.hash(key.suite()), leaf.day)
            .map_err(|e| FilingError::Internal(e.to_string()))?;
        Ok(Receipt::new(leaf, &key.public(), promise))
    }
}
