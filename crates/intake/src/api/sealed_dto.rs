//! What the sealing routes read and answer. Bytes travel as standard,
//! padded base64; no request holds a list (files are a map by id), so the
//! API-wide rule against lists in requests holds here too.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use data_encoding::BASE64;
use serde::{Deserialize, Serialize};
use sunlight_core::crypto::{LookupToken, UnitPublicKey};
use sunlight_filing::SealedFile;
use utoipa::ToSchema;
use uuid::Uuid;

use super::dto::{HistoryOut, RatingOut};
use crate::error::IntakeError;

pub fn b64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// A value that is well-formed JSON but not what the field holds (not
/// base64, a key of the wrong length, not a UUID): 422, as a wrong field.
fn malformed() -> IntakeError {
    IntakeError::Sealed(sunlight_filing::SealedRefusal::Malformed)
}

fn unb64(text: &str) -> Result<Vec<u8>, IntakeError> {
    BASE64.decode(text.as_bytes()).map_err(|_| malformed())
}

fn bytes32(text: &str) -> Result<[u8; 32], IntakeError> {
    unb64(text)?.try_into().map_err(|_| malformed())
}

pub fn token(text: &str) -> Result<LookupToken, IntakeError> {
    Ok(LookupToken(bytes32(text)?))
}

fn uuid(text: &str) -> Result<Uuid, IntakeError> {
    Uuid::parse_str(text).map_err(|_| malformed())
}

/// The cost and salt a browser stretches tracking codes with, and the
/// sizes of the sealed formats (docs/crypto.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct SealingParams {
    /// Deployment-wide Argon2id salt, 16 bytes (public).
    pub salt: String,
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
    /// Plaintext bytes per attachment chunk.
    pub chunk_size: usize,
    /// JSON payloads are padded with spaces to a multiple of this.
    pub pad_to: usize,
    /// Cases filed before browser sealing exist: a token that finds nothing
    /// may belong to one, which only a lookup by code finds.
    pub legacy_codes: bool,
}

/// `POST /api/v1/sealed/prepare`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepareRequest {
    pub unit: String,
    pub accused_role: String,
    /// The lookup token derived from the new code (32 bytes).
    #[schema(format = Byte)]
    pub token: String,
}

/// Where a report is sealed to, and the pepper's share of the reporter key.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrepareResponse {
    /// The case id to bind every envelope to; valid today and tomorrow.
    #[schema(format = Uuid)]
    pub case_id: String,
    /// Unit public keys, nearest first; the reporter's own key goes last.
    pub recipients: Vec<String>,
    pub share: String,
}

/// One file sealed in the browser.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedFileIn {
    /// The sealed `AttachmentMeta` (item `attachment-meta/ID`).
    #[schema(format = Byte)]
    pub meta: String,
    /// The stream header: envelope header and 7-byte stream nonce.
    #[schema(format = Byte)]
    pub header: String,
    /// The sealed chunks back to back.
    #[schema(format = Byte)]
    pub body: String,
}

fn files(map: BTreeMap<String, SealedFileIn>) -> Result<Vec<SealedFile>, IntakeError> {
    map.into_iter()
        .map(|(id, f)| {
            Ok(SealedFile {
                id: uuid(&id)?,
                meta: unb64(&f.meta)?,
                header: unb64(&f.header)?,
                body: unb64(&f.body)?,
            })
        })
        .collect()
}

/// `POST /api/v1/sealed/reports`: the clear routing fields of the form and
/// the sealed rest.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedReportRequest {
    #[schema(format = Uuid)]
    pub case_id: String,
    #[schema(format = Byte)]
    pub token: String,
    #[schema(format = Byte)]
    pub reporter_public: String,
    pub unit: String,
    pub category: String,
    pub accused_role: String,
    pub selection_stage: String,
    pub real_name: bool,
    /// The sealed `ReportContent` (item `report`).
    #[schema(format = Byte)]
    pub report: String,
    /// Files by their random (version 4) id.
    #[serde(default)]
    pub files: BTreeMap<String, SealedFileIn>,
}

/// The decoded bytes of a sealed report request.
pub struct SealedParts {
    pub case_id: Uuid,
    pub token: LookupToken,
    pub reporter_public: UnitPublicKey,
    pub report: Vec<u8>,
    pub files: Vec<SealedFile>,
}

