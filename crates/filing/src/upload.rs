//! Attachments are sealed as they stream in and the ciphertext is spooled to
//! an anonymous temporary file (`O_TMPFILE` on Linux: it has no name and
//! vanishes with the process), so a file is never whole in memory and no
//! plaintext ever touches the disk. The spool is copied into the database in
//! the same transaction as the report or message it belongs to. Used by the
//! public form, the reporter's follow-ups and the staff desk alike.

use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use futures_util::{Stream, StreamExt};
use sunlight_core::CaseId;
use sunlight_core::crypto::{
    AttachmentSealer, CHUNK_SIZE, CryptoError, SealContext, UnitPublicKey, seal,
};
use sunlight_core::report::{AttachmentMeta, encode_padded, item};
use sunlight_store::NewAttachment;
use uuid::Uuid;

/// Why an upload was not sealed. `E` is the upload stream's own error,
/// handed back unchanged so the caller answers it as it answers its parser.
#[derive(Debug, thiserror::Error)]
pub enum UploadError<E> {
    #[error("the upload stream failed")]
    Stream(E),
    /// The file is over the size limit.
    #[error("the file is too large")]
    TooLarge,
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// The spool file or an encoder failed: ours, logged, never shown.
    #[error("attachment spool: {0}")]
    Spool(String),
}

fn spool<E>(e: impl std::fmt::Display) -> UploadError<E> {
    UploadError::Spool(e.to_string())
}

/// What one file is, besides its bytes, and where it goes.
#[derive(Debug, Clone, Copy)]
pub struct UploadTarget<'a> {
    pub spool_dir: &'a Path,
    pub case: CaseId,
    pub recipients: &'a [UnitPublicKey],
    pub max_bytes: u64,
}

/// Seals one uploaded file into a spool file and returns it ready for the
/// store. `stream` yields the plaintext bytes as the client sends them;
/// `file_name` is already cleaned.
pub async fn seal_upload<S, B, E>(
    mut stream: S,
    target: UploadTarget<'_>,
    file_name: String,
    declared_type: String,
) -> Result<NewAttachment, UploadError<E>>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
{
    // Random, not time-ordered: an id must not carry the moment of arrival.
    let id = Uuid::new_v4();
    let stream_item = item::attachment(id);
    let ctx = SealContext {
        case_id: target.case,
        item: &stream_item,
    };
    let (header, mut sealer) = AttachmentSealer::start(&ctx, target.recipients)?;
    let mut spool_file = tempfile::tempfile_in(target.spool_dir).map_err(spool)?;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_SIZE);
    let mut size: u64 = 0;
    while let Some(piece) = stream.next().await {
        let piece = piece.map_err(UploadError::Stream)?;
        let mut rest: &[u8] = piece.as_ref();
        size = size.saturating_add(u64::try_from(rest.len()).unwrap_or(u64::MAX));
        if size > target.max_bytes {
            buf.fill(0);
            return Err(UploadError::TooLarge);
        }
        while !rest.is_empty() {
            let room = CHUNK_SIZE.saturating_sub(buf.len());
            let (take, after) = rest.split_at(room.min(rest.len()));
            buf.extend_from_slice(take);
            rest = after;
            if buf.len() == CHUNK_SIZE {
                let sealed = sealer.seal_chunk(&buf)?;
                buf.fill(0);
                buf.clear();
                spool_file.write_all(&sealed).map_err(spool)?;
            }
        }
    }
    let last = sealer.finish(&buf)?;
    buf.fill(0);
    spool_file.write_all(&last).map_err(spool)?;
    spool_file.flush().map_err(spool)?;
    spool_file.seek(SeekFrom::Start(0)).map_err(spool)?;

    let meta = AttachmentMeta {
        file_name,
        declared_type,
        size,
    };
    let meta_item = item::attachment_meta(id);
    let sealed_meta = seal(
        &encode_padded(&meta).map_err(spool)?,
        &SealContext {
            case_id: target.case,
            item: &meta_item,
        },
        target.recipients,
    )?;
    Ok(NewAttachment {
        id,
        sealed_meta,
        stream_header: header,
        sealed_chunks: Box::new(spool_file),
    })
}
