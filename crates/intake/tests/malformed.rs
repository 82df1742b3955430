//! A corpus of malformed requests against the intake app, on SQLite and
//! PostgreSQL. Every one must be answered with a 4xx (never a 2xx or a 5xx)
//! carrying a clear, translated error — a JSON error object on `/api/…`, a
//! page with `id="errors"` elsewhere — and none may write anything.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    reason = "tests fail loudly"
)]

use crate::common;

use std::collections::HashSet;

use common::{ENGINES, Harness, report_json};
use reqwest::Method;
use sunlight_core::report::Limits;
use sunlight_intake::{IntakeSettings, RateLimits};
use sunlight_testkit::{CorpusCase, Expect, load_corpus, raw_http_exchange};

/// The same code with one digit changed (caught by the check digit).
fn mistyped(code: &str) -> String {
    let mut digits: Vec<u8> = code.bytes().filter(u8::is_ascii_digit).collect();
    digits[7] = if digits[7] == b'9' {
        b'0'
    } else {
        digits[7] + 1
    };
    String::from_utf8(digits).unwrap()
}

/// Well-formed twins of corpus cases are accepted (`corpus/accepted.txt`),
/// so each case fails for the reason it names and not for something it
/// shares with the others.
async fn controls(h: &Harness, known: &str) {
    let accepted = load_corpus(include_str!("corpus/accepted.txt"), &[("known", known)]).unwrap();
    assert!(accepted.len() >= 7, "only {} controls", accepted.len());
    for case in accepted {
        let method: Method = case.method.parse().unwrap();
        let mut req = h.client.request(method, h.url(&case.target));
        for (name, value) in &case.headers {
            req = req.header(name.as_str(), value.as_slice());
        }
        let res = req
            .body(case.body)
            .timeout(std::time::Duration::from_secs(20))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert_eq!(
            Expect::Status(status),
            case.expect,
            "control {}: {text}",
            case.name
        );
    }
}

/// The malformed corpus (`corpus/malformed.txt`) with its variables: a
/// code filed first, an unknown one, and the first with a digit changed.
fn corpus(known: &str, unknown: &str) -> Vec<CorpusCase> {
    let bad_digit = mistyped(known);
    let vars = [
        ("known", known),
        ("unknown", unknown),
        ("bad_digit", &bad_digit),
    ];
    load_corpus(include_str!("corpus/malformed.txt"), &vars).unwrap()
}

/// A raw catalog key where a translated sentence should be.
fn has_raw_key(text: &str) -> bool {
    ["errors.", "problem.", "report.", "status."]
        .iter()
        .any(|key| {
            text.match_indices(key).any(|(at, _)| {
                text.as_bytes()
                    .get(at + key.len())
                    .is_some_and(u8::is_ascii_lowercase)
            })
        })
}

/// Sends one case and checks the answer; returns what went wrong.
async fn check(h: &Harness, case: &CorpusCase) -> Result<(), String> {
    let method: Method = case
        .method
        .parse()
        .map_err(|_| "no such method".to_owned())?;
    let mut req = h.client.request(method, h.url(&case.target));
    for (name, value) in &case.headers {
        req = req.header(
            name.as_str(),
            reqwest::header::HeaderValue::from_bytes(value).unwrap(),
        );
    }
    let res = req
        .timeout(std::time::Duration::from_secs(20))
        .body(case.body.clone())
        .send()
        .await
        .map_err(|e| format!("no answer: {e:?}"))?;
    let status = res.status();
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let lang = res
        .headers()
        .get("content-language")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = res.text().await.map_err(|e| format!("no body: {e:?}"))?;
    let excerpt: String = body.chars().take(400).collect();
    if !status.is_client_error() {
        return Err(format!("status {status}, want 4xx: {excerpt}"));
    }
    if Expect::Status(status.as_u16()) != case.expect {
        return Err(format!(
            "status {status}, want {:?}: {excerpt}",
            case.expect
        ));
    }
    let english_header = case
        .headers
        .iter()
        .any(|(k, v)| k == "accept-language" && v.starts_with(b"en"));
    let want_lang = if case.target.contains("lang=en") || english_header {
        "en"
    } else {
        "zh-CN"
    };
    if lang != want_lang {
        return Err(format!("Content-Language {lang:?}, want {want_lang}"));
    }
    if case.target.starts_with("/api/") {
        if !ctype.starts_with("application/json") {
            return Err(format!("content type {ctype:?} on a JSON route: {excerpt}"));
        }
        let v: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("not JSON ({e}): {excerpt}"))?;
        let code = v["error"]["code"].as_str().unwrap_or_default();
        let message = v["error"]["message"].as_str().unwrap_or_default();
        if code.is_empty() || message.trim().is_empty() {
            return Err(format!("no error code or message: {excerpt}"));
        }
        if has_raw_key(message) || message == code {
            return Err(format!("untranslated message: {message}"));
        }
        too_large_names_the_limit(case, message)?;
    } else {
        if !ctype.starts_with("text/html") {
            return Err(format!("content type {ctype:?} on a page route: {excerpt}"));
        }
        let Some(at) = body.find("id=\"errors\"") else {
            return Err(format!("no id=\"errors\" on the page: {excerpt}"));
        };
        let section = &body[at..];
        let section = &section[..section.find("</div>").unwrap_or(section.len())];
        let text: String = section
            .split('<')
            .filter_map(|s| s.split_once('>').map(|(_, t)| t.trim()))
            .collect();
        if text.is_empty() || has_raw_key(section) {
            return Err(format!("no clear message in the errors section: {section}"));
        }
        too_large_names_the_limit(case, &text)?;
    }
    Ok(())
}

