//! `sunlight-filing`: the one filing path — validate, address, draw and stretch the code through a bounded memory pool, seal, store — used by the public form, the public JSON API and staff-entered reports; and the reporter's side: find a case by code, its status, a follow-up message.
//!
//! Filing reports and messages and looking them up by code, used by the
//! intake pages, the intake JSON API and the staff desk alike. It seals
//! everything a person wrote before it reaches the store, and it bounds the
//! expensive Argon2id stretch with a semaphore sized to the cores, so memory
//! stays flat however many requests wait.

use std::sync::Arc;

mod addressing;
mod rating;
mod receipt;
pub use receipt::ReportInclusion;
mod reporter;
pub use reporter::{Found, ShownMessage, Status};
mod sealed;
mod upload;
pub use rating::{ObjectionDraft, RatingRefusal, RatingState};
pub use sealed::{Located, SealedFile, SealedMeta, SealedRefusal, SealedReport};
pub use upload::{UploadError, UploadTarget, seal_upload};

use chrono::{DateTime, Utc};
use sunlight_core::addressing::Addressing;
use sunlight_core::calendar::Calendar;
use sunlight_core::code::CodeError;
use sunlight_core::crypto::{
    CodeScheme, CodeStretcher, CryptoError, SealContext, StretchMemory, StretchedCode,
    UnitPublicKey, seal,
};
use sunlight_core::log::Receipt;
use sunlight_core::policy::{DeadlineKind, Policy};
use sunlight_core::report::{
    Field, FieldError, Limits, Problem, ReportDraft, ValidReport, encode_padded, item,
};
use sunlight_core::{CaseId, Channel, Stage, TrackingCode, UnitId};
use sunlight_store::{Clash, NewAttachment, NewCase, NewQueueEntry, SealedTo, Store, StoreError};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// Why filing or a look-up failed.
#[derive(Debug, thiserror::Error)]
pub enum FilingError {
    /// The report's fields, every problem at once.
    #[error("invalid report fields")]
    Invalid(Vec<FieldError>),
    /// No case has this code.
    #[error("unknown code")]
    UnknownCode,
    #[error("code: {0}")]
    Code(#[from] CodeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// Material sealed in the browser that cannot be stored as sent.
    #[error("sealed: {0}")]
    Sealed(#[from] SealedRefusal),
    /// A rating the case's state does not allow now.
    #[error("rating: {0}")]
    Rating(#[from] RatingRefusal),
    /// A failure of ours (a task, a serializer): logged, never shown.
    #[error("{0}")]
    Internal(String),
}

/// Everything needed to file and look up reports. Public keys only.
#[derive(Clone)]
pub struct Filing {
    pub store: Store,
    pub(crate) stretcher: Arc<CodeStretcher>,
    gate: Arc<Semaphore>,
    /// One Argon2id working memory per permit, reused (see `stretch_in`).
    memory: Arc<std::sync::Mutex<Vec<StretchMemory>>>,
    pub policy: Arc<Policy>,
    pub calendar: Arc<Calendar>,
    pub limits: Limits,
    metrics: sunlight_metrics::Metrics,
    /// The code schemes of stored cases besides our own, and when they
    /// were read (`other_schemes`).
    other_schemes: Arc<std::sync::Mutex<Option<SchemesSeen>>>,
}

impl std::fmt::Debug for Filing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filing")
            .field("argon_permits", &self.gate.available_permits())
            .finish_non_exhaustive()
    }
}

/// A report about to be filed: its code, case id and recipients are fixed
/// so attachments can be sealed while they stream in.
pub struct Prepared {
    pub code: TrackingCode,
    stretched: StretchedCode,
    pub case_id: CaseId,
    pub addressing: Addressing,
    /// Unit keys of `addressing.recipients`, then the reporter's key.
    pub recipients: Vec<UnitPublicKey>,
    /// Those unit keys' generations, checked when the case is stored.
    sealed_to: SealedTo,
    pub received_at: DateTime<Utc>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("case_id", &self.case_id)
            .finish_non_exhaustive()
    }
}

/// Public keys of `units` (nearest first).
fn unit_keys(units: &[sunlight_store::UnitRow]) -> Vec<UnitPublicKey> {
    units.iter().map(|u| u.public_key).collect()
}

/// The other code schemes in use, and when that was read.
type SchemesSeen = (std::time::Instant, Vec<CodeScheme>);

/// How long the list of other code schemes is trusted.
const SCHEMES_FRESH: std::time::Duration = std::time::Duration::from_secs(60);

