//! One report's whole life in a real browser, as its people would see it:
//! a reporter files it through the public form (with an attachment) and
//! keeps the tracking code; a supervisor of the unit signs in with
//! password and TOTP, claims it from the verify queue, records it as
//! verified, decides, gives the reporter feedback and closes it; the
//! reporter comes back with the code and reads the feedback. Run twice,
//! with JavaScript off (the way the pages are built to be used, over Tor
//! at the "safest" level) and with JavaScript on.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use crate::support;

use std::time::Duration;

use fantoccini::Client;
use support::{
    Deployment, Processes, accept_waiting, act, assert_accessible, assert_logs_clean,
    assert_no_script, browser, browser_with_javascript, find, open_only_case, queue_with, select,
    sign_in, sign_out, stage, submit, type_into,
};

const UNIT: &str = "gd-gz-tianhe";
const ACCUSED: &str = "周某某";
const NARRATIVE: &str = "2025年6月干部考察期间，周某某向考察组成员许诺提拔其亲属，\
                         换取考察意见中的优秀评价。知情人有人事科的孙某。";
const EVIDENCE: &str = "6月12日 与考察组成员的聊天记录摘录。\n";
const FEEDBACK: &str =
    "经查，您反映的周某某问题基本属实，已按程序取消其考察资格并立案调查。感谢您的监督。";

/// Returns the tracking code, for the log scan.
async fn full_path(c: &Client, d: &Deployment, dir: &std::path::Path, javascript: bool) -> String {
    // The reporter: the form, an attachment, the receipt.
    let file = dir.join("聊天记录.txt");
    std::fs::write(&file, EVIDENCE).unwrap();
    c.goto(&format!("{}/report", d.intake)).await.unwrap();
    assert_no_script(c).await;
    select(c, "select#unit", UNIT).await;
    select(c, "select#category", "office_trading").await;
    select(c, "select#accused_role", "unit_leader").await;
    select(c, "select#selection_stage", "none").await;
    type_into(c, "#accused_name", ACCUSED).await;
    type_into(c, "#narrative", NARRATIVE).await;
    type_into(
        c,
        "input[type=file][name=attachment]",
        file.to_str().unwrap(),
    )
    .await;
    submit(c, "narrative").await;
    let code = find(c, "#tracking-code").await.text().await.unwrap();
    let code = code.trim().to_owned();
    assert_eq!(code.len(), 24, "a grouped code on the receipt: {code}");

    // A supervisor of the unit, with a second factor, works it to closed.
    let supervisor = d.login("supervisor", UNIT).to_vec();
    assert_ne!(supervisor[5], "-", "supervisors sign in with TOTP");
    sign_in(c, &d.triage, &supervisor).await;
    // First the acceptance decision (受理), then the verify queue.
    accept_waiting(c, &d.triage, 1).await;
    queue_with(c, &d.triage, "verify", 1).await;
    let id = open_only_case(c).await;
    assert_eq!(stage(c).await, "verify");
    let narrative = find(c, "#narrative").await.text().await.unwrap();
    assert_eq!(
        narrative.trim(),
        NARRATIVE,
        "the sealed report, opened for staff"
    );
    let files = find(c, "#attachments").await.text().await.unwrap();
    assert!(files.contains("聊天记录.txt"), "{files}");
    act(c, "claim", &[]).await;
    select(c, "#verified-outcome", "substantiated").await;
    act(c, "verified", &[("#verified-note", "孙某证实。")]).await;
    assert_eq!(stage(c).await, "handle");
    act(c, "claim", &[]).await;
    act(
        c,
        "decided",
        &[(
            "#decided-decision",
            "取消周某某考察资格，移交纪检监察机关。",
        )],
    )
    .await;
    assert_eq!(stage(c).await, "notify");
    act(c, "claim", &[]).await;
    act(c, "feedback", &[("#feedback-message", FEEDBACK)]).await;
    act(c, "close", &[]).await;
    assert_eq!(stage(c).await, "closed");
    assert!(c.current_url().await.unwrap().path().ends_with(&id));
    let staff_pages = if javascript {
        every_page_is_accessible(c, d, &id).await
    } else {
        0
    };
    sign_out(c).await;
    if javascript {
        let more = admin_and_other_pages_are_accessible(c, d).await;
        sunlight_testkit::scorecard(
            "axe_pages",
            &format!(
                "{} pages (staff, admin, sign-in, error and public; zh-CN and English) pass axe-core 4.14.1 at WCAG 2.1 A and AA with no violation",
                staff_pages + more
            ),
        );
    }

    // The reporter comes back with the code and reads the feedback.
    c.goto(&format!("{}/status", d.intake)).await.unwrap();
    type_into(c, "input[name=code]", &code).await;
    submit(c, "code").await;
    let shown = find(c, "#stage").await;
    assert_eq!(
        shown.attr("data-stage").await.unwrap().as_deref(),
        Some("closed")
    );
    let messages = find(c, "#messages").await.text().await.unwrap();
    assert!(
        messages.contains(FEEDBACK),
        "the feedback reached the reporter: {messages}"
    );
    assert_no_script(c).await;
    code
}

