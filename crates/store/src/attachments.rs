//! Sealed attachments: a row with the sealed file name and stream header,
//! and the ciphertext in fixed-size chunk rows, so neither writing nor
//! reading ever holds a whole file in memory.

use std::io::Read;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder,
};
use sunlight_core::CaseId;
use sunlight_core::crypto::SEALED_CHUNK_SIZE;
use uuid::Uuid;

use crate::entity::{attachment, attachment_chunk};
use crate::{Clash, Store, StoreError};

/// An attachment sealed by the caller, its chunks still to be read (from a
/// spool file of ciphertext, say) while the transaction writes them.
pub struct NewAttachment {
    pub id: Uuid,
    pub sealed_meta: Vec<u8>,
    pub stream_header: Vec<u8>,
    /// The sealed chunks back to back: every chunk but the last is exactly
    /// `SEALED_CHUNK_SIZE` bytes.
    pub sealed_chunks: Box<dyn Read + Send>,
}

impl std::fmt::Debug for NewAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAttachment")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// An attachment as listed: no bytes, only what is needed to show and fetch it.
#[derive(Debug, Clone)]
pub struct AttachmentRow {
    pub id: Uuid,
    pub case_id: CaseId,
    pub message_id: Option<Uuid>,
    pub sealed_meta: Vec<u8>,
    pub stream_header: Vec<u8>,
    pub chunk_count: u32,
    pub sealed_bytes: u64,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<attachment::Model> for AttachmentRow {
    type Error = StoreError;
    fn try_from(m: attachment::Model) -> Result<Self, StoreError> {
        let bad = || StoreError::Corrupt(format!("attachment {}: bad size", m.id));
        Ok(Self {
            id: m.id,
            case_id: CaseId::from_uuid(m.case_id),
            message_id: m.message_id,
            chunk_count: u32::try_from(m.chunk_count).map_err(|_| bad())?,
            sealed_bytes: u64::try_from(m.sealed_bytes).map_err(|_| bad())?,
            sealed_meta: m.sealed_meta,
            stream_header: m.stream_header,
            created_at: m.created_at,
        })
    }
}

/// Reads up to one sealed chunk; an empty result means the end.
fn next_chunk(src: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; SEALED_CHUNK_SIZE];
    let mut filled = 0;
    while filled < buf.len() {
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        match src.read(rest)? {
            0 => break,
            n => filled += n,
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// Writes attachments inside the caller's transaction.
pub(crate) async fn insert_all(
    txn: &DatabaseTransaction,
    case: CaseId,
    message: Option<Uuid>,
    mut attachments: Vec<NewAttachment>,
    now: DateTime<Utc>,
    log: &mut sunlight_core::log::EnvelopesHasher,
) -> Result<(), StoreError> {
    // In id order: the order `verify_log` reads them back in.
    attachments.sort_by_key(|a| a.id);
    for mut a in attachments {
        log.part(&a.sealed_meta);
        log.part(&a.stream_header);
        let mut count: i32 = 0;
        let mut total: i64 = 0;
        // The parent row goes first so the chunks' foreign key holds; its
        // counts are set once the chunks are in.
        attachment::Entity::insert(attachment::ActiveModel {
            id: Set(a.id),
            case_id: Set(case.as_uuid()),
            message_id: Set(message),
            sealed_meta: Set(a.sealed_meta),
            stream_header: Set(a.stream_header),
            chunk_count: Set(0),
            sealed_bytes: Set(0),
            created_at: Set(now),
        })
        .exec_without_returning(txn)
        .await
        .map_err(|e| StoreError::unique(e, Clash::Exists("attachment")))?;
        loop {
            let chunk = next_chunk(a.sealed_chunks.as_mut())?;
            if chunk.is_empty() {
                break;
            }
            total = total.saturating_add(i64::try_from(chunk.len()).unwrap_or(i64::MAX));
            log.part(&chunk);
            attachment_chunk::Entity::insert(attachment_chunk::ActiveModel {
                attachment_id: Set(a.id),
                seq: Set(count),
                data: Set(chunk),
            })
            .exec_without_returning(txn)
            .await?;
            count = count.saturating_add(1);
        }
        if count == 0 {
            return Err(StoreError::Invalid("an attachment has no chunks"));
        }
        attachment::Entity::update(attachment::ActiveModel {
            id: Set(a.id),
            chunk_count: Set(count),
            sealed_bytes: Set(total),
            ..Default::default()
        })
        .exec(txn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Attachments of a case, oldest first (listing only, no bytes).
    pub async fn attachments_of(&self, case: CaseId) -> Result<Vec<AttachmentRow>, StoreError> {
        attachments_on(self.reader(), case).await
    }

    /// One sealed chunk of an attachment.
    pub async fn attachment_chunk(
        &self,
        attachment: Uuid,
        seq: u32,
    ) -> Result<Vec<u8>, StoreError> {
        attachment_chunk::Entity::find_by_id((
            attachment,
            i32::try_from(seq).map_err(|_| StoreError::NotFound("attachment chunk"))?,
        ))
        .one(self.conn())
        .await?
        .map(|c| c.data)
        .ok_or(StoreError::NotFound("attachment chunk"))
    }
}

/// [`Store::attachments_of`] on a given connection or transaction.
pub(crate) async fn attachments_on(
    db: &impl ConnectionTrait,
    case: CaseId,
) -> Result<Vec<AttachmentRow>, StoreError> {
    attachment::Entity::find()
        .filter(attachment::Column::CaseId.eq(case.as_uuid()))
        .order_by_asc(attachment::Column::CreatedAt)
        .order_by_asc(attachment::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(AttachmentRow::try_from)
        .collect()
}
