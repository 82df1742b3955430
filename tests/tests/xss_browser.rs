//! XSS payloads in every field a reporter controls (accused's name and
//! position, narrative, reporter's name, a follow-up message) reach the
//! staff's case page as inert text — checked in headless Chromium with
//! JavaScript **on**, so an injected script would run if the escaping or
//! the CSP failed: the page title stays, no injected element exists, the
//! payload shows as the characters the reporter typed, and every triage
//! page carries `script-src 'none'`.

use crate::support;

use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::json;
use support::{Deployment, Processes, browser_with_javascript, file_report, find, sign_in};

/// Each would set the title or add a marked element if it ever ran or
/// parsed as markup.
const PAYLOADS: [&str; 5] = [
    "<script>document.title='pwned'</script>",
    "\"><img src=x id=xss1 onerror=\"document.title='pwned'\">",
    "<svg id=xss2 onload=\"document.title='pwned'\"></svg>",
    "</textarea></dd><iframe id=xss3 src=\"javascript:parent.document.title='pwned'\"></iframe>",
    "<a id=xss4 href=\"javascript:document.title='pwned'\">x</a>{{7*7}}${7*7}",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xss_in_every_reported_field_stays_text_in_the_staff_pages() {
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    let live = Deployment::start(
        dir.path(),
        Some("[triage]\nroute_every_seconds = 1\n"),
        &mut procs,
    )
    .await;
    let code = file_report(
        &live.intake,
        json!({
            "unit": "gd-gz-tianhe", "category": "promoted_with_problems",
            "accused": {"name": PAYLOADS[0], "position": PAYLOADS[1], "role": "ordinary"},
            "selection_stage": "publicity",
            "narrative": format!("{}\n{}\n{}", PAYLOADS[2], PAYLOADS[3], PAYLOADS[4]),
            "real_name": true, "reporter": {"name": PAYLOADS[1], "phone": "13800000000"}
        }),
    )
    .await;
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/status/messages", live.intake))
        .json(&json!({"code": code, "body": PAYLOADS[0]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    let c = browser_with_javascript(dir.path(), "zh-CN", &mut procs).await;
    let verifier = live.login("verifier", "gd-gz-tianhe").to_vec();
    sign_in(&c, &live.triage, &verifier).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        c.goto(&format!("{}/queues/received", live.triage))
            .await
            .unwrap();
        if !c
            .find_all(Locator::Css("tr[data-case] a.case-number"))
            .await
            .unwrap()
            .is_empty()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the report never reached the queue"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let title = c.title().await.unwrap();
    find(&c, "tr[data-case] a.case-number")
        .await
        .click()
        .await
        .unwrap();
    find(&c, "#narrative").await;
    // Scripts are allowed in this browser; give any injected one a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let case_title = c.title().await.unwrap();
    assert!(
        !case_title.contains("pwned"),
        "a payload ran: title {case_title:?}"
    );
    assert!(
        !title.contains("pwned"),
        "a payload ran in the queue: {title:?}"
    );
    for id in ["xss1", "xss2", "xss3", "xss4"] {
        let injected = c.find_all(Locator::Css(&format!("#{id}"))).await.unwrap();
        assert!(injected.is_empty(), "payload element #{id} became markup");
    }
    // What the reporter typed is shown, character for character.
    let accused = find(&c, "#accused-name").await.text().await.unwrap();
    assert_eq!(accused, PAYLOADS[0]);
    let reporter = find(&c, "#reporter-name").await.text().await.unwrap();
    assert_eq!(reporter, PAYLOADS[1]);
    let narrative = find(&c, "#narrative").await.text().await.unwrap();
    for p in &PAYLOADS[2..] {
        assert!(
            narrative.contains(p),
            "{p} not shown as text in {narrative:?}"
        );
    }
    let page = c.source().await.unwrap();
    assert!(
        page.matches("&lt;script&gt;document.title=").count() >= 2,
        "report and message payloads escaped"
    );
    assert!(
        !page.contains("<script>document.title"),
        "raw payload in the page"
    );

    // The CSP that would stop a script even if escaping failed.
    for path in ["/login", "/queues/verify"] {
        let res = reqwest::get(format!("{}{path}", live.triage))
            .await
            .unwrap();
        let csp = res
            .headers()
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("no CSP on {path}"))
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("script-src 'none'"), "{path}: {csp}");
    }
}
