//! The JavaScript path: reports and follow-ups sealed in the reporter's
//! browser. The server never sees the code, the text or the files; it gets
//! the lookup token, checks that every envelope is addressed to exactly the
//! keys it would have sealed to itself, and stores the bytes as they came.

use chrono::{DateTime, Duration, Utc};
use sunlight_core::crypto::{
    CryptoError, LookupToken, ReporterShare, SEALED_CHUNK_SIZE, UnitPublicKey, addressed_to,
    check_addressed,
};
use sunlight_core::policy::DeadlineKind;
use sunlight_core::{AccusedRole, CaseId, Category, Channel, SelectionStage, Stage, UnitId};
use sunlight_store::{
    Clash, NewAttachment, NewCase, NewQueueEntry, ReporterView, SealedTo, StoreError,
};
use uuid::Uuid;

use crate::{Filing, FilingError};

/// Why sealed material was refused (besides the store failing).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealedRefusal {
    /// An id this server did not hand out today or yesterday, or one used
    /// already (the same sealed report sent twice).
    #[error("the id was not issued for this filing")]
    StaleId,
    /// An envelope not addressed to exactly the keys it must be sealed to.
    #[error("an envelope is not addressed to the right keys")]
    Misaddressed,
    /// An envelope or file stream that is not well formed, or too large.
    #[error("a sealed item is malformed or too large")]
    Malformed,
    #[error("too many files")]
    TooManyFiles,
    /// This deployment's suite seals on the server only (ShangMi).
    #[error("this deployment does not seal in the browser")]
    NotOffered,
}

/// One file sealed in the browser: its sealed description, the stream
/// header and the sealed chunks back to back.
#[derive(Debug)]
pub struct SealedFile {
    pub id: Uuid,
    pub meta: Vec<u8>,
    pub header: Vec<u8>,
    pub body: Vec<u8>,
}

/// What a sealed report says in the clear: what routing and the statistics
/// need, as the server's own filing stores it.
#[derive(Debug, Clone)]
pub struct SealedMeta {
    pub unit: UnitId,
    pub category: Category,
    pub accused_role: AccusedRole,
    pub selection_stage: SelectionStage,
    pub real_name: bool,
}

/// A report sealed in the browser, with its plain routing metadata.
#[derive(Debug)]
pub struct SealedReport {
    pub case_id: CaseId,
    pub token: LookupToken,
    pub reporter_public: UnitPublicKey,
    pub meta: SealedMeta,
    pub sealed_report: Vec<u8>,
    pub files: Vec<SealedFile>,
}

/// A case found by its lookup token: where follow-ups go and who they are
/// sealed to (the units, then the reporter's own key).
#[derive(Debug)]
pub struct Located {
    pub case_id: CaseId,
    pub recipients: Vec<UnitPublicKey>,
    /// The unit keys among `recipients` with their generations, checked
    /// when a follow-up is stored.
    pub(crate) sealed_to: SealedTo,
    lookup_key: [u8; 32],
}

/// A sealed item's length bound: the padded text, an envelope header for
/// 16 recipients, nonce and tag.
/// Whether an envelope whose header is `header` bytes holds what `seal`
/// makes of a padded payload: nonce, one or more whole padding blocks, tag.
/// An empty, cut or unpadded body is refused here; one of the right length
/// whose bytes are garbage opens for nobody, which staff see as such
/// (casework's view) — the server holds no key to tell.
fn padded_body(envelope: &[u8], header: usize) -> bool {
    envelope
        .len()
        .checked_sub(header + 12 + 16)
        .is_some_and(|body| body > 0 && body % sunlight_core::report::PAD_TO == 0)
}

fn envelope_limit(text_bytes: usize) -> usize {
    text_bytes.saturating_add(1024 + 2 + 16 * 88 + 12 + 16)
}

impl Filing {
    /// Refuses every route of browser sealing where the suite does not
    /// offer it: its pages load no script, and a hand-made request gets
    /// this answer instead of a scheme-2 key the deployment never files.
    fn browser_sealing(&self) -> Result<(), SealedRefusal> {
        if self.seals_in_browser() {
            Ok(())
        } else {
            Err(SealedRefusal::NotOffered)
        }
    }

    /// The pepper's share for a token (docs/crypto.md, scheme 2).
    pub fn share(&self, token: &LookupToken) -> Result<ReporterShare, FilingError> {
        self.browser_sealing()?;
        Ok(self.stretcher.secrets().share_of(token))
    }

    /// The salt and cost the browser stretches codes with.
    pub fn stretch_public(
        &self,
    ) -> Result<([u8; 16], sunlight_core::crypto::StretchParams), FilingError> {
        self.browser_sealing()?;
        Ok((self.stretcher.salt(), self.stretcher.params()))
    }

    /// A new id for material sealed elsewhere: the arrival day, as the
    /// server's own ids.
    pub fn sealed_case_id(&self, now: DateTime<Utc>) -> CaseId {
        CaseId::arrived_on(self.arrival_day(now))
    }

