//! The body readers without an app around them: what a hostile request
//! reaches before any state is touched. For the fuzz targets in `fuzz/` and
//! the regression tests of what they find; not an API.
//!
//! The readers run on a body that is already complete, polled with a waker
//! that does nothing: a reader that still waits after its input has ended
//! would hang a worker on a real connection, so it counts as a finding
//! (`Outcome::Stalled`), like a panic.

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use actix_web::http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use actix_web::web::Bytes;
use futures_util::stream;
use sunlight_core::report::{FieldError, Limits, ReportDraft};

use crate::error::IntakeError;
use crate::input::{FormStream, Part, drain};

/// The report form as the intake app reads it from a body.
#[derive(Default)]
pub struct ReadForm {
    pub draft: ReportDraft,
    /// Problems that leave the form readable (`real_name=maybe`).
    pub soft: Vec<FieldError>,
    /// Attachment parts: field name, file name, bytes.
    pub files: Vec<(String, Option<String>, u64)>,
}

impl std::fmt::Debug for ReadForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The draft is report text: never printed, even by a fuzzer.
        f.debug_struct("ReadForm")
            .field("soft", &self.soft)
            .field("files", &self.files.len())
            .finish_non_exhaustive()
    }
}

/// How a reader ended on a complete body.
#[derive(Debug)]
pub enum Outcome<T> {
    Read(T),
    /// Refused with this error; its status is what the client would see.
    Refused(IntakeError),
    /// Still waiting although the whole body was there.
    Stalled,
}

/// How many times a reader is polled before it counts as stalled. A reader
/// that yields on purpose (waking itself) finishes long before this.
const POLLS: usize = 10_000;

fn run<T>(reader: impl Future<Output = Result<T, IntakeError>>) -> Outcome<T> {
    let mut reader = pin!(reader);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..POLLS {
        match reader.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(read)) => return Outcome::Read(read),
            Poll::Ready(Err(e)) => return Outcome::Refused(e),
            Poll::Pending => {}
        }
    }
    Outcome::Stalled
}

/// Reads a report form sent with `content_type`, arriving in `chunks`, the
/// way `POST /report` does, with the default limits and a body limit of
/// `total_limit` bytes.
pub fn read_report_form(
    content_type: &[u8],
    chunks: Vec<Vec<u8>>,
    total_limit: u64,
) -> Outcome<ReadForm> {
    let mut headers = HeaderMap::new();
    match HeaderValue::from_bytes(content_type) {
        Ok(value) => {
            headers.insert(CONTENT_TYPE, value);
        }
        // No client can send such a header; the server never sees it.
        Err(_) => return Outcome::Refused(IntakeError::UnsupportedMediaType),
    }
    let body = stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))));
    let limits = Limits::default();
    run(async move {
        let mut form = FormStream::open(
            &headers,
            body,
            limits.max_text_bytes().saturating_mul(3),
            total_limit,
            true,
        )
        .await?;
        let mut read = ReadForm::default();
        let mut seen = HashSet::new();
        while let Some(part) = form.next(limits.max_text_bytes()).await? {
            match part {
                Part::Text { name, value } => crate::pages::set_report_field(
                    &mut read.draft,
                    &mut seen,
                    &mut read.soft,
                    name,
                    value,
                )?,
                Part::File {
                    name,
                    file_name,
                    mut field,
                    ..
                } => {
                    let n = drain(&mut field).await?;
                    read.files.push((name, file_name, n));
                }
            }
        }
        Ok(read)
    })
}

