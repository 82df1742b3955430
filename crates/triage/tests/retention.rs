//! The retention rule (#19), on both engines: a closed case past its period
//! loses its sealed content — the database files (SQLite) and a pg_dump
//! (PostgreSQL) no longer hold any of its ciphertext — while its number,
//! history, statistics and the audit chain stay; a legal hold keeps it;
//! supervisors are told 30 days before.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::json;
use sunlight_casework::{MailStyle, Sweeper};
use sunlight_core::CaseId;
use sunlight_core::calendar::Calendar;
use sunlight_core::policy::Policy;
use sunlight_store::AuditReport;
use sunlight_testkit::Engine;

use crate::common::{ENGINES, Harness, StaffClient, email};

const UNIT: &str = "gd-gz-tianhe";

/// A case filed, worked and closed through the API, with a staff message,
/// an internal comment and history notes; returns its id.
async fn closed_case(h: &Harness) -> String {
    let desk = h.sign_in(&email("intake", UNIT)).await;
    let verifier = h.sign_in(&email("verifier", UNIT)).await;
    let boss = h.sign_in(&email("supervisor", UNIT)).await;
    let (_, id) = desk
        .file(UNIT, "ordinary", "none", "保存期限测试：送礼二万元")
        .await;
    assert_eq!(verifier.claim(&id).await, 200);
    let (s, _) = verifier
        .post(
            &format!("/api/v1/cases/{id}/comments"),
            json!({"body": "内部意见：证人甲可靠"}),
        )
        .await;
    assert_eq!(s, 201);
    act(
        &verifier,
        &id,
        json!({"action": "verified", "outcome": "substantiated", "note": "两名证人证实"}),
    )
    .await;
    assert_eq!(boss.claim(&id).await, 200);
    act(
        &boss,
        &id,
        json!({"action": "decided", "decision": "取消其考察对象资格"}),
    )
    .await;
    assert_eq!(verifier.claim(&id).await, 200);
    act(
        &verifier,
        &id,
        json!({"action": "feedback", "message": "经查属实，已作处理。"}),
    )
    .await;
    act(&verifier, &id, json!({"action": "close"})).await;
    id
}

async fn act(who: &StaffClient, id: &str, body: serde_json::Value) {
    let (s, v) = who.act(id, body).await;
    assert_eq!(s, 200, "{v}");
}

/// Every ciphertext the case has: the report, message bodies, notes.
async fn ciphertexts(h: &Harness, engine: Engine, id: &str) -> Vec<Vec<u8>> {
    let case = CaseId::parse(id).unwrap();
    let all =
        h.db.store
            .jurisdiction(&sunlight_core::UnitId::parse("gd").unwrap())
            .await
            .unwrap();
    let row = h.db.store.case_in(&all, case).await.unwrap().unwrap();
    let mut out = vec![row.sealed_report];
    for m in h.db.store.messages(case).await.unwrap() {
        out.push(m.sealed_body);
    }
    let hex = match engine {
        Engine::Sqlite => "lower(hex(sealed_note))",
        Engine::Postgres => "encode(sealed_note, 'hex')",
    };
    let notes = sunlight_testkit::query_text(
        &h.db.store,
        &format!(
            "SELECT {hex} FROM transitions WHERE case_id = {} AND sealed_note IS NOT NULL \
             ORDER BY {hex} LIMIT 1",
            match engine {
                Engine::Sqlite => format!("x'{}'", case.as_uuid().simple()),
                Engine::Postgres => format!("'{case}'"),
            }
        ),
    )
    .await
    .unwrap();
    out.push(data_encoding::HEXLOWER.decode(notes.as_bytes()).unwrap());
    out
}

/// A 48-byte window from the middle of a ciphertext: random, so found in
/// the database only if that ciphertext is.
fn window(c: &[u8]) -> &[u8] {
    let mid = c.len() / 2;
    &c[mid.saturating_sub(24)..(mid + 24).min(c.len())]
}

fn sweeper(h: &Harness) -> Sweeper {
    Sweeper::new(
        h.db.store.clone(),
        Arc::new(Policy::cn_12380()),
        Arc::new(Calendar::cn()),
        MailStyle {
            lang: sunlight_core::i18n::Lang::En,
            link_base: "http://127.0.0.1".into(),
        },
    )
}