/// A body too large is told the limit it went over, as this intake runs:
/// files their 1 KB per-file limit (not the default's 20 MB), text the
/// size of text it takes, never the files' limit.
fn too_large_names_the_limit(case: &CorpusCase, message: &str) -> Result<(), String> {
    if case.expect != Expect::Status(413) {
        return Ok(());
    }
    let files = case.body.windows(9).any(|w| w == b"filename=");
    let named = if files {
        message.contains("1 KB")
    } else {
        message.contains(" KB") && !message.contains("files") && !message.contains("附件")
    };
    if named {
        Ok(())
    } else {
        Err(format!("a 413 that names the wrong limit: {message}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_request_gets_a_translated_4xx_and_writes_nothing() {
    let settings = IntakeSettings {
        limits: Limits {
            attachment_bytes: 1024,
            ..Limits::default()
        },
        rate_limits: RateLimits {
            submissions_per_minute: 60_000,
            submission_burst: 10_000,
            lookups_per_minute: 60_000,
            lookup_burst: 10_000,
            ..RateLimits::default()
        },
        ..IntakeSettings::default()
    };
    for engine in ENGINES {
        let h = Harness::start_with(engine, settings.clone()).await;
        // A real report, so message cases can name a code that exists.
        let known = h
            .file_json(report_json("gd-gz-tianhe", "ordinary", "已有的举报"))
            .await
            .to_string();
        controls(&h, &known).await;
        let unknown = sunlight_core::TrackingCode::generate().unwrap().to_string();
        let cases = corpus(&known, &unknown);
        assert!(cases.len() >= 227, "only {} cases", cases.len());
        let mut names = HashSet::new();
        let mut requests = HashSet::new();
        for case in &cases {
            assert!(
                names.insert(case.name.as_str()),
                "duplicate name {}",
                case.name
            );
            assert!(
                requests.insert((
                    case.method.as_str(),
                    case.target.as_str(),
                    &case.headers,
                    &case.body
                )),
                "{} repeats another case",
                case.name
            );
        }

        let before = h.row_counts().await;
        let mut failures = Vec::new();
        for case in &cases {
            if let Err(why) = check(&h, case).await {
                failures.push(format!("{engine:?} / {}: {why}", case.name));
            }
            let now = h.row_counts().await;
            if now != before {
                failures.push(format!(
                    "{engine:?} / {}: wrote rows: {before:?} -> {now:?}",
                    case.name
                ));
                break;
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
        assert_eq!(h.row_counts().await, before, "{engine:?}");
        // Nor on disk: spooled uploads of refused requests left nothing.
        assert!(
            std::fs::read_dir(h.spool.path()).unwrap().next().is_none(),
            "{engine:?}: files left in the spool"
        );
        sunlight_testkit::scorecard(
            &format!("intake_malformed_{engine:?}").to_lowercase(),
            &format!(
                "intake {engine:?}: {} malformed requests, all 4xx with a translated message, 0 rows written",
                cases.len()
            ),
        );
        h.stop().await;
    }
}

/// Requests an HTTP library refuses to build, sent as raw bytes
/// (`corpus/raw.txt`): header injection and folding, control bytes,
/// request smuggling, broken chunking, oversized heads. Each must be
/// answered with a 4xx, or (for bytes that are not HTTP at all) by closing
/// the connection, never with 2xx, 3xx or 5xx — and a smuggled second
/// request must never be served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_requests_no_client_library_would_send_get_a_4xx_and_write_nothing() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let addr = h.base.trim_start_matches("http://").to_owned();
        let before = h.row_counts().await;
        let cases = load_corpus(include_str!("corpus/raw.txt"), &[]).unwrap();
        assert!(cases.len() >= 26, "only {} raw cases", cases.len());
        let mut failures = Vec::new();
        let mut closed = 0;
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        for case in &cases {
            let (addr, request, name) = (addr.clone(), case.body.clone(), &case.name);
            let answers = tokio::task::spawn_blocking(move || raw_http_exchange(&addr, &request))
                .await
                .unwrap();
            if answers.is_empty() {
                closed += 1;
                // Only bytes that are not an HTTP/1.1 request at all may
                // go unanswered; anything that reads as one gets a 400.
                if case.expect != Expect::ClientErrorOrClosed {
                    failures.push(format!("{engine:?} / {name}: closed without an answer"));
                }
            }
            for (status, _) in &answers {
                *statuses.entry(*status).or_insert(0) += 1;
            }
            for (status, head) in &answers {
                if !(400..500).contains(status) {
                    failures.push(format!("{engine:?} / {name}: {head}"));
                }
                if head.to_ascii_lowercase().contains("x-injected")
                    || head.contains("Set-Cookie: x=1")
                {
                    failures.push(format!(
                        "{engine:?} / {name}: injected header echoed: {head}"
                    ));
                }
            }
            if h.row_counts().await != before {
                failures.push(format!("{engine:?} / {name}: wrote rows"));
                break;
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // Still healthy for a well-formed request.
        let res = h.client.get(h.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        sunlight_testkit::scorecard(
            &format!("intake_raw_{engine:?}").to_lowercase(),
            &format!(
                "intake {engine:?}: {} raw requests, answers {statuses:?}, {closed} closed unanswered (not HTTP), 0 other, 0 rows written",
                cases.len(),
            ),
        );
        h.stop().await;
    }
}

/// The corpus format (`sunlight_testkit::load_corpus`) reads what the
/// corpora use and refuses, naming the line, what it cannot read.
#[test]
fn the_corpus_format_reads_escapes_variables_and_repeats_and_names_bad_lines() {
    let text = "# a comment\n\n=== one\nPOST /x?c=${v} 422\ncontent-type: a\\x20b\n| a\\r\\n\n|\n| ${repeat 3 \\xFF}\\$${v}\n=== two\nRAW - -\n";
    let cases = load_corpus(text, &[("v", "1-2")]).unwrap();
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0].target, "/x?c=1-2");
    assert_eq!(cases[0].expect, Expect::Status(422));
    assert_eq!(
        cases[0].headers,
        vec![("content-type".to_owned(), b"a b".to_vec())]
    );
    assert_eq!(cases[0].body, b"a\r\n\xFF\xFF\xFF$1-2".to_vec());
    assert_eq!(cases[1].expect, Expect::ClientErrorOrClosed);
    for (bad, says) in [
        ("=== a\nGET / 200\n=== a\nGET / 200\n", "line 3"),
        ("=== a\nGET /\n", "line 2"),
        ("=== a\nGET / 200\n| \\q\n", "line 3"),
        ("=== a\nGET / 200\n| ${nope}\n", "line 3"),
        ("=== a\n", "no request line"),
        ("stray\n", "line 1"),
        ("=== a\nGET / 200\n| x \n", "line 3"),
        ("=== a\nGET / 200\n| x\nX-Late: y\n", "line 4"),
    ] {
        let e = load_corpus(bad, &[]).unwrap_err();
        assert!(e.contains(says), "{bad:?}: {e}");
    }
}
