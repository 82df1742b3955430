//! Reports staff enter for a reporter who phoned, wrote or came in.

use super::*;

impl Triage {
    /// A report taken by phone, letter or visit: filed like a web report;
    /// the new code is returned once, to read out to the caller.
    pub async fn file_report(
        &self,
        session: &Session,
        report: ValidReport,
        now: DateTime<Utc>,
    ) -> Result<(TrackingCode, CaseId), CaseworkError> {
        if !matches!(
            session.role,
            sunlight_core::Role::Intake | sunlight_core::Role::Supervisor
        ) {
            return Err(CaseworkError::Forbidden);
        }
        if !session.jurisdiction.contains(&report.unit) {
            return Err(CaseworkError::Invalid(Invalid::NotYourUnit));
        }
        // The same path as a web report: the unit chain and key-person
        // rule, a code stretched in the bounded Argon2id pool, the day of
        // arrival only (whoever reads the database cannot match a call,
        // letter or visit to a phone log), sealed, stored with its first
        // queue entry.
        let prepared = self.filing.prepare(&report, now).await?;
        let (case_id, day) = (prepared.case_id, prepared.received_at);
        let (selection, real_name) = (report.selection_stage, report.real_name);
        let code = self.filing.file(prepared, report, Vec::new()).await?;
        // Staff-entered reports are routed at once, like any other. The
        // case is stored: whatever happens now, the caller gets the code,
        // and a failed routing is left to the router's next pass.
        let plan = self.plan_for(selection, real_name, day, now);
        if let Err(e) = self
            .store
            .route_case(case_id, &plan, Some(session.staff_id), day)
            .await
        {
            tracing::warn!(case_id = %case_id, error = %e, "routing a desk report failed; the router will retry");
        }
        Ok((code, case_id))
    }
}
