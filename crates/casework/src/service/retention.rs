//! Legal hold: supervisors hold single cases from the retention purge
//! (`crate::Sweeper::retention`), with a reason kept as a sealed internal
//! comment; and the day a closed case's content is purged.

use chrono::{DateTime, Utc};
use sunlight_core::{CaseId, Role};

use super::Triage;
use crate::error::{CaseworkError, Invalid};
use crate::session::Session;

impl Triage {
    /// A supervisor sets (`hold`) or lifts a legal hold on a case of their
    /// units: a held case is never purged. The reason is kept as a sealed
    /// internal comment; the change is audited.
    pub async fn legal_hold(
        &self,
        session: &Session,
        id: CaseId,
        hold: bool,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CaseworkError> {
        if session.role != Role::Supervisor {
            return Err(CaseworkError::Forbidden);
        }
        if reason.trim().is_empty() {
            return Err(CaseworkError::Invalid(Invalid::Body("problem.missing")));
        }
        let (case, _) = self.load(session, id).await?;
        if case.purged_at.is_some() {
            return Err(CaseworkError::Conflict(sunlight_store::Clash::Purged));
        }
        self.store
            .set_legal_hold(
                id,
                hold.then_some(&session.unit),
                &session.jurisdiction,
                &format!("staff:{}", session.staff_id),
                now,
            )
            .await?;
        let key = if hold {
            "legal_hold.set_note"
        } else {
            "legal_hold.lift_note"
        };
        let note = format!(
            "{} {}",
            crate::i18n::catalog(self.mail.lang).get(key),
            reason.trim()
        );
        self.comment(session, id, &note, now).await?;
        Ok(())
    }

    /// When the content of a closed case is purged (`None` while open).
    pub fn purge_on(&self, closed_at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        closed_at.map(|at| self.policy.purge_at(at))
    }
}
