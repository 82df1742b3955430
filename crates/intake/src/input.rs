//! Reading request bodies strictly: bounded sizes, UTF-8 only, known fields
//! only. Two shapes arrive at the form routes — urlencoded and multipart —
//! and both become a sequence of `Part`s, so handlers check fields once.

use actix_multipart::{Field as MultipartField, Multipart, MultipartError};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use actix_web::web::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::error::{IntakeError, Oversize};

pub use sunlight_web::multipart::Body;
use sunlight_web::multipart::{boundary, framed};

/// Reads a whole body of at most `limit` bytes.
pub async fn read_body(mut payload: impl Body, limit: usize) -> Result<BytesMut, IntakeError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| IntakeError::Malformed(e.to_string()))?;
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(IntakeError::TooLarge(Oversize::Text(
                u64::try_from(limit).unwrap_or(u64::MAX),
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Refuses a body whose declared length is over `limit` before reading any
/// of it, so the client learns at once (and no worker waits for a
/// petabyte that will be refused anyway). Bodies without a declared length
/// are bounded as they are read.
pub fn refuse_declared_oversize(
    headers: &HeaderMap,
    limit: u64,
    over: Oversize,
) -> Result<(), IntakeError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit => Err(IntakeError::TooLarge(over)),
        _ => Ok(()),
    }
}

/// The media type of the body, lowercased, without parameters.
pub fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Refuses a body sent with a content coding: none is decoded here, so a
/// compressed body would be read as garbage, and one mislabelled as
/// compressed would be taken for something its sender said it was not.
pub fn require_identity_coding(headers: &HeaderMap) -> Result<(), IntakeError> {
    let identity = |v: &actix_web::http::header::HeaderValue| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .map(str::trim)
                .all(|c| c.is_empty() || c.eq_ignore_ascii_case("identity"))
        })
    };
    if headers.get_all(CONTENT_ENCODING).all(identity) {
        Ok(())
    } else {
        Err(IntakeError::UnsupportedMediaType)
    }
}

/// Parses `application/x-www-form-urlencoded`, refusing anything that does
/// not decode to UTF-8 (browsers lie about nothing here; a bad byte means a
/// broken client or a probe).
pub fn parse_urlencoded(body: &[u8]) -> Result<Vec<(String, String)>, IntakeError> {
    let mut out = Vec::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut it = pair.splitn(2, |b| *b == b'=');
        let name = decode_component(it.next().unwrap_or_default())?;
        let value = decode_component(it.next().unwrap_or_default())?;
        out.push((name, value));
    }
    Ok(out)
}

fn decode_component(raw: &[u8]) -> Result<String, IntakeError> {
    let plus: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let bytes: Vec<u8> = percent_decode(&plus)?;
    String::from_utf8(bytes).map_err(|_| IntakeError::BadEncoding)
}

fn percent_decode(raw: &[u8]) -> Result<Vec<u8>, IntakeError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut it = raw.iter();
    while let Some(&b) = it.next() {
        if b == b'%' {
            let hi = it.next().and_then(|c| char::from(*c).to_digit(16));
            let lo = it.next().and_then(|c| char::from(*c).to_digit(16));
            match (hi, lo) {
                (Some(hi), Some(lo)) => {
                    out.push(u8::try_from(hi * 16 + lo).map_err(|_| IntakeError::BadEncoding)?);
                }
                _ => return Err(IntakeError::BadEncoding),
            }
        } else {
            out.push(b);
        }
    }
    Ok(out)
}

/// One field of a submitted form.
pub enum Part {
    Text {
        name: String,
        value: String,
    },
    /// A file field: the caller streams its bytes out of `field`.
    File {
        name: String,
        file_name: Option<String>,
        declared_type: String,
        field: Box<MultipartField>,
    },
}

/// A submitted form of either shape, read part by part.
pub enum FormStream {
    Urlencoded(std::vec::IntoIter<(String, String)>),
    /// With what a body over the total limit went over: the files, or
    /// (on a form that takes none) the text.
    Multipart(Box<Multipart>, Oversize),
}

impl std::fmt::Debug for FormStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormStream")
    }
}

