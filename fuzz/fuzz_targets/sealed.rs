//! The envelope and attachment-stream decoders on what a broken disk, a
//! hostile database administrator or a backup tampered with could hand them.
//! Genuine ciphertexts are sealed once per process and suite to a unit key
//! (X25519 for `modern`, SM2 for `shangmi`: the input picks which); the
//! input either is taken whole as ciphertext or edits a genuine one. Nothing may
//! panic, and only an unchanged genuine ciphertext may open — any edit,
//! truncation, reordering or dropped chunk must be refused.

#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sunlight_core::CaseId;
use sunlight_core::crypto::{
    self as envelope, AttachmentOpener, AttachmentSealer, CHUNK_SIZE, SealContext, Suite,
    UnitKeyPair,
};
use sunlight_core::report::decode_padded;

const REPORT: &[u8] = b"{\"narrative\":\"\xe5\xbc\xa0\xe4\xb8\x89 sold the post\"}";
/// Three chunks: two full, one short, so that order and ends matter.
const ATTACHMENT_LEN: usize = 2 * CHUNK_SIZE + 1000;

struct Genuine {
    pair: UnitKeyPair,
    case_id: CaseId,
    envelope: Vec<u8>,
    header: Vec<u8>,
    chunks: Vec<Vec<u8>>,
}

fn attachment_byte(i: usize) -> u8 {
    (i % 251) as u8
}

fn genuine(suite: Suite) -> &'static Genuine {
    static GENUINE: [OnceLock<Genuine>; 2] = [OnceLock::new(), OnceLock::new()];
    GENUINE[suite as usize].get_or_init(|| {
        let pair = UnitKeyPair::generate(suite).expect("a key pair");
        let case_id = CaseId::new_v7(1_764_000_000_000);
        let ctx = SealContext {
            case_id,
            item: b"report",
        };
        let envelope = envelope::seal(REPORT, &ctx, &[pair.public]).expect("sealed");
        let ctx = SealContext {
            case_id,
            item: b"attachment",
        };
        let (header, mut sealer) = AttachmentSealer::start(&ctx, &[pair.public]).expect("started");
        let plain: Vec<u8> = (0..ATTACHMENT_LEN).map(attachment_byte).collect();
        let mut chunks = Vec::new();
        let mut rest = plain.as_slice();
        while rest.len() > CHUNK_SIZE {
            let (chunk, tail) = rest.split_at(CHUNK_SIZE);
            chunks.push(sealer.seal_chunk(chunk).expect("chunk"));
            rest = tail;
        }
        chunks.push(sealer.finish(rest).expect("last chunk"));
        Genuine {
            pair,
            case_id,
            envelope,
            header,
            chunks,
        }
    })
}

/// One change to a genuine ciphertext.
#[derive(Debug, Arbitrary)]
enum Edit {
    Flip { at: u32, mask: u8 },
    Truncate { to: u32 },
    Append { bytes: Vec<u8> },
    DropChunk { index: u8 },
    SwapChunks { a: u8, b: u8 },
    RepeatChunk { index: u8 },
    OtherItem,
}

/// Which suite's genuine ciphertexts, and what to do with them.
#[derive(Debug, Arbitrary)]
struct Case {
    shangmi: bool,
    input: Input,
}

#[derive(Debug, Arbitrary)]
enum Input {
    /// Bytes taken as an envelope, as a stream header and as padded JSON.
    Raw(Vec<u8>),
    /// Edits to the genuine envelope.
    Envelope(Vec<Edit>),
    /// Edits to the genuine attachment (header first, then its chunks).
    Attachment(Vec<Edit>),
}

fn edit_bytes(bytes: &mut Vec<u8>, edit: &Edit) {
    match edit {
        Edit::Flip { at, mask } if *mask != 0 && !bytes.is_empty() => {
            let i = *at as usize % bytes.len();
            bytes[i] ^= mask;
        }
        Edit::Truncate { to } if (*to as usize) < bytes.len() => {
            bytes.truncate(*to as usize);
        }
        Edit::Append { bytes: extra } if !extra.is_empty() => {
            bytes.extend(extra);
        }
        _ => {}
    }
}

