//! The report form readers — multipart and urlencoded bodies in any
//! chunking, and JSON reports — then validation into domain types, on any
//! bytes a client can send. Nothing may panic; a reader may never wait
//! once the body has ended (that would hang a worker); every refusal must
//! be a client error (4xx), never a 5xx; and whatever validates must hold
//! the limits the form promises.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sunlight_core::Channel;
use sunlight_core::report::{Limits, ReportContent, ReportDraft, decode_padded, encode_padded};
use sunlight_intake::fuzzing::{Outcome, read_report_form, read_report_json};

/// Input: one byte for how the body is cut (0: whole; n: n-byte chunks, as
/// a slow network delivers it), the Content-Type header up to the first
/// line break (`json` for the JSON API), then the body. Seeds in
/// `fuzz/seeds/report_form` are real forms in this framing.
fn split(data: &[u8]) -> Option<(usize, &[u8], &[u8])> {
    let (&cut, rest) = data.split_first()?;
    let line = rest.iter().position(|b| *b == b'\n')?;
    let (content_type, body) = rest.split_at(line);
    Some((usize::from(cut), content_type, &body[1..]))
}

fn chunked(body: &[u8], size: usize) -> Vec<Vec<u8>> {
    if size == 0 {
        return vec![body.to_vec()];
    }
    body.chunks(size).map(<[u8]>::to_vec).collect()
}

fn validate(draft: &ReportDraft) {
    let limits = Limits::default();
    let Ok(valid) = draft.validate(Channel::Web, &limits) else {
        return;
    };
    let c = &valid.content;
    assert!(c.narrative.chars().count() <= limits.narrative_chars);
    for name in [&c.accused_name, &c.accused_position] {
        assert!(name.chars().count() <= limits.name_chars);
        assert!(
            !name.chars().any(char::is_control),
            "a control character in a name"
        );
    }
    let sealed = encode_padded(c).expect("valid content encodes");
    let back: ReportContent = decode_padded(&sealed).expect("its own encoding decodes");
    assert!(back == *c, "sealing's encoding changes the report");
}

fuzz_target!(|data: &[u8]| {
    let Some((cut, content_type, body)) = split(data) else {
        return;
    };
    if content_type == b"json" {
        match read_report_json(body) {
            Ok(draft) => validate(&draft),
            Err(e) => assert!(
                e.status().is_client_error(),
                "bad JSON gave {}: {e:?}",
                e.status()
            ),
        }
        return;
    }
    // An odd cut byte also tries a small body limit, to reach that path.
    let limit = if cut % 2 == 1 { 2048 } else { 1 << 20 };
    match read_report_form(content_type, chunked(body, cut), limit) {
        Outcome::Read(form) => validate(&form.draft),
        Outcome::Refused(e) => {
            assert!(
                e.status().is_client_error(),
                "a bad body gave {}: {e:?}",
                e.status()
            );
        }
        Outcome::Stalled => panic!("the form reader waits on a body that has ended"),
    }
});
