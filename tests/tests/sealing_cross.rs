//! Browser sealing, both ways: Rust derives and seals, the served script
//! (crates/intake/static/sealing.js, run by Node) checks the derivation and
//! opens everything; the script seals its own report, message and files
//! (empty, short, exactly one chunk, several chunks) and Rust opens them
//! with a unit key and with the reporter key. docs/crypto.md is the format.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::path::PathBuf;

use data_encoding::BASE64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sunlight_core::crypto::{
    AttachmentOpener, AttachmentSealer, CHUNK_SIZE, CodeStretch, CodeStretcher, DeploymentSecrets,
    SEALED_CHUNK_SIZE, SealContext, StretchMemory, StretchParams, Suite, UnitKeyPair,
    UnitPublicKey, UnitSecretKey, check_addressed, open, seal,
};
use sunlight_core::report::{
    AttachmentMeta, MessageContent, ReportContent, decode_padded, encode_padded, item,
};
use sunlight_core::{CaseId, TrackingCode};
use uuid::Uuid;

fn b64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

fn unb64(v: &Value) -> Vec<u8> {
    BASE64.decode(v.as_str().unwrap().as_bytes()).unwrap()
}

fn file_bytes(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 7 + 3) as u8).collect()
}

/// Seals a whole file the way `seal_upload` does (full chunks as they fill,
/// then the rest as the last chunk, empty when the file filled its chunks).
fn seal_file(bytes: &[u8], ctx: &SealContext<'_>, to: &[UnitPublicKey]) -> (Vec<u8>, Vec<u8>) {
    let (header, mut sealer) = AttachmentSealer::start(ctx, to).unwrap();
    let mut body = Vec::new();
    let mut chunks = bytes.chunks_exact(CHUNK_SIZE);
    for chunk in chunks.by_ref() {
        body.extend(sealer.seal_chunk(chunk).unwrap());
    }
    body.extend(sealer.finish(chunks.remainder()).unwrap());
    (header, body)
}

fn open_file(header: &[u8], body: &[u8], ctx: &SealContext<'_>, key: &UnitSecretKey) -> Vec<u8> {
    let mut opener = AttachmentOpener::start(header, ctx, key).unwrap();
    let mut out = Vec::new();
    let mut rest = body;
    while rest.len() > SEALED_CHUNK_SIZE {
        let (chunk, after) = rest.split_at(SEALED_CHUNK_SIZE);
        out.extend(opener.open_chunk(chunk).unwrap());
        rest = after;
    }
    out.extend(opener.finish(rest).unwrap());
    out
}

fn report() -> ReportContent {
    ReportContent {
        accused_name: "王某某 \"引号\" </script>".into(),
        accused_position: "县委组织部 副部长\t✓".into(),
        narrative: "第一段：拉票。\n第二段：😀 emoji, \\ backslash.".into(),
        reporter_name: None,
        reporter_phone: Some("138 0000 0000".into()),
        letter: None,
    }
}

struct Fixture {
    units: [UnitKeyPair; 2],
    reporter: UnitSecretKey,
    case: CaseId,
}

fn fixture() -> (Fixture, Value) {
    let stretcher = CodeStretcher::new(DeploymentSecrets::generate().unwrap(), StretchParams::CODE);
    let code = TrackingCode::generate().unwrap();
    let mut memory = StretchMemory::new(StretchParams::CODE).unwrap();
    let stretched = stretcher.stretch_in(&code, &mut memory).unwrap();
    let token = CodeStretch::run(&code, &stretcher.salt(), StretchParams::CODE, &mut memory)
        .unwrap()
        .lookup_token()
        .unwrap();
    let secrets = stretcher.secrets();
    let units = [
        UnitKeyPair::generate(Suite::Modern).unwrap(),
        UnitKeyPair::generate(Suite::Modern).unwrap(),
    ];
    let case = CaseId::arrived_on(chrono::Utc::now());
    let expect = json!({
        "token": b64(&token.0),
        "index": b64(&secrets.index_of(&token)),
        "share": b64(secrets.share_of(&token).0.as_ref()),
        "reporter_public": b64(stretched.reporter_public().as_bytes()),
    });
    assert_eq!(secrets.index_of(&token), stretched.lookup_key);
    let head = json!({
        "code": String::from_utf8(code.to_ascii().to_vec()).unwrap(),
        "code_display": code.to_string(),
        "salt": b64(&stretcher.salt()),
        "pepper": b64(secrets.pepper.as_ref()),
        "params": {"m_kib": StretchParams::CODE.m_kib, "t": StretchParams::CODE.t, "p": StretchParams::CODE.p},
        "case_id": case.to_string(),
        "expect": expect,
    });
    let f = Fixture {
        units,
        reporter: stretched.reporter_secret,
        case,
    };
    (f, head)
}

fn recipients(f: &Fixture) -> Vec<UnitPublicKey> {
    vec![f.units[0].public, f.units[1].public, f.reporter.public()]
}

