//! Multipart bodies read strictly, for both apps' forms that take files:
//! bounded in total, and ending in an error — never quietly — when the
//! close delimiter never came (a body cut off, a client gone).

use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_TYPE, HeaderMap};
use actix_web::mime;
use actix_web::web::Bytes;
use futures_util::{Stream, StreamExt, stream};

/// A request body as it arrives: `web::Payload` in the apps, a list of
/// chunks in the fuzz targets.
pub trait Body: Stream<Item = Result<Bytes, PayloadError>> + Unpin + 'static {}
impl<S: Stream<Item = Result<Bytes, PayloadError>> + Unpin + 'static> Body for S {}

/// The boundary parameter of a multipart body, as actix-multipart reads it.
pub fn boundary(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .and_then(|m| m.get_param(mime::BOUNDARY).map(|b| b.as_str().to_owned()))
        .filter(|b| !b.is_empty())
}

/// How far before the end of a multipart body its close delimiter may sit
/// (room for a short epilogue, which no browser sends).
const EPILOGUE_ROOM: usize = 256;

/// A multipart body bounded to `limit` bytes, which ends in an error
/// instead of quietly when its close delimiter (`--boundary--`) never came.
/// actix-multipart 0.7 waits forever on a body cut off just after a line
/// break inside a part, so it must never see such a body simply end.
pub fn framed<B: Body>(
    payload: B,
    boundary: &str,
    limit: u64,
) -> impl Stream<Item = Result<Bytes, PayloadError>> + 'static {
    struct Framing<B> {
        payload: B,
        close: Vec<u8>,
        seen: u64,
        /// The last bytes read, where the close delimiter must be.
        tail: Vec<u8>,
        failed: bool,
    }
    let close = format!("\r\n--{boundary}--").into_bytes();
    let keep = close.len().saturating_add(EPILOGUE_ROOM);
    let start = Framing {
        payload,
        close,
        seen: 0,
        tail: Vec::with_capacity(keep),
        failed: false,
    };
    stream::unfold(start, move |mut f| async move {
        if f.failed {
            return Some((Err(PayloadError::Incomplete(None)), f));
        }
        match f.payload.next().await {
            Some(Ok(chunk)) => {
                let len = u64::try_from(chunk.len()).unwrap_or(u64::MAX);
                f.seen = f.seen.saturating_add(len);
                if f.seen > limit {
                    f.failed = true;
                    return Some((Err(PayloadError::Overflow), f));
                }
                let last = chunk
                    .get(chunk.len().saturating_sub(keep)..)
                    .unwrap_or_default();
                f.tail.extend_from_slice(last);
                let excess = f.tail.len().saturating_sub(keep);
                f.tail.drain(..excess);
                Some((Ok(chunk), f))
            }
            Some(Err(e)) => {
                f.failed = true;
                Some((Err(e), f))
            }
            None if f.tail.windows(f.close.len()).any(|w| w == f.close) => None,
            None => {
                f.failed = true;
                Some((Err(PayloadError::Incomplete(None)), f))
            }
        }
    })
    .fuse()
}
