//! The acceptance decision (受理) and the dispositions, through the API on
//! both engines: a referral closes the case and tells the reporter where
//! it went; a question for specifics unanswered files the case, and
//! reporter material reopens it; a knowingly-false finding needs another
//! supervisor; every bad input is a 4xx in the caller's language that
//! changes nothing.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::json;
use sunlight_casework::{MailStyle, Sweeper};
use sunlight_core::TrackingCode;
use sunlight_core::calendar::Calendar;
use sunlight_core::crypto::{SealContext, Sealed, open, seal};
use sunlight_core::i18n::Lang;
use sunlight_core::policy::Policy;
use sunlight_core::report::item;
use sunlight_core::{CaseId, UnitId};
use uuid::Uuid;

use crate::common::{ENGINES, Harness, StaffClient, email};

fn sweeper(h: &Harness) -> Sweeper {
    Sweeper::new(
        h.db.store.clone(),
        Arc::new(Policy::cn_12380()),
        Arc::new(Calendar::cn()),
        MailStyle {
            lang: Lang::En,
            link_base: "https://triage.example.org".into(),
        },
    )
}

async fn case(who: &StaffClient, id: &str) -> serde_json::Value {
    let (s, v) = who.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn in_queue(who: &StaffClient, stage: &str, id: &str) -> bool {
    let (s, q) = who.get(&format!("/api/v1/queues/{stage}")).await;
    assert_eq!(s, 200, "{q}");
    q.as_array().unwrap().iter().any(|l| l["case_id"] == id)
}

/// The reporter's opened messages, newest last.
fn reporter_messages(
    h: &Harness,
    code: &str,
    messages: &[sunlight_store::entity::message::Model],
    id: CaseId,
) -> Vec<String> {
    let secret = h
        .stretcher
        .stretch(&TrackingCode::parse(code).unwrap())
        .unwrap()
        .reporter_secret;
    messages
        .iter()
        .filter_map(|m| {
            let ctx = SealContext {
                case_id: id,
                item: &item::message(m.id),
            };
            let envelope = Sealed::parse(&m.sealed_body).ok()?.envelope();
            let plain = open(envelope, &ctx, &secret).ok()?;
            Some(String::from_utf8_lossy(&plain).into_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referral_closes_the_case_without_verification_and_tells_the_reporter() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let verifier = h.sign_in(&email("verifier", "gd-gz-tianhe")).await;
        let (code, id) = desk
            .file_unaccepted("gd-gz-tianhe", "ordinary", "inspection", "反映的是贪污受贿")
            .await;
        let c = case(&desk, &id).await;
        assert_eq!(
            (c["stage"].as_str(), c["disposition"].as_str()),
            (Some("received"), Some("open"))
        );
        assert!(
            c["allowed_actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "refer")
        );
        assert!(in_queue(&desk, "received", &id).await);

        // Bad inputs: an unknown body, an empty message, a verifier: 4xx, nothing changes.
        let (s, e) = desk
            .act(
                &id,
                json!({"action": "refer", "to": "court", "message": "转法院"}),
            )
            .await;
        assert!((400..500).contains(&s), "{engine:?}: {s} {e}");
        let (s, e) = desk
            .act(
                &id,
                json!({"action": "refer", "to": "petitions", "message": " "}),
            )
            .await;
        assert_eq!(s, 422, "{e}");
        let (s, e) = verifier
            .act(
                &id,
                json!({"action": "refer", "to": "petitions", "message": "m"}),
            )
            .await;
        assert_eq!(s, 403, "{e}");
        // An action named by a number is no action (serde would read 0
        // as the first variant, `route`).
        let (s, e) = desk.act(&id, json!({"action": 0})).await;
        assert!((400..500).contains(&s), "{s} {e}");
        assert_eq!(case(&desk, &id).await["disposition"], "open");

        let message = "您反映的贪污受贿问题属纪检监察机关受理范围，已转交区纪委监委。";
        let (s, v) = desk
            .act(
                &id,
                json!({"action": "refer", "to": "discipline_inspection", "message": message}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let c = case(&desk, &id).await;
        assert_eq!(c["stage"], "closed");
        assert_eq!(c["disposition"], "referred");
        assert_eq!(c["referred_to"], "discipline_inspection");
        assert_eq!(c["hold"], false, "a referred report holds no selection");
        // Never in a verify queue, no verification deadline.
        assert!(!in_queue(&verifier, "verify", &id).await);
        let cid = CaseId::parse(&id).unwrap();
        let steps = h.db.store.transitions_of(cid).await.unwrap();
        assert!(
            steps.iter().all(|t| t.to != sunlight_core::Stage::Verify),
            "{engine:?}"
        );
        // The reporter reads the message with the code.
        let messages = h.db.store.messages(cid).await.unwrap();
        let read = reporter_messages(&h, &code, &messages, cid);
        assert!(read.iter().any(|m| m.contains(message)), "{read:?}");
        // A disposition on a closed case: 409, in the caller's language.
        let (s, e) = desk.act(&id, json!({"action": "accept"})).await;
        assert_eq!(s, 409, "{e}");
        let (_, e) = desk
            .post(
                &format!("/api/v1/cases/{id}/transitions?lang=zh"),
                json!({"action": "refer", "to": "other", "message": "m"}),
            )
            .await;
        assert!(
            e["error"]["message"].as_str().unwrap().contains("办结"),
            "{e}"
        );
        let (s, e) = desk
            .post(
                &format!("/api/v1/cases/{id}/transitions?lang=en"),
                json!({"action": "ask_specifics", "question": "who, when, where?"}),
            )
            .await;
        assert_eq!(s, 409, "{e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains("closed"),
            "{e}"
        );
        // The register finds it by disposition.
        let (_, r) = desk.get("/api/v1/cases?disposition=referred").await;
        assert_eq!(r["total"], 1, "{r}");
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_specifics_file_the_case_and_reporter_material_reopens_it() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let (_, id) = desk
            .file_unaccepted("gd-gz-tianhe", "ordinary", "none", "有人违规")
            .await;
        let ask = json!({"action": "ask_specifics", "question": "请说明何人、何时、何地、何事"});
        let (s, v) = desk.act(&id, ask.clone()).await;
        assert_eq!(s, 200, "{v}");
        let c = case(&desk, &id).await;
        assert_eq!(c["stage"], "received");
        assert!(
            !c["allowed_actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "ask_specifics")
        );
        // Asked once only.
        let (s, e) = desk.act(&id, ask.clone()).await;
        assert_eq!(s, 409, "{e}");
        let cid = CaseId::parse(&id).unwrap();
        // The pause (30 days) has not ended: nothing is filed.
        let sweeper = sweeper(&h);
        let now = Utc::now();
        // An answer that comes after the pause ended no longer lifts it,
        // but it still keeps the case from being filed.
        let (_, late) = desk
            .file_unaccepted("gd-gz-tianhe", "ordinary", "none", "也有人违规")
            .await;
        let (s, v) = desk.act(&late, ask.clone()).await;
        assert_eq!(s, 200, "{v}");
        let late_id = CaseId::parse(&late).unwrap();
        let keys: Vec<_> =
            h.db.store
                .unit_with_ancestors(&UnitId::parse("gd-gz-tianhe").unwrap())
                .await
                .unwrap()
                .iter()
                .map(|u| u.public_key)
                .collect();
        let answer = Uuid::now_v7();
        let sealed = seal(
            "迟到的补充".as_bytes(),
            &SealContext {
                case_id: late_id,
                item: &item::message(answer),
            },
            &keys,
        )
        .unwrap();
        h.db.store
            .add_message_with(
                late_id,
                answer,
                None,
                sealed,
                Vec::new(),
                now + Duration::days(31),
            )
            .await
            .unwrap();
        assert_eq!(
            sweeper
                .file_unanswered(now + Duration::days(29))
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            sweeper
                .file_unanswered(now + Duration::days(31) + Duration::hours(1))
                .await
                .unwrap(),
            1,
            "{engine:?}: the unanswered one only"
        );
        assert_eq!(case(&desk, &late).await["stage"], "received");
        let c = case(&desk, &id).await;
        assert_eq!(
            (c["stage"].as_str(), c["disposition"].as_str()),
            (Some("closed"), Some("filed_for_reference"))
        );
        assert!(!in_queue(&desk, "received", &id).await);
        // The reporter sends material: once the day is over, the case is
        // open again for the acceptance decision.
        let units =
            h.db.store
                .unit_with_ancestors(&UnitId::parse("gd-gz-tianhe").unwrap())
                .await
                .unwrap();
        let keys: Vec<_> = units.iter().map(|u| u.public_key).collect();
        let mid = Uuid::now_v7();
        let sealed = seal(
            "被举报人是某局副局长张某，2026年5月在推荐会上拉票。".as_bytes(),
            &SealContext {
                case_id: cid,
                item: &item::message(mid),
            },
            &keys,
        )
        .unwrap();
        let later = now + Duration::days(32);
        h.db.store
            .add_message_with(cid, mid, None, sealed, Vec::new(), later)
            .await
            .unwrap();
        sweeper
            .notify_replies(later + Duration::days(2))
            .await
            .unwrap();
        let c = case(&desk, &id).await;
        assert_eq!(
            (c["stage"].as_str(), c["disposition"].as_str()),
            (Some("received"), Some("open")),
            "{engine:?}"
        );
        assert!(in_queue(&desk, "received", &id).await);
        let steps = h.db.store.transitions_of(cid).await.unwrap();
        let actions: Vec<&str> = steps.iter().map(|t| t.action.as_str()).collect();
        assert!(
            actions.contains(&"filed_for_reference") && actions.contains(&"reopened_on_material"),
            "{actions:?}"
        );
        // Not asked again: accepted now.
        let (s, e) = desk.act(&id, ask).await;
        assert_eq!(s, 409, "{e}");
        let (s, v) = desk.act(&id, json!({"action": "accept"})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(case(&desk, &id).await["disposition"], "accepted");
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knowingly_false_is_recorded_by_a_supervisor_who_did_not_verify_and_never_shown_to_the_reporter()
 {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let boss = h.sign_in(&email("supervisor", "gd-gz-tianhe")).await;
        let city_boss = h.sign_in(&email("supervisor", "gd-gz")).await;
        let (code, id) = desk
            .file("gd-gz-tianhe", "ordinary", "none", "捏造的举报")
            .await;
        // Accept twice: 409.
        let (s, e) = desk.act(&id, json!({"action": "accept"})).await;
        assert_eq!(s, 409, "{e}");
        assert_eq!(boss.claim(&id).await, 200);
        let (s, v) = boss
            .act(
                &id,
                json!({"action": "verified", "outcome": "unsubstantiated"}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let reason = json!({"action": "knowingly_false", "reason": "经查系捏造事实"});
        let (s, e) = boss.act(&id, reason.clone()).await;
        assert_eq!(s, 403, "the verifier may not: {e}");
        let c = case(&city_boss, &id).await;
        assert_eq!(c["disposition"], "accepted");
        assert!(
            c["allowed_actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "knowingly_false")
        );
        let (s, v) = city_boss.act(&id, reason.clone()).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            case(&city_boss, &id).await["disposition"],
            "knowingly_false"
        );
        let (s, e) = city_boss.act(&id, reason).await;
        assert_eq!(s, 409, "{e}");
        // The reason is sealed to the units only: the reporter cannot read it.
        let cid = CaseId::parse(&id).unwrap();
        let steps = h.db.store.transitions_of(cid).await.unwrap();
        let finding = steps
            .iter()
            .find(|t| t.action == "knowingly_false")
            .unwrap();
        assert!(!finding.reporter_visible, "{engine:?}");
        let secret = h
            .stretcher
            .stretch(&TrackingCode::parse(&code).unwrap())
            .unwrap()
            .reporter_secret;
        let sealed = finding.sealed_note.as_ref().unwrap();
        let note_item = [b"note/".as_slice(), finding.id.as_bytes()].concat();
        let ctx = SealContext {
            case_id: cid,
            item: &note_item,
        };
        // The envelope itself, without the unit's tag.
        let envelope = Sealed::parse(sealed).unwrap().envelope();
        assert!(open(envelope, &ctx, &secret).is_err());
        assert!(open(envelope, &ctx, h.keys.get("gd-gz-tianhe").unwrap()).is_ok());
        // Handled, answered and closed, it stays knowingly false.
        assert_eq!(boss.claim(&id).await, 200);
        let (s, v) = boss
            .act(&id, json!({"action": "decided", "decision": "不予追究"}))
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(boss.claim(&id).await, 200);
        for body in [
            json!({"action": "feedback", "message": "经查，反映的问题不属实。"}),
            json!({"action": "close"}),
        ] {
            let (s, v) = boss.act(&id, body).await;
            assert_eq!(s, 200, "{v}");
        }
        assert_eq!(case(&boss, &id).await["disposition"], "knowingly_false");
        let (_, r) = boss.get("/api/v1/cases?disposition=knowingly_false").await;
        assert_eq!(r["total"], 1, "{r}");
        h.stop().await;
    }
}
