//! Case numbers (#18 item 1): a day's cases of each unit are numbered once
//! the day is over, `UNIT-YEAR-NNNNN`, gapless from 1 per unit and local
//! year, shown in the queue, the case JSON and page; and 16 routers in two
//! processes on PostgreSQL never hand out a number twice or leave a gap.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::collections::BTreeMap;
use std::process::Command;

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use sunlight_casework::Triage;
use sunlight_core::calendar::Calendar;
use sunlight_core::crypto::{CodeStretcher, DeploymentSecrets, StretchParams};
use sunlight_core::policy::Policy;
use sunlight_store::{AuditReport, Store};
use sunlight_testkit::{Engine, TestDb, count_audit, create_test_units, query_text};

use crate::common::{ENGINES, Harness, email, stored_arrival};

pub(crate) fn triage(store: &Store) -> Triage {
    Triage::new(
        store.clone(),
        Policy::cn_12380(),
        Calendar::cn(),
        CodeStretcher::new(DeploymentSecrets::generate().unwrap(), StretchParams::TEST)
            .with_suite(sunlight_testkit::suite_under_test()),
        sunlight_metrics::Metrics::default(),
    )
}

/// Every number given, as `(unit, year) → sorted sequence numbers`.
async fn numbers(db: &TestDb) -> BTreeMap<(String, i32), Vec<i64>> {
    let agg = match db.engine {
        Engine::Postgres => "string_agg",
        Engine::Sqlite => "group_concat",
    };
    let text = query_text(
        &db.store,
        &format!(
            "SELECT COALESCE({agg}(number_unit || ' ' || number_year || ' ' || number_seq, ','), '') \
             FROM cases WHERE number_seq IS NOT NULL"
        ),
    )
    .await
    .unwrap();
    let mut out: BTreeMap<(String, i32), Vec<i64>> = BTreeMap::new();
    for line in text.split(',').filter(|l| !l.is_empty()) {
        let mut parts = line.split(' ');
        let unit = parts.next().unwrap().to_owned();
        let year = parts.next().unwrap().parse().unwrap();
        let seq = parts.next().unwrap().parse().unwrap();
        out.entry((unit, year)).or_default().push(seq);
    }
    for seqs in out.values_mut() {
        seqs.sort_unstable();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_days_cases_are_numbered_after_it_ends_per_unit_and_year() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let intake = h.sign_in(&email("intake", "gd")).await;
        let mut cases = Vec::new();
        for unit in [
            "gd-gz-tianhe",
            "gd-sz",
            "gd-gz-tianhe",
            "gd-gz-tianhe",
            "gd-sz",
        ] {
            cases.push(h_file(&intake, unit).await);
        }
        let verifier = h.sign_in(&email("verifier", "gd")).await;
        let (s, queue) = verifier.get("/api/v1/queues/verify").await;
        assert_eq!(s, 200, "{queue}");
        let lines = queue.as_array().unwrap();
        assert_eq!(lines.len(), 5, "{queue}");
        assert!(
            lines.iter().all(|l| l["number"].is_null()),
            "no number before the day is over: {queue}"
        );

        let t = triage(&h.db.store);
        let now = Utc::now();
        assert_eq!(t.number_pending(now).await.unwrap(), 0, "{engine:?}");
        assert_eq!(t.number_pending(now + Duration::days(2)).await.unwrap(), 5);
        assert_eq!(t.number_pending(now + Duration::days(3)).await.unwrap(), 0);
        let year = Policy::cn_12380().local_date(now).format("%Y").to_string();
        let year: i32 = year.parse().unwrap();
        let given = numbers(&h.db).await;
        assert_eq!(
            given,
            BTreeMap::from([
                (("gd-gz-tianhe".to_owned(), year), vec![1, 2, 3]),
                (("gd-sz".to_owned(), year), vec![1, 2]),
            ]),
            "{engine:?}"
        );
        assert_eq!(count_audit(&h.db.store, "case.numbered").await.unwrap(), 5);
        assert!(matches!(
            h.db.store.verify_audit().await.unwrap(),
            AuditReport::Intact { .. }
        ));

        // Queue, case JSON and case page all show the same number.
        let (_, queue) = verifier.get("/api/v1/queues/verify").await;
        for line in queue.as_array().unwrap() {
            let number = line["number"].as_str().unwrap().to_owned();
            let unit = line["unit"].as_str().unwrap();
            assert!(
                number.starts_with(&format!("{unit}-{year}-0000")),
                "{number}"
            );
            let id = line["case_id"].as_str().unwrap();
            let (s, case) = verifier.get(&format!("/api/v1/cases/{id}")).await;
            assert_eq!(s, 200);
            assert_eq!(case["number"], number.as_str());
        }
        let page = h.sign_in_page(&email("verifier", "gd")).await;
        let listing = page.get("/queues/verify").await;
        let first = queue[0]["number"].as_str().unwrap();
        assert!(listing.body.contains(first), "the queue page names {first}");
        let case_page = page
            .get(&format!("/cases/{}", queue[0]["case_id"].as_str().unwrap()))
            .await;
        assert!(
            case_page
                .body
                .contains(&format!("id=\"case-number\">{first}<"))
        );
        h.stop().await;
    }
}

