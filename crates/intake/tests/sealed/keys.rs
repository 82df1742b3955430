//! `sealed/prepare` hands out unit keys from a copy at most a second old
//! (`Store::public_units_recent`), and the filing is checked against that
//! copy too; a report sealed to keys replaced meanwhile is still refused,
//! by its transaction's check of the key generations, and that refusal
//! makes the next prepare read the keys again. Under `sealed::`,
//! whose tests the shangmi pass leaves out (that suite seals nowhere but
//! on the server).

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use data_encoding::BASE64;
use serde_json::{Value, json};
use sunlight_core::crypto::{UnitKeyPair, UnitPublicKey};
use sunlight_testkit::{blob_literal, suite_under_test};

use super::{browser, follow_up, key_of, post, sealed_report};
use crate::common::{ENGINES, Harness};

fn recipients(prepared: &Value) -> Vec<Vec<u8>> {
    prepared["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| key_of(k).as_bytes().to_vec())
        .collect()
}

/// A rotation of the county's key as another process commits it: the
/// new key and the next generation, and this process's copy untouched.
async fn rotate(h: &Harness) -> UnitPublicKey {
    let new_key = UnitKeyPair::generate(suite_under_test()).unwrap().public;
    h.db.raw(&format!(
        "UPDATE units SET public_key = {}, key_generation = key_generation + 1 \
         WHERE id = 'gd-gz-tianhe'",
        blob_literal(h.db.engine, new_key.as_bytes())
    ))
    .await
    .unwrap();
    new_key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_sealed_to_keys_replaced_a_moment_ago_is_refused_and_the_next_prepare_has_the_new_ones()
 {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let b = browser(&h).await;
        // Prepared (the copy is read now) and sealed to today's keys.
        let (body, _, _) = sealed_report(&h, &b, "gd-gz-tianhe").await;
        let new_key = rotate(&h).await;
        let (got, answer) = post(&h, "/api/v1/sealed/reports", &body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str().unwrap()),
            (422, "sealed_misaddressed"),
            "{engine:?}: filed against the copy, not the database"
        );
        let (got, prepared) = post(
            &h,
            "/api/v1/sealed/prepare",
            &json!({"unit": "gd-gz-tianhe", "accused_role": "ordinary", "token": b.token}),
        )
        .await;
        assert_eq!(got, 200, "{prepared}");
        assert!(
            recipients(&prepared).contains(&new_key.as_bytes().to_vec()),
            "{engine:?}: the refusal did not make prepare read the keys again"
        );
        h.stop().await;
    }
}

/// A follow-up sealed to keys this process's copy does not hold yet (the
/// browser read its status from another replica, after a rotation): it is
/// refused, and the refusal drops the copy, so the status the browser
/// reads next, here, names the new key and the follow-up sealed to it is
/// stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_sealed_to_keys_newer_than_the_copy_drops_it() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let b = browser(&h).await;
        let (body, _, _) = sealed_report(&h, &b, "gd-gz-tianhe").await;
        let (got, filed) = post(&h, "/api/v1/sealed/reports", &body).await;
        assert_eq!(got, 201, "{filed}");
        let token = json!({"token": b.token});
        let (_, mut status) = post(&h, "/api/v1/sealed/status", &token).await;
        let old_key = h.key("gd-gz-tianhe").public();
        assert_eq!(key_of(&status["recipients"][0]), old_key, "nearest first");
        let read_at = std::time::Instant::now();
        let new_key = rotate(&h).await;
        // What the other replica, with a fresh copy, answered.
        status["recipients"][0] = json!(BASE64.encode(new_key.as_bytes()));
        let sent = follow_up(&b, &status, "补充一点");
        let (got, answer) = post(&h, "/api/v1/sealed/messages", &sent).await;
        assert_eq!(got, 422, "{engine:?}: {answer}");
        assert_eq!(answer["error"]["code"], "sealed_misaddressed");
        let (_, status) = post(&h, "/api/v1/sealed/status", &token).await;
        if read_at.elapsed() < sunlight_store::RECENT_UNITS / 2 {
            assert_eq!(
                key_of(&status["recipients"][0]),
                new_key,
                "{engine:?}: the status still names the key the copy held"
            );
        }
        let sent = follow_up(&b, &status, "补充一点");
        let (got, answer) = post(&h, "/api/v1/sealed/messages", &sent).await;
        assert_eq!(got, 201, "{engine:?}: {answer}");
        h.stop().await;
    }
}
