//! The register (#18 item 2): every case of the caller's units, open and
//! closed, filtered, newest first, 50 a page with the true total; bad
//! filters answered 422 in the caller's language, nothing outside the
//! jurisdiction listed.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use chrono::{Duration, Utc};
use serde_json::json;
use sunlight_store::NewCase;

use crate::common::{ENGINES, Harness, StaffClient, email, stored_arrival};

async fn file(intake: &StaffClient, unit: &str, channel: &str, real_name: bool) -> String {
    let (s, v) = intake
        .post(
            "/api/v1/intake",
            json!({
                "unit": unit,
                "category": if real_name { "office_trading" } else { "canvassing_bribery" },
                "accused": {"name": "王某", "position": "局长", "role": "ordinary"},
                "selection_stage": "none",
                "narrative": "民主推荐前请客送礼。",
                "real_name": real_name,
                "reporter": {"name": if real_name { "张三" } else { "" }, "phone": if real_name { "13800000000" } else { "" }},
                "channel": channel
            }),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    v["case_id"].as_str().unwrap().to_owned()
}

/// `file`, then accepted into verification by the same desk.
async fn file_accepted(intake: &StaffClient, unit: &str, channel: &str, real_name: bool) -> String {
    let id = file(intake, unit, channel, real_name).await;
    let (s, v) = intake.act(&id, json!({"action": "accept"})).await;
    assert_eq!(s, 200, "{v}");
    id
}

/// The total of a register query, checked against the lines (all fit a page).
async fn total(who: &StaffClient, q: String) -> u64 {
    let (s, v) = who.get(&format!("/api/v1/cases?{q}")).await;
    assert_eq!(s, 200, "{q}: {v}");
    let total = v["total"].as_u64().unwrap();
    assert_eq!(v["cases"].as_array().unwrap().len() as u64, total, "{q}");
    total
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["case_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_register_lists_open_and_closed_cases_with_filters_and_true_totals() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let intake = h.sign_in(&email("intake", "gd")).await;
        let a = file_accepted(&intake, "gd-gz-tianhe", "phone", false).await;
        let b = file(&intake, "gd-gz-tianhe", "letter", false).await;
        let c = file_accepted(&intake, "gd-gz-tianhe", "visit", true).await;
        let d = file_accepted(&intake, "gd-sz", "phone", false).await;
        let e = file(&intake, "gd-sz", "letter", true).await;
        let boss = h.sign_in(&email("supervisor", "gd-gz-tianhe")).await;
        let (s, v) = boss.act(&b, json!({"action": "merge", "into": a})).await;
        assert_eq!(s, 200, "{v}");
        let verifier = h.sign_in(&email("verifier", "gd-gz-tianhe")).await;
        assert_eq!(verifier.claim(&c).await, 200);

        let province = h.sign_in(&email("verifier", "gd")).await;
        let (s, all) = province.get("/api/v1/cases").await;
        assert_eq!(s, 200, "{all}");
        assert_eq!(
            (all["total"].as_u64(), all["page"].as_u64()),
            (Some(5), Some(1))
        );
        assert_eq!(all["page_size"], 50);
        let mut listed = ids(&all);
        listed.sort();
        let mut filed = vec![a.clone(), b.clone(), c.clone(), d.clone(), e.clone()];
        filed.sort();
        assert_eq!(listed, filed, "open and closed, every unit below");
        let merged = all["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["case_id"] == b.as_str())
            .unwrap();
        assert_eq!(merged["stage"], "closed");
        assert_eq!(merged["disposition"], "merged");
        assert!(merged["deadline"].is_null() && merged["owner"].is_null());
        assert!(merged["closed_on"].is_string() && merged["received_on"].is_string());

        let count = |q: String| total(&province, q);
        assert_eq!(count("stage=closed".into()).await, 1);
        assert_eq!(count("stage=verify".into()).await, 3);
        assert_eq!(
            count("stage=received".into()).await,
            1,
            "e awaits acceptance"
        );
        assert_eq!(count("disposition=accepted".into()).await, 3);
        assert_eq!(count("disposition=open".into()).await, 1);
        assert_eq!(count("disposition=merged".into()).await, 1);
        assert_eq!(count("disposition=merged&unit=gd-sz".into()).await, 0);
        assert_eq!(count("disposition=referred".into()).await, 0);
        let (s, _) = province.get("/api/v1/cases?disposition=false").await;
        assert_eq!(s, 422, "an unknown disposition is refused");
        assert_eq!(count("unit=gd-gz".into()).await, 3, "the subtree of gd-gz");
        assert_eq!(count("unit=gd-sz".into()).await, 2);
        assert_eq!(count("channel=letter".into()).await, 2);
        assert_eq!(count("real_name=true".into()).await, 2);
        assert_eq!(count("real_name=false&unit=gd-sz".into()).await, 1);
        assert_eq!(count("category=office_trading".into()).await, 2);
        assert_eq!(count("owner=me".into()).await, 0);
        let today = sunlight_core::policy::Policy::cn_12380().local_date(Utc::now());
        let tomorrow = today.succ_opt().unwrap();
        let yesterday = today.pred_opt().unwrap();
        assert_eq!(count(format!("from={today}&to={today}")).await, 5);
        assert_eq!(count(format!("from={tomorrow}")).await, 0);
        assert_eq!(count(format!("to={yesterday}")).await, 0);
        assert_eq!(
            count("stage=&unit=&lang=en".into()).await,
            5,
            "empty means all"
        );
        let (_, mine) = verifier.get("/api/v1/cases?owner=me").await;
        assert_eq!(ids(&mine), [c.as_str()]);

        // By number, once the day is over.
        let t = sunlight_casework::Triage::new(
            h.db.store.clone(),
            sunlight_core::policy::Policy::cn_12380(),
            sunlight_core::calendar::Calendar::cn(),
            h.stretcher.clone(),
            sunlight_metrics::Metrics::default(),
        );
        t.number_pending(Utc::now() + Duration::days(2))
            .await
            .unwrap();
        let (_, one) = province.get(&format!("/api/v1/cases/{d}")).await;
        let number = one["number"].as_str().unwrap().to_owned();
        let (_, found) = province
            .get(&format!("/api/v1/cases?number={number}"))
            .await;
        assert_eq!(ids(&found), [d.as_str()]);
        assert_eq!(found["cases"][0]["number"], number.as_str());

        // Only the caller's units: Shenzhen sees its two, nothing of Tianhe.
        let shenzhen = h.sign_in(&email("verifier", "gd-sz")).await;
        let (_, sz) = shenzhen.get("/api/v1/cases").await;
        let mut sz_ids = ids(&sz);
        sz_ids.sort();
        let mut want = vec![d.clone(), e.clone()];
        want.sort();
        assert_eq!(sz_ids, want);
        let (s, v) = shenzhen.get("/api/v1/cases?unit=gd-gz-tianhe").await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(v["error"]["detail"], "unit: not a value this filter takes");
        let (s, v) = shenzhen
            .get(&format!(
                "/api/v1/cases?number={}",
                number.replace("gd-sz", "gd-gz-tianhe")
            ))
            .await;
        assert_eq!((s, v["total"].as_u64()), (200, Some(0)), "{v}");

        // Bad filters: 422 naming the field, in the caller's language.
        for (q, field) in [
            ("stage=bogus", "stage"),
            ("category=x", "category"),
            ("channel=fax", "channel"),
            ("real_name=yes", "real_name"),
            ("outcome=maybe", "outcome"),
            ("from=2026-13-01", "from"),
            ("to=tomorrow", "to"),
            ("from=2026-05-02&to=2026-05-01", "to"),
            ("owner=someone", "owner"),
            ("number=01a21d2b", "number"),
            ("page=0", "page"),
            ("page=-1", "page"),
            ("unit=Not A Unit", "unit"),
        ] {
            let (s, v) = province.get(&format!("/api/v1/cases?{q}")).await;
            assert_eq!(s, 422, "{q}: {v}");
            assert_eq!(
                v["error"]["detail"],
                format!("{field}: not a value this filter takes"),
                "{q}"
            );
        }
        let (s, v) = province.get("/api/v1/cases?stage=bogus&lang=zh-CN").await;
        assert_eq!(s, 422);
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("筛选条件有误"),
            "{v}"
        );
        let (s, _) = province.get("/api/v1/cases?colour=red").await;
        assert_eq!(s, 400, "an unknown key is refused");
        let admin = h.sign_in(&email("admin", "gd")).await;
        assert_eq!(admin.get("/api/v1/cases").await.0, 403);
        h.stop().await;
    }
}

/// A report of Shenzhen stored as intake stores it, `days` ago.
fn arrival(days: i64) -> NewCase {
    let policy = sunlight_core::policy::Policy::cn_12380();
    stored_arrival(
        "gd-sz",
        policy.start_of_local_day(Utc::now() - Duration::days(days)),
    )
}

/// 120 cases over two days (60 a day, tied on their arrival time): pages
/// of 50, newest first, no case on two pages, none left out; the page shows
/// the total, the pages and links between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_pages_hold_fifty_newest_first_and_the_page_links_them() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        for i in 0..120_u64 {
            h.db.store
                .insert_case_with(arrival(i64::try_from(i % 2).unwrap()), Vec::new())
                .await
                .unwrap();
        }
        let staff = h.sign_in(&email("verifier", "gd-sz")).await;
        let mut seen = Vec::new();
        let mut last_day = String::from("9999-12-31");
        for page in 1..=3 {
            let (s, v) = staff.get(&format!("/api/v1/cases?page={page}")).await;
            assert_eq!(s, 200);
            assert_eq!(v["total"], 120);
            let lines = v["cases"].as_array().unwrap();
            assert_eq!(lines.len(), if page < 3 { 50 } else { 20 }, "{engine:?}");
            for l in lines {
                let day = l["received_on"].as_str().unwrap().to_owned();
                assert!(day <= last_day, "newest first");
                last_day = day;
                seen.push(l["case_id"].as_str().unwrap().to_owned());
            }
        }
        let (_, beyond) = staff.get("/api/v1/cases?page=4").await;
        assert_eq!(
            (
                beyond["total"].as_u64(),
                beyond["cases"].as_array().unwrap().len()
            ),
            (Some(120), 0)
        );
        let count = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!((count, seen.len()), (120, 120), "every case once");

        let page = h.sign_in_page(&email("verifier", "gd-sz")).await;
        let first = page.get("/cases?lang=en&category=other").await;
        assert_eq!(first.status, 200);
        assert!(
            first.body.contains("120 in all, page 1 of 3"),
            "{}",
            first.body
        );
        assert_eq!(first.body.matches("<tr data-case=").count(), 50);
        assert!(
            first
                .body
                .contains("rel=\"next\" href=\"/cases?lang=en&#38;category=other&#38;page=2\""),
            "{}",
            first.body
        );
        assert!(!first.body.contains("rel=\"prev\""));
        let last = page.get("/cases?lang=en&category=other&page=3").await;
        assert_eq!(last.body.matches("<tr data-case=").count(), 20);
        assert!(last.body.contains("rel=\"prev\""));
        let bad = page.get("/cases?from=2026-02-30").await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("筛选条件有误"), "{}", bad.body);
        assert!(
            bad.body.contains("id=\"register-filters\""),
            "the form stays to fix it"
        );
        assert!(!bad.body.contains("<tr data-case="));
        h.stop().await;
    }
}
