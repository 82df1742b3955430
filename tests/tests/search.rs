//! Search and the pre-appointment check (#18 item 3), intake and triage
//! together on both engines: reports filed through the public API are
//! found by the accused's name whatever its width, spaces or name dots,
//! and by words of the narrative; only within the member's jurisdiction;
//! the unit filter and an empty search are refused with 422; every search
//! is audited with its count while its words appear nowhere in plain text.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sunlight_testkit::{Engine, execute, query_text};

use crate::e2e::{Live, Staff};

async fn file(intake: &str, unit: &str, name: &str, position: &str, narrative: &str) {
    let res = reqwest::Client::new()
        .post(format!("{intake}/api/v1/reports"))
        .json(&json!({
            "unit": unit, "category": "promoted_with_problems",
            "accused": {"name": name, "position": position, "role": "ordinary"},
            "selection_stage": "none", "narrative": narrative, "real_name": false
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

async fn search(who: &Staff, body: Value) -> (u16, Value) {
    who.post("/api/v1/search", body).await
}

/// The accused names of the hits, in order.
fn names(v: &Value) -> Vec<String> {
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["accused_name"].as_str().unwrap().to_owned())
        .collect()
}

async fn run(engine: Engine) {
    let live = Live::start(engine).await;
    let (city, province) = (&live.staff[1], &live.staff[2]);
    file(
        &live.intake,
        "gd-gz",
        "阿不都·热合曼",
        "区财政局副局长",
        "考察期间隐瞒违规经商问题",
    )
    .await;
    file(
        &live.intake,
        "gd-gz",
        "张三",
        "街道办主任",
        "突击提拔，任职不满一年",
    )
    .await;
    file(
        &live.intake,
        "gd-gz",
        "李四",
        "",
        "民主推荐前给张三送购物卡",
    )
    .await;
    file(&live.intake, "gd", "阿不都・热合曼", "", "省直单位的另一件").await;
    // Routing is not needed: a received case is searched like any.
    let deadline = Instant::now() + Duration::from_secs(10);
    while query_text(&live.db.store, "SELECT COUNT(*) FROM cases")
        .await
        .unwrap()
        != "4"
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The pre-appointment check: the candidate by name, width and dots
    // aside; the city sees its own units' reports, the province all.
    let (s, v) = search(city, json!({"name": "阿不都 · 热合曼"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        names(&v),
        ["阿不都·热合曼"],
        "gd's report is not gd-gz's: {v}"
    );
    assert_eq!(
        (v["total"].as_u64(), v["scanned"].as_u64()),
        (Some(1), Some(3))
    );
    let line = &v["cases"][0];
    assert_eq!(line["stage"], "received");
    assert!(
        line["outcome"].is_null() && line["received_on"].is_string(),
        "{v}"
    );
    let (_, v) = search(province, json!({"name": "阿不都・热合曼"})).await;
    assert_eq!(names(&v).len(), 2, "{v}");
    let (_, v) = search(
        province,
        json!({"name": "阿不都·热合曼", "position": "财政局"}),
    )
    .await;
    assert_eq!(names(&v), ["阿不都·热合曼"]);
    let (_, v) = search(province, json!({"name": "阿不都", "unit": "gd-gz"})).await;
    assert_eq!(v["total"], 1, "the unit's subtree only: {v}");
    // Free text: the narrative (and position), not the accused's name alone.
    let (_, v) = search(city, json!({"text": "张三"})).await;
    assert_eq!(names(&v), ["李四"], "{v}");
    let (_, v) = search(city, json!({"name": "ＺＨＡＮＧ"})).await;
    assert_eq!(v["total"], 0);

    // Refused, and nothing audited for them.
    let audited = || async {
        query_text(
            &live.db.store,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'search.run'",
        )
        .await
        .unwrap()
    };
    let before = audited().await;
    let (s, v) = search(city, json!({"name": " ", "text": "\u{3000}"})).await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = search(city, json!({"name": "张三", "unit": "gd"})).await;
    assert_eq!(s, 422, "not the city's unit: {v}");
    let (s, _) = search(city, json!({"name": "张三", "extra": 1})).await;
    assert_eq!(s, 400);
    assert_eq!(audited().await, before);

    // Too short a part would list reports wholesale; too long is refused.
    let (s, _) = search(city, json!({"name": "张"})).await;
    assert_eq!(s, 422);
    let (s, _) = search(city, json!({"text": "词".repeat(201)})).await;
    assert_eq!(s, 422);

    // Every search is audited with its count; the words only sealed.
    assert_eq!(before, "6", "six searches ran");
    let details = query_text(
        &live.db.store,
        "SELECT detail FROM audit_log WHERE action = 'search.run' ORDER BY seq DESC LIMIT 1",
    )
    .await
    .unwrap();
    assert!(
        details.contains("hits=0") && details.contains("sealed="),
        "{details}"
    );
    for word in ["热合曼", "张三", "ZHANG", "ＺＨＡＮＧ", "财政局"] {
        let sql = format!("SELECT COUNT(*) FROM audit_log WHERE detail LIKE '%{word}%'");
        assert_eq!(
            query_text(&live.db.store, &sql).await.unwrap(),
            "0",
            "{word} in the audit log"
        );
    }
    // A report that no longer opens (an insider copied another case's
    // sealed bytes over it) is counted, never a silent "not found".
    execute(
        &live.db.store,
        "UPDATE cases SET sealed_report = (SELECT c2.sealed_report FROM cases c2 \
         WHERE c2.unit_id = 'gd-gz' AND c2.id <> cases.id ORDER BY c2.id LIMIT 1) \
         WHERE id = (SELECT c3.id FROM cases c3 WHERE c3.unit_id = 'gd-gz' ORDER BY c3.id LIMIT 1)",
    )
    .await
    .unwrap();
    let (s, v) = search(city, json!({"text": "提拔"})).await;
    assert_eq!((s, v["unreadable"].as_u64()), (200, Some(1)), "{v}");
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_and_the_pre_appointment_check_on_sqlite() {
    run(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_and_the_pre_appointment_check_on_postgres() {
    run(Engine::Postgres).await;
}
