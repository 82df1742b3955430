//! Staff material that whoever can write the database cannot forge (#24):
//! a TOTP secret or recovery codes sealed to the unit's public key and
//! written into the documented columns sign nobody in, on SQLite and
//! PostgreSQL, while the member's own still do.

use serde_json::json;
use sunlight_core::crypto::{SealContext, recovery_hash, seal};
use sunlight_core::{UnitId, crypto::RECOVERY_HASH};
use sunlight_store::provision::{no_case, totp_context};
use sunlight_testkit::{blob_literal, execute};

use crate::common::{ENGINES, Harness, email, totp_at_step};

/// Signs in with the member's password and `code`; the status and the
/// error code of the answer.
async fn sign_in_with(h: &Harness, who: &str, code: &str) -> (u16, String) {
    let login = h.logins.get(who).unwrap();
    let res = reqwest::Client::new()
        .post(h.url("/api/v1/session"))
        .header("Accept-Language", "en")
        .json(&json!({"email": who, "password": login.password, "totp": code}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_totp_secret_or_recovery_codes_written_without_the_unit_key_sign_nobody_in() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let who = email("verifier", "gd-sz");
        // The member's own secret signs in (the control).
        let own = h.logins[&who].totp.clone().unwrap();
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap() / 30;
        assert_eq!(
            sign_in_with(&h, &who, &totp_at_step(&own, now)).await.0,
            200,
            "{engine:?}: the member's own secret"
        );
        // The forgery that worked before tags: with the unit's public key
        // from the database, seal a secret of one's own in the documented
        // format and write it over the member's.
        let unit =
            h.db.store
                .unit(&UnitId::parse("gd-sz").unwrap())
                .await
                .unwrap()
                .unwrap();
        let mine = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let item = totp_context(&who);
        let forged = seal(
            mine.as_bytes(),
            &SealContext {
                case_id: no_case(),
                item: &item,
            },
            &[unit.public_key],
        )
        .unwrap();
        execute(
            &h.db.store,
            &format!(
                "UPDATE staff SET totp_sealed = {}, totp_last_step = NULL WHERE email = '{who}'",
                blob_literal(engine, &forged)
            ),
        )
        .await
        .unwrap();
        let (status, code) = sign_in_with(&h, &who, &totp_at_step(mine, now + 1)).await;
        // Answered like a wrong code: the answer must not tell a guesser
        // the password was right. The audit log says why.
        assert_eq!(
            (status, code.as_str()),
            (401, "bad_credentials"),
            "{engine:?}: a forged TOTP secret must not sign in"
        );
        assert_eq!(
            sunlight_testkit::count_audit(&h.db.store, "session.second_factor_unauthenticated")
                .await
                .unwrap(),
            1,
            "{engine:?}"
        );
        // Recovery codes of one's own, written as the hashes the docs
        // describe, spend nothing either.
        let code = "AAAA-BBBB-CCCC-DDDD";
        let hash = recovery_hash(code).unwrap();
        assert_eq!(hash.len(), RECOVERY_HASH);
        execute(
            &h.db.store,
            &format!(
                "UPDATE staff SET recovery_codes = {} WHERE email = '{who}'",
                blob_literal(engine, &hash)
            ),
        )
        .await
        .unwrap();
        let (status, _) = sign_in_with(&h, &who, code).await;
        assert_eq!(
            status, 401,
            "{engine:?}: forged recovery codes must not sign in"
        );
        assert_eq!(
            sunlight_testkit::count_audit(&h.db.store, "session.second_factor_unauthenticated")
                .await
                .unwrap(),
            2,
            "{engine:?}: the forged list is audited too"
        );
        h.stop().await;
    }
}

/// The case as `who` reads it through the API: (history, messages).
async fn case_texts(
    who: &crate::common::StaffClient,
    id: &str,
) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let (s, v) = who.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(s, 200, "{v}");
    (
        v["history"].as_array().unwrap().clone(),
        v["messages"].as_array().unwrap().clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_and_messages_put_into_the_database_without_the_case_units_key_show_as_such() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let county = "gd-gz-tianhe";
        let intake = h.sign_in(&email("intake", county)).await;
        let (_, id) = intake.file(county, "ordinary", "none", "天河的举报").await;
        let verifier = h.sign_in(&email("verifier", county)).await;
        let (s, v) = verifier
            .post(
                &format!("/api/v1/cases/{id}/comments"),
                json!({"body": "先核实名单。"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let comment = v["id"].as_str().unwrap().to_owned();
        let (s, v) = verifier
            .post(
                &format!("/api/v1/cases/{id}/messages"),
                json!({"body": "请补充时间地点。"}),
            )
            .await;
        assert!(s == 200 || s == 201, "{v}");
        let message = v["id"].as_str().unwrap().to_owned();
        // Genuine texts are authenticated, for the county and for the
        // province two levels up (which reaches the county's key through
        // the escrow chain).
        let province = h.sign_in(&email("supervisor", "gd")).await;
        for reader in [&verifier, &province] {
            let (history, messages) = case_texts(reader, &id).await;
            let note = history
                .iter()
                .find(|s| s["note"] == "先核实名单。")
                .unwrap();
            assert_eq!(note["note_authenticity"], "authenticated", "{engine:?}");
            let m = messages
                .iter()
                .find(|m| m["id"] == message.as_str())
                .unwrap();
            assert_eq!(m["authenticity"], "authenticated", "{engine:?}");
        }

        // A database writer seals words of their own to the units' public
        // keys and writes them over the comment and the message.
        let mut chain = Vec::new();
        for unit in [county, "gd-gz", "gd"] {
            let row =
                h.db.store
                    .unit(&UnitId::parse(unit).unwrap())
                    .await
                    .unwrap()
                    .unwrap();
            chain.push(row.public_key);
        }
        let case = sunlight_core::CaseId::from_uuid(id.parse().unwrap());
        let note_item = [
            b"note/".as_slice(),
            uuid::Uuid::parse_str(&comment).unwrap().as_bytes(),
        ]
        .concat();
        let message_item = sunlight_core::report::item::message(message.parse().unwrap());
        let padded = |text: &str| {
            sunlight_core::report::encode_padded(&sunlight_core::report::MessageContent {
                body: text.to_owned(),
            })
            .unwrap()
        };
        let untagged_note = seal(
            &padded("可以结案。"),
            &SealContext {
                case_id: case,
                item: &note_item,
            },
            &chain,
        )
        .unwrap();
        // With a key of their own, naming the county as the signer.
        let own =
            sunlight_core::crypto::UnitKeyPair::generate(sunlight_testkit::suite_under_test())
                .unwrap();
        let tagged_message = sunlight_core::crypto::seal_authenticated(
            &padded("无需再补充材料。"),
            &SealContext {
                case_id: case,
                item: &message_item,
            },
            &chain,
            county,
            uuid::Uuid::parse_str(&verifier.staff_id)
                .unwrap()
                .as_bytes(),
            &own.secret,
        )
        .unwrap();
        let id_literal = |text: &str| sunlight_testkit::uuid_literal(engine, text.parse().unwrap());
        execute(
            &h.db.store,
            &format!(
                "UPDATE transitions SET sealed_note = {} WHERE id = {}",
                blob_literal(engine, &untagged_note),
                id_literal(&comment)
            ),
        )
        .await
        .unwrap();
        execute(
            &h.db.store,
            &format!(
                "UPDATE messages SET sealed_body = {} WHERE id = {}",
                blob_literal(engine, &tagged_message),
                id_literal(&message)
            ),
        )
        .await
        .unwrap();
        for reader in [&verifier, &province] {
            let (history, messages) = case_texts(reader, &id).await;
            let note = history.iter().find(|s| s["note"] == "可以结案。").unwrap();
            assert_eq!(note["note_authenticity"], "unauthenticated", "{engine:?}");
            let m = messages
                .iter()
                .find(|m| m["id"] == message.as_str())
                .unwrap();
            assert_eq!(m["authenticity"], "forged", "{engine:?}");
            assert_eq!(m["body"], "", "{engine:?}: a forged text is not shown");
        }
        // A genuine comment moved onto another member's name, and a key
        // of the writer's own planted in the county's key history as a
        // "retired" key (it opens with the current one, as a real one
        // would): neither makes anything authenticated.
        let (s, v) = verifier
            .post(
                &format!("/api/v1/cases/{id}/comments"),
                json!({"body": "第二条意见。"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let second = v["id"].as_str().unwrap().to_owned();
        execute(
            &h.db.store,
            &format!(
                "UPDATE transitions SET actor_id = {} WHERE id = {}",
                id_literal(&province.staff_id),
                id_literal(&second)
            ),
        )
        .await
        .unwrap();
        let planted = own
            .secret
            .seal_to(
                &chain[0],
                &SealContext {
                    case_id: no_case(),
                    item: format!("unit-key-retired:{county}:0").as_bytes(),
                },
            )
            .unwrap();
        execute(
            &h.db.store,
            &format!(
                "INSERT INTO unit_key_history (unit_id, generation, public_key, sealed_to_successor, retired_at) VALUES ('{county}', 0, {}, {}, '2026-01-01T00:00:00Z')",
                blob_literal(engine, own.public.as_bytes()),
                blob_literal(engine, &planted)
            ),
        )
        .await
        .unwrap();
        let fresh_reader = h.sign_in(&email("supervisor", "gd-gz")).await;
        for reader in [&verifier, &province, &fresh_reader] {
            let (history, messages) = case_texts(reader, &id).await;
            let moved = history
                .iter()
                .find(|s| s["note"] == "" && s["note_authenticity"] == "forged");
            assert!(
                moved.is_some(),
                "{engine:?}: a note moved to another member is forged: {history:?}"
            );
            let m = messages
                .iter()
                .find(|m| m["id"] == message.as_str())
                .unwrap();
            assert_ne!(
                m["authenticity"], "authenticated",
                "{engine:?}: a planted retired key vouches for nothing"
            );
        }

        // The case page says so too, in the reader's language.
        let page = h.sign_in_page(&email("supervisor", county)).await;
        let answer = page.get(&format!("/cases/{id}")).await;
        let body = answer.body;
        assert!(
            body.contains("class=\"errors authenticity\""),
            "{engine:?}: {} {}",
            answer.status,
            body.chars().take(3000).collect::<String>()
        );
        // The untagged note, the moved one and the message (now under a
        // planted key: shown, but never as the unit's).
        assert!(
            body.matches("class=\"errors authenticity\"").count() >= 3,
            "{engine:?}"
        );
        h.stop().await;
    }
}
