//! The sealing routes over real HTTP on both engines, with this test as
//! the reporter's browser: what is sealed there is stored as sent, found
//! again by code without JavaScript (one derivation for both paths), and
//! refused with nothing stored when misaddressed or stale. And the
//! versioned lookup: a case filed under scheme 1 is still found by its code.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use crate::common;

use chrono::Utc;
use common::{ENGINES, Harness, report_json};
use data_encoding::BASE64;
use serde_json::{Value, json};
use sunlight_core::crypto::{
    AttachmentSealer, CodeStretch, ReporterShare, SealContext, StretchMemory, StretchParams,
    UnitPublicKey, UnitSecretKey, open, seal,
};
use sunlight_core::report::{MessageContent, ReportContent, decode_padded, encode_padded, item};
use sunlight_core::{CaseId, TrackingCode};
use sunlight_testkit::Engine;
use uuid::Uuid;

mod keys;

const CANARY: &str = "CANARY-7f3a-sealed-in-the-browser";

fn b64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

pub(crate) fn key_of(v: &Value) -> UnitPublicKey {
    UnitPublicKey::from_slice(&BASE64.decode(v.as_str().unwrap().as_bytes()).unwrap()).unwrap()
}

/// What the browser holds after stretching a fresh code.
pub(crate) struct Browser {
    code: TrackingCode,
    stretch: CodeStretch,
    pub(crate) token: String,
}

