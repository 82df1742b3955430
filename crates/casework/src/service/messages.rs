//! Staff messages to the reporter, internal comments, and confirming a
//! hold's notice.

use super::*;

impl Triage {
    /// A message from staff that the reporter reads with the code.
    pub async fn message(
        &self,
        session: &Session,
        id: CaseId,
        body: &str,
        to: Option<CaseId>,
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
        let mid = Uuid::now_v7();
        let sealed = seal_text(&text, case.id, &item::message(mid), &recipients)?;
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
    /// the reporter; audited like every action. Returns the row's id.
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
        let (case, entry) = self.load(session, id).await?;
        let state = state_of(&case, entry.as_ref());
        let transition = sunlight_core::case::Transition {
            from: case.stage,
            to: case.stage,
            state: state.clone(),
            actor: StaffId::from_uuid(session.staff_id),
            at: now,
            events: vec![Event::Noted],
        };
        let row = Uuid::now_v7();
        let units = self.unit_chain_keys(&case).await?;
        let sealed = seal_text(&text, case.id, &note_item(row), &units)?;
        self.store
            .record_transition(
                &session.jurisdiction,
                TransitionWrite {
                    transition: &transition,
                    expected_version: case.version,
                    expected_owner: state.owner,
                    next_due: None,
                    entry_change: EntryChange::default(),
                    row_ids: vec![row],
                    sealed_notes: vec![Some(sealed)],
                    reporter_messages: Vec::new(),
                },
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
        let sealed = seal_text(notice_to, case.id, &item, &units)?;
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
