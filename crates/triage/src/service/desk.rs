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
    ) -> Result<(TrackingCode, CaseId), TriageError> {
        if !matches!(
            session.role,
            sunlight_core::Role::Intake | sunlight_core::Role::Supervisor
        ) {
            return Err(TriageError::Forbidden);
        }
        if !session.jurisdiction.contains(&report.unit) {
            return Err(TriageError::Invalid(Invalid::NotYourUnit));
        }
        let chain = self.store.unit_with_ancestors(&report.unit).await?;
        let ids: Vec<_> = chain.iter().map(|u| u.id.clone()).collect();
        let addressing = address(&ids, report.accused_role)
            .ok_or_else(|| TriageError::Internal("empty unit chain".into()))?;
        let mut recipients: Vec<UnitPublicKey> = chain
            .iter()
            .filter(|u| addressing.recipients.contains(&u.id))
            .map(|u| u.public_key)
            .collect();
        let code = TrackingCode::generate().map_err(|e| TriageError::Internal(e.to_string()))?;
        let stretched = {
            let _permit = self
                .gate
                .acquire()
                .await
                .map_err(|e| TriageError::Internal(e.to_string()))?;
            let stretcher = Arc::clone(&self.stretcher);
            let c = code.clone();
            tokio::task::spawn_blocking(move || stretcher.stretch(&c))
                .await
                .map_err(|e| TriageError::Internal(e.to_string()))??
        };
        recipients.push(stretched.reporter_public());
        // A call, letter or visit is stored with its day only, like a web
        // report: whoever reads the database cannot match it to a phone log.
        let day = self.policy.start_of_local_day(now);
        let case_id = CaseId::arrived_on(day);
        let payload =
            encode_padded(&report.content).map_err(|e| TriageError::Internal(e.to_string()))?;
        let sealed_report = seal(
            &payload,
            &SealContext {
                case_id,
                item: item::REPORT,
            },
            &recipients,
        )?;
        self.store
            .insert_case(NewCase {
                id: case_id,
                lookup_key: stretched.lookup_key,
                unit: addressing.responsible.clone(),
                addressed_unit: report.unit.clone(),
                category: report.category,
                accused_role: report.accused_role,
                selection_stage: report.selection_stage,
                channel: report.channel,
                real_name: report.real_name,
                received_at: day,
                sealed_report,
                reporter_public_key: *stretched.reporter_public().as_bytes(),
                first_entry: NewQueueEntry {
                    stage: Stage::Received,
                    due_at: self.due(DeadlineKind::Route, now),
                },
            })
            .await?;
        // Staff-entered reports are routed at once, like any other. The
        // case is stored: whatever happens now, the caller gets the code,
        // and a failed routing is left to the router's next pass.
        let plan = self.plan_for(report.selection_stage, now);
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
