//! Statistics on the staff side, on SQLite and PostgreSQL: a seeded spike
//! flags hotspot units (audited, mailed once to the supervisors of the unit
//! above, cleared when it passes), the bulletin it publishes shows no small
//! count, and the dashboard, its CSV, charts and `GET /api/v1/stats` show
//! each member the figures of their own jurisdiction only.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use crate::common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use common::{ENGINES, Harness, email};
use sunlight_casework::{MailStyle, Stats, StatsSettings};
use sunlight_core::i18n::Lang;
use sunlight_core::policy::Policy;
use sunlight_core::stats::Bulletin;
use sunlight_core::{CaseId, Category, Channel, Disposition, Outcome, Stage, UnitId};
use sunlight_store::setting_keys;
use sunlight_testkit::{SeedCase, SeedStage, query_text, seed_cases};

fn stats(h: &Harness) -> Stats {
    Stats::new(
        h.db.store.clone(),
        Arc::new(Policy::cn_12380()),
        StatsSettings::default(),
        MailStyle {
            lang: Lang::En,
            link_base: "https://triage.example.org".into(),
        },
    )
}

/// A closed case (verify and notify on time) or an open one whose verify
/// stage is overdue.
fn case(unit: &str, received: DateTime<Utc>, n: usize, closed: bool) -> SeedCase {
    let unit = UnitId::parse(unit).unwrap();
    let verified = received + Duration::days(3);
    let fed_back = received + Duration::days(9);
    let stages = if closed {
        vec![
            SeedStage {
                stage: Stage::Verify,
                unit: unit.clone(),
                opened_at: received,
                due_at: received + Duration::days(20),
                closed_at: Some(verified),
            },
            SeedStage {
                stage: Stage::Notify,
                unit: unit.clone(),
                opened_at: verified,
                due_at: verified + Duration::days(10),
                closed_at: Some(fed_back),
            },
        ]
    } else {
        vec![SeedStage {
            stage: Stage::Verify,
            unit: unit.clone(),
            opened_at: received,
            due_at: received + Duration::hours(1),
            closed_at: None,
        }]
    };
    SeedCase {
        id: CaseId::new_v7(u64::try_from(received.timestamp_millis()).unwrap() + n as u64),
        unit,
        category: Category::ALL[n % Category::ALL.len()],
        channel: Channel::Web,
        received_at: received,
        routed_at: Some(received),
        closed_at: closed.then_some(fed_back + Duration::hours(1)),
        outcome: closed.then_some(Outcome::Partly),
        merged: false,
        disposition: if closed {
            Disposition::Concluded
        } else {
            Disposition::Accepted
        },
        stages,
        steps: if closed {
            vec![
                ("verified".into(), verified),
                ("feedback_given".into(), fed_back),
            ]
        } else {
            vec![]
        },
        holds: vec![],
    }
}

/// Tianhe: 40 reports in the last 90 days (over the threshold of 30).
/// Shenzhen: 3 per earlier window, then 12 (a sharp rise). Guangzhou
/// itself: a steady 5 per window (no flag).
fn seeded(now: DateTime<Utc>) -> Vec<SeedCase> {
    let mut out = Vec::new();
    for n in 0..40 {
        let at = now - Duration::days(80) + Duration::hours(40 * n as i64);
        out.push(case("gd-gz-tianhe", at, n, n % 4 != 0));
    }
    for w in 1..=4 {
        for n in 0..3 {
            let at = now - Duration::days(90 * w + 10 + 7 * n as i64);
            out.push(case("gd-sz", at, 100 + n, true));
        }
    }
    for n in 0..12 {
        let at = now - Duration::days(60) + Duration::days(4 * n as i64);
        out.push(case("gd-sz", at, 200 + n, true));
    }
    for w in 0..=4 {
        for n in 0..5 {
            let at = now - Duration::days(90 * w + 5 + 11 * n as i64);
            out.push(case("gd-gz", at, 300 + n, true));
        }
    }
    out.sort_by_key(|c| c.received_at);
    out
}

