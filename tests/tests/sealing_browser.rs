//! Browser sealing seen from the wire: headless Chromium with JavaScript on
//! files a report (with a file) and a follow-up through a recording proxy
//! in front of intake, which keeps every byte the browser sends. Neither
//! the canaries typed into the form nor the tracking code appear in any
//! request line, header or body. The same with JavaScript off still works,
//! and there the recorder does see the canaries (so it would have caught
//! them). Both runs read their own follow-up back on the status page,
//! and check their filing receipt on /verify once a head includes it: in
//! the browser with script (no receipt crosses to the server), by the
//! server without.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fantoccini::{Client, Locator};
use support::{
    Deployment, Processes, assert_accessible, assert_no_script, browser, browser_with_javascript,
    find, select, submit, type_into,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CANARY_TEXT: &str = "CANARY-narrative-5d1e";
const CANARY_NAME: &str = "CANARY-accused-9b27";
const CANARY_FILE: &str = "CANARY-file-contents-44c0";
const CANARY_REPLY: &str = "CANARY-follow-up-e8a3";

/// A reverse proxy on a free port that forwards to `upstream` and records
/// everything clients send.
pub(crate) async fn recording_proxy(upstream: String) -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let Ok(mut server) = TcpStream::connect(&upstream).await else {
                continue;
            };
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let (mut cr, mut cw) = client.split();
                let (mut sr, mut sw) = server.split();
                let up = async {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = cr.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            let _closed = sw.shutdown().await;
                            return;
                        }
                        record.lock().unwrap().extend_from_slice(&buf[..n]);
                        if sw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                };
                let down = async {
                    let _done = tokio::io::copy(&mut sr, &mut cw).await;
                };
                tokio::join!(up, down);
            });
        }
    });
    (format!("http://{addr}"), seen)
}

/// Files the report through the form; returns the code from the receipt.
async fn file_report(c: &Client, base: &str, dir: &std::path::Path, js: bool) -> (String, String) {
    let file = dir.join("evidence.txt");
    std::fs::write(&file, format!("{CANARY_FILE}\n").repeat(3000)).unwrap();
    c.goto(&format!("{base}/report")).await.unwrap();
    assert_no_script(c).await;
    select(c, "select#unit", "gd-gz-tianhe").await;
    select(c, "select#category", "canvassing_bribery").await;
    select(c, "select#accused_role", "ordinary").await;
    select(c, "select#selection_stage", "inspection").await;
    type_into(c, "#accused_name", CANARY_NAME).await;
    type_into(c, "#narrative", &format!("拉票。{CANARY_TEXT}")).await;
    type_into(
        c,
        "input[type=file][name=attachment]",
        file.to_str().unwrap(),
    )
    .await;
    if js {
        assert_accessible(c, "report form, JavaScript on").await;
    }
    submit(c, "narrative").await;
    let code = find(c, "#tracking-code").await.text().await.unwrap();
    if js {
        assert_accessible(c, "receipt drawn by the script").await;
    }
    (code.trim().to_owned(), filing_receipt(c).await)
}

/// The filing receipt on the receipt page (drawn by the script, or the
/// server): the printed text, and the same as the file to save.
async fn filing_receipt(c: &Client) -> String {
    let text = find(c, "#receipt .receipt-text")
        .await
        .text()
        .await
        .unwrap();
    let receipt: sunlight_core::log::Receipt = serde_json::from_str(&text).unwrap();
    assert_eq!(receipt.version, 1);
    let save = find(c, "#receipt a[download]").await;
    let href = save.attr("href").await.unwrap().unwrap();
    let file = href.strip_prefix("data:application/json;base64,").unwrap();
    let file = data_encoding::BASE64.decode(file.as_bytes()).unwrap();
    assert_eq!(String::from_utf8(file).unwrap(), text);
    let name = save.attr("download").await.unwrap().unwrap();
    assert_eq!(name, format!("receipt-{}.json", receipt.leaf.day));
    text
}