/// Reads a JSON report the way `POST /api/v1/reports` does.
pub fn read_report_json(body: &[u8]) -> Result<ReportDraft, IntakeError> {
    crate::api::parse_json::<crate::api::ReportRequest>(body)
        .map(crate::api::ReportRequest::into_draft)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &[u8] = b"multipart/form-data; boundary=XyZ";

    fn multipart(parts: &[(&str, Option<&str>, &str)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, file, value) in parts {
            let file = file
                .map(|f| format!("; filename=\"{f}\""))
                .unwrap_or_default();
            body.extend(
                format!(
                    "--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n{value}\r\n"
                )
                .bytes(),
            );
        }
        body.extend(b"--XyZ--\r\n");
        body
    }

    fn one_byte_chunks(body: &[u8]) -> Vec<Vec<u8>> {
        body.iter().map(|b| vec![*b]).collect()
    }

    #[test]
    fn a_form_read_one_byte_at_a_time_is_the_same_form() {
        let body = multipart(&[
            ("category", None, "office_trading"),
            ("narrative", None, "张三 买官"),
            ("real_name", None, "maybe"),
            ("attachment", Some("a.pdf"), "%PDF-1.7"),
        ]);
        for chunks in [vec![body.clone()], one_byte_chunks(&body)] {
            let Outcome::Read(form) = read_report_form(CT, chunks, 1 << 20) else {
                panic!("a well-formed form was not read");
            };
            assert_eq!(form.draft.category, "office_trading");
            assert_eq!(form.draft.narrative, "张三 买官");
            assert_eq!(form.soft.len(), 1, "real_name=maybe is a soft problem");
            assert_eq!(
                form.files,
                vec![("attachment".to_owned(), Some("a.pdf".to_owned()), 8)]
            );
        }
    }

    /// actix-multipart 0.7 waits forever for a body that ends just after a
    /// line break inside a part; `framed` turns that into a refusal.
    #[test]
    fn a_body_cut_after_a_line_break_is_refused_not_waited_for() {
        let body =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"narrative\"\r\n\r\nabc\r\n".to_vec();
        for chunks in [vec![body.clone()], one_byte_chunks(&body)] {
            match read_report_form(CT, chunks, 1 << 20) {
                Outcome::Refused(e) => assert!(e.status().is_client_error(), "{e:?}"),
                other => panic!("a cut-off body gave {other:?}"),
            }
        }
    }

    /// Found by `fuzz/fuzz_targets/report_form.rs` in its first minute:
    /// actix-multipart 0.7.2 sliced `chunk[2..len - 2]` for a preamble line
    /// as long as the boundary, and panicked, so the connection dropped
    /// without an answer. Fixed by moving to 0.8.
    #[test]
    fn a_preamble_line_as_long_as_the_boundary_is_refused_not_a_panic() {
        let body =
            b"--\n--XyZ\r\nContent-Disposition: form-data; name=\"unit\"\r\n\r\nu\r\n--XyZ--\r\n";
        for chunks in [vec![body.to_vec()], one_byte_chunks(body)] {
            match read_report_form(CT, chunks, 1 << 20) {
                Outcome::Refused(e) => assert!(e.status().is_client_error(), "{e:?}"),
                Outcome::Read(form) => assert_eq!(form.draft.unit, "u"),
                Outcome::Stalled => panic!("stalled"),
            }
        }
    }

    #[test]
    fn every_refusal_of_a_broken_body_is_a_client_error() {
        let cases: Vec<(&[u8], Vec<u8>)> = vec![
            (b"multipart/form-data", multipart(&[("unit", None, "x")])),
            (CT, b"--XyZ\r\n\r\n\r\n--XyZ--\r\n".to_vec()),
            (CT, multipart(&[("unit", None, "a"), ("unit", None, "b")])),
            (CT, multipart(&[("nope", None, "a")])),
            (
                b"application/x-www-form-urlencoded",
                b"narrative=%FF".to_vec(),
            ),
            (b"text/plain", b"narrative=a".to_vec()),
            (CT, vec![b'-'; 4096]),
        ];
        for (ct, body) in cases {
            match read_report_form(ct, vec![body], 1 << 20) {
                Outcome::Refused(e) => assert!(e.status().is_client_error(), "{e:?}"),
                other => panic!("{} was not refused: {other:?}", String::from_utf8_lossy(ct)),
            }
        }
    }

    #[test]
    fn json_reports_are_read_strictly() {
        let draft = read_report_json(br#"{"unit":"u","accused":{"name":"n"}}"#).unwrap();
        assert_eq!(
            (draft.unit.as_str(), draft.accused_name.as_str()),
            ("u", "n")
        );
        for bad in [&b"{\"unit\":[1]}"[..], b"{\"x\":1}", b"\xff", b"{", b"[]"] {
            let e = read_report_json(bad).err().unwrap();
            assert!(e.status().is_client_error(), "{e:?}");
        }
    }
}