#[tokio::test]
async fn hotspots_bulletin_dashboard_and_api() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let store = &h.db.store;
        let now = Utc::now();
        let cases = seeded(now);
        seed_cases(store, &cases).await.unwrap();
        let s = stats(&h);

        let pass = s.refresh(now).await.unwrap();
        let mut raised: Vec<String> = pass.raised.iter().map(ToString::to_string).collect();
        raised.sort();
        assert_eq!(raised, ["gd-gz-tianhe", "gd-sz"], "{engine:?}");
        assert!(pass.cleared.is_empty());
        // Mailed to the supervisors of the unit above, and only to them.
        let mails: Vec<_> = store
            .outbox_all()
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.kind.as_deref() == Some("hotspot"))
            .collect();
        let mut to: Vec<(String, bool)> = mails
            .iter()
            .map(|m| {
                (
                    m.recipient.clone(),
                    m.subject.contains("天河区委组织部") || m.subject.contains("深圳市委组织部"),
                )
            })
            .collect();
        to.sort();
        assert_eq!(
            to,
            [
                (email("supervisor", "gd-gz"), true),
                (email("supervisor", "gd"), true)
            ],
            "{engine:?}"
        );
        assert_eq!(pass.mails, 2);
        let audited = |action: &str| {
            let sql = format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'");
            let store = store.clone();
            async move { query_text(&store, &sql).await.unwrap() }
        };
        assert_eq!(audited("hotspot.raised").await, "2");
        // A second refresh raises nothing again.
        let again = s.refresh(now + Duration::minutes(60)).await.unwrap();
        assert!(again.raised.is_empty() && again.mails == 0, "{again:?}");
        assert_eq!(audited("hotspot.raised").await, "2");

        // The published bulletin: no count below the minimum, no county named.
        let raw = store
            .setting(setting_keys::BULLETIN)
            .await
            .unwrap()
            .unwrap();
        let bulletins: Vec<Bulletin> = serde_json::from_slice(&raw).unwrap();
        assert_eq!(bulletins.len(), 1);
        let b = &bulletins[0];
        let counts = b.published_counts();
        assert!(!counts.is_empty());
        assert!(counts.iter().all(|n| *n >= 5), "{counts:?}");
        assert!(b.areas.iter().all(|a| a.unit.as_str() != "gd-gz-tianhe"));
        let gz = b.areas.iter().find(|a| a.unit.as_str() == "gd-gz").unwrap();
        // Guangzhou's row holds Tianhe's reports too (40 + 5 in 12 months
        // at least).
        assert!(gz.received.count().unwrap() >= 45, "{gz:?}");

        // The API: the province sees everything below it.
        let gd = h.sign_in(&email("supervisor", "gd")).await;
        let (status, v) = gd.get("/api/v1/stats").await;
        assert_eq!(status, 200, "{v}");
        let in_window = cases
            .iter()
            .filter(|c| c.received_at > now - Duration::days(330))
            .count() as u64;
        let received = v["total"]["received"]["n"].as_u64().unwrap();
        assert!(
            received >= in_window && received <= cases.len() as u64,
            "{v}"
        );
        assert_eq!(v["overdue_now"]["verify"].as_u64(), Some(10), "{v}");
        assert_eq!(v["hotspots"].as_array().unwrap().len(), 2, "{v}");
        assert!(v["total"]["verify_done"]["on_time"].as_u64().unwrap() >= 30);
        assert!(v["median_days"]["feedback"].as_u64() == Some(9), "{v}");
        // Guangzhou sees Tianhe's flag, not Shenzhen's, and none of
        // Shenzhen's reports.
        let gz = h.sign_in(&email("supervisor", "gd-gz")).await;
        let (_, v) = gz.get("/api/v1/stats").await;
        let units: Vec<&str> = v["hotspots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["unit"].as_str().unwrap())
            .collect();
        assert_eq!(units, ["gd-gz-tianhe"], "{v}");
        assert!(v["by_unit"].get("gd-sz").is_none(), "{v}");
        assert_eq!(v["hotspots"][0]["trend"].as_array().unwrap().len(), 12);

        // The dashboard, its CSV and charts.
        let page = h.sign_in_page(&email("supervisor", "gd")).await;
        let a = page.get("/stats?lang=en").await;
        assert_eq!(a.status, 200);
        assert!(a.body.contains("data-unit=\"gd-sz\""), "{}", a.body);
        assert!(a.body.contains("id=\"overdue-list\""));
        assert!(a.body.contains("/stats/charts/volume.svg"));
        let csv = page.get("/stats.csv").await;
        assert_eq!(csv.status, 200);
        assert!(
            csv.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let total = csv.body.lines().last().unwrap();
        assert!(
            total.starts_with(&format!("total,{received},")),
            "{}",
            csv.body
        );
        // For reporting up: the breakdowns with Chinese headers, as CSV
        // and as an Excel workbook.
        let zh = page.get("/stats.csv?lang=zh").await;
        assert_eq!(zh.status, 200);
        for title in [
            "按月份",
            "按单位（含其下级单位）",
            "按问题类别",
            "按举报渠道",
        ] {
            assert!(zh.body.contains(title), "{title}: {}", zh.body);
        }
        assert!(zh.body.contains("满意率") && zh.body.contains(&format!("合计,{received},")));
        let xlsx = page.get("/stats.xlsx").await;
        assert_eq!(xlsx.status, 200);
        assert_eq!(
            xlsx.headers["content-type"].to_str().unwrap(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert!(xlsx.body.starts_with("PK"), "a zip, as .xlsx is");
        let chart = page.get("/stats/charts/volume.svg").await;
        assert_eq!(chart.status, 200);
        assert!(chart.body.starts_with("<svg"));
        assert_eq!(page.get("/stats/charts/nothing.svg").await.status, 404);
        // Signed out: no figures.
        let anon = common::page_client();
        let r = anon.get(h.url("/api/v1/stats")).send().await.unwrap();
        assert_eq!(r.status(), 401);

        // Half a year later the spikes have passed: flags are cleared, audited.
        let later = s.refresh(now + Duration::days(200)).await.unwrap();
        let mut cleared: Vec<String> = later.cleared.iter().map(ToString::to_string).collect();
        cleared.sort();
        assert_eq!(cleared, ["gd-gz-tianhe", "gd-sz"], "{engine:?}");
        assert_eq!(audited("hotspot.cleared").await, "2");
        assert!(matches!(
            store.verify_audit().await.unwrap(),
            sunlight_store::AuditReport::Intact { .. }
        ));
        h.stop().await;
    }
}
