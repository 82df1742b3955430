//! Staff actions on a case through the state machine, with the note sealed to the case's units.

use super::authenticity::seal_staff_text;
use super::*;

impl Triage {
    /// Takes a staff action on a case.
    pub async fn act(
        &self,
        session: &Session,
        id: CaseId,
        request: ActionRequest,
        now: DateTime<Utc>,
    ) -> Result<Stage, CaseworkError> {
        let (case, entry) = self.load(session, id).await?;
        if let Action::Route = request.action {
            // Routing by hand is the same idempotent routing.
            if !matches!(
                session.role,
                sunlight_core::Role::Intake | sunlight_core::Role::Supervisor
            ) {
                return Err(CaseworkError::Forbidden);
            }
            if case.stage != Stage::Received {
                return Err(sunlight_core::case::Refusal::NotAllowedInStage {
                    action: sunlight_core::case::ActionKind::Route,
                    stage: case.stage,
                }
                .into());
            }
            let plan = self.plan(&case);
            self.store
                .route_case(id, &plan, Some(session.staff_id), now)
                .await?;
            return Ok(Stage::Received);
        }
        let (case, entry) = self
            .routed_first(session, case, entry, &request.action, now)
            .await?;
        let mut state = state_of(&case, entry.as_ref());
        if case.stage == Stage::Closed {
            state.reexamination = self
                .reexamination_for(session, &case, &request.action)
                .await?;
        }
        let limits = Limits::from_policy(&self.policy, &self.calendar, now);
        let mut transition = apply(&state, request.action, &session.actor(), now, &limits)?;
        if transition.events.is_empty() {
            return Ok(transition.to);
        }
        let note = request.note.filter(|n| !n.trim().is_empty());
        // The first row carries the action's own text (a transfer's
        // recipient, a decision, the feedback) when it has one: the note
        // then gets a row of its own instead of being lost.
        if note.is_some() && transition.events.first().and_then(event_text).is_some() {
            transition.events.push(Event::Noted);
        }
        let next_due = DeadlineKind::of_stage(transition.to)
            .filter(|_| transition.to != transition.from)
            .map(|k| self.due(k, now));
        let mut entry_change = EntryChange::default();
        let mut reporter_messages = Vec::new();
        let mut sealed_notes = Vec::new();
        let row_ids: Vec<Uuid> = transition.events.iter().map(|_| Uuid::now_v7()).collect();
        // Read only when a text is sealed: most actions (claims) seal nothing.
        let mut units: Option<Vec<UnitPublicKey>> = None;
        let mut signer = None;
        for (n, (event, row)) in transition.events.iter().zip(&row_ids).enumerate() {
            match event {
                Event::Extended { days, .. } => {
                    let due = entry.as_ref().map_or(now, |e| e.due_at);
                    let extended = due + Duration::days(i64::from(*days));
                    entry_change.due_at =
                        Some(self.policy.on_working_day(extended, &self.calendar));
                    entry_change.extended = true;
                }
                Event::ReporterAsked { paused_until, .. }
                | Event::SpecificsAsked { paused_until, .. } => {
                    // The whole bound now; what the reporter leaves unused
                    // is taken back when they answer.
                    let due = entry.as_ref().map_or(now, |e| e.due_at);
                    entry_change.due_at = Some(due + (*paused_until - now));
                    entry_change.pause = Some((now, *paused_until));
                }
                _ => {}
            }
            let text = match (event, &note) {
                (Event::Noted, Some(note)) => Some(note.clone()),
                (e, _) if event_text(e).is_some() => event_text(e),
                (_, Some(note)) if n == 0 => Some(note.clone()),
                _ => None,
            };
            let sealed = match text {
                Some(text) => {
                    let by = match &mut signer {
                        Some(by) => &*by,
                        slot @ None => &*slot.insert(self.case_signer(session, &case).await?),
                    };
                    // Texts the reporter sees also go to them as a message.
                    let recipients = if event.for_reporter() {
                        let mut r = self.reporter_recipients(&case, None).await?;
                        // How the case goes on (an extension, the feedback)
                        // is every merged-in reporter's business too; a
                        // question is only for the one it is put to.
                        if !matches!(
                            event,
                            Event::ReporterAsked { .. } | Event::SpecificsAsked { .. }
                        ) {
                            r.extend(self.store.merged_reporter_keys(case.id).await?);
                        }
                        let mid = Uuid::now_v7();
                        let sealed = seal_staff_text(
                            &text,
                            case.id,
                            &item::message(mid),
                            &r,
                            by,
                            transition.actor.as_uuid(),
                        )?;
                        reporter_messages.push((mid, sealed));
                        r
                    } else {
                        match &units {
                            Some(u) => u.clone(),
                            None => {
                                let u = self.unit_chain_keys(&case).await?;
                                units = Some(u.clone());
                                u
                            }
                        }
                    };
                    Some(seal_staff_text(
                        &text,
                        case.id,
                        &note_item(*row),
                        &recipients,
                        by,
                        transition.actor.as_uuid(),
                    )?)
                }
                None => None,
            };
            sealed_notes.push(sealed);
        }
        self.store
            .record_transition(
                &session.jurisdiction,
                TransitionWrite {
                    transition: &transition,
                    expected_version: case.version,
                    expected_owner: state.owner,
                    next_due,
                    entry_change,
                    row_ids,
                    sealed_notes,
                    reporter_messages,
                },
            )
            .await?;
        Ok(transition.to)
    }

    /// The acceptance decision needs a routed case (its hold and
    /// acknowledgement tasks open, its deadline set): a desk that decides
    /// in the seconds before the router ran routes it first.
    async fn routed_first(
        &self,
        session: &Session,
        case: CaseRow,
        entry: Option<QueueRow>,
        action: &Action,
        now: DateTime<Utc>,
    ) -> Result<(CaseRow, Option<QueueRow>), CaseworkError> {
        let deciding = matches!(
            action,
            Action::Accept | Action::Refer { .. } | Action::AskSpecifics { .. }
        );
        // Only for a member the state machine will let decide.
        let desk = action.kind().roles(Stage::Received).contains(&session.role);
        if !deciding || !desk || case.stage != Stage::Received || case.routed_at.is_some() {
            return Ok((case, entry));
        }
        let plan = self.plan(&case);
        let day = self.routing_day(&case, now);
        self.store.route_case(case.id, &plan, None, day).await?;
        self.load(session, case.id).await
    }

    /// Whether the reporter's objection waits for its re-examination; it is
    /// answered (an uphold, or a reopen) only from the unit the task sits
    /// with (the one above the handling unit) or higher, never by those
    /// who handled the case: a reopen by them would close the task
    /// unanswered.
    async fn reexamination_for(
        &self,
        session: &Session,
        case: &CaseRow,
        action: &Action,
    ) -> Result<bool, CaseworkError> {
        let open = self
            .store
            .tasks_of(case.id)
            .await?
            .into_iter()
            .find(|t| t.is_open() && t.kind == sunlight_core::TaskKind::Reexamine);
        if let (Action::Uphold { .. } | Action::Reopen { .. }, Some(task)) = (action, &open)
            && !session.jurisdiction.contains(&task.unit)
        {
            return Err(sunlight_core::case::Refusal::NotTheReexaminingUnit.into());
        }
        Ok(open.is_some())
    }
}