/// axe-core on every page a reporter or this supervisor can open, in both
/// languages: WCAG 2.1 A and AA, no violation. With JavaScript on, as the
/// pages' DOM is the same without it until a form is sent.
async fn every_page_is_accessible(c: &Client, d: &Deployment, case: &str) -> usize {
    let staff = [
        "/queues/verify",
        "/queues/notify",
        "/cases",
        &format!("/cases/{case}"),
        "/intake",
        "/search",
        "/stats",
        "/audit",
        "/account/totp",
        "/password",
    ];
    let public = [
        "/",
        "/report",
        "/status",
        "/bulletin",
        "/log/heads",
        "/verify",
    ];
    let mut checked = 0;
    for lang in ["zh", "en"] {
        for (base, paths) in [(&d.triage, &staff[..]), (&d.intake, &public[..])] {
            for path in paths {
                c.goto(&format!("{base}{path}?lang={lang}")).await.unwrap();
                assert_accessible(c, &format!("{path} ({lang})")).await;
                checked += 1;
            }
        }
    }
    // Back where the test left off, in its language.
    c.goto(&format!("{}/cases/{case}?lang=zh", d.triage))
        .await
        .unwrap();
    checked
}

/// The sign-in page, an admin's pages and the not-found pages of both apps,
/// in both languages; ends signed out, on the sign-in page.
async fn admin_and_other_pages_are_accessible(c: &Client, d: &Deployment) -> usize {
    let mut pages = Vec::new();
    for lang in ["zh", "en"] {
        pages.push(format!("{}/login?lang={lang}", d.triage));
        pages.push(format!("{}/no-such-page?lang={lang}", d.triage));
        pages.push(format!("{}/no-such-page?lang={lang}", d.intake));
    }
    for url in &pages {
        c.goto(url).await.unwrap();
        assert_accessible(c, url).await;
    }
    let admin = d.login("admin", UNIT).to_vec();
    sign_in(c, &d.triage, &admin).await;
    let mut checked = pages.len();
    for lang in ["zh", "en"] {
        for path in ["/admin", "/admin/staff"] {
            let url = format!("{}{path}?lang={lang}", d.triage);
            c.goto(&url).await.unwrap();
            assert_accessible(c, &url).await;
            checked += 1;
        }
    }
    c.goto(&format!("{}/admin?lang=zh", d.triage))
        .await
        .unwrap();
    sign_out(c).await;
    checked
}

async fn run(javascript: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    let d = Deployment::start(
        dir.path(),
        Some("[triage]\nroute_every_seconds = 1\n"),
        &mut procs,
    )
    .await;
    let c = if javascript {
        browser_with_javascript(dir.path(), "zh-CN,zh", &mut procs).await
    } else {
        browser(dir.path(), "zh-CN,zh", &mut procs).await
    };
    let started = std::time::Instant::now();
    let code = tokio::time::timeout(
        Duration::from_secs(240),
        full_path(&c, &d, dir.path(), javascript),
    )
    .await
    .unwrap();
    let took = started.elapsed().as_secs_f64();
    c.close().await.unwrap();
    drop(procs);
    // Report text, the feedback and the code never reach the log.
    let texts = [ACCUSED, "考察组成员许诺", "聊天记录摘录", "取消其考察资格"];
    let lines = assert_logs_clean(std::slice::from_ref(&d.serve_log), &[code], &texts);
    assert!(lines > 10, "the apps logged {lines} lines at info");
    // The deployment logs JSON (SUNLIGHT_LOG_FORMAT=json): the scan above
    // parsed every line as an object.
    let log = std::fs::read_to_string(&d.serve_log).unwrap();
    assert!(log.starts_with('{'), "not a JSON log: {log}");
    let (key, js) = if javascript {
        ("full_path_js_on", "on")
    } else {
        ("full_path_js_off", "off")
    };
    sunlight_testkit::scorecard(
        key,
        &format!(
            "JavaScript {js}: filed with an attachment, verified, decided, feedback given and closed by a TOTP-signed-in supervisor, feedback read with the code, in {took:.1} s; {lines} log lines hold no code or report text"
        ),
    );
}

#[tokio::test]
async fn a_report_goes_from_the_form_to_feedback_with_javascript_off() {
    run(false).await;
}

#[tokio::test]
async fn a_report_goes_from_the_form_to_feedback_with_javascript_on() {
    run(true).await;
}