impl FormStream {
    /// Opens the body by its media type. `text_limit` bounds an urlencoded
    /// body and each text part of a multipart body; `total_limit` the whole
    /// multipart body, which is told as the files' limit when the form
    /// `takes_files`, else as a size of text.
    pub async fn open(
        headers: &HeaderMap,
        payload: impl Body,
        text_limit: usize,
        total_limit: u64,
        takes_files: bool,
    ) -> Result<Self, IntakeError> {
        require_identity_coding(headers)?;
        match media_type(headers).as_str() {
            "application/x-www-form-urlencoded" => {
                let text = u64::try_from(text_limit).unwrap_or(u64::MAX);
                refuse_declared_oversize(headers, text, Oversize::Text(text))?;
                let body = read_body(payload, text_limit).await?;
                Ok(Self::Urlencoded(parse_urlencoded(&body)?.into_iter()))
            }
            "multipart/form-data" => {
                let over = if takes_files {
                    Oversize::Files
                } else {
                    Oversize::Text(total_limit)
                };
                refuse_declared_oversize(headers, total_limit, over)?;
                let boundary = boundary(headers).ok_or_else(|| {
                    IntakeError::Malformed("multipart body without a boundary".into())
                })?;
                let framed = framed(payload, &boundary, total_limit);
                Ok(Self::Multipart(
                    Box::new(Multipart::new(headers, framed)),
                    over,
                ))
            }
            _ => Err(IntakeError::UnsupportedMediaType),
        }
    }

    /// The next part; text parts are read whole (at most `text_limit`).
    pub async fn next(&mut self, text_limit: usize) -> Result<Option<Part>, IntakeError> {
        match self {
            Self::Urlencoded(it) => Ok(it.next().map(|(name, value)| Part::Text { name, value })),
            Self::Multipart(mp, over) => {
                let over = *over;
                let told = |e| match multipart_error(e) {
                    IntakeError::TooLarge(Oversize::Files) => IntakeError::TooLarge(over),
                    other => other,
                };
                let Some(field) = mp.next().await else {
                    return Ok(None);
                };
                let mut field = field.map_err(told)?;
                let name = field
                    .name()
                    .ok_or_else(|| IntakeError::Malformed("a part has no name".into()))?
                    .to_owned();
                let file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .map(str::to_owned);
                if file_name.is_some() {
                    let declared_type = field.content_type().map_or_else(
                        || "application/octet-stream".to_owned(),
                        ToString::to_string,
                    );
                    return Ok(Some(Part::File {
                        name,
                        file_name,
                        declared_type,
                        field: Box::new(field),
                    }));
                }
                let mut value = BytesMut::new();
                while let Some(chunk) = field.next().await {
                    let chunk: Bytes = chunk.map_err(told)?;
                    if value.len().saturating_add(chunk.len()) > text_limit {
                        return Err(IntakeError::TooLarge(Oversize::Text(
                            u64::try_from(text_limit).unwrap_or(u64::MAX),
                        )));
                    }
                    value.extend_from_slice(&chunk);
                }
                let value =
                    String::from_utf8(value.to_vec()).map_err(|_| IntakeError::BadEncoding)?;
                Ok(Some(Part::Text { name, value }))
            }
        }
    }
}

fn multipart_error(e: MultipartError) -> IntakeError {
    match e {
        MultipartError::Payload(PayloadError::Overflow) => IntakeError::TooLarge(Oversize::Files),
        MultipartError::Incomplete | MultipartError::Payload(PayloadError::Incomplete(_)) => {
            IntakeError::Malformed("the multipart body is incomplete".into())
        }
        other => IntakeError::Malformed(other.to_string()),
    }
}

impl From<MultipartError> for IntakeError {
    fn from(e: MultipartError) -> Self {
        multipart_error(e)
    }
}

/// Drains a file part nobody wants (an empty file input).
pub async fn drain(field: &mut Box<MultipartField>) -> Result<u64, IntakeError> {
    let mut n: u64 = 0;
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(multipart_error)?;
        n = n.saturating_add(u64::try_from(chunk.len()).unwrap_or(u64::MAX));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_decodes_utf8_and_refuses_bad_bytes() {
        let got = parse_urlencoded(b"a=%E5%BC%A0+%E4%B8%89&b=&c").unwrap();
        assert_eq!(
            got,
            vec![
                ("a".to_owned(), "张 三".to_owned()),
                ("b".to_owned(), String::new()),
                ("c".to_owned(), String::new())
            ]
        );
        assert!(matches!(
            parse_urlencoded(b"a=%FF%FE"),
            Err(IntakeError::BadEncoding)
        ));
        assert!(matches!(
            parse_urlencoded(b"a=%G1"),
            Err(IntakeError::BadEncoding)
        ));
        assert!(matches!(
            parse_urlencoded(b"a=%4"),
            Err(IntakeError::BadEncoding)
        ));
    }
}