async fn set_closed_at(h: &Harness, id: &str, at: chrono::DateTime<Utc>) {
    sunlight_testkit::execute(
        &h.db.store,
        &format!(
            "UPDATE cases SET closed_at = '{}' WHERE id = {}",
            at.format("%Y-%m-%d %H:%M:%S%:z"),
            match h.db.engine {
                Engine::Sqlite => format!("x'{}'", CaseId::parse(id).unwrap().as_uuid().simple()),
                Engine::Postgres => format!("'{id}'"),
            }
        ),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_case_past_its_period_loses_its_ciphertext_and_nothing_else() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let id = closed_case(&h).await;
        let sealed = ciphertexts(&h, engine, &id).await;
        assert_eq!(
            sealed.len(),
            3,
            "the report, the feedback message and a note"
        );
        for c in &sealed {
            assert!(
                h.db.holds(window(c)).await.unwrap(),
                "{engine:?}: kept before"
            );
        }
        let boss = h.sign_in(&email("supervisor", UNIT)).await;
        let (_, case) = boss.get(&format!("/api/v1/cases/{id}")).await;
        assert!(
            case["purge_on"].is_string(),
            "the case page shows the day: {case}"
        );
        let (_, stats_before) = boss.get("/api/v1/stats").await;
        let audit_before = h.db.store.verify_audit().await.unwrap();
        let sweeper = sweeper(&h);
        let policy = Policy::cn_12380();
        let now = Utc::now();

        // 20 days before its purge: its supervisors are told, once.
        set_closed_at(&h, &id, policy.purge_cutoff(now) + Duration::days(20)).await;
        let told = sweeper.retention_notices(now).await.unwrap();
        assert!(told >= 1, "{engine:?}");
        assert_eq!(sweeper.retention_notices(now).await.unwrap(), 0, "once");
        assert_eq!(
            sweeper.retention(now, false).await.unwrap().purged,
            0,
            "not yet"
        );

        // Past it, but under a legal hold: kept.
        set_closed_at(&h, &id, policy.purge_cutoff(now) - Duration::days(1)).await;
        let path = format!("/api/v1/cases/{id}/legal-hold");
        // Set by the city above the case's county.
        let city = h.sign_in(&email("supervisor", "gd-gz")).await;
        let hold = |on: bool| city.post(&path, json!({"hold": on, "reason": "复查期间保留"}));
        let verifier = h.sign_in(&email("verifier", UNIT)).await;
        let (s, _) = verifier
            .post(
                &format!("/api/v1/cases/{id}/legal-hold"),
                json!({"hold": true, "reason": "x"}),
            )
            .await;
        assert_eq!(s, 403, "supervisors only");
        assert_eq!(hold(true).await.0, 204);
        assert_eq!(hold(true).await.0, 409, "held already");
        let (_, case) = boss.get(&format!("/api/v1/cases/{id}")).await;
        assert!(case["legal_hold_since"].is_string() && case["purge_on"].is_null());
        assert_eq!(sweeper.retention(now, false).await.unwrap().purged, 0);
        // The county's own supervisor cannot lift what the city set.
        let (s, _) = boss
            .post(&path, json!({"hold": false, "reason": "不再需要"}))
            .await;
        assert_eq!(s, 409, "{engine:?}");
        assert_eq!(hold(false).await.0, 204);
        // A lifted hold: the purge waits 30 days, so the units above hear.
        assert_eq!(sweeper.retention(now, true).await.unwrap().due.len(), 0);
        sunlight_testkit::execute(
            &h.db.store,
            &format!(
                "UPDATE cases SET legal_hold_lifted_at = '{}' WHERE legal_hold_lifted_at IS NOT NULL",
                (now - Duration::days(31)).format("%Y-%m-%d %H:%M:%S%:z")
            ),
        )
        .await
        .unwrap();

        // A dry run lists it and changes nothing; the run purges it.
        let dry = sweeper.retention(now, true).await.unwrap();
        assert_eq!((dry.due.len(), dry.purged), (1, 0), "{engine:?}");
        assert!(h.db.holds(window(&sealed[0])).await.unwrap());
        let run = sweeper.retention(now, false).await.unwrap();
        assert_eq!(run.purged, 1, "{engine:?}");
        for c in &sealed {
            assert!(
                !h.db.holds(window(c)).await.unwrap(),
                "{engine:?}: no ciphertext of the case survives"
            );
        }
        // What stays: the case in the register, its history without text,
        // the statistics, and an intact audit chain one entry longer.
        let (s, e) = boss.get(&format!("/api/v1/cases/{id}")).await;
        assert_eq!(s, 409, "{e}");
        assert!(e["error"]["message"].as_str().unwrap().contains("purged"));
        let (_, register) = boss.get("/api/v1/cases?stage=closed").await;
        assert!(
            register["cases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["case_id"] == id.as_str())
        );
        let (_, stats_after) = boss.get("/api/v1/stats").await;
        assert_eq!(stats_before, stats_after, "{engine:?}");
        match (audit_before, h.db.store.verify_audit().await.unwrap()) {
            (AuditReport::Intact { entries: a, .. }, AuditReport::Intact { entries: b, .. }) => {
                assert!(b > a, "{engine:?}: {a} -> {b}");
            }
            other => panic!("{engine:?}: {other:?}"),
        }
        assert_eq!(
            sunlight_testkit::count_audit(&h.db.store, "case.purged")
                .await
                .unwrap(),
            1
        );
        assert_eq!(hold(true).await.0, 409, "nothing left to hold");
        // The tracking code finds nothing any more.
        let lookups = sunlight_testkit::query_text(
            &h.db.store,
            "SELECT COUNT(*) FROM cases WHERE purged_at IS NOT NULL",
        )
        .await
        .unwrap();
        assert_eq!(lookups, "1");
        h.stop().await;
    }
}
