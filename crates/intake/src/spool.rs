//! An uploaded file sealed as it streams in (`sunlight_filing::seal_upload`),
//! its failures answered as intake answers its own parser's.

use std::path::Path;

use actix_web::web::Bytes;
use futures_util::Stream;
use sunlight_core::CaseId;
use sunlight_core::crypto::UnitPublicKey;
use sunlight_filing::{UploadError, UploadTarget};
use sunlight_store::NewAttachment;

use crate::error::{IntakeError, Oversize};

/// Seals one uploaded file into a spool file and returns it ready for the
/// store. `stream` yields the plaintext bytes as the client sends them.
pub async fn seal_upload<S, E>(
    stream: S,
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
    let target = UploadTarget {
        spool_dir,
        case,
        recipients,
        max_bytes,
    };
    sunlight_filing::seal_upload(stream, target, file_name, declared_type)
        .await
        .map_err(|e| match e {
            // A body that broke off inside a file is the upload's fault.
            UploadError::Stream(e) => match IntakeError::from(e) {
                IntakeError::Malformed(detail) => IntakeError::BrokenUpload(detail),
                other => other,
            },
            UploadError::TooLarge => IntakeError::TooLarge(Oversize::Files),
            UploadError::Crypto(e) => {
                <IntakeError as From<sunlight_core::crypto::CryptoError>>::from(e)
            }
            UploadError::Spool(detail) => IntakeError::Internal(detail),
        })
}