pub(crate) async fn browser(h: &Harness) -> Browser {
    let params: Value = h
        .client
        .get(h.url("/api/v1/sealed/params"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(params["salt"], b64(&h.stretcher.salt()));
    assert_eq!(params["m_kib"], StretchParams::TEST.m_kib);
    let salt: [u8; 16] = BASE64
        .decode(params["salt"].as_str().unwrap().as_bytes())
        .unwrap()
        .try_into()
        .unwrap();
    let code = TrackingCode::generate().unwrap();
    let mut memory = StretchMemory::new(StretchParams::TEST).unwrap();
    let stretch = CodeStretch::run(&code, &salt, StretchParams::TEST, &mut memory).unwrap();
    let token = b64(&stretch.lookup_token().unwrap().0);
    Browser {
        code,
        stretch,
        token,
    }
}

pub(crate) async fn post(h: &Harness, path: &str, body: &Value) -> (u16, Value) {
    let res = h.client.post(h.url(path)).json(body).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn share_of(v: &Value) -> ReporterShare {
    let bytes: [u8; 32] = BASE64
        .decode(v["share"].as_str().unwrap().as_bytes())
        .unwrap()
        .try_into()
        .unwrap();
    ReporterShare(bytes.into())
}

fn content() -> ReportContent {
    ReportContent {
        accused_name: "王某".into(),
        accused_position: String::new(),
        narrative: format!("在浏览器中加密。{CANARY}"),
        reporter_name: None,
        reporter_phone: None,
        letter: None,
    }
}

/// A sealed file as the browser sends it: (id, {meta, header, body}).
fn sealed_file(case: CaseId, to: &[UnitPublicKey], bytes: &[u8]) -> (String, Value) {
    let id = Uuid::new_v4();
    let stream_item = item::attachment(id);
    let ctx = SealContext {
        case_id: case,
        item: &stream_item,
    };
    let (header, mut sealer) = AttachmentSealer::start(&ctx, to).unwrap();
    let mut body = Vec::new();
    let mut chunks = bytes.chunks_exact(sunlight_core::crypto::CHUNK_SIZE);
    for chunk in chunks.by_ref() {
        body.extend(sealer.seal_chunk(chunk).unwrap());
    }
    body.extend(sealer.finish(chunks.remainder()).unwrap());
    let meta = sunlight_core::report::AttachmentMeta {
        file_name: "evidence.txt".into(),
        declared_type: "text/plain".into(),
        size: bytes.len() as u64,
    };
    let meta_item = item::attachment_meta(id);
    let sealed_meta = seal(
        &encode_padded(&meta).unwrap(),
        &SealContext {
            case_id: case,
            item: &meta_item,
        },
        to,
    )
    .unwrap();
    (
        id.to_string(),
        json!({"meta": b64(&sealed_meta), "header": b64(&header), "body": b64(&body)}),
    )
}

/// Prepares and seals a report to `unit`; returns the request body, the
/// case id and the reporter key.
pub(crate) async fn sealed_report(
    h: &Harness,
    b: &Browser,
    unit: &str,
) -> (Value, CaseId, UnitSecretKey) {
    let (status, prepared) = post(
        h,
        "/api/v1/sealed/prepare",
        &json!({"unit": unit, "accused_role": "ordinary", "token": b.token}),
    )
    .await;
    assert_eq!(status, 200, "{prepared}");
    let case = CaseId::parse(prepared["case_id"].as_str().unwrap()).unwrap();
    let reporter = b.stretch.reporter_secret(&share_of(&prepared)).unwrap();
    let mut to: Vec<UnitPublicKey> = prepared["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(key_of)
        .collect();
    to.push(reporter.public());
    let sealed = seal(
        &encode_padded(&content()).unwrap(),
        &SealContext {
            case_id: case,
            item: item::REPORT,
        },
        &to,
    )
    .unwrap();
    let evidence = format!("{CANARY} in a file\n").repeat(5000);
    let (id, file) = sealed_file(case, &to, evidence.as_bytes());
    let body = json!({
        "case_id": case.to_string(), "token": b.token,
        "reporter_public": b64(reporter.public().as_bytes()),
        "unit": unit, "category": "canvassing_bribery", "accused_role": "ordinary",
        "selection_stage": "none", "real_name": false,
        "report": b64(&sealed), "files": {id: file},
    });
    (body, case, reporter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_and_follow_ups_sealed_in_the_browser_are_stored_as_sent_and_read_both_ways() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let b = browser(&h).await;
        let (body, case, reporter) = sealed_report(&h, &b, "gd-gz-tianhe").await;
        let (status, filed) = post(&h, "/api/v1/sealed/reports", &body).await;
        assert_eq!(status, 201, "{engine:?}: {filed}");
        assert!(filed["received_on"].is_string());

        // The server's own stretch of the code finds the same case: one
        // derivation, whichever side ran it.
        let row = h.case_of(&b.code).await;
        assert_eq!(row.id, case);
        assert_eq!(row.unit.as_str(), "gd-gz-tianhe");
        for unit in ["gd-gz-tianhe", "gd-gz", "gd"] {
            assert_eq!(
                h.open_report(&row, unit).unwrap().narrative,
                content().narrative
            );
        }
        assert!(h.open_report(&row, "gd-sz").is_err());
        assert!(
            !h.db.holds(CANARY.as_bytes()).await.unwrap(),
            "sealed at rest"
        );

        // The browser's status: sealed items, the share again, an id for
        // the next message; it opens the report's file description itself.
        let (status, seen) = post(&h, "/api/v1/sealed/status", &json!({"token": b.token})).await;
        assert_eq!(status, 200, "{seen}");
        assert_eq!(seen["share"], b64(share_of(&seen).0.as_ref()));
        assert_eq!(seen["case_id"], case.to_string());
        assert_eq!(seen["stage"], "received");
        assert_eq!(seen["files"].as_array().unwrap().len(), 1);
        let message_id = Uuid::parse_str(seen["message_id"].as_str().unwrap()).unwrap();
        let to: Vec<UnitPublicKey> = seen["recipients"]
            .as_array()
            .unwrap()
            .iter()
            .map(key_of)
            .collect();
        assert_eq!(to.last(), Some(&reporter.public()));
        let item_bytes = item::message(message_id);
        let text = format!("补充：{CANARY}");
        let sealed = seal(
            &encode_padded(&MessageContent { body: text.clone() }).unwrap(),
            &SealContext {
                case_id: case,
                item: &item_bytes,
            },
            &to,
        )
        .unwrap();
        let (status, stored) = post(
            &h,
            "/api/v1/sealed/messages",
            &json!({"token": b.token, "case_id": case.to_string(), "message_id": message_id.to_string(), "body": b64(&sealed)}),
        )
        .await;
        assert_eq!(status, 201, "{stored}");
        // The same message sent twice (a retry) is stored once.
        let (status, again) = post(
            &h,
            "/api/v1/sealed/messages",
            &json!({"token": b.token, "case_id": case.to_string(), "message_id": message_id.to_string(), "body": b64(&sealed)}),
        )
        .await;
        assert_eq!(
            (status, again["error"]["code"].as_str().unwrap()),
            (409, "sealed_stale")
        );

        // Without JavaScript, the code shows the message the browser sealed.
        let (status, plain) =
            post(&h, "/api/v1/status", &json!({"code": b.code.to_string()})).await;
        assert_eq!(status, 200);
        assert_eq!(plain["messages"][0]["body"], text);
        // And the browser opens it with its own key.
        let (_, seen) = post(&h, "/api/v1/sealed/status", &json!({"token": b.token})).await;
        let m = &seen["messages"][0];
        let opened = open(
            &BASE64
                .decode(m["sealed"].as_str().unwrap().as_bytes())
                .unwrap(),
            &SealContext {
                case_id: case,
                item: &item_bytes,
            },
            &reporter,
        )
        .unwrap();
        assert_eq!(decode_padded::<MessageContent>(&opened).unwrap().body, text);
        assert!(!h.db.holds(CANARY.as_bytes()).await.unwrap());
        h.stop().await;
    }
}

async fn case_count(h: &Harness) -> String {
    sunlight_testkit::query_text(&h.db.store, "SELECT COUNT(*) FROM cases")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misaddressed_stale_or_malformed_sealed_material_is_refused_and_nothing_is_stored() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let b = browser(&h).await;
        let (good, case, _) = sealed_report(&h, &b, "gd-gz-tianhe").await;
        let before = case_count(&h).await;
        let refused = |mut body: Value, field: &str, value: Value| {
            body[field] = value;
            body
        };
        // Sealed to the units only, without the reporter's key.
        let unit_only = seal(
            b"{}",
            &SealContext {
                case_id: case,
                item: item::REPORT,
            },
            &[h.key("gd-gz-tianhe").public()],
        )
        .unwrap();
        let other_unit = Uuid::new_v4();
        for (body, status, code) in [
            (
                refused(good.clone(), "report", json!(b64(&unit_only))),
                422,
                "sealed_misaddressed",
            ),
            (
                refused(good.clone(), "unit", json!("gd-sz")),
                422,
                "sealed_misaddressed",
            ),
            (
                refused(
                    good.clone(),
                    "case_id",
                    json!(CaseId::arrived_on(Utc::now() - chrono::Duration::days(3)).to_string()),
                ),
                409,
                "sealed_stale",
            ),
            (
                refused(good.clone(), "case_id", json!(other_unit.to_string())),
                409,
                "sealed_stale",
            ),
            (
                refused(good.clone(), "token", json!("not base64!")),
                422,
                "sealed_malformed",
            ),
            (
                refused(good.clone(), "reporter_public", json!(b64(&[1u8; 31]))),
                422,
                "sealed_malformed",
            ),
            // A low-order point, or a unit's own key, as the reporter's key.
            (
                refused(good.clone(), "reporter_public", json!(b64(&[0u8; 32]))),
                422,
                "sealed_misaddressed",
            ),
            (
                refused(
                    good.clone(),
                    "reporter_public",
                    json!(b64(h.key("gd-gz").public().as_bytes())),
                ),
                422,
                "sealed_misaddressed",
            ),
            // One file twice, under two spellings of its id.
            (
                refused(good.clone(), "files", twice(&good)),
                422,
                "sealed_malformed",
            ),
            (
                refused(good.clone(), "category", json!("gossip")),
                422,
                "invalid_fields",
            ),
            (
                refused(good.clone(), "unit", json!("nowhere")),
                422,
                "invalid_fields",
            ),
        ] {
            let (got, answer) = post(&h, "/api/v1/sealed/reports", &body).await;
            assert_eq!(
                (got, answer["error"]["code"].as_str().unwrap()),
                (status, code),
                "{engine:?}"
            );
            assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
        }
        assert_eq!(case_count(&h).await, before, "nothing stored");
        let (got, _) = post(
            &h,
            "/api/v1/sealed/status",
            &json!({"token": b64(&[7u8; 32])}),
        )
        .await;
        assert_eq!(got, 404);
        let (got, answer) = post(
            &h,
            "/api/v1/sealed/prepare",
            &json!({"unit": "nowhere", "accused_role": "ordinary", "token": b.token}),
        )
        .await;
        assert_eq!(
            (got, answer["error"]["code"].as_str().unwrap()),
            (422, "invalid_fields")
        );
        // The good one still goes through afterwards, once.
        let (got, _) = post(&h, "/api/v1/sealed/reports", &good).await;
        assert_eq!(got, 201);
        let (got, answer) = post(&h, "/api/v1/sealed/reports", &good).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str().unwrap()),
            (409, "sealed_stale")
        );
        h.stop().await;
    }
}

/// The files of `body` with its one file also under the id's simple form.
fn twice(body: &Value) -> Value {
    let mut files = body["files"].as_object().unwrap().clone();
    let (id, file) = files
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    files.insert(id.replace('-', ""), file);
    Value::Object(files)
}

fn blob(engine: Engine, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    match engine {
        Engine::Sqlite => format!("X'{hex}'"),
        Engine::Postgres => format!("'\\x{hex}'::bytea"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_filed_under_scheme_one_is_still_found_by_its_code() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let new = h
            .file_json(report_json("gd-gz-tianhe", "ordinary", "新方案"))
            .await;
        let old = h
            .file_json(report_json("gd-gz-tianhe", "ordinary", "旧方案"))
            .await;
        // Turn the second case into one filed before browser sealing: its
        // index is the scheme-1 stretch (the pepper as Argon2id's secret).
        let mut memory = StretchMemory::new(StretchParams::TEST).unwrap();
        let v1 = h
            .stretcher
            .stretch_legacy_in(&old, &mut memory)
            .unwrap()
            .lookup_key;
        let v2 = h.stretcher.stretch(&old).unwrap().lookup_key;
        let changed =
            h.db.raw(&format!(
                "UPDATE cases SET lookup_key = {}, code_scheme = 1 WHERE lookup_key = {}",
                blob(engine, &v1),
                blob(engine, &v2)
            ))
            .await
            .unwrap();
        assert_eq!(changed, 1);
        for code in [&new, &old] {
            let (status, _) = post(&h, "/api/v1/status", &json!({"code": code.to_string()})).await;
            assert_eq!(status, 200, "{engine:?}");
        }
        let (status, _) = post(
            &h,
            "/api/v1/status",
            &json!({"code": TrackingCode::generate().unwrap().to_string()}),
        )
        .await;
        assert_eq!(status, 404);
        h.stop().await;
    }
}

/// A case filed in the other suite's code scheme (3, after a move from
/// shangmi) is found by its code: one Argon2id run serves both schemes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_filed_in_the_other_suites_scheme_is_found_by_its_code() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let code = h
            .file_json(report_json("gd-gz-tianhe", "ordinary", "换套件之前"))
            .await;
        let mut memory = StretchMemory::new(StretchParams::TEST).unwrap();
        let other = h
            .stretcher
            .clone()
            .with_suite(sunlight_core::crypto::Suite::ShangMi)
            .stretch_in(&code, &mut memory)
            .unwrap()
            .lookup_key;
        let own = h.stretcher.stretch(&code).unwrap().lookup_key;
        let changed =
            h.db.raw(&format!(
                "UPDATE cases SET lookup_key = {}, code_scheme = 3 WHERE lookup_key = {}",
                blob(engine, &other),
                blob(engine, &own)
            ))
            .await
            .unwrap();
        assert_eq!(changed, 1);
        let (status, _) = post(&h, "/api/v1/status", &json!({"code": code.to_string()})).await;
        assert_eq!(status, 200, "{engine:?}");
        h.stop().await;
    }
}