async fn h_file(intake: &crate::common::StaffClient, unit: &str) -> String {
    let (s, v) = intake
        .post(
            "/api/v1/intake",
            json!({
                "unit": unit,
                "category": "canvassing_bribery",
                "accused": {"name": "李某", "position": "副县长", "role": "ordinary"},
                "selection_stage": "none",
                "narrative": "在推荐阶段给投票人送购物卡。",
                "real_name": false,
                "reporter": {"name": "", "phone": ""},
                "channel": "phone"
            }),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["case_id"].as_str().unwrap().to_owned();
    let (s, v) = intake.act(&id, json!({"action": "accept"})).await;
    assert_eq!(s, 200, "{v}");
    id
}

/// The year of a number is the local year of the arrival: a report that
/// came in at 00:00 on 1 January in Beijing (16:00 UTC the day before) is
/// the new year's first.
#[tokio::test]
async fn the_year_is_the_local_year_of_the_stored_arrival() {
    for db in TestDb::both().await.unwrap() {
        create_test_units(&db.store, Utc::now()).await.unwrap();
        let t = triage(&db.store);
        let new_year = Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 0).unwrap();
        let eve = Utc.with_ymd_and_hms(2026, 12, 30, 16, 0, 0).unwrap();
        for at in [eve, new_year] {
            db.store
                .insert_case_with(stored_arrival("gd-sz", at), Vec::new())
                .await
                .unwrap();
        }
        t.route_pending(new_year).await.unwrap();
        // An hour's grace after midnight: not yet, then the eve only.
        assert_eq!(t.number_pending(new_year).await.unwrap(), 0);
        assert_eq!(
            t.number_pending(new_year + Duration::hours(1))
                .await
                .unwrap(),
            1,
            "only the eve"
        );
        assert_eq!(
            t.number_pending(new_year + Duration::days(1) + Duration::hours(1))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            numbers(&db).await,
            BTreeMap::from([
                (("gd-sz".to_owned(), 2026), vec![1]),
                (("gd-sz".to_owned(), 2027), vec![1]),
            ]),
            "{:?}",
            db.engine
        );
    }
}

/// 30 reports of one unit arriving on one day, inserted (and so stored on
/// disk) in a known order, and one more of that day still waiting for the
/// router: the day waits for it, then all 31 are numbered together, and
/// the numbers do not follow the order of arrival.
#[tokio::test]
async fn a_days_numbers_wait_for_all_its_cases_and_do_not_follow_arrival_order() {
    for db in TestDb::both().await.unwrap() {
        create_test_units(&db.store, Utc::now()).await.unwrap();
        let t = triage(&db.store);
        let day = Utc.with_ymd_and_hms(2026, 6, 1, 16, 0, 0).unwrap();
        let mut order = Vec::new();
        for _ in 0..30 {
            let c = stored_arrival("gd-sz", day);
            order.push(c.id);
            db.store.insert_case_with(c, Vec::new()).await.unwrap();
        }
        t.route_pending(day).await.unwrap();
        let late = stored_arrival("gd-sz", day);
        order.push(late.id);
        db.store.insert_case_with(late, Vec::new()).await.unwrap();
        let next_day = day + Duration::days(1) + Duration::hours(2);
        assert_eq!(
            t.number_pending(next_day).await.unwrap(),
            0,
            "a case of the day is not routed yet"
        );
        t.route_pending(next_day).await.unwrap();
        assert_eq!(t.number_pending(next_day).await.unwrap(), 31);
        let given = db.store.case_numbers(&order).await.unwrap();
        let seqs: Vec<u32> = order.iter().map(|id| given[id].seq).collect();
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=31).collect::<Vec<u32>>(), "{:?}", db.engine);
        assert_ne!(seqs, sorted, "numbered in arrival order: {seqs:?}");
    }
}

