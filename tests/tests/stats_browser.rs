//! The public bulletin and the staff dashboard in headless Chromium with
//! JavaScript off, against `sunlight serve` over demo data: twelve reports
//! come in, `sunlight stats refresh` publishes, and every count the
//! bulletin shows is either at least 5 or "< 5". Screenshots of both pages
//! go to `docs/screenshots/`.

use crate::support;

use fantoccini::Locator;
use serde_json::json;
use support::{
    Deployment, Processes, assert_no_script, browser, file_report, find, screenshot, sign_in,
};

const UNIT: &str = "gd-gz-tianhe";

#[tokio::test]
async fn bulletin_and_dashboard_work_without_javascript_and_hide_small_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    let d = Deployment::start(dir.path(), None, &mut procs).await;
    // Eight about canvassing, four about office trading.
    for n in 0..12 {
        let category = if n < 8 {
            "canvassing_bribery"
        } else {
            "office_trading"
        };
        file_report(
            &d.intake,
            json!({
                "unit": UNIT, "category": category,
                "accused": {"name": "某某", "position": "", "role": "ordinary"},
                "selection_stage": "none", "narrative": format!("第{n}件举报。"),
                "real_name": false, "reporter": {"name": "", "phone": ""}
            }),
        )
        .await;
    }
    let out = d.run(&["stats", "refresh"]);
    assert!(out.contains("bulletin published"), "{out}");

    let c = browser(dir.path(), "zh-CN,zh", &mut procs).await;
    c.goto(&format!("{}/bulletin", d.intake)).await.unwrap();
    assert_no_script(&c).await;
    let cells = c
        .find_all(Locator::Css("#bulletin-months td.n, #bulletin-areas td.n"))
        .await
        .unwrap();
    assert!(cells.len() > 20, "{} cells", cells.len());
    let mut shown = Vec::new();
    for cell in cells {
        let text = cell.text().await.unwrap();
        match text.parse::<u64>() {
            Ok(n) => {
                assert!(n >= 5, "a count below the minimum is shown: {n}");
                shown.push(n);
            }
            Err(_) => assert_eq!(text, "< 5"),
        }
    }
    // This month: 12 received, 8 of them about canvassing; the 4 about
    // office trading and the empty categories are hidden.
    let mut first = Vec::new();
    for cell in c
        .find_all(Locator::Css("#bulletin-months tbody tr:first-child td.n"))
        .await
        .unwrap()
    {
        first.push(cell.text().await.unwrap());
    }
    // received, then the five categories (canvassing first), then the levels.
    assert_eq!(
        first[..6],
        ["12", "8", "< 5", "< 5", "< 5", "< 5"],
        "{first:?}"
    );
    // No county is named: Tianhe's reports show under Guangzhou.
    let areas = find(&c, "#bulletin-areas").await.text().await.unwrap();
    assert!(!areas.contains("天河"), "{areas}");
    for src in [
        "/bulletin/charts/volume.svg",
        "/bulletin/charts/on-time.svg",
    ] {
        let res = reqwest::get(format!("{}{src}", d.intake)).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/svg+xml");
        assert!(res.text().await.unwrap().starts_with("<svg"));
    }
    screenshot(&c, "intake-bulletin-zh").await;
    c.goto(&format!("{}/bulletin?lang=en", d.intake))
        .await
        .unwrap();
    assert!(
        find(&c, "h1")
            .await
            .text()
            .await
            .unwrap()
            .contains("Bulletin")
    );
    screenshot(&c, "intake-bulletin-en").await;

    // The province's supervisor sees the figures of every unit below.
    let supervisor = d.login("supervisor", "gd").to_vec();
    sign_in(&c, &d.triage, &supervisor).await;
    c.goto(&format!("{}/stats", d.triage)).await.unwrap();
    assert_no_script(&c).await;
    let by_month = find(&c, "#by-month").await.text().await.unwrap();
    assert!(by_month.contains("12"), "{by_month}");
    screenshot(&c, "triage-stats-zh").await;
    c.goto(&format!("{}/stats?lang=en", d.triage))
        .await
        .unwrap();
    assert!(
        find(&c, "#by-category")
            .await
            .text()
            .await
            .unwrap()
            .contains("Canvassing")
    );
    screenshot(&c, "triage-stats-en").await;
}
