//! Staff and keys over the years (#19), on both engines: admins care for
//! the staff of the units below them through the key escrow, and a unit's
//! key is replaced so that a disabled member's stored wrap opens nothing
//! sealed after it.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use sunlight_core::crypto::{SealContext, UnitSecretKey, open};
use sunlight_core::report::item;
use sunlight_core::{CaseId, UnitId};
use sunlight_store::keyring;

use crate::common::{ENGINES, Harness, Login, StaffClient, email};

const COUNTY: &str = "gd-gz-tianhe";

fn uid(s: &str) -> UnitId {
    UnitId::parse(s).unwrap()
}

/// Adds `address` to `unit` through the admin API and lets the new member
/// replace the one-time password; returns their working client.
async fn new_member(
    h: &mut Harness,
    admin: &StaffClient,
    unit: &str,
    address: &str,
) -> StaffClient {
    let (status, made) = admin
        .post(
            "/api/v1/staff",
            serde_json::json!({"email": address, "role": "verifier", "unit": unit}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let one_time = made["one_time_password"].as_str().unwrap().to_owned();
    h.logins.insert(
        address.to_owned(),
        Login {
            email: address.to_owned(),
            password: one_time.clone(),
            totp: made["totp_secret"].as_str().map(str::to_owned),
        },
    );
    let member = h.sign_in(address).await;
    replace_password(h, &member, address, &one_time, "a long new password 1").await;
    member
}

/// The member replaces `current` with `new` (with a code when they have a
/// second factor), then confirms the authenticator secret the change gave.
async fn replace_password(
    h: &mut Harness,
    member: &StaffClient,
    address: &str,
    current: &str,
    new: &str,
) {
    let secret = h.logins.get(address).unwrap().totp.clone();
    let totp = match &secret {
        Some(secret) => Some(h.fresh_totp(address, secret).await),
        None => None,
    };
    let (status, body) = member
        .post(
            "/api/v1/password",
            serde_json::json!({"current_password": current, "totp": totp, "new_password": new}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    h.logins.get_mut(address).unwrap().password = new.into();
    if let Some(renewed) = body["totp_secret"].as_str() {
        let code = h.fresh_totp(&format!("{address}#new"), renewed).await;
        let (status, confirmed) = member
            .post("/api/v1/totp/confirm", serde_json::json!({"totp": code}))
            .await;
        assert_eq!(status, 200, "{confirmed}");
        assert_eq!(confirmed["recovery_codes"].as_array().unwrap().len(), 10);
        h.logins.get_mut(address).unwrap().totp = Some(renewed.to_owned());
        h.forget_totp_steps(address).await;
    }
}

/// The sealed report of case `id`, as stored.
async fn sealed_report(h: &Harness, id: &str) -> (CaseId, Vec<u8>) {
    let case = CaseId::parse(id).unwrap();
    let all = h.db.store.jurisdiction(&uid("gd")).await.unwrap();
    let row = h.db.store.case_in(&all, case).await.unwrap().unwrap();
    (case, row.sealed_report)
}

fn opens(key: &UnitSecretKey, case: CaseId, sealed: &[u8]) -> bool {
    let ctx = SealContext {
        case_id: case,
        item: item::REPORT,
    };
    open(sealed, &ctx, key).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_admin_cares_for_county_staff_through_the_escrow() {
    for engine in ENGINES {
        let mut h = Harness::start(engine).await;
        let intake = h.sign_in(&email("intake", COUNTY)).await;
        let (_, case) = intake
            .file(COUNTY, "ordinary", "inspection", "县里的干部任前突击提拔")
            .await;
        // The province admin's session holds only the province key; the
        // county's comes down the escrow chain (province → city → county).
        let admin = h.sign_in(&email("admin", "gd")).await;
        let verifier = new_member(&mut h, &admin, COUNTY, "new-verifier@tianhe.test").await;
        let (status, body) = verifier.get(&format!("/api/v1/cases/{case}")).await;
        assert_eq!(status, 200, "{engine:?}: {body}");
        assert_eq!(body["report"]["narrative"], "县里的干部任前突击提拔");
        let (_, listed) = admin.get("/api/v1/staff").await;
        let member = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["email"] == "new-verifier@tianhe.test")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // Reset: a new one-time password with the county key sealed to a
        // fresh member key; the member's session ends.
        let (status, reset) = admin
            .post(
                &format!("/api/v1/staff/{member}/reset"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, 200, "{reset}");
        assert_eq!(verifier.get("/api/v1/queues/verify").await.0, 401);
        let one_time = reset["one_time_password"].as_str().unwrap().to_owned();
        h.logins
            .get_mut("new-verifier@tianhe.test")
            .unwrap()
            .password = one_time.clone();
        let again = h.sign_in("new-verifier@tianhe.test").await;
        replace_password(
            &mut h,
            &again,
            "new-verifier@tianhe.test",
            &one_time,
            "another long password",
        )
        .await;
        assert_eq!(again.get(&format!("/api/v1/cases/{case}")).await.0, 200);
        let (status, _) = admin
            .post(
                &format!("/api/v1/staff/{member}/disable"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(again.get("/api/v1/queues/verify").await.0, 401);
        // A sibling city's admin reaches none of it.
        let sibling = h.sign_in(&email("admin", "gd-sz")).await;
        let (status, _) = sibling
            .post(
                &format!("/api/v1/staff/{member}/enable"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, 404);
        let (status, _) = sibling
            .post(
                "/api/v1/staff",
                serde_json::json!({"email": "x@sz.test", "role": "verifier", "unit": COUNTY}),
            )
            .await;
        assert_eq!(status, 422);
        // Every change was mailed to the member, with no secret in it.
        let mails: Vec<_> =
            h.db.store
                .outbox_all()
                .await
                .unwrap()
                .into_iter()
                .filter(|m| m.recipient == "new-verifier@tianhe.test")
                .collect();
        let kinds: Vec<_> = mails.iter().filter_map(|m| m.kind.clone()).collect();
        assert_eq!(
            kinds,
            [
                "account.password_changed",
                "account.totp_enrolled",
                "account.password_reset",
                "account.password_changed",
                "account.totp_enrolled",
                "account.disabled"
            ],
            "{engine:?}"
        );
        assert!(mails.iter().all(|m| !m.body.contains(&one_time)));
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_without_an_escrow_gets_one_when_its_key_is_replaced() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        // As a unit made before escrow existed.
        sunlight_testkit::execute(
            &h.db.store,
            &format!("UPDATE units SET escrow_sealed_key = NULL WHERE id = '{COUNTY}'"),
        )
        .await
        .unwrap();
        let admin = h.sign_in(&email("admin", "gd")).await;
        let ask = || {
            admin.post(
                "/api/v1/staff",
                serde_json::json!({"email": "later@tianhe.test", "role": "intake", "unit": COUNTY}),
            )
        };
        let (status, body) = ask().await;
        assert_eq!(status, 409, "{engine:?}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("escrow")
        );
        // A sign-in does not seal the key upwards by itself (a database
        // writer could have swapped the parent's public key); replacing the
        // unit's key does, by an admin who chose to.
        h.sign_in(&email("intake", COUNTY)).await;
        assert_eq!(ask().await.0, 409);
        let county_admin = h.sign_in(&email("admin", COUNTY)).await;
        let (status, body) = county_admin
            .post(
                &format!("/api/v1/units/{COUNTY}/rotate-key"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, 200, "{engine:?}: {body}");
        let (status, body) = ask().await;
        assert_eq!(status, 201, "{engine:?}: {body}");
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_rotation_a_disabled_members_wrap_opens_nothing_new() {
    for engine in ENGINES {
        let mut h = Harness::start(engine).await;
        let intake = h.sign_in(&email("intake", COUNTY)).await;
        let (_, before) = intake
            .file(COUNTY, "ordinary", "inspection", "轮换之前的举报")
            .await;
        let city_admin = h.sign_in(&email("admin", "gd-gz")).await;
        let leaver = new_member(&mut h, &city_admin, COUNTY, "leaver@tianhe.test").await;
        assert_eq!(leaver.get(&format!("/api/v1/cases/{before}")).await.0, 200);
        let leaver_row =
            h.db.store
                .staff_by_email("leaver@tianhe.test")
                .await
                .unwrap()
                .unwrap();
        let (status, _) = city_admin
            .post(
                &format!("/api/v1/staff/{}/disable", leaver_row.id),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, 200);
        let (status, rotated) = city_admin
            .post(
                &format!("/api/v1/units/{COUNTY}/rotate-key"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(status, 200, "{engine:?}: {rotated}");
        assert_eq!(rotated["generation"], 2);
        assert_eq!(rotated["left_out"], 1, "the disabled member: {rotated}");
        assert!(rotated["recovery_key"].is_string(), "the county had one");
        // Every session of the unit ended; its members sign in again.
        assert_eq!(intake.get("/api/v1/queues/verify").await.0, 401);
        let intake = h.sign_in(&email("intake", COUNTY)).await;
        let (_, after) = intake
            .file(COUNTY, "ordinary", "inspection", "轮换之后的举报")
            .await;
        let verifier = h.sign_in(&email("verifier", COUNTY)).await;
        for case in [&before, &after] {
            let (status, body) = verifier.get(&format!("/api/v1/cases/{case}")).await;
            assert_eq!(status, 200, "{engine:?}: old and new both open: {body}");
        }
        // The disabled member's stored wrap: their password opens their own
        // member key, but the unit key sealed to it is gone, and neither
        // that key nor the old unit key (which they may have kept) opens
        // what was sealed after the rotation.
        let row =
            h.db.store
                .staff_by_email("leaver@tianhe.test")
                .await
                .unwrap()
                .unwrap();
        let keys = row.password.verify(b"a long new password 1").unwrap();
        assert!(keyring::open_member(&row, &keys).is_err(), "{engine:?}");
        let member_key = row
            .wrapped_unit_key
            .unwrap_as_member(&keys, &row.email)
            .unwrap();
        let old_key = h.keys.get(COUNTY).unwrap();
        let (old_case, old_sealed) = sealed_report(&h, &before).await;
        let (new_case, new_sealed) = sealed_report(&h, &after).await;
        assert!(opens(old_key, old_case, &old_sealed));
        assert!(!opens(old_key, new_case, &new_sealed), "{engine:?}");
        assert!(!opens(&member_key, new_case, &new_sealed));
        // Enabling them again gives them nothing until a reset.
        city_admin
            .post(
                &format!("/api/v1/staff/{}/enable", row.id),
                serde_json::json!({}),
            )
            .await;
        let answer = reqwest::Client::new()
            .post(h.url("/api/v1/session"))
            .json(&serde_json::json!({"email": "leaver@tianhe.test", "password": "a long new password 1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401);
        // The escrow chain was re-sealed: the province still reaches the
        // county, and after the city rotates too, still does.
        let (status, _) = city_admin
            .post("/api/v1/units/gd-gz/rotate-key", serde_json::json!({}))
            .await;
        assert_eq!(status, 200);
        let province = h.sign_in(&email("admin", "gd")).await;
        let fresh = new_member(&mut h, &province, COUNTY, "fresh@tianhe.test").await;
        for case in [&before, &after] {
            assert_eq!(fresh.get(&format!("/api/v1/cases/{case}")).await.0, 200);
        }
        // The city's own members open the county's cases with the city's
        // new key (the reports were sealed to the old one).
        let city = h.sign_in(&email("supervisor", "gd-gz")).await;
        assert_eq!(city.get(&format!("/api/v1/cases/{before}")).await.0, 200);
        h.stop().await;
    }
}

/// The secret on the authenticator page of a session (HTML).
async fn enrolment_secret(member: &StaffClient) -> String {
    let page = member
        .client
        .get(format!("{}/account/totp", member.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, rest) = page.split_once("id=\"totp-secret\">").unwrap();
    rest.split_once('<').unwrap().0.trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_authenticator_is_enrolled_again_before_anything_else() {
    for engine in ENGINES {
        let mut h = Harness::start(engine).await;
        let who = email("verifier", "gd-gz");
        let member_id = h.db.store.staff_by_email(&who).await.unwrap().unwrap().id;
        let admin = h.sign_in(&email("admin", "gd")).await;
        let (s, v) = admin
            .post(
                &format!("/api/v1/staff/{member_id}/totp-reset"),
                serde_json::json!({}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        // The password alone opens a session that may only enrol.
        h.logins.get_mut(&who).unwrap().totp = None;
        let first = h.sign_in(&who).await;
        let (s, e) = first.get("/api/v1/queues/verify").await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (403, Some("totp_confirmation_required"))
        );
        // Changing the password is no second factor.
        let password = h.logins[&who].password.clone();
        let (s, _) = first
            .post(
                "/api/v1/password",
                serde_json::json!({"current_password": password, "new_password": "a new passphrase 42"}),
            )
            .await;
        assert_eq!(s, 200);
        h.logins.get_mut(&who).unwrap().password = "a new passphrase 42".into();
        assert_eq!(
            first.get("/api/v1/queues/verify").await.0,
            403,
            "{engine:?}"
        );
        // Someone else with the password saw a secret; the member's own
        // sign-in makes a new one, and the old one confirms nothing.
        let seen = enrolment_secret(&first).await;
        let own = h.sign_in(&who).await;
        let secret = enrolment_secret(&own).await;
        assert_ne!(seen, secret);
        let (s, _) = first
            .post(
                "/api/v1/totp/confirm",
                serde_json::json!({"totp": crate::common::totp_now(&seen)}),
            )
            .await;
        assert_eq!(s, 403, "{engine:?}");
        let (s, v) = own
            .post(
                "/api/v1/totp/confirm",
                serde_json::json!({"totp": crate::common::totp_now(&secret)}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(own.get("/api/v1/queues/verify").await.0, 200);
        h.stop().await;
    }
}
