//! The intake app over real HTTP, on SQLite and PostgreSQL: filing by form
//! and JSON, codes, status and messages, sealing for the right units only.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use crate::common;

use common::{ENGINES, Harness, code_in_page, report_form, report_json};
use sunlight_core::crypto::{SealContext, seal};
use sunlight_core::report::{MessageContent, encode_padded, item};
use sunlight_core::{Stage, TrackingCode};
use sunlight_intake::{IntakeSettings, RateLimits};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_and_json_reports_are_filed_sealed_and_readable_by_the_right_units() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;

        // HTML form, urlencoded.
        let res = h
            .client
            .post(h.url("/report"))
            .form(&report_form("gd-gz-tianhe", "表单举报内容"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{engine:?}");
        assert_eq!(res.headers()["cache-control"], "no-store");
        let page = res.text().await.unwrap();
        let code = code_in_page(&page);
        let case = h.case_of(&code).await;
        assert_eq!(case.unit.as_str(), "gd-gz-tianhe");
        assert_eq!(case.stage, Stage::Received);
        // Every unit up the chain can open it, a sibling city cannot.
        for unit in ["gd-gz-tianhe", "gd-gz", "gd"] {
            let content = h.open_report(&case, unit).unwrap();
            assert_eq!(content.narrative, "表单举报内容");
            assert_eq!(content.accused_name, "赵六");
        }
        assert!(h.open_report(&case, "gd-sz").is_err());
        // The reporter's own key opens it too.
        let reporter = h.stretcher.stretch(&code).unwrap().reporter_secret;
        assert!(
            sunlight_core::crypto::open(
                &case.sealed_report,
                &SealContext {
                    case_id: case.id,
                    item: item::REPORT
                },
                &reporter
            )
            .is_ok()
        );

        // JSON.
        let code2 = h
            .file_json(report_json("gd-gz", "unit_leader", "JSON 举报"))
            .await;
        let case2 = h.case_of(&code2).await;
        assert_eq!(case2.unit.as_str(), "gd-gz");
        assert_eq!(h.open_report(&case2, "gd").unwrap().narrative, "JSON 举报");
        assert!(h.open_report(&case2, "gd-gz-tianhe").is_err());
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_person_reports_skip_the_chosen_unit() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        for role in ["party_secretary", "org_dept_head"] {
            let code = h
                .file_json(report_json("gd-gz-tianhe", role, "关于书记"))
                .await;
            let case = h.case_of(&code).await;
            assert_eq!(case.unit.as_str(), "gd-gz", "{role} goes up a level");
            assert_eq!(case.addressed_unit.as_str(), "gd-gz-tianhe");
            assert!(h.open_report(&case, "gd-gz-tianhe").is_err(), "{role}");
            assert!(h.open_report(&case, "gd-gz").is_ok());
            assert!(h.open_report(&case, "gd").is_ok());
        }
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_find_status_and_mistyped_or_unknown_codes_do_not() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let code = h.file_json(report_json("gd-gz", "ordinary", "x")).await;
        let shown = code.to_string();

        // Spaces, dashes or neither.
        for typed in [
            shown.clone(),
            shown.replace('-', " "),
            shown.replace('-', ""),
        ] {
            let res = h
                .client
                .post(h.url("/api/v1/status"))
                .json(&serde_json::json!({ "code": typed }))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let v: serde_json::Value = res.json().await.unwrap();
            assert_eq!(v["stage"], "received");
            assert!(v["deadline"].is_string());
        }

        // One digit changed: caught by the check digit before any lookup.
        let digits: Vec<u8> = shown.bytes().filter(u8::is_ascii_digit).collect();
        let mut wrong = digits.clone();
        wrong[7] = if wrong[7] == b'9' { b'0' } else { wrong[7] + 1 };
        let wrong = String::from_utf8(wrong).unwrap();
        let res = h
            .client
            .post(h.url("/api/v1/status"))
            .json(&serde_json::json!({ "code": wrong }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        let v: serde_json::Value = res.json().await.unwrap();
        assert_eq!(v["error"]["code"], "check_digit");

        // Same on the page, in English.
        let res = h
            .client
            .post(h.url("/status?lang=en"))
            .form(&[("code", wrong.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        let page = res.text().await.unwrap();
        assert!(page.contains("id=\"errors\""));
        assert!(page.contains("mistyped"));

        // A well-formed code nobody holds: 404, same answer on the page.
        let unknown = TrackingCode::generate().unwrap().to_string();
        let res = h
            .client
            .post(h.url("/api/v1/status"))
            .json(&serde_json::json!({ "code": unknown }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        let v: serde_json::Value = res.json().await.unwrap();
        assert_eq!(v["error"]["code"], "unknown_code");
        let res = h
            .client
            .post(h.url("/status"))
            .form(&[("code", unknown.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reporter_and_staff_messages_show_on_the_status_page() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let code = h
            .file_json(report_json("gd-gz-tianhe", "ordinary", "x"))
            .await;
        let case = h.case_of(&code).await;

        // The reporter adds information by JSON and by the form.
        let res = h
            .client
            .post(h.url("/api/v1/status/messages"))
            .json(&serde_json::json!({"code": code.to_string(), "body": "补充：时间是三月"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let res = h
            .client
            .post(h.url("/status/messages"))
            .form(&[
                ("code", code.to_string()),
                ("body", "第二条补充".to_owned()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("id=\"sent\""));

        // Staff can read the reporter's message with the unit key.
        let msgs = h.db.store.messages(case.id).await.unwrap();
        assert_eq!(msgs.len(), 2);
        let first = &msgs[0];
        let plain = sunlight_core::crypto::open(
            &first.sealed_body,
            &SealContext {
                case_id: case.id,
                item: &item::message(first.id),
            },
            h.key("gd-gz-tianhe"),
        )
        .unwrap();
        let m: MessageContent = sunlight_core::report::decode_padded(&plain).unwrap();
        assert_eq!(m.body, "补充：时间是三月");

        // Staff answer, sealed to the unit and the reporter's key.
        let reporter_public = h.stretcher.stretch(&code).unwrap().reporter_public();
        let id = uuid::Uuid::now_v7();
        let sealed = seal(
            &encode_padded(&MessageContent {
                body: "请提供更多线索".into(),
            })
            .unwrap(),
            &SealContext {
                case_id: case.id,
                item: &item::message(id),
            },
            &[h.key("gd-gz-tianhe").public(), reporter_public],
        )
        .unwrap();
        h.db.store
            .add_message_with(
                case.id,
                id,
                Some(uuid::Uuid::new_v4()),
                sealed,
                Vec::new(),
                chrono::Utc::now(),
            )
            .await
            .unwrap();

        let res = h
            .client
            .post(h.url("/api/v1/status"))
            .json(&serde_json::json!({ "code": code.to_string() }))
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = res.json().await.unwrap();
        let msgs = v["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[0]["from"], "reporter");
        assert_eq!(msgs[2]["from"], "staff");
        assert_eq!(msgs[2]["body"], "请提供更多线索");

        let page = h
            .client
            .post(h.url("/status"))
            .form(&[("code", code.to_string())])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("请提供更多线索"));
        assert!(page.contains("第二条补充"));
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_stream_in_sealed_and_open_for_staff() {
    use sunlight_core::crypto::AttachmentOpener;
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        // 1 MiB + 3 bytes: several full chunks and a short last one.
        let data: Vec<u8> = (0..(1024 * 1024 + 3))
            .map(|i: u32| (i % 251) as u8)
            .collect();
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in report_form("gd-gz", "带附件") {
            form = form.text(k, v);
        }
        form = form.part(
            "attachment",
            reqwest::multipart::Part::bytes(data.clone())
                // A right-to-left override would display "证据nib.exe" as
                // "证据exe.bin"; it is gone before the name is sealed.
                .file_name("../../证据\u{202E}nib.exe")
                .mime_str("application/octet-stream")
                .unwrap(),
        );
        // An empty file input, as browsers send it.
        form = form.part(
            "attachment",
            reqwest::multipart::Part::bytes(Vec::new()).file_name(""),
        );
        let res = h
            .client
            .post(h.url("/report"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let code = code_in_page(&res.text().await.unwrap());
        let case = h.case_of(&code).await;
        let atts = h.db.store.attachments_of(case.id).await.unwrap();
        assert_eq!(atts.len(), 1);
        let a = &atts[0];
        assert_eq!(a.chunk_count, 17);
        let back = h.open_attachment(&case, a, "gd").await;
        assert_eq!(back, data);
        // The file name is sealed and cleaned of its path.
        let meta_item = item::attachment_meta(a.id);
        let meta = sunlight_core::crypto::open(
            &a.sealed_meta,
            &SealContext {
                case_id: case.id,
                item: &meta_item,
            },
            h.key("gd-gz"),
        )
        .unwrap();
        let meta: sunlight_core::report::AttachmentMeta =
            sunlight_core::report::decode_padded(&meta).unwrap();
        assert_eq!(meta.file_name, "证据nib.exe");
        assert_eq!(meta.size, data.len() as u64);
        // Outside the chain: no.
        let ctx_item = item::attachment(a.id);
        let ctx = SealContext {
            case_id: case.id,
            item: &ctx_item,
        };
        assert!(AttachmentOpener::start(&a.stream_header, &ctx, h.key("gd-sz")).is_err());

        // The reporter sees the file listed on the status page.
        let page = h
            .client
            .post(h.url("/status"))
            .form(&[("code", code.to_string())])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("证据nib.exe"));
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_forms_come_back_refilled_with_every_error_listed() {
    let h = Harness::start(sunlight_testkit::Engine::Sqlite).await;
    let before = h.row_counts().await;
    let mut form = report_form("gd-nowhere", "保留我写的内容");
    form.retain(|(k, _)| *k != "accused_name");
    let res = h
        .client
        .post(h.url("/report?lang=en"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"errors\""));
    assert!(page.contains("no such unit"));
    assert!(page.contains("Name: required"));
    assert!(page.contains("保留我写的内容"), "narrative refilled");
    assert!(page.contains("aria-invalid=\"true\""));
    assert_eq!(h.row_counts().await, before);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers_and_no_cookie() {
    let settings = IntakeSettings {
        onion_location: Some("http://exampleonionaddressxyz.onion".into()),
        ..IntakeSettings::default()
    };
    let h = Harness::start_with(sunlight_testkit::Engine::Sqlite, settings).await;
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/report"),
        ("GET", "/status"),
        ("GET", "/bulletin"),
        ("GET", "/healthz"),
        ("GET", "/api/v1/units"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/no/such/page"),
        ("DELETE", "/report"),
    ] {
        let res = h
            .client
            .request(method.parse().unwrap(), h.url(path))
            .send()
            .await
            .unwrap();
        let hd = res.headers();
        assert!(
            hd["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'self'"),
            "{path}"
        );
        assert!(
            hd["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(hd["referrer-policy"], "no-referrer");
        assert_eq!(hd["x-content-type-options"], "nosniff");
        assert!(hd.contains_key("permissions-policy"));
        assert!(!hd.contains_key("set-cookie"), "{path}");
        if hd["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
        {
            assert_eq!(
                hd["onion-location"],
                format!("http://exampleonionaddressxyz.onion{path}").as_str()
            );
        }
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_in_the_reporters_language_and_store_nothing() {
    let settings = IntakeSettings {
        rate_limits: RateLimits {
            submissions_per_minute: 1,
            submission_burst: 2,
            lookups_per_minute: 1,
            lookup_burst: 1,
            ..RateLimits::default()
        },
        ..IntakeSettings::default()
    };
    let h = Harness::start_with(sunlight_testkit::Engine::Sqlite, settings).await;
    h.file_json(report_json("gd", "ordinary", "1")).await;
    h.file_json(report_json("gd", "ordinary", "2")).await;
    let before = h.row_counts().await;
    let res = h
        .client
        .post(h.url("/report?lang=en"))
        .form(&report_form("gd", "3"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("wait a minute"));
    let res = h
        .client
        .post(h.url("/api/v1/reports"))
        .json(&report_json("gd", "ordinary", "4"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(h.row_counts().await, before);
    h.stop().await;
}

/// A message names a code: once the lookup bucket is spent, posting
/// messages with guessed codes is refused too (429), on both routes, even
/// though the submission bucket still has tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_spend_the_lookup_budget_so_they_cannot_guess_codes() {
    let settings = IntakeSettings {
        rate_limits: RateLimits {
            submissions_per_minute: 1,
            submission_burst: 100,
            lookups_per_minute: 1,
            lookup_burst: 2,
            ..RateLimits::default()
        },
        ..IntakeSettings::default()
    };
    let h = Harness::start_with(sunlight_testkit::Engine::Sqlite, settings).await;
    let guess = "1234-5678-9012-3456-7897";
    let mut answers = Vec::new();
    for _ in 0..2 {
        let res = h
            .client
            .post(h.url("/api/v1/status/messages"))
            .json(&serde_json::json!({"code": guess, "body": "猜"}))
            .send()
            .await
            .unwrap();
        answers.push(res.status().as_u16());
    }
    let res = h
        .client
        .post(h.url("/status/messages?lang=en"))
        .form(&[("code", guess), ("body", "猜")])
        .send()
        .await
        .unwrap();
    answers.push(res.status().as_u16());
    assert_ne!(answers[0], 429, "{answers:?}");
    assert_ne!(answers[1], 429, "{answers:?}");
    assert_eq!(answers[2], 429, "{answers:?}");
    // The submission bucket is untouched by that refusal: a report still goes in.
    h.file_json(report_json("gd", "ordinary", "after")).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_lists_every_json_route() {
    let h = Harness::start(sunlight_testkit::Engine::Sqlite).await;
    let doc: serde_json::Value = h
        .client
        .get(h.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/reports",
        "/api/v1/status",
        "/api/v1/status/messages",
        "/api/v1/units",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    let units: serde_json::Value = h
        .client
        .get(h.url("/api/v1/units"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(units.as_array().unwrap().len(), 4);
    h.stop().await;
}

/// A zip bomb: `python3`'s zipfile deflates 1 GiB of zeros into about a
/// megabyte. Built at test time so no bomb sits in the repository.
fn zip_bomb() -> Vec<u8> {
    let script = r"
import io, sys, zipfile
b = io.BytesIO()
with zipfile.ZipFile(b, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    with z.open('zeros.bin', 'w', force_zip64=True) as f:
        block = bytes(1 << 20)
        for _ in range(1024):
            f.write(block)
sys.stdout.buffer.write(b.getvalue())
";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Evidence is stored, never opened: a zip bomb is accepted as the bytes
/// it is, sealed as they arrive, and gives back exactly those bytes to
/// staff. Nothing in intake unpacks, previews or scans a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_bomb_is_stored_as_its_bytes_and_never_unpacked() {
    let bomb = zip_bomb();
    assert!(bomb.len() < 4 << 20, "the bomb is {} bytes", bomb.len());
    assert_eq!(&bomb[..4], b"PK\x03\x04");
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in report_form("gd-gz", "附件是压缩包") {
            form = form.text(k, v);
        }
        form = form.part(
            "attachment",
            reqwest::multipart::Part::bytes(bomb.clone())
                .file_name("证据.zip")
                .mime_str("application/zip")
                .unwrap(),
        );
        let started = std::time::Instant::now();
        let res = h
            .client
            .post(h.url("/report"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(res.status(), 200);
        let code = code_in_page(&res.text().await.unwrap());
        let case = h.case_of(&code).await;
        let atts = h.db.store.attachments_of(case.id).await.unwrap();
        assert_eq!(atts.len(), 1);
        let stored = h.open_attachment(&case, &atts[0], "gd-gz").await;
        assert!(stored == bomb, "the stored file differs from the upload");
        let chunks = atts[0].chunk_count;
        assert_eq!(u64::from(chunks), (bomb.len() as u64).div_ceil(64 * 1024));
        sunlight_testkit::scorecard(
            &format!("zip_bomb_{engine:?}").to_lowercase(),
            &format!(
                "{engine:?}: a {} byte zip of 1 GiB of zeros stored as {chunks} sealed chunks in {:.0} ms, bit for bit",
                bomb.len(),
                took.as_secs_f64() * 1000.0
            ),
        );
        h.stop().await;
    }
}

/// The accused's unit may run the network the reporter used: no stored
/// time of a report's or a reporter message's arrival is finer than its
/// day — not the case, not its id, not the message, not the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrival_is_kept_to_the_day_only() {
    let policy = sunlight_core::policy::Policy::cn_12380();
    let day_of = |t: chrono::DateTime<chrono::Utc>| policy.start_of_local_day(t);
    let id_time = |id: uuid::Uuid| {
        let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
        chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap(), nanos).unwrap()
    };
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let code = h
            .file_json(report_json("gd-gz", "ordinary", "到达时间只记到日"))
            .await;
        let res = h
            .client
            .post(h.url("/api/v1/status/messages"))
            .json(&serde_json::json!({"code": code.to_string(), "body": "补充一句"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let answer: serde_json::Value = res.json().await.unwrap();
        let case = h.case_of(&code).await;
        let id = common::case_id(&case);
        let received = case.received_at;
        assert_eq!(
            received,
            day_of(received),
            "{engine:?}: received_at has a time of day"
        );
        assert!(chrono::Utc::now() - received < chrono::Duration::hours(25));
        assert_eq!(
            id_time(id.as_uuid()),
            received,
            "the case id carries the moment"
        );
        assert_eq!(answer["received_at"], serde_json::json!(received));
        let messages = h.db.store.messages(id).await.unwrap();
        assert_eq!(messages.len(), 1);
        for m in &messages {
            assert_eq!(m.created_at, day_of(m.created_at), "message time");
            assert_eq!(id_time(m.id), m.created_at, "message id");
        }
        let audit = sunlight_testkit::audit_of_case(&h.db.store, id)
            .await
            .unwrap();
        assert!(audit.len() >= 2, "{audit:?}");
        for (action, at) in &audit {
            assert_eq!(*at, day_of(*at), "audit {action} carries the moment");
        }
        h.stop().await;
    }
}

/// Sends a POST's head declaring `length` body bytes and `sent` of them;
/// returns the status the server answered with (0 if it only closed) and
/// how long that took.
fn post_head(base: &str, length: u64, sent: &[u8]) -> (u16, std::time::Duration) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /report HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {length}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(sent).unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let status = String::from_utf8_lossy(&answer)
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, started.elapsed())
}

/// Uploads cannot fill the disk faster than the byte budget (refused by
/// their declared size before a byte is read), and a body that stalls
/// loses its request instead of holding a worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_have_a_byte_budget_and_stalled_bodies_end() {
    let settings = IntakeSettings {
        rate_limits: RateLimits {
            upload_mib_per_minute: 150,
            ..RateLimits::default()
        },
        body_read_timeout_seconds: 2,
        ..IntakeSettings::default()
    };
    let h = Harness::start_with(sunlight_testkit::Engine::Sqlite, settings).await;
    let before = h.row_counts().await;
    let base = h.base.clone();
    let (status, took) = tokio::task::spawn_blocking(move || {
        post_head(
            &base,
            100 * 1024 * 1024,
            b"--XyZ\r\nContent-Disposition: form-data; name=\"unit\"\r\n\r\ngd",
        )
    })
    .await
    .unwrap();
    eprintln!("stalled upload answered {status} after {took:?}");
    assert!(
        took < std::time::Duration::from_secs(10),
        "a stalled body held on for {took:?}"
    );
    assert!((400..500).contains(&status) || status == 0, "{status}");
    // 100 MiB of the minute's 150 are spent: another 100 MiB is refused
    // before its body is read, with the reporter's message.
    let base = h.base.clone();
    let (status, took) =
        tokio::task::spawn_blocking(move || post_head(&base, 100 * 1024 * 1024, b""))
            .await
            .unwrap();
    assert_eq!(status, 429, "the byte budget let a second 100 MiB in");
    assert!(took < std::time::Duration::from_secs(1));
    // A small report still goes through.
    let res = h
        .client
        .post(h.url("/api/v1/reports"))
        .json(&report_json("gd-gz", "ordinary", "预算内的小举报"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let after = h.row_counts().await;
    assert_ne!(before, after, "the small report was stored");
    h.stop().await;
}
