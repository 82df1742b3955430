//! The triage side's one service: routing, reading a case for staff (the
//! report opened with the session's unit key), staff actions through the
//! state machine, staff messages, and staff-entered reports. Handlers stay
//! thin: they parse, call here, and render.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sunlight_core::addressing::address;
use sunlight_core::calendar::Calendar;
use sunlight_core::case::{Action, CaseState, Event, Limits, StaffId, apply};
use sunlight_core::crypto::{
    AttachmentOpener, CodeStretcher, SealContext, UnitPublicKey, open, seal,
};
use sunlight_core::policy::{DeadlineKind, Policy};
use sunlight_core::report::{
    AttachmentMeta, MessageContent, ReportContent, ValidReport, decode_padded, encode_padded, item,
};
use sunlight_core::{CaseId, Stage, TrackingCode};
use sunlight_store::{
    CaseRow, EntryChange, NewCase, NewHold, NewQueueEntry, QueueRow, RoutePlan, Store,
    TransitionWrite,
};
use tokio::sync::Semaphore;
use uuid::Uuid;
use zeroize::Zeroizing;

mod accounts;

pub use accounts::NO_PENDING_TOTP;

use crate::error::TriageError;
use crate::session::Session;

/// Shared by all handlers.
#[derive(Clone)]
pub struct Triage {
    pub store: Store,
    pub policy: Arc<Policy>,
    pub calendar: Arc<Calendar>,
    stretcher: Arc<CodeStretcher>,
    gate: Arc<Semaphore>,
}

impl std::fmt::Debug for Triage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Triage").finish_non_exhaustive()
    }
}

/// A message of a case, opened for staff.
#[derive(Debug)]
pub struct OpenedMessage {
    pub id: Uuid,
    pub from_staff: bool,
    pub body: Zeroizing<String>,
    pub at: DateTime<Utc>,
}

/// A history step, its note opened for staff.
#[derive(Debug)]
pub struct OpenedStep {
    pub from: Stage,
    pub to: Stage,
    pub action: String,
    pub actor: Option<Uuid>,
    pub note: Option<Zeroizing<String>>,
    pub reporter_visible: bool,
    pub at: DateTime<Utc>,
}

/// An attachment's metadata, opened for staff.
#[derive(Debug)]
pub struct OpenedAttachment {
    pub id: Uuid,
    pub message_id: Option<Uuid>,
    pub meta: AttachmentMeta,
}

/// Everything the case page shows.
#[derive(Debug)]
pub struct CaseView {
    pub case: CaseRow,
    pub entry: Option<QueueRow>,
    pub report: ReportContent,
    pub messages: Vec<OpenedMessage>,
    pub history: Vec<OpenedStep>,
    pub attachments: Vec<OpenedAttachment>,
    pub holds: Vec<sunlight_store::HoldRow>,
    /// Cases merged into this one: their reporters can be written to, one
    /// at a time (`message`'s `to`).
    pub merged_cases: Vec<CaseId>,
    /// Actions the signed-in member may take now.
    pub allowed: Vec<&'static str>,
}

/// A staff action with its optional internal note.
#[derive(Debug, serde::Deserialize)]
pub struct ActionRequest {
    #[serde(flatten)]
    pub action: Action,
    #[serde(default)]
    pub note: Option<String>,
}

/// The case state the state machine works on, from the stored row.
pub fn state_of(case: &CaseRow, entry: Option<&QueueRow>) -> CaseState {
    CaseState {
        id: case.id,
        stage: case.stage,
        owner: entry.and_then(|e| e.owner).map(StaffId::from_uuid),
        selection_stage: case.selection_stage,
        hold_active: case.hold,
        outcome: case.outcome,
        // The decision's text is sealed in the history; the machine only
        // needs to know that one exists.
        decision: case.has_decision.then(|| "(recorded)".to_owned()),
        feedback_given: case.feedback_given,
        transferred_to: None,
        transferred_by: case.transferred_by.map(StaffId::from_uuid),
        extension_days: case.extension_days,
        paused_until: entry.and_then(|e| e.paused_until),
        merged_into: case.merged_into,
    }
}

fn deadline_kind(stage: Stage) -> Option<DeadlineKind> {
    match stage {
        Stage::Received => Some(DeadlineKind::Route),
        Stage::Verify => Some(DeadlineKind::Verify),
        Stage::Handle => Some(DeadlineKind::Handle),
        Stage::Recheck => Some(DeadlineKind::Recheck),
        Stage::Notify => Some(DeadlineKind::Notify),
        Stage::Closed => None,
    }
}