    /// The day an id handed out by [`Self::sealed_case_id`] or
    /// [`Self::message_id`] carries, if it is today or yesterday (a report
    /// sealed just before midnight).
    fn issued_day(&self, id: Uuid, now: DateTime<Utc>) -> Result<DateTime<Utc>, SealedRefusal> {
        if id.get_version_num() != 7 {
            return Err(SealedRefusal::StaleId);
        }
        let (secs, nanos) = id.get_timestamp().ok_or(SealedRefusal::StaleId)?.to_unix();
        let at = DateTime::<Utc>::from_timestamp(
            i64::try_from(secs).map_err(|_| SealedRefusal::StaleId)?,
            nanos,
        )
        .ok_or(SealedRefusal::StaleId)?;
        let today = self.arrival_day(now);
        let yesterday = self.arrival_day(now - Duration::days(1));
        if at == today || at == yesterday {
            Ok(at)
        } else {
            Err(SealedRefusal::StaleId)
        }
    }

    fn check_files(&self, files: &[SealedFile], to: &[UnitPublicKey]) -> Result<(), SealedRefusal> {
        if files.len() > self.limits.attachments {
            return Err(SealedRefusal::TooManyFiles);
        }
        let ids: std::collections::HashSet<Uuid> = files.iter().map(|f| f.id).collect();
        if ids.len() != files.len() {
            return Err(SealedRefusal::Malformed);
        }
        let max = usize::try_from(self.limits.attachment_bytes).unwrap_or(usize::MAX);
        // Every full chunk gains a 16-byte tag, and the last (maybe empty)
        // chunk one more.
        let max_body = max
            .saturating_add(max.div_ceil(SEALED_CHUNK_SIZE - 16).saturating_mul(16))
            .saturating_add(16);
        for f in files {
            let slots = check_addressed(&f.header, to).map_err(refusal)?;
            let meta_header = check_addressed(&f.meta, to).map_err(refusal)?;
            if f.header.len() != slots + 7
                || !padded_body(&f.meta, meta_header)
                || f.body.len() < 16
                || f.body.len() > max_body
                || f.meta.len() > envelope_limit(4096)
            {
                return Err(SealedRefusal::Malformed);
            }
        }
        Ok(())
    }

    /// Stores a report sealed in the browser, with its files, in one
    /// transaction. Returns the day it counts as received.
    pub async fn file_sealed(
        &self,
        sealed: SealedReport,
        now: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, sunlight_core::log::Receipt), FilingError> {
        self.browser_sealing()?;
        let day = self.issued_day(sealed.case_id.as_uuid(), now)?;
        // From the copy of the units, as `prepare` answered: the
        // transaction refuses the filing if a key it names was replaced.
        let (addressing, mut to, sealed_to) = self
            .addressed_recently(&sealed.meta.unit, sealed.meta.accused_role)
            .await?;
        // Staff replies are sealed to this key: it must be a key of its
        // own, not a unit's and not one of low order.
        if to.contains(&sealed.reporter_public) || !sealed.reporter_public.is_contributory()? {
            return Err(SealedRefusal::Misaddressed.into());
        }
        to.push(sealed.reporter_public);
        let header = check_addressed(&sealed.sealed_report, &to)
            .map_err(refusal)
            .map_err(|e| self.forgetting(e))?;
        if sealed.sealed_report.len() > envelope_limit(self.limits.max_text_bytes())
            || !padded_body(&sealed.sealed_report, header)
        {
            return Err(SealedRefusal::Malformed.into());
        }
        self.check_files(&sealed.files, &to)
            .map_err(|e| self.forgetting(e))?;
        let due_at = self.policy.due(DeadlineKind::Route, day, &self.calendar);
        let new = NewCase {
            id: sealed.case_id,
            lookup_key: self.stretcher.secrets().index_of(&sealed.token),
            unit: addressing.responsible.clone(),
            addressed_unit: sealed.meta.unit.clone(),
            category: sealed.meta.category,
            accused_role: sealed.meta.accused_role,
            selection_stage: sealed.meta.selection_stage,
            channel: Channel::Web,
            real_name: sealed.meta.real_name,
            received_at: day,
            sealed_report: sealed.sealed_report,
            reporter_public_key: sealed.reporter_public,
            first_entry: NewQueueEntry {
                stage: Stage::Received,
                due_at,
            },
            sealed_to,
        };
        let key = self.log_key().await?;
        match self
            .store
            .insert_case_with(new, attachments(sealed.files))
            .await
        {
            // A unit's key was replaced after the check above: the browser
            // seals again to the keys its next prepare reads (the refusal
            // dropped the copy of the units).
            Err(StoreError::Conflict(Clash::KeyChanged)) => Err(SealedRefusal::Misaddressed.into()),
            // The case id or the token was used already: a second send of
            // the same sealed report (a double click, a retry after a
            // lost answer). The first is stored; this one is not.
            Err(StoreError::Conflict(_)) => Err(SealedRefusal::StaleId.into()),
            Err(e) => Err(e.into()),
            Ok(leaf) => Ok((day, Self::receipt(&key, &leaf)?)),
        }
    }

