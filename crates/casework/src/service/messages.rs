//! Staff messages to the reporter, internal comments, and confirming a
//! hold's notice.

use super::authenticity::seal_staff_text;
use super::*;

impl Triage {
    /// A message from staff that the reporter reads with the code. With
    /// `acknowledgement`, it is the 受理告知 of that reporter's real-name
    /// report and does its task (refused when none is open).
    pub async fn message(
        &self,
        session: &Session,
        id: CaseId,
        body: &str,
        to: Option<CaseId>,
        acknowledgement: bool,
        now: DateTime<Utc>,
    ) -> Result<Uuid, CaseworkError> {
        if session.role == sunlight_core::Role::Admin {
            return Err(CaseworkError::Forbidden);
        }
        let text = sunlight_core::report::validate_message(
            body,
            &sunlight_core::report::Limits::default(),
        )
        .map_err(|e| CaseworkError::Invalid(Invalid::Body(e.problem.key())))?;
        let (case, _) = self.load(session, id).await?;
        if case.stage == Stage::Closed {
            return Err(sunlight_core::case::Refusal::AlreadyClosed.into());
        }
        let recipients = self.reporter_recipients(&case, to).await?;
        let signer = self.case_signer(session, &case).await?;
        let mid = Uuid::now_v7();
        let sealed = seal_staff_text(
            &text,
            case.id,
            &item::message(mid),
            &recipients,
            &signer,
            session.staff_id,
        )?;
        if acknowledgement {
            if session.role == sunlight_core::Role::Intake {
                return Err(CaseworkError::Forbidden);
            }
            let task_case = to.unwrap_or(case.id);
            self.store
                .acknowledge(case.id, task_case, mid, session.staff_id, sealed, now)
                .await?;
            return Ok(mid);
        }
        self.store
            .add_message_with(
                case.id,
                mid,
                Some(session.staff_id),
                sealed,
                Vec::new(),
                now,
            )
            .await?;
        Ok(mid)
    }

    /// An internal comment (内部意见) on a case of the member's units, open
    /// or closed: a history row sealed to the case's units, never shown to
    /// the reporter; audited. The case itself is not written, so a comment
    /// never makes a concurrent action fail. Returns the row's id.
    pub async fn comment(
        &self,
        session: &Session,
        id: CaseId,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<Uuid, CaseworkError> {
        if session.role == sunlight_core::Role::Admin {
            return Err(CaseworkError::Forbidden);
        }
        let text = sunlight_core::report::validate_message(
            body,
            &sunlight_core::report::Limits::default(),
        )
        .map_err(|e| CaseworkError::Invalid(Invalid::Body(e.problem.key())))?;
        let (case, _) = self.load(session, id).await?;
        let row = Uuid::now_v7();
        let units = self.unit_chain_keys(&case).await?;
        let signer = self.case_signer(session, &case).await?;
        let sealed = seal_staff_text(
            &text,
            case.id,
            &note_item(row),
            &units,
            &signer,
            session.staff_id,
        )?;
        self.store
            .add_comment(
                &session.jurisdiction,
                case.id,
                row,
                session.staff_id,
                sealed,
                now,
            )
            .await?;
        Ok(row)
    }

    /// Confirms a hold and records, sealed, to whom its notice went.
    pub async fn confirm_hold(
        &self,
        session: &Session,
        case_id: CaseId,
        hold: Uuid,
        notice_to: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CaseworkError> {
        if !matches!(
            session.role,
            sunlight_core::Role::Verifier | sunlight_core::Role::Supervisor
        ) {
            return Err(CaseworkError::Forbidden);
        }
        if notice_to.trim().is_empty() {
            return Err(CaseworkError::Invalid(Invalid::NoticeTo));
        }
        let (case, _) = self.load(session, case_id).await?;
        let units = self.unit_chain_keys(&case).await?;
        let item = [b"hold-notice/".as_slice(), hold.as_bytes()].concat();
        let signer = self.case_signer(session, &case).await?;
        let sealed = seal_staff_text(notice_to, case.id, &item, &units, &signer, session.staff_id)?;
        self.store
            .confirm_hold(
                &session.jurisdiction,
                case.id,
                hold,
                session.staff_id,
                sealed,
                now,
            )
            .await?;
        Ok(())
    }
}