impl SealedParts {
    /// The report to file, with its clear fields checked.
    pub fn into_report(self, meta: sunlight_filing::SealedMeta) -> sunlight_filing::SealedReport {
        sunlight_filing::SealedReport {
            case_id: sunlight_core::CaseId::from_uuid(self.case_id),
            token: self.token,
            reporter_public: self.reporter_public,
            meta,
            sealed_report: self.report,
            files: self.files,
        }
    }
}

impl SealedReportRequest {
    pub fn parts(
        &self,
        files_in: BTreeMap<String, SealedFileIn>,
    ) -> Result<SealedParts, IntakeError> {
        Ok(SealedParts {
            case_id: uuid(&self.case_id)?,
            token: token(&self.token)?,
            reporter_public: UnitPublicKey::from_bytes(bytes32(&self.reporter_public)?),
            report: unb64(&self.report)?,
            files: files(files_in)?,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SealedFiled {
    /// The day the report counts as received.
    pub received_on: NaiveDate,
    /// The last day for routing it, in words of the request's language.
    pub deadline: String,
    /// The filing receipt, as `POST /api/v1/reports` gives it.
    pub receipt: super::dto::FilingReceipt,
}

/// A lookup by token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    #[schema(format = Byte)]
    pub token: String,
}

/// A message as stored: sealed, with what it is bound to.
#[derive(Debug, Serialize, ToSchema)]
pub struct SealedMessageOut {
    pub id: String,
    #[schema(format = Uuid)]
    pub case_id: String,
    /// `staff` or `reporter`.
    pub from: &'static str,
    pub at: DateTime<Utc>,
    pub sealed: String,
}

/// A file's sealed description (its bytes are not served here).
#[derive(Debug, Serialize, ToSchema)]
pub struct SealedFileOut {
    pub id: String,
    #[schema(format = Uuid)]
    pub case_id: String,
    #[schema(format = Byte)]
    pub meta: String,
}

/// The status of a case for a browser that opens it itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct SealedStatus {
    pub share: String,
    /// The case new messages are bound to (after a merge, the surviving one).
    #[schema(format = Uuid)]
    pub case_id: String,
    /// An id for the next message, valid today and tomorrow.
    #[schema(format = Uuid)]
    pub message_id: String,
    /// Unit keys a follow-up is sealed to, then the reporter's own key.
    pub recipients: Vec<String>,
    pub stage: &'static str,
    pub received_at: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    pub merged: bool,
    pub history: Vec<HistoryOut>,
    pub messages: Vec<SealedMessageOut>,
    pub files: Vec<SealedFileOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RatingOut>)]
    pub rating: Option<Option<RatingOut>>,
    /// The report's entry in the public log, with the current proof;
    /// absent for a report filed before the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::pages::ReportEntry>)]
    pub inclusion: Option<crate::pages::ReportEntry>,
    /// The same facts in words of the request's language, for the page.
    pub display: StatusDisplay,
}

/// What the status page shows, worded and dated in the deployment's time
/// zone, so the browser renders what the page without script would.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct StatusDisplay {
    pub stage: String,
    pub received: String,
    pub deadline: String,
    /// Each message's time, in the order of `messages`.
    pub message_times: Vec<String>,
    /// The rating given, in words (absent until rated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rated: Option<String>,
    /// Until when and how long an objection may be (absent when none may
    /// be sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objection_hint: Option<String>,
}

/// `POST /api/v1/sealed/messages`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedMessageRequest {
    #[schema(format = Byte)]
    pub token: String,
    /// The `case_id` of the status this follows: what the message is
    /// sealed to. A case merged meanwhile answers 409; seal again.
    #[schema(format = Uuid)]
    pub case_id: String,
    /// The `message_id` of the status this follows.
    #[schema(format = Uuid)]
    pub message_id: String,
    /// The sealed `MessageContent` (item `message/ID`).
    #[schema(format = Byte)]
    pub body: String,
    #[serde(default)]
    pub files: BTreeMap<String, SealedFileIn>,
}