/// The text an event carries, to be sealed into its history row.
fn event_text(e: &Event) -> Option<String> {
    match e {
        Event::Transferred { to } => Some(to.clone()),
        Event::Decided { decision } => Some(decision.clone()),
        Event::Extended { reason, .. } => Some(reason.clone()),
        Event::ReporterAsked { question, .. } => Some(question.clone()),
        Event::FeedbackGiven { message } => Some(message.clone()),
        _ => None,
    }
}

fn seal_text(
    text: &str,
    case: CaseId,
    item: &[u8],
    recipients: &[UnitPublicKey],
) -> Result<Vec<u8>, TriageError> {
    let payload = encode_padded(&MessageContent {
        body: text.to_owned(),
    })
    .map_err(|e| TriageError::Internal(e.to_string()))?;
    Ok(seal(
        &payload,
        &SealContext {
            case_id: case,
            item,
        },
        recipients,
    )?)
}

fn open_text(
    sealed: &[u8],
    case: CaseId,
    item: &[u8],
    session: &Session,
) -> Result<Zeroizing<String>, TriageError> {
    let plain = open(
        sealed,
        &SealContext {
            case_id: case,
            item,
        },
        session.unit_key(),
    )?;
    let content: MessageContent =
        decode_padded(&plain).map_err(|e| TriageError::Internal(e.to_string()))?;
    Ok(Zeroizing::new(content.body.clone()))
}

/// What a history note's seal binds to: its row.
fn note_item(row: Uuid) -> Vec<u8> {
    [b"note/".as_slice(), row.as_bytes()].concat()
}

