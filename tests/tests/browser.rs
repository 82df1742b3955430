//! The public intake in a real browser: headless Chromium driven through
//! chromedriver, with JavaScript switched off, as a careful reporter would
//! use it. Files a report in Chinese and in English, looks it up with the
//! tracking code, replies, and saves screenshots of every page to
//! `docs/screenshots/`.

#![expect(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use crate::support;

use std::path::Path;
use std::time::Duration;

use fantoccini::Client;
use support::{
    Deployment, Processes, assert_no_script, browser, find, screenshot, screenshot_narrow, select,
    submit, type_into,
};

/// `1234-5678-9012-3456-7890`: twenty digits in groups of four.
fn parse_code(text: &str) -> String {
    let text = text.trim();
    let groups: Vec<&str> = text.split(['-', ' ']).collect();
    assert_eq!(groups.len(), 5, "five groups: {text:?}");
    for g in &groups {
        assert!(
            g.len() == 4 && g.bytes().all(|b| b.is_ascii_digit()),
            "groups of four digits: {text:?}"
        );
    }
    text.to_owned()
}

struct Flow<'a> {
    /// `""` (Chinese, the default for a Chinese browser) or `"?lang=en"`.
    lang: &'a str,
    /// `zh` or `en`, for screenshot names.
    tag: &'a str,
    html_lang: &'a str,
    accused: &'a str,
    narrative: &'a str,
    file: &'a Path,
    reply: &'a str,
}

/// Landing → form → receipt → lookup → status → reply, screenshotting each.
async fn report_and_follow_up(c: &Client, base: &str, f: &Flow<'_>) {
    // Landing.
    c.goto(&format!("{base}/{}", f.lang)).await.unwrap();
    let html = find(c, "html").await;
    assert_eq!(
        html.attr("lang").await.unwrap().as_deref(),
        Some(f.html_lang)
    );
    assert_no_script(c).await;
    screenshot(c, &format!("intake-landing-{}", f.tag)).await;
    screenshot_narrow(c, &format!("intake-landing-{}", f.tag)).await;

    // The form, reached through the landing page's link.
    find(c, "main a.button[href^='/report']")
        .await
        .click()
        .await
        .unwrap();
    find(c, "select#unit").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/report");
    assert_no_script(c).await;
    select(c, "select#unit", "gd-gz-tianhe").await;
    select(c, "select#category", "canvassing_bribery").await;
    select(c, "select#accused_role", "unit_leader").await;
    select(c, "select#selection_stage", "inspection").await;
    type_into(c, "#accused_name", f.accused).await;
    type_into(c, "#narrative", f.narrative).await;
    type_into(
        c,
        "input[type=file][name=attachment]",
        f.file.to_str().unwrap(),
    )
    .await;
    screenshot(c, &format!("intake-form-{}", f.tag)).await;
    screenshot_narrow(c, &format!("intake-form-{}", f.tag)).await;
    submit(c, "narrative").await;

    // Receipt.
    let shown = find(c, "#tracking-code")
        .await
        .text()
        .await
        .unwrap_or_else(|e| panic!("no receipt: {e}"));
    let code = parse_code(&shown);
    assert_no_script(c).await;
    screenshot(c, &format!("intake-receipt-{}", f.tag)).await;
    screenshot_narrow(c, &format!("intake-receipt-{}", f.tag)).await;

    // Look the report up with the code, from the receipt's link.
    find(c, "main a.button[href^='/status']")
        .await
        .click()
        .await
        .unwrap();
    find(c, "input#code").await;
    assert_no_script(c).await;
    type_into(c, "input[name=code]", &code).await;
    submit(c, "code").await;
    let stage = find(c, "#stage").await;
    // The router may already have moved it on (it runs every few seconds).
    let first = stage.attr("data-stage").await.unwrap();
    assert!(
        matches!(first.as_deref(), Some("received" | "verify")),
        "{first:?}"
    );
    assert!(!stage.text().await.unwrap().trim().is_empty());
    let file_name = f.file.file_name().unwrap().to_str().unwrap();
    let files = find(c, "#files").await.text().await.unwrap();
    assert!(files.contains(file_name), "{file_name} listed: {files}");

    // Reply through the form on the status page.
    type_into(c, "textarea[name=body]", f.reply).await;
    submit(c, "body").await;
    let source = c.source().await.unwrap();
    assert!(source.contains("id=\"sent\""), "sent notice: {source}");
    let messages = find(c, "#messages").await.text().await.unwrap();
    assert!(messages.contains(f.reply), "reply shown: {messages}");
    let now = find(c, "#stage").await.attr("data-stage").await.unwrap();
    assert!(
        matches!(now.as_deref(), Some("received" | "verify")),
        "{now:?}"
    );
    assert_no_script(c).await;
    screenshot(c, &format!("intake-status-{}", f.tag)).await;
    screenshot_narrow(c, &format!("intake-status-{}", f.tag)).await;
}

#[tokio::test]
async fn report_and_follow_up_in_a_browser_without_javascript() {
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    // The deployment (demo data, then both apps) and a Chinese-speaking
    // browser with JavaScript off.
    let deployment = Deployment::start(dir.path(), None, &mut procs).await;
    let base = deployment.intake.clone();
    let client = browser(dir.path(), "zh-CN,zh", &mut procs).await;

    let zh_file = dir.path().join("会议记录.txt");
    std::fs::write(&zh_file, "2024年3月5日 会议记录：推荐名单临时变更。\n").unwrap();
    let en_file = dir.path().join("meeting-notes.txt");
    std::fs::write(&en_file, "5 March 2024: the shortlist was changed.\n").unwrap();

    let flows = [
        Flow {
            lang: "",
            tag: "zh",
            html_lang: "zh-CN",
            accused: "张某某",
            narrative: "2024年3月民主推荐前，张某某请部分干部吃饭并送购物卡，\
                        要求在推荐中投他的票。\n参加的人有办公室的王某和李某。",
            file: &zh_file,
            reply: "补充：购物卡是某商场的，每张面值一千元。",
        },
        Flow {
            lang: "?lang=en",
            tag: "en",
            html_lang: "en",
            accused: "Zhang Moumou",
            narrative: "Before the recommendation vote in March 2024, Zhang invited \
                        several cadres to dinner and handed out shopping cards, \
                        asking them to vote for him.\nWang and Li from the office were there.",
            file: &en_file,
            reply: "More: the cards were from a local mall, 1000 yuan each.",
        },
    ];
    for flow in &flows {
        tokio::time::timeout(
            Duration::from_secs(180),
            report_and_follow_up(&client, &base, flow),
        )
        .await
        .unwrap_or_else(|_| panic!("the {} flow took too long", flow.tag));
    }
    client.close().await.unwrap();
    drop(procs);
}
