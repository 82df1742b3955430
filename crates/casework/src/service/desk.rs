//! Reports staff enter for a reporter who phoned, wrote or came in (信、访、电).

use sunlight_core::log::Receipt;
use sunlight_core::report::desk::DeskDetails;
use sunlight_filing::Prepared;
use sunlight_store::NewAttachment;

use super::*;

/// A desk report checked and prepared: its case id and the keys its
/// attachments are sealed to are fixed, its code drawn; not yet stored.
#[derive(Debug)]
pub struct DeskReport {
    prepared: Prepared,
    report: ValidReport,
}

impl DeskReport {
    pub fn case_id(&self) -> CaseId {
        self.prepared.case_id
    }

    /// The keys the report's attachments are sealed to.
    pub fn recipients(&self) -> &[sunlight_core::crypto::UnitPublicKey] {
        &self.prepared.recipients
    }

    /// The local day the report was received.
    pub fn received_at(&self) -> DateTime<Utc> {
        self.prepared.received_at
    }
}

impl Triage {
    /// Checks that the member may enter `report` and prepares it: the unit
    /// chain and key-person rule, a code stretched in the bounded Argon2id
    /// pool, the day it was received (never the moment: whoever reads the
    /// database cannot match a call, letter or visit to a phone log), and
    /// a letter's envelope sealed with the report.
    pub async fn prepare_desk(
        &self,
        session: &Session,
        mut report: ValidReport,
        details: DeskDetails,
    ) -> Result<DeskReport, CaseworkError> {
        if !matches!(
            session.role,
            sunlight_core::Role::Intake | sunlight_core::Role::Supervisor
        ) {
            return Err(CaseworkError::Forbidden);
        }
        if !session.jurisdiction.contains(&report.unit) {
            return Err(CaseworkError::Invalid(Invalid::NotYourUnit));
        }
        report.content.letter = details.letter.clone();
        let day = self.policy.start_of_date(details.received_on);
        let prepared = self.filing.prepare_received(&report, day).await?;
        Ok(DeskReport { prepared, report })
    }

    /// Stores a prepared desk report with its sealed attachments and
    /// routes it at once; the new code is returned once, to read out or
    /// print for the reporter.
    pub async fn file_desk(
        &self,
        session: &Session,
        desk: DeskReport,
        attachments: Vec<NewAttachment>,
        now: DateTime<Utc>,
    ) -> Result<(TrackingCode, CaseId, Receipt), CaseworkError> {
        let (case_id, day) = (desk.prepared.case_id, desk.prepared.received_at);
        let (selection, real_name) = (desk.report.selection_stage, desk.report.real_name);
        // The receipt goes on the slip with the code: the reporter's proof
        // that the desk entered what they brought.
        let (code, receipt) = self
            .filing
            .file(desk.prepared, desk.report, attachments)
            .await?;
        // Every deadline counts from the day the letter or call came in,
        // not from the moment it was typed in. The case is stored: whatever
        // happens now, the caller gets the code, and a failed routing is
        // left to the router's next pass.
        // The routing records carry the day it was entered (a day, like
        // every stamp of an arrival): a back-dated letter is then numbered
        // with that day's reports, not alone seconds after it is typed in.
        let plan = self.plan_for(selection, real_name, day, day);
        let entered = self.policy.start_of_local_day(now).max(day);
        if let Err(e) = self
            .store
            .route_case(case_id, &plan, Some(session.staff_id), entered)
            .await
        {
            tracing::warn!(case_id = %case_id, error = %e, "routing a desk report failed; the router will retry");
        }
        Ok((code, case_id, receipt))
    }

    /// A report taken by phone, letter or visit without attachments:
    /// [`Self::prepare_desk`] then [`Self::file_desk`].
    pub async fn file_report(
        &self,
        session: &Session,
        report: ValidReport,
        details: DeskDetails,
    ) -> Result<(TrackingCode, CaseId, Receipt), CaseworkError> {
        let desk = self.prepare_desk(session, report, details).await?;
        self.file_desk(session, desk, Vec::new(), Utc::now()).await
    }
}
