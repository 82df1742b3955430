//! A report outside the remit, in a real browser with JavaScript off: the
//! reporter files it through the public form; a supervisor of the unit
//! opens it from the acceptance queue and refers it to the police with a
//! message; it never reaches a verify queue; the reporter comes back with
//! the code and reads where it went, why, and where to turn for a review.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use crate::support;

use std::time::Duration;

use fantoccini::{Client, Locator};
use support::{
    Deployment, Processes, act, assert_no_script, browser, find, open_only_case, queue_with,
    screenshot, select, sign_in, stage, submit, type_into,
};

const UNIT: &str = "gd-gz-tianhe";
const NARRATIVE: &str = "邻居王某某多次盗窃小区电动车，派出所一直没有处理。";
const MESSAGE: &str = "您反映的是涉嫌盗窃的治安和刑事问题，不属于组织部门12380受理范围，已转交区公安分局处理，您也可以拨打110或向派出所反映。";

async fn referral(c: &Client, d: &Deployment) {
    c.goto(&format!("{}/report", d.intake)).await.unwrap();
    select(c, "select#unit", UNIT).await;
    select(c, "select#category", "other").await;
    select(c, "select#accused_role", "ordinary").await;
    select(c, "select#selection_stage", "none").await;
    type_into(c, "#accused_name", "王某某").await;
    type_into(c, "#narrative", NARRATIVE).await;
    submit(c, "narrative").await;
    let code = find(c, "#tracking-code").await.text().await.unwrap();
    let code = code.trim().to_owned();

    let supervisor = d.login("supervisor", UNIT).to_vec();
    sign_in(c, &d.triage, &supervisor).await;
    queue_with(c, &d.triage, "received", 1).await;
    open_only_case(c).await;
    assert_eq!(stage(c).await, "received");
    // The message comes pre-filled from the template; this one is the desk's own.
    let message = find(c, "#refer-message").await;
    assert!(
        !message
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
            .is_empty()
    );
    message.clear().await.unwrap();
    select(c, "#refer-to", "public_security").await;
    act(c, "refer", &[("#refer-message", MESSAGE)]).await;
    assert_eq!(stage(c).await, "closed");
    let facts = find(c, "#disposition")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(
        facts.contains("转交") && facts.contains("公安机关"),
        "{facts}"
    );
    assert_no_script(c).await;
    // Never in a verify queue.
    c.goto(&format!("{}/queues/verify", d.triage))
        .await
        .unwrap();
    let rows = c.find_all(Locator::Css("tr[data-case]")).await.unwrap();
    assert!(
        rows.is_empty(),
        "a referred report waits for no verification"
    );

    // The reporter reads where it went.
    c.goto(&format!("{}/status", d.intake)).await.unwrap();
    type_into(c, "input[name=code]", &code).await;
    submit(c, "code").await;
    assert_eq!(
        find(c, "#stage")
            .await
            .attr("data-stage")
            .await
            .unwrap()
            .as_deref(),
        Some("closed")
    );
    let result = find(c, "#result").await.text().await.unwrap();
    assert!(
        result.contains("公安机关") && result.contains("转交"),
        "{result}"
    );
    let messages = find(c, "#messages").await.text().await.unwrap();
    assert!(messages.contains(MESSAGE), "{messages}");
    let review = find(c, "#review-avenue").await.text().await.unwrap();
    assert!(
        review.contains("12380") && review.contains("广州"),
        "{review}"
    );
    assert_no_script(c).await;
    screenshot(c, "intake-status-referred").await;
}

#[tokio::test]
async fn a_referred_report_tells_the_reporter_where_it_went_with_javascript_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    let d = Deployment::start(
        dir.path(),
        Some("[triage]\nroute_every_seconds = 1\n"),
        &mut procs,
    )
    .await;
    let c = browser(dir.path(), "zh-CN,zh", &mut procs).await;
    tokio::time::timeout(Duration::from_secs(180), referral(&c, &d))
        .await
        .unwrap();
    c.close().await.unwrap();
}