fn open_attachment(g: &Genuine, header: &[u8], chunks: &[Vec<u8>], item: &[u8]) -> Option<Vec<u8>> {
    let ctx = SealContext {
        case_id: g.case_id,
        item,
    };
    let mut opener = AttachmentOpener::start(header, &ctx, &g.pair.secret).ok()?;
    let (last, full) = chunks.split_last()?;
    let mut out = Vec::new();
    for chunk in full {
        out.extend(opener.open_chunk(chunk).ok()?);
    }
    out.extend(opener.finish(last).ok()?);
    Some(out)
}

fuzz_target!(|case: Case| {
    let suite = if case.shangmi {
        Suite::ShangMi
    } else {
        Suite::Modern
    };
    let g = genuine(suite);
    let input = case.input;
    let report = SealContext {
        case_id: g.case_id,
        item: b"report",
    };
    match input {
        Input::Raw(bytes) => {
            assert!(
                envelope::open(&bytes, &report, &g.pair.secret).is_err() || bytes == g.envelope
            );
            let ctx = SealContext {
                case_id: g.case_id,
                item: b"attachment",
            };
            // A header is only a key slot and a nonce; forging one is
            // useless unless a chunk then opens under it.
            if let Ok(mut opener) = AttachmentOpener::start(&bytes, &ctx, &g.pair.secret) {
                assert!(opener.open_chunk(&bytes).is_err(), "a forged chunk opened");
            }
            let _ = decode_padded::<std::collections::BTreeMap<String, String>>(&bytes);
        }
        Input::Envelope(edits) => {
            let mut bytes = g.envelope.clone();
            let mut other_item = false;
            for edit in &edits {
                edit_bytes(&mut bytes, edit);
                other_item |= matches!(edit, Edit::OtherItem);
            }
            let ctx = if other_item {
                SealContext {
                    case_id: g.case_id,
                    item: b"message",
                }
            } else {
                report
            };
            match envelope::open(&bytes, &ctx, &g.pair.secret) {
                Ok(opened) => {
                    assert!(
                        bytes == g.envelope && !other_item,
                        "an edited envelope opened"
                    );
                    assert_eq!(opened.as_slice(), REPORT);
                }
                Err(_) => assert!(
                    bytes != g.envelope || other_item,
                    "the genuine envelope did not open"
                ),
            }
        }
        Input::Attachment(edits) => {
            let mut header = g.header.clone();
            let mut chunks = g.chunks.clone();
            let mut other_item = false;
            for (n, edit) in edits.iter().enumerate() {
                match edit {
                    Edit::DropChunk { index } if !chunks.is_empty() => {
                        chunks.remove(*index as usize % chunks.len());
                    }
                    Edit::SwapChunks { a, b } if !chunks.is_empty() => {
                        let len = chunks.len();
                        chunks.swap(*a as usize % len, *b as usize % len);
                    }
                    Edit::RepeatChunk { index } if !chunks.is_empty() => {
                        let i = *index as usize % chunks.len();
                        let copy = chunks[i].clone();
                        chunks.insert(i, copy);
                    }
                    Edit::OtherItem => other_item = true,
                    // Byte edits go to the header or to one chunk, by turn.
                    other => {
                        let target = n % (chunks.len() + 1);
                        if target == 0 {
                            edit_bytes(&mut header, other);
                        } else {
                            edit_bytes(&mut chunks[target - 1], other);
                        }
                    }
                }
            }
            let item: &[u8] = if other_item {
                b"message"
            } else {
                b"attachment"
            };
            let unchanged = header == g.header && chunks == g.chunks && !other_item;
            match open_attachment(g, &header, &chunks, item) {
                Some(plain) => {
                    assert!(unchanged, "an edited attachment opened");
                    assert_eq!(plain.len(), ATTACHMENT_LEN);
                    assert!(
                        plain
                            .iter()
                            .enumerate()
                            .all(|(i, b)| *b == attachment_byte(i))
                    );
                }
                None => assert!(!unchanged, "the genuine attachment did not open"),
            }
        }
    }
});
