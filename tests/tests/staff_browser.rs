//! The staff pages in a real browser: headless Chromium with JavaScript
//! off, against `sunlight serve` over demo data. Reports come in through
//! the public intake API; the verifier and the supervisor of Tianhe sign in
//! (the supervisor with a TOTP code), work one case from the verify queue
//! to closed through the pages' forms, and the reporter sees the staff's
//! reply and feedback with the tracking code. Screenshots of the queue and
//! the case page, in Chinese and English, go to `docs/screenshots/`.

use crate::support;

use serde_json::json;
use support::{
    Deployment, Processes, accept_waiting, act, assert_no_script, browser, file_report, find,
    open_only_case, queue_with, screenshot, select, sign_in, sign_out, stage, submit, type_into,
};

const UNIT: &str = "gd-gz-tianhe";

#[tokio::test]
async fn staff_work_a_case_from_the_queue_to_closed_in_a_browser_without_javascript() {
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    let d = Deployment::start(
        dir.path(),
        Some("[triage]\nroute_every_seconds = 1\n"),
        &mut procs,
    )
    .await;
    let triage = d.triage.clone();

    // Three reports to Tianhe through the public API; the case we work on
    // is the only one about canvassing.
    let narrative = "2024年3月民主推荐前，张某某请部分干部吃饭并送购物卡，要求在推荐中投他的票。\n\
                     参加的人有办公室的王某和李某。";
    let code = file_report(
        &d.intake,
        json!({
            "unit": UNIT, "category": "canvassing_bribery",
            "accused": {"name": "张某某", "position": "天河区某局副局长", "role": "unit_leader"},
            "selection_stage": "inspection", "narrative": narrative,
            "real_name": false, "reporter": {"name": "", "phone": ""}
        }),
    )
    .await;
    file_report(
        &d.intake,
        json!({
            "unit": UNIT, "category": "office_trading",
            "accused": {"name": "刘某", "position": "街道办主任", "role": "ordinary"},
            "selection_stage": "none", "narrative": "有人称花钱可以买到副科职位。",
            "real_name": true, "reporter": {"name": "陈某", "phone": "13800000000"}
        }),
    )
    .await;
    file_report(
        &d.intake,
        json!({
            "unit": UNIT, "category": "rushed_promotion",
            "accused": {"name": "赵某", "position": "", "role": "ordinary"},
            "selection_stage": "appointed", "narrative": "领导调离前一周突击提拔了五名干部。",
            "real_name": false, "reporter": {"name": "", "phone": ""}
        }),
    )
    .await;

    let c = browser(dir.path(), "zh-CN,zh", &mut procs).await;
    let verifier = d.login("verifier", UNIT).to_vec();
    let supervisor = d.login("supervisor", UNIT).to_vec();
    assert_ne!(verifier[5], "-", "verifiers read reports: they have one");
    assert_ne!(supervisor[5], "-", "supervisors have one");

    // The desk accepts the three reports (受理).
    let desk = d.login("intake", UNIT).to_vec();
    sign_in(&c, &triage, &desk).await;
    accept_waiting(&c, &triage, 3).await;
    sign_out(&c).await;

    // The verifier: the verify queue, filtered to canvassing; claim.
    sign_in(&c, &triage, &verifier).await;
    assert_eq!(c.current_url().await.unwrap().path(), "/queues/verify");
    queue_with(&c, &triage, "verify", 3).await;
    assert_no_script(&c).await;
    select(&c, "select#category", "canvassing_bribery").await;
    submit(&c, "category").await;
    let id = open_only_case(&c).await;
    assert_eq!(stage(&c).await, "verify");
    let shown = find(&c, "#narrative").await.text().await.unwrap();
    assert!(shown.contains("张某某请部分干部吃饭并送购物卡"), "{shown}");
    act(&c, "claim", &[]).await;
    assert_eq!(find(&c, "#owner").await.text().await.unwrap(), "我");
    // The selection hold: record whom the notice went to.
    type_into(&c, "input[name=notice_to]", "天河区委组织部干部科").await;
    submit(&c, "notice_to").await;
    assert!(c.source().await.unwrap().contains("已登记通知"));

    // Queue screenshots: three cases, the real-name one first, ours claimed.
    queue_with(&c, &triage, "verify", 3).await;
    let first = find(&c, "tr[data-case]").await.text().await.unwrap();
    assert!(first.contains("实名"), "real-name reports first: {first}");
    let mine = find(&c, &format!("tr[data-case='{id}'] td.owner-you"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(mine, "我");
    assert!(
        find(&c, "#queue")
            .await
            .text()
            .await
            .unwrap()
            .contains("天后到期")
    );
    screenshot(&c, "triage-queue-zh").await;
    c.goto(&format!("{triage}/queues/verify?lang=en"))
        .await
        .unwrap();
    let table = find(&c, "#queue").await.text().await.unwrap();
    assert!(
        table.contains("due in") && table.contains("Real name"),
        "{table}"
    );
    assert_eq!(
        find(&c, "html")
            .await
            .attr("lang")
            .await
            .unwrap()
            .as_deref(),
        Some("en")
    );
    screenshot(&c, "triage-queue-en").await;

    // Verify it, then write to the reporter.
    c.goto(&format!("{triage}/cases/{id}?lang=zh"))
        .await
        .unwrap();
    select(&c, "#verified-outcome", "substantiated").await;
    act(
        &c,
        "verified",
        &[("#verified-note", "两名参加宴请的干部证实。")],
    )
    .await;
    assert_eq!(stage(&c).await, "handle");
    let reply = "您好，您反映的问题已经查核属实，我们将依规处理。";
    type_into(&c, "#reply-body", reply).await;
    submit(&c, "body").await;
    let messages = find(&c, "#messages").await.text().await.unwrap();
    assert!(messages.contains(reply), "{messages}");
    sign_out(&c).await;

    // The supervisor, with a TOTP code: claim and decide.
    sign_in(&c, &triage, &supervisor).await;
    queue_with(&c, &triage, "handle", 1).await;
    assert_eq!(open_only_case(&c).await, id);
    act(&c, "claim", &[]).await;
    assert!(
        find(&c, "#action-decided")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    screenshot(&c, "triage-case-zh").await;
    c.goto(&format!("{triage}/cases/{id}?lang=en"))
        .await
        .unwrap();
    assert!(
        find(&c, "#history")
            .await
            .text()
            .await
            .unwrap()
            .contains("Verified"),
        "history in English"
    );
    screenshot(&c, "triage-case-en").await;
    c.goto(&format!("{triage}/cases/{id}?lang=zh"))
        .await
        .unwrap();
    act(
        &c,
        "decided",
        &[("#decided-decision", "责令纠正，取消张某某考察对象资格。")],
    )
    .await;
    assert_eq!(stage(&c).await, "notify");
    sign_out(&c).await;

    // The verifier again: claim the feedback, give it, close.
    sign_in(&c, &triage, &verifier).await;
    queue_with(&c, &triage, "notify", 1).await;
    assert_eq!(open_only_case(&c).await, id);
    act(&c, "claim", &[]).await;
    let feedback = "经查，您反映的问题属实，已责令纠正并取消其考察对象资格。感谢您的监督。";
    act(&c, "feedback", &[("#feedback-message", feedback)]).await;
    act(&c, "close", &[]).await;
    assert_eq!(stage(&c).await, "closed");
    assert!(find(&c, "#no-actions").await.is_displayed().await.unwrap());
    // The register still lists it, closed, found by its stage.
    c.goto(&format!("{triage}/cases?lang=zh&stage=closed"))
        .await
        .unwrap();
    let row = find(&c, &format!("#register tr[data-case=\"{id}\"]"))
        .await
        .text()
        .await
        .unwrap();
    assert!(row.contains("已办结") && row.contains("属实"), "{row}");
    assert!(
        find(&c, "#register-count")
            .await
            .text()
            .await
            .unwrap()
            .contains("共 1 件")
    );
    screenshot(&c, "triage-register-zh").await;
    c.goto(&format!("{triage}/cases?lang=en")).await.unwrap();
    screenshot(&c, "triage-register-en").await;
    sign_out(&c).await;

    // The reporter sees the reply and the feedback with the code.
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/status", d.intake))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let status: serde_json::Value = res.json().await.unwrap();
    assert_eq!(status["stage"], "closed");
    let from_staff: Vec<&str> = status["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["from"] == "staff")
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(from_staff.contains(&reply), "{status}");
    assert!(from_staff.contains(&feedback), "{status}");

    c.close().await.unwrap();
    drop(procs);
}