impl Filing {
    /// `argon_permits` of 0 means one per core.
    pub fn new(
        store: Store,
        stretcher: CodeStretcher,
        policy: Policy,
        calendar: Calendar,
        limits: Limits,
        argon_permits: usize,
        metrics: sunlight_metrics::Metrics,
    ) -> Self {
        let permits = if argon_permits == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        } else {
            argon_permits
        };
        Self {
            store,
            memory: Arc::new(std::sync::Mutex::new(
                (0..permits)
                    .filter_map(|_| StretchMemory::new(stretcher.params()).ok())
                    .collect(),
            )),
            stretcher: Arc::new(stretcher),
            gate: Arc::new(Semaphore::new(permits)),
            metrics,
            other_schemes: Arc::new(std::sync::Mutex::new(None)),
            policy: Arc::new(policy),
            calendar: Arc::new(calendar),
            limits,
        }
    }

    /// Argon2id on a blocking thread, at most one per permit at a time.
    async fn stretch(&self, code: &TrackingCode) -> Result<StretchedCode, FilingError> {
        self.stretch_as(code, self.own_scheme()).await
    }

    /// The scheme new cases are filed with: the suite's.
    fn own_scheme(&self) -> CodeScheme {
        CodeScheme::of(self.stretcher.suite())
    }

    /// The schemes besides our own a missed lookup must be tried in, oldest
    /// last. Read at most once a minute: the query scans `cases`, and a
    /// flood of wrong codes must not make it run per request; a scheme that
    /// appears (another replica filing in another suite, a restore) is seen
    /// within the minute.
    pub async fn other_schemes(&self) -> Result<Vec<CodeScheme>, FilingError> {
        let now = std::time::Instant::now();
        if let Ok(cached) = self.other_schemes.lock()
            && let Some((at, schemes)) = cached.as_ref()
            && now.duration_since(*at) < SCHEMES_FRESH
        {
            return Ok(schemes.clone());
        }
        let own = self.own_scheme();
        let mut found = self.store.code_schemes_in_use().await?;
        found.retain(|s| *s != own);
        found.sort_by_key(|s| std::cmp::Reverse(s.as_i16()));
        if let Ok(mut cached) = self.other_schemes.lock() {
            *cached = Some((now, found.clone()));
        }
        Ok(found)
    }

    async fn stretch_as(
        &self,
        code: &TrackingCode,
        scheme: CodeScheme,
    ) -> Result<StretchedCode, FilingError> {
        self.on_argon(code, move |s, code, memory| {
            s.stretch_as_in(code, scheme, memory)
        })
        .await
    }

    /// `f` (one Argon2id run and what follows it) on a blocking thread, in
    /// a pooled buffer, at most one per permit at a time.
    async fn on_argon<T: Send + 'static>(
        &self,
        code: &TrackingCode,
        f: impl FnOnce(&CodeStretcher, &TrackingCode, &mut StretchMemory) -> Result<T, CryptoError>
        + Send
        + 'static,
    ) -> Result<T, FilingError> {
        let mut ticket = self.metrics.argon_ticket();
        let _permit = self
            .gate
            .acquire()
            .await
            .map_err(|_| FilingError::Internal("argon2 gate closed".into()))?;
        ticket.running();
        let stretcher = Arc::clone(&self.stretcher);
        let code = code.clone();
        // A permit guarantees a free buffer; a lost one (a panicked task) is
        // replaced.
        let memory = self.memory.lock().ok().and_then(|mut pool| pool.pop());
        let mut memory = match memory {
            Some(m) => m,
            None => StretchMemory::new(stretcher.params())?,
        };
        let (result, memory) = tokio::task::spawn_blocking(move || {
            let result = f(&stretcher, &code, &mut memory);
            (result, memory)
        })
        .await
        .map_err(|e| FilingError::Internal(format!("argon2 task: {e}")))?;
        if let Ok(mut pool) = self.memory.lock() {
            pool.push(memory);
        }
        result.map_err(FilingError::from)
    }

    /// Validates a draft, adding "no such unit" to the other problems when
    /// the slug is well-formed but names no unit, so the reporter sees
    /// everything to fix at once.
    pub async fn validate(
        &self,
        draft: &ReportDraft,
        channel: Channel,
    ) -> Result<Result<ValidReport, Vec<FieldError>>, FilingError> {
        match draft.validate(channel, &self.limits) {
            Ok(valid) => Ok(Ok(valid)),
            Err(mut errors) => {
                if let Ok(unit) = UnitId::parse(draft.unit.trim())
                    && self.store.public_unit(&unit).await?.is_none()
                {
                    errors.insert(
                        0,
                        FieldError {
                            field: Field::Unit,
                            problem: Problem::NoSuchUnit,
                        },
                    );
                }
                Ok(Err(errors))
            }
        }
    }

    /// Resolves the chosen unit, applies the key-person rule, draws the
    /// code and stretches it. The unit must exist.
    pub async fn prepare(
        &self,
        report: &ValidReport,
        now: DateTime<Utc>,
    ) -> Result<Prepared, FilingError> {
        // The day, never the moment: the accused's unit may run the network
        // the reporter used, and a finer arrival time matched against its
        // proxy log would name them (docs/threat-model.md).
        self.prepare_received(report, self.arrival_day(now)).await
    }

    /// As [`Self::prepare`], for a report received on `day` (the start of
    /// a local day): a letter or call the desk enters later counts its
    /// deadlines from the day it came in.
    pub async fn prepare_received(
        &self,
        report: &ValidReport,
        day: DateTime<Utc>,
    ) -> Result<Prepared, FilingError> {
        // From the copy of the units: `file` is refused if a key it names
        // was replaced meanwhile, and then reads them again.
        let (addressing, mut recipients, sealed_to) = self
            .addressed_recently(&report.unit, report.accused_role)
            .await?;
        let code = TrackingCode::generate()?;
        let stretched = self.stretch(&code).await?;
        recipients.push(stretched.reporter_public());
        Ok(Prepared {
            code,
            stretched,
            case_id: CaseId::arrived_on(day),
            addressing,
            recipients,
            sealed_to,
            received_at: day,
        })
    }

    /// Seals the report and stores it with its attachments in one
    /// transaction. Returns only once the case is committed: the code may
    /// then be shown.
    pub async fn file(
        &self,
        mut prepared: Prepared,
        report: ValidReport,
        attachments: Vec<NewAttachment>,
    ) -> Result<(TrackingCode, Receipt), FilingError> {
        let payload = Zeroizing::new(
            encode_padded(&report.content).map_err(|e| FilingError::Internal(e.to_string()))?,
        );
        let key = self.log_key().await?;
        let without_files = attachments.is_empty();
        let first = self.sealed_case(&prepared, &report, &payload)?;
        let leaf = match self.store.insert_case_with(first, attachments).await {
            // A unit's key was replaced since `prepare` read it (maybe from
            // the copy of the units, which the refusal dropped). A report
            // without files is sealed again to the new keys; files were
            // sealed as they streamed in, so that report is refused and the
            // reporter sends it again (nothing was stored).
            Err(StoreError::Conflict(Clash::KeyChanged)) => {
                if !without_files {
                    return Err(StoreError::Conflict(Clash::KeyChanged).into());
                }
                let (addressing, mut recipients, sealed_to) =
                    self.addressed(&report.unit, report.accused_role).await?;
                recipients.push(prepared.stretched.reporter_public());
                prepared.addressing = addressing;
                prepared.recipients = recipients;
                prepared.sealed_to = sealed_to;
                let again = self.sealed_case(&prepared, &report, &payload)?;
                self.store.insert_case_with(again, Vec::new()).await?
            }
            other => other?,
        };
        Ok((prepared.code, Self::receipt(&key, &leaf)?))
    }

    /// The case `prepared` and `report` make, its report sealed as
    /// `payload` to the prepared recipients.
    fn sealed_case(
        &self,
        prepared: &Prepared,
        report: &ValidReport,
        payload: &[u8],
    ) -> Result<NewCase, FilingError> {
        let sealed_report = seal(
            payload,
            &SealContext {
                case_id: prepared.case_id,
                item: item::REPORT,
            },
            &prepared.recipients,
        )?;
        let due_at = self
            .policy
            .due(DeadlineKind::Route, prepared.received_at, &self.calendar);
        Ok(NewCase {
            id: prepared.case_id,
            lookup_key: prepared.stretched.lookup_key,
            unit: prepared.addressing.responsible.clone(),
            addressed_unit: report.unit.clone(),
            category: report.category,
            accused_role: report.accused_role,
            selection_stage: report.selection_stage,
            channel: report.channel,
            real_name: report.real_name,
            received_at: prepared.received_at,
            sealed_report,
            reporter_public_key: prepared.stretched.reporter_public(),
            first_entry: NewQueueEntry {
                stage: Stage::Received,
                due_at,
            },
            sealed_to: prepared.sealed_to.clone(),
        })
    }

    /// Whether reporters' browsers may seal: the modern suite only (no JS
    /// implementation of the ShangMi algorithms is audited), and not after
    /// the deployment used shangmi (docs/crypto.md).
    pub fn seals_in_browser(&self) -> bool {
        self.stretcher.offers_browser_path()
    }
}