impl Triage {
    pub fn new(store: Store, policy: Policy, calendar: Calendar, stretcher: CodeStretcher) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self {
            store,
            policy: Arc::new(policy),
            calendar: Arc::new(calendar),
            stretcher: Arc::new(stretcher),
            gate: Arc::new(Semaphore::new(cores)),
        }
    }

    pub fn due(&self, kind: DeadlineKind, from: DateTime<Utc>) -> DateTime<Utc> {
        self.policy.due(kind, from, &self.calendar)
    }

    /// The routing plan of a received case (rules 3 and 4: the unit was
    /// fixed at the door; a report on a running selection opens a hold).
    pub fn plan(&self, case: &CaseRow, now: DateTime<Utc>) -> RoutePlan {
        self.plan_for(case.selection_stage, now)
    }

    fn plan_for(&self, selection: sunlight_core::SelectionStage, now: DateTime<Utc>) -> RoutePlan {
        RoutePlan {
            verify_due: self.due(DeadlineKind::Verify, now),
            hold: selection.triggers_hold().then(|| NewHold {
                notice_due_at: self.due(DeadlineKind::HoldNotice, now),
                max_until: self.due(DeadlineKind::HoldMax, now),
            }),
        }
    }

    /// Routes every received case; returns how many this call routed.
    /// Safe to run in several processes at once.
    pub async fn route_pending(&self, now: DateTime<Utc>) -> Result<usize, TriageError> {
        let mut routed = 0;
        loop {
            let batch = self.store.unrouted_cases(200).await?;
            if batch.is_empty() {
                return Ok(routed);
            }
            let mut progressed = false;
            for case in batch {
                // Routing follows arrival within seconds, so its records
                // carry the arrival's day (not the routing's: a report in
                // the last seconds before midnight would stand out).
                let plan = self.plan(&case, now);
                if self
                    .store
                    .route_case(case.id, &plan, None, case.received_at)
                    .await?
                {
                    routed += 1;
                    progressed = true;
                }
            }
            if !progressed {
                return Ok(routed);
            }
        }
    }

    /// Public keys of a unit and every unit above it.
    async fn unit_chain_keys(&self, case: &CaseRow) -> Result<Vec<UnitPublicKey>, TriageError> {
        Ok(self
            .store
            .unit_with_ancestors(&case.unit)
            .await?
            .into_iter()
            .map(|u| u.public_key)
            .collect())
    }

    /// The case's units plus one reporter: the case's own, or — `to` naming
    /// a case merged into this one — that case's reporter. Never several:
    /// a merged-in reporter (perhaps an ally of the accused who filed a
    /// near-duplicate) must not read what is put to another reporter.
    async fn reporter_recipients(
        &self,
        case: &CaseRow,
        to: Option<CaseId>,
    ) -> Result<Vec<UnitPublicKey>, TriageError> {
        let reporter = match to {
            Some(other) if other != case.id => self
                .store
                .merged_reporter_key(case.id, other)
                .await?
                .ok_or_else(|| {
                    TriageError::Invalid("to: not a case merged into this one".into())
                })?,
            _ => case.reporter_public_key.ok_or_else(|| {
                TriageError::Invalid(
                    "this case predates reporter keys; it cannot receive messages".into(),
                )
            })?,
        };
        let mut keys = self.unit_chain_keys(case).await?;
        keys.push(reporter);
        Ok(keys)
    }

    async fn load(
        &self,
        session: &Session,
        id: CaseId,
    ) -> Result<(CaseRow, Option<QueueRow>), TriageError> {
        self.store
            .case_with_entry(&session.jurisdiction, id)
            .await?
            .ok_or(TriageError::NoSuchCase)
    }

    /// The case, opened with the session's unit key. Audited as a read.
    pub async fn view(
        &self,
        session: &Session,
        id: CaseId,
        now: DateTime<Utc>,
    ) -> Result<CaseView, TriageError> {
        if session.role == sunlight_core::Role::Admin {
            return Err(TriageError::Forbidden);
        }
        let (case, entry) = self.load(session, id).await?;
        let plain = open(
            &case.sealed_report,
            &SealContext {
                case_id: case.id,
                item: item::REPORT,
            },
            session.unit_key(),
        )?;
        let report: ReportContent =
            decode_padded(&plain).map_err(|e| TriageError::Internal(e.to_string()))?;
        let mut messages = Vec::new();
        for m in self.store.messages(case.id).await? {
            let body = open_text(&m.sealed_body, case.id, &item::message(m.id), session)?;
            messages.push(OpenedMessage {
                id: m.id,
                from_staff: m.author == "staff",
                body,
                at: m.created_at,
            });
        }
        let mut history = Vec::new();
        for t in self.store.transitions_of(case.id).await? {
            let note = match &t.sealed_note {
                Some(sealed) => Some(open_text(sealed, case.id, &note_item(t.id), session)?),
                None => None,
            };
            history.push(OpenedStep {
                from: t.from,
                to: t.to,
                action: t.action,
                actor: t.actor,
                note,
                reporter_visible: t.reporter_visible,
                at: t.at,
            });
        }
        let mut attachments = Vec::new();
        for a in self.store.attachments_of(case.id).await? {
            let meta_item = item::attachment_meta(a.id);
            let plain = open(
                &a.sealed_meta,
                &SealContext {
                    case_id: case.id,
                    item: &meta_item,
                },
                session.unit_key(),
            )?;
            attachments.push(OpenedAttachment {
                id: a.id,
                message_id: a.message_id,
                meta: decode_padded(&plain).map_err(|e| TriageError::Internal(e.to_string()))?,
            });
        }
        let holds = self.store.holds_of(case.id).await?;
        let merged_cases = self.store.merged_cases(case.id).await?;
        let state = state_of(&case, entry.as_ref());
        let actor = session.actor();
        let allowed = sunlight_core::case::ActionKind::ALL
            .iter()
            .filter(|k| {
                k.stages().contains(&state.stage)
                    && k.roles(state.stage).contains(&actor.role)
                    && (!k.needs_owner() || state.owner == Some(actor.id))
            })
            .map(|k| k.as_str())
            .collect();
        self.store
            .audit(
                sunlight_store::AuditRecord {
                    actor: format!("staff:{}", session.staff_id),
                    action: "case.read".into(),
                    unit: case.unit.to_string(),
                    case_id: case.id.to_string(),
                    detail: String::new(),
                },
                now,
            )
            .await?;
        Ok(CaseView {
            case,
            entry,
            report,
            messages,
            history,
            attachments,
            holds,
            merged_cases,
            allowed,
        })
    }

    /// Takes a staff action on a case.
    pub async fn act(
        &self,
        session: &Session,
        id: CaseId,
        request: ActionRequest,
        now: DateTime<Utc>,
    ) -> Result<Stage, TriageError> {
        let (case, entry) = self.load(session, id).await?;
        if let Action::Route = request.action {
            // Routing by hand is the same idempotent routing.
            if !matches!(
                session.role,
                sunlight_core::Role::Intake | sunlight_core::Role::Supervisor
            ) {
                return Err(TriageError::Forbidden);
            }
            if case.stage != Stage::Received {
                return Err(sunlight_core::case::Refusal::NotAllowedInStage {
                    action: sunlight_core::case::ActionKind::Route,
                    stage: case.stage,
                }
                .into());
            }
            let plan = self.plan(&case, now);
            self.store
                .route_case(id, &plan, Some(session.staff_id), now)
                .await?;
            return Ok(Stage::Verify);
        }
        let state = state_of(&case, entry.as_ref());
        let limits = Limits::from_policy(&self.policy, &self.calendar, now);
        let transition = apply(&state, request.action, &session.actor(), now, &limits)?;
        if transition.events.is_empty() {
            return Ok(transition.to);
        }
        let next_due = deadline_kind(transition.to)
            .filter(|_| transition.to != transition.from)
            .map(|k| self.due(k, now));
        let mut entry_change = EntryChange::default();
        let mut reporter_messages = Vec::new();
        let mut sealed_notes = Vec::new();
        // Read only when a text is sealed: most actions (claims) seal nothing.
        let mut units: Option<Vec<UnitPublicKey>> = None;
        for (n, event) in transition.events.iter().enumerate() {
            match event {
                Event::Extended { days, .. } => {
                    let due = entry.as_ref().map_or(now, |e| e.due_at);
                    entry_change.due_at = Some(due + Duration::days(i64::from(*days)));
                    entry_change.extended = true;
                }
                Event::ReporterAsked { paused_until, .. } => {
                    // The whole bound now; what the reporter leaves unused
                    // is taken back when they answer.
                    let due = entry.as_ref().map_or(now, |e| e.due_at);
                    entry_change.due_at = Some(due + (*paused_until - now));
                    entry_change.pause = Some((now, *paused_until));
                }
                _ => {}
            }
            let text = match (event, &request.note) {
                (e, _) if event_text(e).is_some() => event_text(e),
                (_, Some(note)) if n == 0 && !note.trim().is_empty() => Some(note.clone()),
                _ => None,
            };
            let sealed = match text {
                Some(text) => {
                    // Texts the reporter sees also go to them as a message.
                    let recipients = if event.for_reporter() {
                        let mut r = self.reporter_recipients(&case, None).await?;
                        // How the case goes on (an extension, the feedback)
                        // is every merged-in reporter's business too; a
                        // question is only for the one it is put to.
                        if !matches!(event, Event::ReporterAsked { .. }) {
                            r.extend(self.store.merged_reporter_keys(case.id).await?);
                        }
                        let mid = Uuid::now_v7();
                        reporter_messages
                            .push((mid, seal_text(&text, case.id, &item::message(mid), &r)?));
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
                    Some((text, recipients))
                }
                None => None,
            };
            sealed_notes.push(sealed);
        }
        let row_ids: Vec<Uuid> = transition.events.iter().map(|_| Uuid::now_v7()).collect();
        let notes = sealed_notes
            .into_iter()
            .zip(&row_ids)
            .map(|(s, row)| {
                s.map(|(text, recipients)| seal_text(&text, case.id, &note_item(*row), &recipients))
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
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
                    sealed_notes: notes,
                    reporter_messages,
                },
            )
            .await?;
        Ok(transition.to)
    }

    /// A message from staff that the reporter reads with the code.
    pub async fn message(
        &self,
        session: &Session,
        id: CaseId,
        body: &str,
        to: Option<CaseId>,
        now: DateTime<Utc>,
    ) -> Result<Uuid, TriageError> {
        if session.role == sunlight_core::Role::Admin {
            return Err(TriageError::Forbidden);
        }
        let text = sunlight_core::report::validate_message(
            body,
            &sunlight_core::report::Limits::default(),
        )
        .map_err(|e| TriageError::Invalid(format!("body: {:?}", e.problem)))?;
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

    /// Confirms a hold and records, sealed, to whom its notice went.
    pub async fn confirm_hold(
        &self,
        session: &Session,
        case_id: CaseId,
        hold: Uuid,
        notice_to: &str,
        now: DateTime<Utc>,
    ) -> Result<(), TriageError> {
        if !matches!(
            session.role,
            sunlight_core::Role::Verifier | sunlight_core::Role::Supervisor
        ) {
            return Err(TriageError::Forbidden);
        }
        if notice_to.trim().is_empty() {
            return Err(TriageError::Invalid(
                "notice_to must name who received the hold notice".into(),
            ));
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

    /// Opens one attachment chunk by chunk for download; the caller streams
    /// the returned chunks. Audited.
    pub async fn attachment(
        &self,
        session: &Session,
        case_id: CaseId,
        attachment: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(AttachmentMeta, AttachmentStream), TriageError> {
        if session.role == sunlight_core::Role::Admin {
            return Err(TriageError::Forbidden);
        }
        let (case, _) = self.load(session, case_id).await?;
        let row = self
            .store
            .attachments_of(case.id)
            .await?
            .into_iter()
            .find(|a| a.id == attachment)
            .ok_or(TriageError::NotFound)?;
        let meta_item = item::attachment_meta(row.id);
        let meta: AttachmentMeta = decode_padded(&open(
            &row.sealed_meta,
            &SealContext {
                case_id: case.id,
                item: &meta_item,
            },
            session.unit_key(),
        )?)
        .map_err(|e| TriageError::Internal(e.to_string()))?;
        let stream_item = item::attachment(row.id);
        let opener = AttachmentOpener::start(
            &row.stream_header,
            &SealContext {
                case_id: case.id,
                item: &stream_item,
            },
            session.unit_key(),
        )?;
        self.store
            .audit(
                sunlight_store::AuditRecord {
                    actor: format!("staff:{}", session.staff_id),
                    action: "attachment.read".into(),
                    unit: case.unit.to_string(),
                    case_id: case.id.to_string(),
                    detail: format!("attachment={}", row.id),
                },
                now,
            )
            .await?;
        Ok((
            meta,
            AttachmentStream {
                store: self.store.clone(),
                id: row.id,
                chunks: row.chunk_count,
                next: 0,
                opener: Some(opener),
            },
        ))
    }

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
            return Err(TriageError::Invalid(
                "unit: you can enter reports only for your own units".into(),
            ));
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

    /// Staff of the admin's unit.
    pub async fn staff_list(
        &self,
        session: &Session,
    ) -> Result<Vec<sunlight_store::StaffRow>, TriageError> {
        if session.role != sunlight_core::Role::Admin {
            return Err(TriageError::Forbidden);
        }
        Ok(self.store.staff_of_unit(&session.unit).await?)
    }

    /// Mail delivery for an admin: counts for the whole deployment, and
    /// the failing or failed mails of their own unit's members.
    pub async fn mail_status(
        &self,
        session: &Session,
    ) -> Result<
        (
            sunlight_store::OutboxStatus,
            Vec<sunlight_store::MailProblem>,
        ),
        TriageError,
    > {
        let members: std::collections::HashSet<String> = self
            .staff_list(session)
            .await?
            .into_iter()
            .map(|s| s.email)
            .collect();
        let status = self.store.outbox_status().await?;
        let problems = self
            .store
            .mail_problems(500)
            .await?
            .into_iter()
            .filter(|p| members.contains(&p.recipient))
            .take(100)
            .collect();
        Ok((status, problems))
    }

    /// Puts a mail that the server refused back in the queue (after the
    /// admin fixed the member's address or the server).
    pub async fn retry_mail(
        &self,
        session: &Session,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), TriageError> {
        let (_, problems) = self.mail_status(session).await?;
        if !problems.iter().any(|p| p.id == id && p.failed_at.is_some()) {
            return Err(TriageError::NotFound);
        }
        self.store.retry_failed_mail(id, now).await?;
        Ok(())
    }

    /// An admin adds a member to their own unit, wrapping the unit key from
    /// their session (no recovery key needed). The one-time password and
    /// TOTP secret are returned once.
    pub async fn add_staff(
        &self,
        session: &Session,
        email: &str,
        role: sunlight_core::Role,
        now: DateTime<Utc>,
    ) -> Result<sunlight_store::provision::NewStaffSecrets, TriageError> {
        if session.role != sunlight_core::Role::Admin {
            return Err(TriageError::Forbidden);
        }
        let email = email.trim();
        if email.len() > 320 || !email.contains('@') || email.chars().any(char::is_whitespace) {
            return Err(TriageError::Invalid("email: not an email address".into()));
        }
        sunlight_store::provision::create_staff(
            &self.store,
            &session.unit,
            session.unit_key(),
            email,
            role,
            sunlight_core::crypto::StretchParams::PASSWORD,
            &format!("staff:{}", session.staff_id),
            now,
        )
        .await
        .map_err(|e| match e {
            sunlight_store::provision::ProvisionError::Store(s) => s.into(),
            other => TriageError::Internal(other.to_string()),
        })
    }
}

/// The chunks of one attachment, opened one at a time.
pub struct AttachmentStream {
    store: Store,
    id: Uuid,
    chunks: u32,
    next: u32,
    opener: Option<AttachmentOpener>,
}

impl std::fmt::Debug for AttachmentStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentStream")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl AttachmentStream {
    /// The next plaintext chunk, `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, TriageError> {
        if self.next >= self.chunks {
            return Ok(None);
        }
        let sealed = self.store.attachment_chunk(self.id, self.next).await?;
        self.next += 1;
        let plain = if self.next == self.chunks {
            self.opener
                .take()
                .ok_or_else(|| TriageError::Internal("attachment stream ended".into()))?
                .finish(&sealed)?
        } else {
            self.opener
                .as_mut()
                .ok_or_else(|| TriageError::Internal("attachment stream ended".into()))?
                .open_chunk(&sealed)?
        };
        Ok(Some(plain))
    }
}