/// What Rust seals for the script to open, and what it should find.
fn rust_sealed(f: &Fixture) -> Value {
    let to = recipients(f);
    let seal_item = |item: &[u8], plain: &[u8]| {
        seal(
            plain,
            &SealContext {
                case_id: f.case,
                item,
            },
            &to,
        )
        .unwrap()
    };
    let message_id = Uuid::new_v4();
    let message = MessageContent {
        body: "工作人员回复：请补充时间、地点。".into(),
    };
    let mut attachments = Vec::new();
    let mut expect_files = Vec::new();
    for size in [0, 100, CHUNK_SIZE, 2 * CHUNK_SIZE + 5] {
        let id = Uuid::new_v4();
        let bytes = file_bytes(size);
        let meta = AttachmentMeta {
            file_name: format!("rust-{size}.bin"),
            declared_type: "application/octet-stream".into(),
            size: size as u64,
        };
        let stream_item = item::attachment(id);
        let (header, body) = seal_file(
            &bytes,
            &SealContext {
                case_id: f.case,
                item: &stream_item,
            },
            &to,
        );
        attachments.push(json!({
            "id": id.to_string(),
            "meta": b64(&seal_item(&item::attachment_meta(id), &encode_padded(&meta).unwrap())),
            "header": b64(&header),
            "body": b64(&body),
        }));
        expect_files
            .push(json!({"meta": meta_json(&meta), "sha256": b64(&Sha256::digest(&bytes))}));
    }
    json!({
        "report": b64(&seal_item(item::REPORT, &encode_padded(&report()).unwrap())),
        "message": {"id": message_id.to_string(), "sealed": b64(&seal_item(&item::message(message_id), &encode_padded(&message).unwrap()))},
        "attachments": attachments,
        "expect": {
            "report": serde_json::to_value(report()).unwrap(),
            "message": {"body": message.body.clone()},
            "attachments": expect_files,
        },
    })
}

fn meta_json(meta: &AttachmentMeta) -> Value {
    serde_json::to_value(meta).unwrap()
}

/// Opens with a unit key and with the reporter key; both must agree.
fn open_both(f: &Fixture, sealed: &[u8], item: &[u8]) -> Vec<u8> {
    let ctx = SealContext {
        case_id: f.case,
        item,
    };
    check_addressed(sealed, &recipients(f)).unwrap();
    let by_unit = open(sealed, &ctx, &f.units[1].secret).unwrap();
    let by_reporter = open(sealed, &ctx, &f.reporter).unwrap();
    assert_eq!(*by_unit, *by_reporter);
    assert_eq!(by_unit.len() % 1024, 0, "padded to a multiple of 1024");
    assert!(by_unit.len() >= 1024);
    by_unit.to_vec()
}

#[test]
fn rust_opens_what_the_script_sealed_and_the_script_opens_what_rust_sealed() {
    let (f, mut vectors) = fixture();
    vectors["rust"] = rust_sealed(&f);
    let message_id = Uuid::new_v4();
    vectors["recipients"] = json!(
        recipients(&f)
            .iter()
            .map(|k| b64(k.as_bytes()))
            .collect::<Vec<_>>()
    );
    let sizes = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, 3 * CHUNK_SIZE + 17];
    vectors["js"] = json!({
        "report": serde_json::to_value(report()).unwrap(),
        "message_id": message_id.to_string(),
        "message": "举报人补充：第二次会议在周五。\n\"quoted\"",
        "attachment_sizes": sizes,
    });
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.json"), dir.path().join("out.json"));
    std::fs::write(&input, vectors.to_string()).unwrap();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/intake/web/test/cross.mjs");
    let run = std::process::Command::new("node")
        .arg(&script)
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "node cross.mjs failed:\n{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let out: Value = serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();

    let plain = open_both(&f, &unb64(&out["report"]), item::REPORT);
    assert!(decode_padded::<ReportContent>(&plain).unwrap() == report());

    let id = Uuid::parse_str(out["message"]["id"].as_str().unwrap()).unwrap();
    assert_eq!(id, message_id);
    let plain = open_both(&f, &unb64(&out["message"]["sealed"]), &item::message(id));
    assert_eq!(
        decode_padded::<MessageContent>(&plain).unwrap().body,
        vectors["js"]["message"].as_str().unwrap()
    );

    let files = out["attachments"].as_array().unwrap();
    assert_eq!(files.len(), sizes.len());
    for (file, size) in files.iter().zip(sizes) {
        let id = Uuid::parse_str(file["id"].as_str().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 4, "an attachment id carries no time");
        let meta: AttachmentMeta = decode_padded(&open_both(
            &f,
            &unb64(&file["meta"]),
            &item::attachment_meta(id),
        ))
        .unwrap();
        assert_eq!(meta.size, size as u64);
        let stream_item = item::attachment(id);
        let ctx = SealContext {
            case_id: f.case,
            item: &stream_item,
        };
        let (header, body) = (unb64(&file["header"]), unb64(&file["body"]));
        check_addressed(&header, &recipients(&f)).unwrap();
        // Sealed chunk by chunk as the server does: the same length.
        let (_, rust_body) = seal_file(&file_bytes(size), &ctx, &recipients(&f));
        assert_eq!(body.len(), rust_body.len(), "{size} bytes: chunking");
        for key in [&f.units[0].secret, &f.reporter] {
            let bytes = open_file(&header, &body, &ctx, key);
            assert_eq!(bytes, file_bytes(size));
        }
        assert_eq!(
            b64(&Sha256::digest(file_bytes(size))),
            file["sha256"].as_str().unwrap()
        );
        // Bound to its item: under another file's id it does not open.
        let other = item::attachment(Uuid::new_v4());
        let wrong = SealContext {
            case_id: f.case,
            item: &other,
        };
        assert!(AttachmentOpener::start(&header, &wrong, &f.reporter).is_err());
    }
}