const CHILD_DB: &str = "SUNLIGHT_NUMBERING_TEST_DB";
const CHILD_AT: &str = "SUNLIGHT_NUMBERING_TEST_AT";
const CHILD_START: &str = "SUNLIGHT_NUMBERING_TEST_START";

/// 90 routed cases over three days and three units; two processes (this
/// test binary again, below) run 8 numbering routers each, all starting at
/// the same instant. Every unit's year ends up numbered 1..n, no gap, no
/// duplicate, one audit entry per number, the counter at n. On PostgreSQL
/// and on SQLite (one database file, two processes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_routers_in_two_processes_number_without_gaps_or_duplicates() {
    for engine in ENGINES {
        race(engine).await;
    }
}

async fn race(engine: Engine) {
    let db = TestDb::new(engine).await.unwrap();
    create_test_units(&db.store, Utc::now()).await.unwrap();
    let t = triage(&db.store);
    let day0 = Utc.with_ymd_and_hms(2026, 6, 1, 16, 0, 0).unwrap();
    let units = ["gd-gz-tianhe", "gd-sz", "gd-gz"];
    for i in 0..90_i64 {
        let at = day0 + Duration::days(i % 3);
        let unit = units[usize::try_from(i / 3 % 3).unwrap()];
        db.store
            .insert_case_with(stored_arrival(unit, at), Vec::new())
            .await
            .unwrap();
    }
    assert_eq!(t.route_pending(day0).await.unwrap(), 90);
    let at = (day0 + Duration::days(10)).to_rfc3339();
    // Both processes start numbering at this instant, so they compete.
    let start = (Utc::now() + Duration::seconds(2)).to_rfc3339();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            let mut child = Command::new(&exe);
            child
                .args([
                    "numbering::numbering_router_process",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                ])
                .env(CHILD_DB, &db.url)
                .env(CHILD_AT, &at)
                .env(CHILD_START, &start);
            tokio::task::spawn_blocking(move || child.output().unwrap())
        })
        .collect();
    let mut numbered = 0;
    for child in children {
        let out = child.await.unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        numbered += text
            .lines()
            .find_map(|l| l.strip_prefix("numbered "))
            .unwrap()
            .trim()
            .parse::<usize>()
            .unwrap();
    }
    assert_eq!(numbered, 90, "each case numbered by exactly one router");
    let given = numbers(&db).await;
    assert_eq!(given.len(), 3);
    for ((unit, year), seqs) in &given {
        assert_eq!(*year, 2026);
        assert_eq!(seqs, &(1..=30).collect::<Vec<i64>>(), "{unit}");
    }
    for unit in units {
        let last = query_text(
            &db.store,
            &format!("SELECT last FROM case_counters WHERE unit_id = '{unit}'"),
        )
        .await
        .unwrap();
        assert_eq!(last, "30", "{unit} {engine:?}");
    }
    assert_eq!(count_audit(&db.store, "case.numbered").await.unwrap(), 90);
    assert!(matches!(
        db.store.verify_audit().await.unwrap(),
        AuditReport::Intact { .. }
    ));
    sunlight_testkit::scorecard(
        &format!("numbering_race_{engine:?}").to_lowercase(),
        "16 routers in 2 processes, 90 cases: numbers 1..30 per unit, 0 gaps, 0 duplicates",
    );
}

/// One of the two processes of the test above: 8 routers at once, all
/// numbering the same pending days. Run by that test only.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a child process of sixteen_routers_in_two_processes_number_without_gaps_or_duplicates"]
async fn numbering_router_process() {
    let url = std::env::var(CHILD_DB).expect("run by the numbering race test");
    let at = chrono::DateTime::parse_from_rfc3339(&std::env::var(CHILD_AT).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    let store = Store::connect(&url).await.unwrap();
    let t = triage(&store);
    let start = chrono::DateTime::parse_from_rfc3339(&std::env::var(CHILD_START).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    if let Ok(wait) = (start - Utc::now()).to_std() {
        tokio::time::sleep(wait).await;
    }
    let routers: Vec<_> = (0..8)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.number_pending(at).await.unwrap() })
        })
        .collect();
    let mut numbered = 0;
    for r in routers {
        numbered += r.await.unwrap();
    }
    println!("numbered {numbered}");
}