/// Checks the receipt on /verify, after a head that includes it: in the
/// browser with script (the page stays, the result is drawn into it), by
/// the server without. Every step passes, in the page's language.
async fn verify_receipt(c: &Client, base: &str, receipt: &str, js: bool) {
    c.goto(&format!("{base}/verify")).await.unwrap();
    type_into(c, "#receipt-field", receipt).await;
    find(c, "form[data-verify] button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    let result = c
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("#verify-result"))
        .await
        .unwrap();
    let checked = result.attr("data-checked").await.unwrap();
    assert_eq!(checked.as_deref(), js.then_some("browser"));
    assert_eq!(
        find(c, "#verdict").await.text().await.unwrap(),
        "回执核验通过。"
    );
    let passed = c
        .find_all(Locator::Css("#verify-result li.ok"))
        .await
        .unwrap();
    let all = c.find_all(Locator::Css("#verify-result li")).await.unwrap();
    assert_eq!(
        (passed.len(), all.len()),
        (4, 4),
        "signature, heads, consistency, inclusion"
    );
    if js {
        assert_accessible(c, "receipt checked by the script").await;
    }
    // The same receipt with its promise altered: the verdict turns, drawn
    // the same way (and with script, the earlier verdict is gone).
    let mut v: serde_json::Value = serde_json::from_str(receipt).unwrap();
    let mut promise: Vec<char> = v["promise"].as_str().unwrap().chars().collect();
    promise[0] = if promise[0] == '0' { '1' } else { '0' };
    v["promise"] = serde_json::Value::String(promise.into_iter().collect());
    let altered = serde_json::to_string_pretty(&v).unwrap();
    assert_ne!(altered, receipt);
    let field = find(c, "#receipt-field").await;
    field.clear().await.unwrap();
    field.send_keys(&altered).await.unwrap();
    find(c, "form[data-verify] button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    let failed = "回执核验未通过：请看未通过的那一项。";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        // Without script the form's answer is a new page: while it loads,
        // the old page may be gone and the new one not there yet.
        let verdict = match c.find(Locator::Css("#verdict")).await {
            Ok(verdict) => verdict.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if verdict == failed {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no failed verdict");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let result = find(c, "#verify-result").await;
    assert_eq!(
        result.attr("data-checked").await.unwrap().as_deref(),
        js.then_some("browser")
    );
}

/// Looks the report up, sends a follow-up, and reads it back.
async fn follow_up(c: &Client, base: &str, code: &str, js: bool) {
    c.goto(&format!("{base}/status")).await.unwrap();
    type_into(c, "input[name=code]", code).await;
    submit(c, "code").await;
    if js {
        assert_accessible(c, "status drawn by the script").await;
    }
    // Drawn (by the script, or the server): the report's stage, which
    // routing may have moved on by now.
    let stage = find(c, "#stage").await.attr("data-stage").await.unwrap();
    assert!(
        matches!(stage.as_deref(), Some("received" | "verify")),
        "{stage:?}"
    );
    // The report's entry in the log, in the head published after it was
    // filed: its index and a proof of some hashes.
    let index = find(c, "#inclusion-index").await.text().await.unwrap();
    assert!(index.parse::<u64>().is_ok(), "{index}");
    let path = c
        .find_all(Locator::Css("#inclusion-path code"))
        .await
        .unwrap();
    assert!(!path.is_empty());
    assert!(c.find(Locator::Css("#inclusion-pending")).await.is_err());
    type_into(c, "textarea[name=body]", &format!("补充：{CANARY_REPLY}")).await;
    submit(c, "body").await;
    find(c, "#sent").await;
    let messages = find(c, "#messages").await.text().await.unwrap();
    assert!(messages.contains(CANARY_REPLY), "{messages}");
    if js {
        assert_accessible(c, "status page after a reply").await;
    }
}

async fn run(javascript: bool) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    let d = Deployment::start(dir.path(), None, &mut procs).await;
    let (base, seen) = recording_proxy(d.intake.trim_start_matches("http://").to_owned()).await;
    let c = if javascript {
        browser_with_javascript(dir.path(), "zh-CN,zh", &mut procs).await
    } else {
        browser(dir.path(), "zh-CN,zh", &mut procs).await
    };
    let code = tokio::time::timeout(Duration::from_secs(120), async {
        let (code, receipt) = file_report(&c, &base, dir.path(), javascript).await;
        let published = d.run(&["log", "publish"]);
        assert!(published.starts_with("head: size "), "{published}");
        follow_up(&c, &base, &code, javascript).await;
        verify_receipt(&c, &base, &receipt, javascript).await;
        code
    })
    .await
    .unwrap();
    c.close().await.unwrap();
    let wire = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    (code, wire)
}

fn digits(code: &str) -> String {
    code.chars().filter(char::is_ascii_digit).collect()
}

#[tokio::test]
async fn with_javascript_on_no_request_carries_the_text_the_files_or_the_code() {
    let (code, wire) = run(true).await;
    assert_eq!(code.len(), 24, "a grouped code on the receipt: {code}");
    assert!(
        wire.contains("POST /api/v1/sealed/reports"),
        "the sealed path was taken"
    );
    assert!(wire.contains("POST /api/v1/sealed/messages"));
    assert!(
        !wire.contains("POST /report"),
        "the form was not posted in the clear"
    );
    assert!(
        wire.contains("GET /api/v1/log/proof?") && !wire.contains("POST /verify"),
        "the receipt was checked in the browser"
    );
    for secret in [
        CANARY_TEXT,
        CANARY_NAME,
        CANARY_FILE,
        CANARY_REPLY,
        &code,
        &digits(&code),
    ] {
        assert!(!wire.contains(secret), "{secret} crossed the wire");
    }
    sunlight_testkit::scorecard(
        "sealing_wire_js_on",
        &format!(
            "JavaScript on: report, file and follow-up sealed in Chromium; {} KiB of requests recorded, none holds a canary or the code",
            wire.len() / 1024
        ),
    );
}

#[tokio::test]
async fn with_javascript_off_the_same_forms_still_work_and_the_recorder_sees_them() {
    let (code, wire) = run(false).await;
    assert_eq!(code.len(), 24);
    assert!(!wire.contains("/api/v1/sealed/"), "no script ran");
    assert!(
        wire.contains("POST /verify"),
        "the server checked the receipt"
    );
    // The control: this recorder sees a clear form when there is one.
    for secret in [CANARY_TEXT, CANARY_REPLY] {
        assert!(wire.contains(secret), "the recorder missed {secret}");
    }
}