    /// Finds a case by the token the browser derived from the code: one
    /// HMAC and one indexed read, no stretch. Only scheme-2 codes are
    /// found this way; the page falls back to sending the code for older
    /// ones (docs/crypto.md).
    pub async fn find_by_token(
        &self,
        token: &LookupToken,
    ) -> Result<(Located, ReporterView), FilingError> {
        self.browser_sealing()?;
        let lookup_key = self.stretcher.secrets().index_of(token);
        let view = self
            .store
            .reporter_view(&lookup_key)
            .await?
            .ok_or(FilingError::UnknownCode)?;
        let (mut recipients, sealed_to) = self.follow_up_units(&view)?;
        recipients.push(
            view.own_reporter_key
                .ok_or_else(|| FilingError::Internal("case without a reporter key".into()))?,
        );
        Ok((
            Located {
                case_id: view.case.id,
                recipients,
                sealed_to,
                lookup_key,
            },
            view,
        ))
    }

    /// What of `view` this reporter may see: the messages and files sealed
    /// to their own key. After a merge the case holds the other reporter's
    /// material too; its count, sizes and times are not this reporter's to
    /// learn (the page without JavaScript shows only what opens as well).
    pub fn own_material(view: &mut ReporterView) {
        let Some(key) = view.own_reporter_key else {
            view.messages.clear();
            view.attachments.clear();
            return;
        };
        view.messages.retain(|m| addressed_to(&m.sealed_body, &key));
        view.attachments
            .retain(|a| addressed_to(&a.sealed_meta, &key));
    }

    /// The view again, after the reporter added to it.
    pub async fn located_again(&self, located: &Located) -> Result<ReporterView, FilingError> {
        self.store
            .reporter_view(&located.lookup_key)
            .await?
            .ok_or(FilingError::UnknownCode)
    }

    /// `refused`, after dropping the copy of the units: what the browser
    /// sealed may name keys this process's copy (or another replica's,
    /// which the browser read its status from) disagrees with, and the
    /// browser asks again at once — it must then be answered from the
    /// units as they are, not from the same copy.
    fn forgetting(&self, refused: SealedRefusal) -> SealedRefusal {
        self.store.forget_recent_units();
        refused
    }

    /// Checks a message sealed in the browser (a follow-up or an
    /// objection): bound to the case the status named, under an id handed
    /// out today or yesterday, addressed to exactly the case's readers and
    /// the reporter, and no longer than a message may be. The day its id
    /// carries.
    pub(crate) fn check_sealed_message(
        &self,
        located: &Located,
        sealed_for: CaseId,
        message_id: Uuid,
        sealed_body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, FilingError> {
        if sealed_for != located.case_id {
            return Err(SealedRefusal::StaleId.into());
        }
        let day = self.issued_day(message_id, now)?;
        let header = check_addressed(sealed_body, &located.recipients)
            .map_err(refusal)
            .map_err(|e| self.forgetting(e))?;
        let text = self.limits.message_chars.saturating_mul(4);
        if sealed_body.len() > envelope_limit(text) || !padded_body(sealed_body, header) {
            return Err(SealedRefusal::Malformed.into());
        }
        Ok(day)
    }

    /// Stores a follow-up sealed in the browser under `message_id` (handed
    /// out with the status, see [`Self::message_id`]), bound to `sealed_for`,
    /// the case the status named: if the case was merged meanwhile, the
    /// browser must seal again (a message bound to the old id would open
    /// for nobody).
    pub async fn add_sealed_message(
        &self,
        located: &Located,
        sealed_for: CaseId,
        message_id: Uuid,
        sealed_body: Vec<u8>,
        files: Vec<SealedFile>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, FilingError> {
        let day = self.check_sealed_message(located, sealed_for, message_id, &sealed_body, now)?;
        self.check_files(&files, &located.recipients)
            .map_err(|e| self.forgetting(e))?;
        let stored = self
            .store
            .add_message_at(
                located.case_id,
                message_id,
                None,
                sealed_body,
                attachments(files),
                &located.sealed_to,
                day,
                now,
            )
            .await;
        match stored {
            // A unit's key was replaced since the status was read: the
            // browser reads the status again and seals to the new keys.
            Err(StoreError::Conflict(Clash::KeyChanged)) => Err(SealedRefusal::Misaddressed.into()),
            Err(StoreError::Conflict(_)) => Err(SealedRefusal::StaleId.into()),
            Err(e) => Err(e.into()),
            Ok(_) => Ok(day),
        }
    }
}

fn refusal(_: CryptoError) -> SealedRefusal {
    SealedRefusal::Misaddressed
}

fn attachments(files: Vec<SealedFile>) -> Vec<NewAttachment> {
    files
        .into_iter()
        .map(|f| NewAttachment {
            id: f.id,
            sealed_meta: f.meta,
            stream_header: f.header,
            sealed_chunks: Box::new(std::io::Cursor::new(f.body)),
        })
        .collect()
}