fn uuid_lit(engine: Engine, id: CaseId) -> String {
    match engine {
        Engine::Sqlite => blob(engine, id.as_bytes()),
        Engine::Postgres => format!("'{id}'::uuid"),
    }
}

/// A follow-up sealed to the status's keys; returns the request body.
pub(crate) fn follow_up(b: &Browser, status: &Value, text: &str) -> Value {
    let case = CaseId::parse(status["case_id"].as_str().unwrap()).unwrap();
    let id = Uuid::parse_str(status["message_id"].as_str().unwrap()).unwrap();
    let to: Vec<UnitPublicKey> = status["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(key_of)
        .collect();
    let item_bytes = item::message(id);
    let sealed = seal(
        &encode_padded(&MessageContent { body: text.into() }).unwrap(),
        &SealContext {
            case_id: case,
            item: &item_bytes,
        },
        &to,
    )
    .unwrap();
    json!({"token": b.token, "case_id": case.to_string(), "message_id": id.to_string(), "body": b64(&sealed)})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_merge_a_reporter_sees_nothing_of_the_other_reporters_material() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let (first, second) = (browser(&h).await, browser(&h).await);
        let (body, kept, _) = sealed_report(&h, &first, "gd-gz-tianhe").await;
        assert_eq!(post(&h, "/api/v1/sealed/reports", &body).await.0, 201);
        let (body, merged, _) = sealed_report(&h, &second, "gd-gz-tianhe").await;
        assert_eq!(post(&h, "/api/v1/sealed/reports", &body).await.0, 201);
        // The second reporter read their status before the merge.
        let (_, before) = post(&h, "/api/v1/sealed/status", &json!({"token": second.token})).await;
        h.db.raw(&format!(
            "UPDATE cases SET merged_into = {} WHERE id = {}",
            uuid_lit(engine, kept),
            uuid_lit(engine, merged)
        ))
        .await
        .unwrap();
        // The first reporter adds a message to the surviving case.
        let (_, status) = post(&h, "/api/v1/sealed/status", &json!({"token": first.token})).await;
        let sent = follow_up(&first, &status, &format!("第一位举报人补充 {CANARY}"));
        assert_eq!(post(&h, "/api/v1/sealed/messages", &sent).await.0, 201);

        // The second reporter now sees the surviving case, and none of the
        // first reporter's file or message: not even that they exist.
        let (_, seen) = post(&h, "/api/v1/sealed/status", &json!({"token": second.token})).await;
        assert_eq!(seen["case_id"], kept.to_string(), "{engine:?}");
        assert_eq!(seen["merged"], true);
        assert_eq!(seen["messages"].as_array().unwrap().len(), 0, "{seen}");
        assert_eq!(
            seen["display"]["message_times"].as_array().unwrap().len(),
            0
        );
        assert_eq!(
            seen["files"].as_array().unwrap().len(),
            1,
            "their own file only"
        );
        // A message sealed against the status from before the merge is
        // bound to the old case: refused, to be sealed again.
        let stale = follow_up(&second, &before, "过期的状态");
        let (got, answer) = post(&h, "/api/v1/sealed/messages", &stale).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str().unwrap()),
            (409, "sealed_stale")
        );
        let fresh = follow_up(&second, &seen, "合并后的补充");
        assert_eq!(post(&h, "/api/v1/sealed/messages", &fresh).await.0, 201);
        h.stop().await;
    }
}
