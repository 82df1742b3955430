//! Hostile requests against the staff app, on SQLite and PostgreSQL: no
//! session, forged session cookies, missing or wrong CSRF tokens, the wrong
//! role, another unit's case, malformed and path-traversing ids, method
//! confusion, broken, oversized, deeply nested and mistyped JSON, forms
//! without their token. Every one gets a 4xx — never a 2xx, 3xx or 5xx —
//! no row is written anywhere, and the app still answers afterwards.
//! (The intake app's corpus is crates/intake/tests/malformed.rs.)

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use crate::common;

use common::{ENGINES, Harness, email};
use reqwest::Method;
use serde_json::json;
use sunlight_testkit::query_text;

/// Who sends a request.
#[derive(Clone, Copy)]
enum Who {
    Nobody,
    /// A session cookie nobody was given.
    Forged(&'static str),
    /// Tianhe's verifier with a valid token: only the request is wrong.
    Verifier,
    /// Tianhe's verifier, without the CSRF header.
    NoCsrf,
    /// Tianhe's verifier with a CSRF token of the wrong session.
    WrongCsrf,
    /// Shenzhen's verifier: a sibling unit.
    Sibling,
    /// Tianhe's intake officer (may not claim or act).
    Desk,
    /// Tianhe's admin (may not work cases).
    Admin,
    /// A verifier session that has ended (signed out), its cookie and CSRF
    /// token replayed as a thief who copied them would.
    Ended,
}

struct Case {
    name: String,
    who: Who,
    method: Method,
    path: String,
    /// Content type and body.
    body: Option<(&'static str, Vec<u8>)>,
}

fn case(name: impl Into<String>, who: Who, method: Method, path: impl Into<String>) -> Case {
    Case {
        name: name.into(),
        who,
        method,
        path: path.into(),
        body: None,
    }
}

fn with_body(mut c: Case, content_type: &'static str, body: impl Into<Vec<u8>>) -> Case {
    c.body = Some((content_type, body.into()));
    c
}

/// Every table a request could write to.
async fn row_counts(h: &Harness) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for table in [
        "cases",
        "messages",
        "attachments",
        "queue_entries",
        "transitions",
        "holds",
        "audit_log",
        "outbox",
        "staff",
        "units",
    ] {
        let n = query_text(&h.db.store, &format!("SELECT COUNT(*) FROM {table}"))
            .await
            .unwrap();
        out.push((table.to_owned(), n));
    }
    out
}

fn corpus(case_id: &str, sibling_case: &str) -> Vec<Case> {
    let mut v = Vec::new();
    let state_changing = [
        (Method::POST, format!("/api/v1/cases/{case_id}/claim"), "{}".to_owned()),
        (
            Method::POST,
            format!("/api/v1/cases/{case_id}/transitions"),
            json!({"action": "verified", "note": "x"}).to_string(),
        ),
        (
            Method::POST,
            format!("/api/v1/cases/{case_id}/messages"),
            json!({"body": "问题"}).to_string(),
        ),
        (
            Method::POST,
            format!("/api/v1/cases/{case_id}/comments"),
            json!({"body": "内部意见"}).to_string(),
        ),
        (
            Method::POST,
            "/api/v1/intake".to_owned(),
            json!({"unit": "gd-gz-tianhe", "category": "other", "accused": {"name": "某", "position": "", "role": "ordinary"}, "selection_stage": "none", "narrative": "x", "real_name": false, "reporter": {"name": "", "phone": ""}, "channel": "phone"}).to_string(),
        ),
        (
            Method::POST,
            "/api/v1/staff".to_owned(),
            json!({"email": "new@gd-gz-tianhe.test", "role": "verifier"}).to_string(),
        ),
        (
            Method::POST,
            "/api/v1/password".to_owned(),
            json!({"current_password": "whatever it was", "new_password": "a brand new passphrase"})
                .to_string(),
        ),
        (Method::DELETE, "/api/v1/session".to_owned(), String::new()),
    ];
    let reads = [
        "/api/v1/queues/verify".to_owned(),
        "/api/v1/cases".to_owned(),
        "/api/v1/cases?stage=closed&page=2".to_owned(),
        "/api/v1/queues/handle".to_owned(),
        format!("/api/v1/cases/{case_id}"),
        "/api/v1/stats".to_owned(),
        "/api/v1/staff".to_owned(),
        format!("/api/v1/cases/{case_id}/attachments/00000000-0000-0000-0000-000000000000"),
    ];
    // No session, and three forged cookies, on every API route.
    for who in [
        Who::Nobody,
        Who::Forged("sunlight_staff=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        Who::Forged("sunlight_staff=../../etc/passwd"),
        Who::Forged("sunlight_staff=; sunlight_staff=x"),
    ] {
        let tag = match who {
            Who::Forged(c) => format!("forged {c}"),
            _ => "no session".to_owned(),
        };
        for (m, p, b) in &state_changing {
            v.push(with_body(
                case(format!("{tag}: {m} {p}"), who, m.clone(), p.clone()),
                "application/json",
                b.clone(),
            ));
        }
        for p in &reads {
            v.push(case(format!("{tag}: GET {p}"), who, Method::GET, p.clone()));
        }
    }
    // A session that ended: its cookie and token open nothing any more.
    for (m, p, b) in &state_changing {
        v.push(with_body(
            case(
                format!("ended session: {m} {p}"),
                Who::Ended,
                m.clone(),
                p.clone(),
            ),
            "application/json",
            b.clone(),
        ));
    }
    for p in &reads {
        v.push(case(
            format!("ended session: GET {p}"),
            Who::Ended,
            Method::GET,
            p.clone(),
        ));
    }
    // Signed in, but the state change lacks its CSRF token or has another's.
    for who in [Who::NoCsrf, Who::WrongCsrf] {
        let tag = if matches!(who, Who::NoCsrf) {
            "no csrf"
        } else {
            "wrong csrf"
        };
        for (m, p, b) in &state_changing {
            v.push(with_body(
                case(format!("{tag}: {m} {p}"), who, m.clone(), p.clone()),
                "application/json",
                b.clone(),
            ));
        }
        for (p, form) in [
            ("/logout", String::new()),
            (
                "/password",
                "current_password=x&new_password=a+brand+new+passphrase".to_owned(),
            ),
            (
                &*format!("/cases/{case_id}/actions"),
                "action=claim".to_owned(),
            ),
            (&*format!("/cases/{case_id}/messages"), "body=x".to_owned()),
            (&*format!("/cases/{case_id}/comments"), "body=x".to_owned()),
            ("/admin/staff", "email=x%40y.test&role=verifier".to_owned()),
            ("/intake", "unit=gd-gz-tianhe&narrative=x".to_owned()),
        ] {
            v.push(with_body(
                case(
                    format!("{tag}: form POST {p}"),
                    who,
                    Method::POST,
                    p.to_owned(),
                ),
                "application/x-www-form-urlencoded",
                form,
            ));
        }
    }
    // The wrong role for the action.
    for (who, tag) in [(Who::Desk, "intake officer"), (Who::Admin, "admin")] {
        v.push(with_body(
            case(
                format!("{tag}: claim"),
                who,
                Method::POST,
                format!("/api/v1/cases/{case_id}/claim"),
            ),
            "application/json",
            "{}",
        ));
        for action in ["verified", "decided", "closed", "merged", "extended"] {
            v.push(with_body(
                case(
                    format!("{tag}: {action}"),
                    who,
                    Method::POST,
                    format!("/api/v1/cases/{case_id}/transitions"),
                ),
                "application/json",
                json!({"action": action, "note": "x", "decision": "x", "reason": "x", "into": sibling_case}).to_string(),
            ));
        }
    }
    // The register: admins list no case; nothing outside the caller's
    // units, no value a filter does not take.
    v.push(case(
        "admin: the register",
        Who::Admin,
        Method::GET,
        "/api/v1/cases",
    ));
    v.push(case(
        "sibling unit: the register of another unit",
        Who::Sibling,
        Method::GET,
        "/api/v1/cases?unit=gd-gz-tianhe",
    ));
    for q in [
        "page=0",
        "page=99999999999999999999",
        "from=%2B262143-12-31",
        "to=-262143-01-01",
        "from=%2010000-01-01",
        "from=2026-1-1",
        "colour=red",
        "number=%3Cscript%3E",
        "owner=%00",
        "stage=closed&stage=verify",
    ] {
        for path in ["/api/v1/cases", "/cases"] {
            v.push(case(
                format!("hostile register query: {path}?{q}"),
                Who::NoCsrf,
                Method::GET,
                format!("{path}?{q}"),
            ));
        }
    }
    // Another unit's case: Shenzhen's verifier on Tianhe's, by every route.
    for (m, p) in [
        (Method::GET, format!("/api/v1/cases/{case_id}")),
        (Method::POST, format!("/api/v1/cases/{case_id}/claim")),
        (Method::POST, format!("/api/v1/cases/{case_id}/transitions")),
        (Method::POST, format!("/api/v1/cases/{case_id}/messages")),
        (Method::POST, format!("/api/v1/cases/{case_id}/comments")),
        (Method::GET, format!("/cases/{case_id}")),
        (
            Method::GET,
            format!("/api/v1/cases/{case_id}/attachments/00000000-0000-0000-0000-000000000001"),
        ),
    ] {
        v.push(with_body(
            case(format!("sibling unit: {m} {p}"), Who::Sibling, m, p),
            "application/json",
            json!({"action": "verified", "note": "x", "body": "x"}).to_string(),
        ));
    }
    // Ids that are not ids.
    let bad_ids = [
        "not-a-uuid",
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2f%2e%2e%2fadmin",
        "00000000-0000-0000-0000-000000000000",
        "0193e0a5-7b1c-7def-8000-00000000000g",
        "1%27%20OR%20%271%27%3D%271",
        "%00",
        "%E5%A4%A9%E6%B2%B3",
        &"9".repeat(300),
        "-1",
    ];
    for id in bad_ids {
        for (m, p) in [
            (Method::GET, format!("/api/v1/cases/{id}")),
            (Method::POST, format!("/api/v1/cases/{id}/claim")),
            (Method::POST, format!("/api/v1/cases/{id}/transitions")),
            (Method::GET, format!("/cases/{id}")),
        ] {
            v.push(with_body(
                case(format!("bad id {id:.20}: {m} {p:.40}"), Who::NoCsrf, m, p),
                "application/json",
                json!({"action": "verified"}).to_string(),
            ));
        }
    }
    // Queues and charts that do not exist.
    for p in [
        "/api/v1/queues/closed",
        "/api/v1/queues/notify2",
        "/api/v1/queues/..%2Fverify",
        "/api/v1/queues/VERIFY",
        "/queues/nothing",
        "/stats/charts/..%2F..%2Fetc%2Fpasswd",
        "/stats/charts/volume.png",
        "/static/..%2F..%2FCargo.toml",
        "/api/v2/queues/verify",
        "/api/v1/cases/",
    ] {
        v.push(case(
            format!("no such resource: GET {p}"),
            Who::NoCsrf,
            Method::GET,
            p,
        ));
    }
    // Method confusion on every kind of route.
    for p in [
        "/api/v1/session".to_owned(),
        "/api/v1/password".to_owned(),
        "/api/v1/queues/verify".to_owned(),
        format!("/api/v1/cases/{case_id}"),
        format!("/api/v1/cases/{case_id}/claim"),
        "/api/v1/intake".to_owned(),
        "/api/v1/staff".to_owned(),
        "/login".to_owned(),
        "/logout".to_owned(),
        "/healthz".to_owned(),
    ] {
        for m in [
            Method::PUT,
            Method::PATCH,
            Method::from_bytes(b"PROPFIND").unwrap(),
        ] {
            v.push(case(format!("method {m} {p}"), Who::NoCsrf, m, p.clone()));
        }
    }
    // Bodies no JSON route may accept, each sent with a valid token so only
    // the body is wrong.
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let huge = json!({"body": "字".repeat(200_000)}).to_string();
    let bodies: Vec<(&str, &'static str, Vec<u8>)> = vec![
        ("empty", "application/json", Vec::new()),
        ("not json", "application/json", b"action=verified".to_vec()),
        (
            "truncated",
            "application/json",
            br#"{"action": "verif"#.to_vec(),
        ),
        ("array", "application/json", b"[1,2,3]".to_vec()),
        ("string", "application/json", br#""verified""#.to_vec()),
        ("null", "application/json", b"null".to_vec()),
        ("nested 100k", "application/json", nested.into_bytes()),
        ("over 256 KiB", "application/json", huge.into_bytes()),
        (
            "invalid utf-8",
            "application/json",
            vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'],
        ),
        (
            "wrong types",
            "application/json",
            br#"{"action": 7, "note": ["x"]}"#.to_vec(),
        ),
        (
            "unknown action",
            "application/json",
            br#"{"action": "delete_everything"}"#.to_vec(),
        ),
        (
            "text/plain",
            "text/plain",
            br#"{"action": "verified"}"#.to_vec(),
        ),
        (
            "form",
            "application/x-www-form-urlencoded",
            b"action=verified".to_vec(),
        ),
        (
            "xml",
            "application/xml",
            b"<action>verified</action>".to_vec(),
        ),
        (
            "duplicate keys",
            "application/json",
            br#"{"action": "verified", "action": "closed"}"#.to_vec(),
        ),
    ];
    for (label, ct, body) in &bodies {
        for p in [
            format!("/api/v1/cases/{case_id}/transitions"),
            format!("/api/v1/cases/{case_id}/messages"),
            format!("/api/v1/cases/{case_id}/comments"),
            "/api/v1/intake".to_owned(),
            "/api/v1/staff".to_owned(),
        ] {
            v.push(with_body(
                case(
                    format!("body {label}: POST {p}"),
                    Who::Verifier,
                    Method::POST,
                    p,
                ),
                ct,
                body.clone(),
            ));
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_request_gets_a_4xx_and_writes_nothing() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let (_code, case_id) = desk
            .file("gd-gz-tianhe", "ordinary", "none", "天河的举报")
            .await;
        let sz_desk = h.sign_in(&email("intake", "gd-sz")).await;
        let (_code, sibling_case) = sz_desk
            .file("gd-sz", "ordinary", "none", "深圳的举报")
            .await;
        let verifier = h.sign_in(&email("verifier", "gd-gz-tianhe")).await;
        let sibling = h.sign_in(&email("verifier", "gd-sz")).await;
        let admin = h.sign_in(&email("admin", "gd-gz-tianhe")).await;
        let ended = h.sign_in(&email("verifier", "gd-gz-tianhe")).await;
        let signed_out = ended
            .client
            .delete(h.url("/api/v1/session"))
            .header("X-CSRF-Token", &ended.csrf)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(signed_out, 204, "sign-out");
        let cases = corpus(&case_id, &sibling_case);
        assert!(cases.len() >= 230, "only {} cases", cases.len());

        let anonymous = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let before = row_counts(&h).await;
        let mut failures = Vec::new();
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        for c in &cases {
            let (client, csrf) = match c.who {
                Who::Nobody | Who::Forged(_) => (&anonymous, None),
                Who::Verifier => (&verifier.client, Some(verifier.csrf.as_str())),
                Who::NoCsrf => (&verifier.client, None),
                Who::WrongCsrf => (&verifier.client, Some(sibling.csrf.as_str())),
                Who::Sibling => (&sibling.client, Some(sibling.csrf.as_str())),
                Who::Desk => (&desk.client, Some(desk.csrf.as_str())),
                Who::Admin => (&admin.client, Some(admin.csrf.as_str())),
                Who::Ended => (&anonymous, Some(ended.csrf.as_str())),
            };
            let mut req = client
                .request(c.method.clone(), format!("{}{}", h.base, c.path))
                .header("Accept-Language", "en");
            if let Who::Forged(cookie) = c.who {
                req = req.header("Cookie", cookie);
            }
            if let Who::Ended = c.who {
                req = req.header("Cookie", &ended.cookie);
            }
            if let Some(token) = csrf {
                req = req.header("X-CSRF-Token", token);
            }
            if let Some((ct, body)) = &c.body {
                req = req.header("Content-Type", *ct).body(body.clone());
            }
            let status = req.send().await.unwrap().status().as_u16();
            *statuses.entry(status).or_default() += 1;
            if !(400..500).contains(&status) {
                failures.push(format!("{engine:?} / {}: {status}", c.name));
            }
            let now = row_counts(&h).await;
            if now != before {
                failures.push(format!(
                    "{engine:?} / {}: wrote rows {before:?} -> {now:?}",
                    c.name
                ));
                break;
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
        // Still healthy, and the sessions that were attacked still work.
        let (s, _) = verifier.get("/api/v1/queues/verify").await;
        assert_eq!(s, 200);
        assert_eq!(
            anonymous
                .get(h.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        sunlight_testkit::scorecard(
            &format!("triage_hostile_{engine:?}").to_lowercase(),
            &format!(
                "triage {engine:?}: {} hostile requests, statuses {statuses:?}, 0 rows written",
                cases.len()
            ),
        );
        h.stop().await;
    }
}

/// Requests no HTTP library would send, against the staff app over a raw
/// socket: a sign-in or a staff account smuggled behind a request with both
/// Content-Length and Transfer-Encoding, a session cookie or CSRF header
/// folded in or split by a bare CR, control bytes, broken chunking and
/// oversized heads. Only 4xx answers, no smuggled request served, 0 rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_requests_against_the_staff_app_get_a_4xx_and_write_nothing() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let admin = h.sign_in(&email("admin", "gd-gz-tianhe")).await;
        let addr = h.base.trim_start_matches("http://").to_owned();
        let cookie = admin.cookie.clone();
        let csrf = admin.csrf.clone();
        let new_staff =
            json!({"email": "smuggled@gd-gz-tianhe.test", "role": "verifier"}).to_string();
        let smuggled = format!(
            "POST /api/v1/staff HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{new_staff}",
            new_staff.len()
        );
        let post = |path: &str, head: &str, body: &str| -> Vec<u8> {
            format!("POST {path} HTTP/1.1\r\nHost: x\r\n{head}\r\n{body}").into_bytes()
        };
        let authed = format!(
            "Cookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Type: application/json\r\n"
        );
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "CL and TE, a staff account smuggled behind",
                post("/api/v1/staff", &format!("{authed}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), &format!("0\r\n\r\n{smuggled}")),
            ),
            (
                "TE then CL, a staff account smuggled behind",
                post("/api/v1/session", "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\nContent-Length: 3\r\n", &format!("0\r\n\r\n{smuggled}")),
            ),
            (
                "two Content-Lengths",
                post("/api/v1/staff", &format!("{authed}Content-Length: 2\r\nContent-Length: 60\r\n"), "{}"),
            ),
            (
                "CSRF token folded onto the previous line",
                post("/api/v1/staff", &format!("Cookie: {cookie}\r\nContent-Type: application/json\r\n X-CSRF-Token: {csrf}\r\nContent-Length: {}\r\n", new_staff.len()), &new_staff),
            ),
            (
                "cookie split by a bare CR",
                post("/api/v1/staff", &format!("Cookie: x=1\r{cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", new_staff.len()), &new_staff),
            ),
            (
                "NUL in the cookie",
                post("/api/v1/staff", &format!("Cookie: {cookie}\0\r\nX-CSRF-Token: {csrf}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", new_staff.len()), &new_staff),
            ),
            (
                "chunk size overflowing 64 bits",
                post("/api/v1/staff", &format!("{authed}Transfer-Encoding: chunked\r\n"), "fffffffffffffffffffff\r\n{}\r\n0\r\n\r\n"),
            ),
            (
                "Content-Length of a petabyte",
                post("/api/v1/staff", &format!("{authed}Content-Length: 1000000000000000\r\n"), "{}"),
            ),
            ("control byte in the method", b"DE\x01LETE /api/v1/session HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
            ("NUL in the path", b"GET /api/v1/ca\0ses HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
            (
                "a 64 KiB cookie",
                format!("GET /api/v1/queues/verify HTTP/1.1\r\nHost: x\r\nCookie: sunlight_staff={}\r\n\r\n", "A".repeat(64 * 1024)).into_bytes(),
            ),
            (
                "encoded traversal",
                b"GET /static/..%2f..%2f..%2fCargo.toml HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            ),
        ];
        let before = row_counts(&h).await;
        let mut failures = Vec::new();
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        for (name, request) in &cases {
            let (addr, request) = (addr.clone(), request.clone());
            let answers = tokio::task::spawn_blocking(move || {
                sunlight_testkit::raw_http_exchange(&addr, &request)
            })
            .await
            .unwrap();
            if answers.is_empty() {
                failures.push(format!("{engine:?} / {name}: closed without an answer"));
            }
            for (status, head) in &answers {
                *statuses.entry(*status).or_default() += 1;
                if !(400..500).contains(status) {
                    failures.push(format!("{engine:?} / {name}: {head}"));
                }
            }
            if row_counts(&h).await != before {
                failures.push(format!("{engine:?} / {name}: wrote rows"));
                break;
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        let (s, _) = admin.get("/api/v1/staff").await;
        assert_eq!(s, 200, "the admin's session still works");
        // Control: the smuggled request, sent on its own, does create the
        // account — so had it been served above, rows would have changed.
        let alone = tokio::task::spawn_blocking(move || {
            sunlight_testkit::raw_http_exchange(&addr, smuggled.as_bytes())
        })
        .await
        .unwrap();
        assert!(
            alone.first().is_some_and(|(s, _)| (200..300).contains(s)),
            "{alone:?}"
        );
        assert_ne!(row_counts(&h).await, before, "the control wrote nothing");
        sunlight_testkit::scorecard(
            &format!("triage_raw_{engine:?}").to_lowercase(),
            &format!(
                "triage {engine:?}: {} raw requests, answers {statuses:?}, 0 other, no smuggled request served, 0 rows written",
                cases.len()
            ),
        );
        h.stop().await;
    }
}