/// The decoded parts of a sealed message request.
pub struct MessageParts {
    pub token: LookupToken,
    /// The case the message was sealed to.
    pub case: sunlight_core::CaseId,
    pub id: Uuid,
    pub body: Vec<u8>,
    pub files: Vec<SealedFile>,
}

impl SealedMessageRequest {
    pub fn parts(
        &self,
        files_in: BTreeMap<String, SealedFileIn>,
    ) -> Result<MessageParts, IntakeError> {
        Ok(MessageParts {
            token: token(&self.token)?,
            case: sunlight_core::CaseId::from_uuid(uuid(&self.case_id)?),
            id: uuid(&self.message_id)?,
            body: unb64(&self.body)?,
            files: files(files_in)?,
        })
    }
}

/// `POST /api/v1/sealed/rating`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedRatingRequest {
    #[schema(format = Byte)]
    pub token: String,
    /// The `case_id` of the status this follows (what an objection is
    /// sealed to).
    #[schema(format = Uuid)]
    pub case_id: String,
    /// `satisfied`, `basically_satisfied` or `dissatisfied`.
    pub rating: String,
    /// An objection (复查请求), sealed like a follow-up message.
    #[serde(default)]
    pub objection: Option<SealedObjectionIn>,
}

/// An objection sealed in the browser: a `MessageContent` under the
/// status's `message_id` (item `message/ID`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedObjectionIn {
    #[schema(format = Uuid)]
    pub message_id: String,
    #[schema(format = Byte)]
    pub body: String,
}

/// The decoded parts of a sealed rating request.
pub struct RatingParts {
    pub token: LookupToken,
    pub case: sunlight_core::CaseId,
    pub rating: sunlight_core::Rating,
    /// The objection's id and sealed body.
    pub objection: Option<(Uuid, Vec<u8>)>,
}

impl SealedRatingRequest {
    pub fn parts(&self) -> Result<RatingParts, IntakeError> {
        Ok(RatingParts {
            token: token(&self.token)?,
            case: sunlight_core::CaseId::from_uuid(uuid(&self.case_id)?),
            rating: self
                .rating
                .parse()
                .map_err(|_| IntakeError::InvalidRating)?,
            objection: self
                .objection
                .as_ref()
                .map(|o| Ok::<_, IntakeError>((uuid(&o.message_id)?, unb64(&o.body)?)))
                .transpose()?,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SealedStored {
    pub received_on: NaiveDate,
}

macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($t), "(<redacted>)"))
            }
        }
    )*};
}
redacted_debug!(
    PrepareRequest,
    SealedFileIn,
    SealedReportRequest,
    TokenRequest,
    SealedMessageRequest,
    SealedRatingRequest,
    SealedObjectionIn
);

impl SealedStatus {
    /// The status page's facts with every sealed item as stored.
    pub fn new(
        view: &sunlight_store::ReporterView,
        located: &sunlight_filing::Located,
        share: &sunlight_core::crypto::ReporterShare,
        message_id: Uuid,
        rating: &sunlight_filing::RatingState,
        policy: &sunlight_core::policy::Policy,
    ) -> Self {
        let rating = super::dto::rating_out(rating, policy);
        Self {
            share: b64(share.0.as_ref()),
            case_id: located.case_id.to_string(),
            message_id: message_id.to_string(),
            recipients: located
                .recipients
                .iter()
                .map(|k| b64(k.as_bytes()))
                .collect(),
            stage: view.case.stage.as_str(),
            received_at: view.case.received_at,
            deadline: view.open_entry.as_ref().map(|e| e.due_at),
            merged: view.case.id != view.own_case,
            history: view.history.iter().map(HistoryOut::from).collect(),
            messages: view
                .messages
                .iter()
                .map(|m| SealedMessageOut {
                    id: m.id.to_string(),
                    case_id: m.case_id.to_string(),
                    from: if m.author == "staff" {
                        "staff"
                    } else {
                        "reporter"
                    },
                    at: m.created_at,
                    sealed: b64(&m.sealed_body),
                })
                .collect(),
            files: view
                .attachments
                .iter()
                .map(|a| SealedFileOut {
                    id: a.id.to_string(),
                    case_id: a.case_id.to_string(),
                    meta: b64(&a.sealed_meta),
                })
                .collect(),
            rating,
            inclusion: None,
            display: StatusDisplay::default(),
        }
    }
}
