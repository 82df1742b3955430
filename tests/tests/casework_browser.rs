//! The daily casework of #18 in Chromium with JavaScript off, intake and
//! triage over one database: a report filed through the public form, the
//! reporter's reply through the status page, the unread mark and the one
//! notice mail once the reply's day is over, the staff's answer and the
//! case closed through the case page's forms, the reporter's rating with
//! an objection through the status page, and the re-examination task on
//! the queue page of the unit above, which answers it from the case page;
//! then a letter entered at the desk with a scanned page, its receipt slip,
//! and the audit log with its chain intact. Screenshots of the rating form,
//! the task list, the slip and the audit log go to `docs/screenshots/`.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::sync::Arc;

use chrono::{Duration as Days, Utc};
use fantoccini::Client;
use sunlight_casework::{MailStyle, Sweeper};
use sunlight_core::calendar::Calendar;
use sunlight_core::i18n::Lang;
use sunlight_core::policy::Policy;
use sunlight_testkit::Engine;

use crate::e2e::Live;
use crate::support::{
    Processes, act, assert_no_script, browser, find, open_only_case, queue_with, screenshot,
    select, sign_in, sign_out, stage, submit, submit_css, type_into,
};

const REPLY: &str = "补充：此人任职前未经公示。";
const ANSWER: &str = "收到，我们会一并核实。";
const FEEDBACK: &str = "经查，反映的问题不属实。";
const OBJECTION: &str = "核查时没有找知情人核实，请求复查。";

/// The public form, as a reporter without JavaScript fills it; the code.
async fn file_through_the_form(c: &Client, intake: &str) -> String {
    c.goto(&format!("{intake}/report")).await.unwrap();
    assert_no_script(c).await;
    select(c, "select#unit", "gd-gz").await;
    select(c, "select#category", "rushed_promotion").await;
    select(c, "select#accused_role", "ordinary").await;
    select(c, "select#selection_stage", "none").await;
    type_into(c, "#accused_name", "郑某").await;
    type_into(c, "#narrative", "郑某任职不满一年即被提拔为副局长。").await;
    submit(c, "narrative").await;
    let code = find(c, "#tracking-code").await.text().await.unwrap();
    code.trim().to_owned()
}

/// The status page of `code`, looked up through the form.
async fn status_page(c: &Client, intake: &str, code: &str) {
    c.goto(&format!("{intake}/status")).await.unwrap();
    type_into(c, "input[name=code]", code).await;
    submit(c, "code").await;
    assert_no_script(c).await;
}

async fn sweeper_notices_the_reply(live: &Live) {
    let sweeper = Sweeper::new(
        live.db.store.clone(),
        Arc::new(Policy::cn_12380()),
        Arc::new(Calendar::cn()),
        MailStyle {
            lang: Lang::ZhCn,
            link_base: live.triage.clone(),
        },
    );
    // Not the same day (the reply's moment stays unknown), then once.
    assert_eq!(sweeper.notify_replies(Utc::now()).await.unwrap(), 0);
    let later = Utc::now() + Days::days(2);
    assert_eq!(sweeper.notify_replies(later).await.unwrap(), 1);
    assert_eq!(sweeper.notify_replies(later).await.unwrap(), 0);
    let mails: Vec<(String, String)> = live
        .db
        .store
        .outbox_all()
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind.as_deref() == Some("reply"))
        .map(|m| (m.recipient, m.body))
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].0, "verifier@gd-gz.test");
    assert!(
        !mails[0].1.contains(REPLY),
        "a notice says that, never what"
    );
}

