//! A merge never widens who can read a report, and a staff message on a
//! surviving case is sealed to the one reporter it is addressed to.

use serde_json::json;
use sunlight_core::crypto::{SealContext, Sealed, open};
use sunlight_core::report::item;
use sunlight_core::{CaseId, TrackingCode};

use crate::common::{ENGINES, Harness, email};

/// Waits until the router has moved `case` out of `received`.
async fn routed(who: &crate::common::StaffClient, case: &str) {
    let mut stage = serde_json::Value::Null;
    for _ in 0..100 {
        let (_, v) = who.get(&format!("/api/v1/cases/{case}")).await;
        stage = v["stage"].clone();
        if stage == "verify" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(stage, "verify", "case {case} was not routed");
}

/// Whether the reporter of `code` can open staff message `n` of `case`.
async fn reporter_reads(h: &Harness, code: &str, case: &str, n: usize) -> bool {
    let secret = h
        .stretcher
        .stretch(&TrackingCode::parse(code).unwrap())
        .unwrap()
        .reporter_secret;
    let id = CaseId::parse(case).unwrap();
    let messages = h.db.store.messages(id).await.unwrap();
    let m = &messages[n];
    open(
        Sealed::parse(&m.sealed_body).unwrap().envelope(),
        &SealContext {
            case_id: id,
            item: &item::message(m.id),
        },
        &secret,
    )
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_that_would_let_the_accuseds_unit_read_a_report_is_refused() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let city = h.sign_in(&email("supervisor", "gd-gz")).await;
        // About Tianhe's own party secretary: routed to the city, which
        // Tianhe's staff cannot read.
        let (key_code, key_person) = desk
            .file("gd-gz-tianhe", "party_secretary", "none", "关于区委书记")
            .await;
        let (ordinary_code, ordinary) = desk.file("gd-gz-tianhe", "ordinary", "none", "普通").await;
        let (s, v) = city.act(&key_person, json!({"action": "accept"})).await;
        assert_eq!(s, 200, "{v}");
        routed(&city, &key_person).await;
        routed(&city, &ordinary).await;

        let (s, v) = city
            .act(&key_person, json!({"action": "merge", "into": ordinary}))
            .await;
        assert_eq!(s, 409, "{engine:?}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("may not read this case"),
            "{v}"
        );
        let (_, still) = city.get(&format!("/api/v1/cases/{key_person}")).await;
        assert_eq!(still["stage"], "verify", "nothing changed");
        assert!(still["merged_into"].is_null());

        // The other way keeps every reader: the city reads both already.
        let (s, v) = city
            .act(&ordinary, json!({"action": "merge", "into": key_person}))
            .await;
        assert_eq!(s, 200, "{engine:?}: {v}");
        let (_, survivor) = city.get(&format!("/api/v1/cases/{key_person}")).await;
        assert_eq!(survivor["merged_cases"], json!([ordinary]));

        // A question to the survivor's reporter reaches that reporter only;
        // one addressed to the merged-in reporter reaches only them.
        let path = format!("/api/v1/cases/{key_person}/messages");
        let (s, v) = city.post(&path, json!({"body": "请补充时间地点"})).await;
        assert_eq!(s, 201, "{v}");
        let (s, v) = city
            .post(&path, json!({"body": "请说明来源", "to": ordinary}))
            .await;
        assert_eq!(s, 201, "{v}");
        assert!(reporter_reads(&h, &key_code, &key_person, 0).await);
        assert!(
            !reporter_reads(&h, &ordinary_code, &key_person, 0).await,
            "{engine:?}: the merged-in reporter read a question put to another"
        );
        assert!(reporter_reads(&h, &ordinary_code, &key_person, 1).await);
        assert!(!reporter_reads(&h, &key_code, &key_person, 1).await);
        // Not a case merged into this one: refused, nothing stored.
        let (s, v) = city
            .post(&path, json!({"body": "x", "to": key_person}))
            .await;
        assert_eq!(s, 201, "its own reporter, named explicitly: {v}");
        let stranger = uuid::Uuid::now_v7().to_string();
        let (s, v) = city.post(&path, json!({"body": "x", "to": stranger})).await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(
            h.db.store
                .messages(CaseId::parse(&key_person).unwrap())
                .await
                .unwrap()
                .len(),
            3
        );
        h.stop().await;
    }
}
