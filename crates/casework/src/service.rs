//! The triage side's one service: routing, reading a case for staff (the
//! report opened with the session's unit key), staff actions through the
//! state machine, staff messages, and staff-entered reports. Handlers stay
//! thin: they parse, call here, and render.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
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
use sunlight_store::{CaseRow, EntryChange, NewHold, QueueRow, RoutePlan, Store, TransitionWrite};
use uuid::Uuid;
use zeroize::Zeroizing;

mod accounts;
mod act;
mod attachments;
mod audit;
mod authenticity;
pub use authenticity::Authenticity;
mod desk;
mod export;
pub use audit::{AuditPage, AuditRequest, ChainCache, ChainCheck};
pub use desk::DeskReport;
pub use export::CaseExport;
pub use view::Opened;
mod messages;
pub(crate) mod numbering;
mod register;
pub use register::RegisterRequest;
mod retention;
mod routing;
mod search;
mod second_factor;
pub use search::{SEARCH_HITS_MAX, SearchFound, SearchHit, SearchRequest, scan};
pub use second_factor::{Enrolment, otpauth_uri};
mod staff;
mod tasks;
pub use tasks::OpenTask;
mod view;

use sunlight_filing::Filing;
use sunlight_metrics::Metrics;

use crate::error::{CaseworkError, Invalid};
use crate::session::Session;

/// Shared by all handlers.
#[derive(Clone)]
pub struct Triage {
    pub store: Store,
    pub policy: Arc<Policy>,
    pub calendar: Arc<Calendar>,
    /// The one filing path, for reports staff enter (an Argon2id pool of
    /// one: desk reports are few, and each buffer is the stretch's memory).
    filing: Filing,
    /// The last audit chain check, for the audit page.
    chain: ChainCache,
    /// How mails to members about their own account are written.
    mail: crate::mail::MailStyle,
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
    /// A reporter's message that does not open (sealed in a browser to the
    /// right keys, but garbage or broken): `body` is empty.
    pub unreadable: bool,
    /// Whose tag a staff message carries; `Anonymous` for a reporter's.
    pub authenticity: Authenticity,
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
    /// Whose tag the note carries, when there is one.
    pub authenticity: Option<Authenticity>,
    pub reporter_visible: bool,
    pub at: DateTime<Utc>,
}

/// An attachment's metadata, opened for staff.
#[derive(Debug)]
pub struct OpenedAttachment {
    pub id: Uuid,
    pub message_id: Option<Uuid>,
    /// Empty when `unreadable`.
    pub meta: AttachmentMeta,
    /// Its description does not open with the unit's key (sealed wrongly
    /// in the reporter's browser, damaged or altered): listed as such,
    /// never served.
    pub unreadable: bool,
}

/// Everything the case page shows.
#[derive(Debug)]
pub struct CaseView {
    pub case: CaseRow,
    pub entry: Option<QueueRow>,
    /// Empty when `report_unreadable`: it does not open with the unit key.
    pub report: ReportContent,
    pub report_unreadable: bool,
    pub messages: Vec<OpenedMessage>,
    pub history: Vec<OpenedStep>,
    pub attachments: Vec<OpenedAttachment>,
    pub holds: Vec<sunlight_store::HoldRow>,
    /// Cases merged into this one: their reporters can be written to, one
    /// at a time (`message`'s `to`).
    pub merged_cases: Vec<CaseId>,
    /// Actions the signed-in member may take now.
    pub allowed: Vec<&'static str>,
    /// The acknowledgement and re-examination tasks, done or open.
    pub tasks: Vec<sunlight_store::TaskRow>,
    /// The reporters' ratings of the current round of feedback (one per
    /// reporter: several after a merge).
    pub ratings: Vec<sunlight_store::RatingRow>,
    /// Where the member may merge this case (when they may merge): open
    /// cases of its unit and the units above, with their accused.
    pub merge_candidates: Vec<SearchHit>,
    /// Candidates that would not open with the member's key.
    pub merge_unreadable: u64,
}

/// A staff action with its optional internal note.
#[derive(Debug)]
pub struct ActionRequest {
    pub action: Action,
    pub note: Option<String>,
}

/// `action` must be an action's name: serde's internally tagged enums
/// would also take a variant's index (`{"action": 0}` read as `route`).
impl<'de> serde::Deserialize<'de> for ActionRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Raw {
            #[serde(flatten)]
            action: Action,
            #[serde(default)]
            note: Option<String>,
        }
        use serde::de::Error;
        let value = serde_json::Value::deserialize(d)?;
        if !value
            .get("action")
            .is_some_and(serde_json::Value::is_string)
        {
            return Err(D::Error::custom("`action` must be the name of an action"));
        }
        let raw: Raw = serde_json::from_value(value).map_err(D::Error::custom)?;
        Ok(Self {
            action: raw.action,
            note: raw.note,
        })
    }
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
        // Read from the case's tasks when it matters (a closed case).
        reexamination: false,
        disposition: case.disposition,
        verified_by: case.verified_by.map(StaffId::from_uuid),
        specifics_asked: case.specifics_asked,
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
        Event::Reopened { reason, .. } => Some(reason.clone()),
        Event::Upheld { message } => Some(message.clone()),
        Event::Referred { message, .. } => Some(message.clone()),
        Event::SpecificsAsked { question, .. } => Some(question.clone()),
        Event::MarkedKnowinglyFalse { reason } => Some(reason.clone()),
        _ => None,
    }
}

fn seal_text(
    text: &str,
    case: CaseId,
    item: &[u8],
    recipients: &[UnitPublicKey],
) -> Result<Vec<u8>, CaseworkError> {
    let payload = encode_padded(&MessageContent {
        body: text.to_owned(),
    })
    .map_err(|e| CaseworkError::Internal(e.to_string()))?;
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
) -> Result<Zeroizing<String>, CaseworkError> {
    let plain = open(
        sealed,
        &SealContext {
            case_id: case,
            item,
        },
        session.unit_key(),
    )?;
    let content: MessageContent =
        decode_padded(&plain).map_err(|e| CaseworkError::Internal(e.to_string()))?;
    Ok(Zeroizing::new(content.body.clone()))
}

/// What a history note's seal binds to: its row.
fn note_item(row: Uuid) -> Vec<u8> {
    [b"note/".as_slice(), row.as_bytes()].concat()
}

impl Triage {
    pub fn new(
        store: Store,
        policy: Policy,
        calendar: Calendar,
        stretcher: CodeStretcher,
        metrics: Metrics,
    ) -> Self {
        let filing = Filing::new(
            store.clone(),
            stretcher,
            policy,
            calendar,
            sunlight_core::report::Limits::default(),
            // Desk reports are few: one stretch at a time, one buffer.
            1,
            metrics,
        );
        Self {
            store,
            policy: Arc::clone(&filing.policy),
            calendar: Arc::clone(&filing.calendar),
            filing,
            chain: ChainCache::default(),
            mail: crate::mail::MailStyle {
                lang: sunlight_core::i18n::Lang::ZhCn,
                link_base: String::new(),
            },
        }
    }

    /// Mails about members' accounts in `style` (its language and links).
    #[must_use]
    pub fn with_mail_style(mut self, style: crate::mail::MailStyle) -> Self {
        self.mail = style;
        self
    }
}