/// Waits for the next 30-second TOTP step: the harness signed every
/// member in through the API at start, and a code is taken once.
async fn next_totp_step() {
    let step = || Utc::now().timestamp() / 30;
    let first = step();
    while step() == first {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

async fn walk(c: &Client, live: &Live) {
    let (verifier, supervisor, province) = (&live.logins[0], &live.logins[1], &live.logins[2]);
    let code = file_through_the_form(c, &live.intake).await;
    // The desk (gd-gz's supervisor, signed in to the API) accepts it.
    crate::reexamination::routed(live, 1).await;
    sign_in(c, &live.triage, verifier).await;
    queue_with(c, &live.triage, "verify", 1).await;
    let id = open_only_case(c).await;
    act(c, "claim", &[]).await;
    sign_out(c).await;

    // The reporter replies through the status page.
    status_page(c, &live.intake, &code).await;
    type_into(c, "#body", REPLY).await;
    submit(c, "body").await;
    find(c, "#sent").await;
    sweeper_notices_the_reply(live).await;

    // The owner sees the mark, reads the reply, answers, verifies.
    sign_in(c, &live.triage, verifier).await;
    queue_with(c, &live.triage, "verify", 1).await;
    let mark = find(c, &format!("tr[data-case='{id}'] .unread")).await;
    assert_eq!(
        mark.attr("data-unread").await.unwrap().as_deref(),
        Some("1")
    );
    open_only_case(c).await;
    let messages = find(c, "#messages").await.text().await.unwrap();
    assert!(messages.contains(REPLY), "{messages}");
    type_into(c, "#reply-body", ANSWER).await;
    submit(c, "body").await;
    select(c, "#verified-outcome", "unsubstantiated").await;
    act(c, "verified", &[]).await;
    sign_out(c).await;
    next_totp_step().await;
    sign_in(c, &live.triage, supervisor).await;
    c.goto(&format!("{}/cases/{id}", live.triage))
        .await
        .unwrap();
    act(c, "claim", &[]).await;
    act(c, "decided", &[("#decided-decision", "不予处理。")]).await;
    sign_out(c).await;
    sign_in(c, &live.triage, verifier).await;
    c.goto(&format!("{}/cases/{id}", live.triage))
        .await
        .unwrap();
    act(c, "claim", &[]).await;
    act(c, "feedback", &[("#feedback-message", FEEDBACK)]).await;
    act(c, "close", &[]).await;
    assert_eq!(stage(c).await, "closed");
    sign_out(c).await;

    // The reporter reads the answer and the feedback, rates, objects.
    status_page(c, &live.intake, &code).await;
    let messages = find(c, "#messages").await.text().await.unwrap();
    assert!(
        messages.contains(ANSWER) && messages.contains(FEEDBACK),
        "{messages}"
    );
    find(c, "#rating-dissatisfied").await.click().await.unwrap();
    type_into(c, "#objection", OBJECTION).await;
    screenshot(c, "intake-rating-zh").await;
    submit_css(c, "#rating-form").await;
    find(c, "#rated-sent").await;
    let rated = find(c, "#rated").await.text().await.unwrap();
    assert!(
        rated.contains("不满意") && rated.contains("复查"),
        "{rated}"
    );
    assert!(
        c.find(fantoccini::Locator::Css("#rating-form"))
            .await
            .is_err(),
        "rated once: no form any more"
    );

    // The unit above sees the re-examination among its tasks and answers.
    sign_in(c, &live.triage, province).await;
    c.goto(&format!("{}/queues/verify", live.triage))
        .await
        .unwrap();
    let row = find(c, "#tasks tr[data-task='reexamine']").await;
    let text = row.text().await.unwrap();
    assert!(text.contains("复查") && text.contains("gd"), "{text}");
    screenshot(c, "triage-tasks-zh").await;
    row.find(fantoccini::Locator::Css("a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    find(c, "#stage").await;
    let case = find(c, "#messages").await.text().await.unwrap();
    assert!(
        case.contains(OBJECTION),
        "the objection reaches the unit above"
    );
    act(
        c,
        "uphold",
        &[("#uphold-message", "经复查，维持原处理意见。")],
    )
    .await;
    let tasks = find(c, "#tasks").await.text().await.unwrap();
    assert!(tasks.contains("维持原处理意见"), "{tasks}");
    // The pre-appointment check of the accused, then a search by words.
    c.goto(&format!("{}/search", live.triage)).await.unwrap();
    assert_no_script(c).await;
    type_into(c, "#check-name", "郑 某").await;
    submit_css(c, "#check-form").await;
    let hits = find(c, "#hits").await.text().await.unwrap();
    assert!(hits.contains("郑某") && hits.contains("不属实"), "{hits}");
    screenshot(c, "triage-check-zh").await;
    type_into(c, "#search-text", "副局长").await;
    submit_css(c, "#search-form").await;
    find(c, "#hits").await;
    screenshot(c, "triage-search-zh").await;
    c.goto(&format!("{}/search?lang=en", live.triage))
        .await
        .unwrap();
    type_into(c, "#check-name", "王五").await;
    submit_css(c, "#check-form").await;
    find(c, "#no-hits").await;
    screenshot(c, "triage-check-en").await;
    desk_letter_and_audit(c, live).await;
    sign_out(c).await;
    status_page(c, &live.intake, &code).await;
    let messages = find(c, "#messages").await.text().await.unwrap();
    assert!(messages.contains("经复查"), "{messages}");
}

/// The province supervisor enters a letter with a scanned page at the
/// desk and gets the receipt slip, then reads the audit log, whose chain
/// holds (#18 items 11 and 12).
async fn desk_letter_and_audit(c: &Client, live: &Live) {
    c.goto(&format!("{}/intake", live.triage)).await.unwrap();
    assert_no_script(c).await;
    select(c, "select#channel", "letter").await;
    select(c, "select#unit", "gd-gz").await;
    select(c, "select#category", "office_trading").await;
    select(c, "select#accused_role", "ordinary").await;
    select(c, "select#selection_stage", "none").await;
    type_into(c, "#accused_name", "冯某").await;
    type_into(c, "#narrative", "来信反映冯某跑官要官，附信件扫描件。").await;
    type_into(c, "#return_address", "广州市越秀区某路 9 号").await;
    let scan = std::env::temp_dir().join(format!("letter-{}.pdf", std::process::id()));
    std::fs::write(&scan, b"%PDF-1.4 a scanned letter").unwrap();
    find(c, "#attachment")
        .await
        .send_keys(scan.to_str().unwrap())
        .await
        .unwrap();
    submit_css(c, "form[action^='/intake']").await;
    let slip = find(c, "#slip").await.text().await.unwrap();
    assert!(
        slip.contains("举报登记回执") && slip.contains("来信"),
        "{slip}"
    );
    // Stamped by the desk's own unit (the province), not the city the
    // letter is about.
    let unit = find(c, "#slip-unit").await.text().await.unwrap();
    assert_eq!(unit.trim(), "gd", "{slip}");
    assert!(!slip.contains("gd-gz"), "{slip}");
    let code = find(c, "#tracking-code").await.text().await.unwrap();
    assert_eq!(code.trim().len(), 24, "{code}");
    screenshot(c, "triage-slip-zh").await;
    std::fs::remove_file(&scan).unwrap();

    c.goto(&format!("{}/audit", live.triage)).await.unwrap();
    assert_no_script(c).await;
    let chain = find(c, "#chain").await;
    assert_eq!(
        chain.attr("data-intact").await.unwrap().as_deref(),
        Some("true")
    );
    let entries = find(c, "#audit-entries").await.text().await.unwrap();
    assert!(entries.contains("case.received"), "{entries}");
    screenshot(c, "triage-audit-zh").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_unread_notice_rating_and_reexamination_in_a_browser_without_javascript() {
    let live = Live::start(Engine::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    let c = browser(dir.path(), "zh-CN,zh", &mut procs).await;
    tokio::time::timeout(std::time::Duration::from_secs(240), walk(&c, &live))
        .await
        .unwrap();
    c.close().await.unwrap();
    drop(procs);
    live.stop().await;
}
