//! Attachments are sealed as they stream in and the ciphertext is spooled to
//! an anonymous temporary file (`O_TMPFILE` on Linux: it has no name and
//! vanishes with the process), so a file is never whole in memory and no
//! plaintext ever touches the disk. The spool is copied into the database in
//! the same transaction as the report or message it belongs to.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use actix_web::web::Bytes;
use futures_util::{Stream, StreamExt};
use sunlight_core::CaseId;
use sunlight_core::crypto::{AttachmentSealer, CHUNK_SIZE, SealContext, UnitPublicKey, seal};
use sunlight_core::report::{AttachmentMeta, encode_padded, item};
use sunlight_store::NewAttachment;
use uuid::Uuid;

use crate::error::{IntakeError, Oversize};

/// Seals one uploaded file into a spool file and returns it ready for the
/// store. `stream` yields the plaintext bytes as the client sends them.
pub async fn seal_upload<S, E>(
    mut stream: S,
    spool_dir: &Path,
    case: CaseId,
    recipients: &[UnitPublicKey],
    file_name: String,
    declared_type: String,
    max_bytes: u64,
) -> Result<NewAttachment, IntakeError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    IntakeError: From<E>,
{
    // Random, not time-ordered: an id must not carry the moment of arrival.
    let id = Uuid::new_v4();
    let stream_item = item::attachment(id);
    let ctx = SealContext {
        case_id: case,
        item: &stream_item,
    };
    let (header, mut sealer) = AttachmentSealer::start(&ctx, recipients)?;
    let mut spool = tempfile::tempfile_in(spool_dir).map_err(IntakeError::spool)?;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_SIZE);
    let mut size: u64 = 0;
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(|e| match IntakeError::from(e) {
            IntakeError::Malformed(detail) => IntakeError::BrokenUpload(detail),
            other => other,
        })?;
        size = size.saturating_add(u64::try_from(piece.len()).unwrap_or(u64::MAX));
        if size > max_bytes {
            return Err(IntakeError::TooLarge(Oversize::Files));
        }
        let mut rest: &[u8] = &piece;
        while !rest.is_empty() {
            let room = CHUNK_SIZE.saturating_sub(buf.len());
            let (take, after) = rest.split_at(room.min(rest.len()));
            buf.extend_from_slice(take);
            rest = after;
            if buf.len() == CHUNK_SIZE {
                let sealed = sealer.seal_chunk(&buf)?;
                buf.fill(0);
                buf.clear();
                spool.write_all(&sealed).map_err(IntakeError::spool)?;
            }
        }
    }
    let last = sealer.finish(&buf)?;
    buf.fill(0);
    spool.write_all(&last).map_err(IntakeError::spool)?;
    spool.flush().map_err(IntakeError::spool)?;
    spool.seek(SeekFrom::Start(0)).map_err(IntakeError::spool)?;

    let meta = AttachmentMeta {
        file_name,
        declared_type,
        size,
    };
    let meta_item = item::attachment_meta(id);
    let sealed_meta = seal(
        &encode_padded(&meta).map_err(|e| IntakeError::Internal(e.to_string()))?,
        &SealContext {
            case_id: case,
            item: &meta_item,
        },
        recipients,
    )?;
    Ok(NewAttachment {
        id,
        sealed_meta,
        stream_header: header,
        sealed_chunks: Box::new(spool),
    })
}
