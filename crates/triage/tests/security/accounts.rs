//! A session is not an account: changing the password needs the current
//! password and a fresh code, a new second factor counts only once
//! confirmed, and disable/reset/password change end the member's sessions
//! in every triage process.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{ENGINES, Harness, StaffClient, email};

/// Polls `who` until its session is refused; returns how long that took.
async fn until_refused(who: &StaffClient) -> Duration {
    let started = Instant::now();
    loop {
        let (s, _) = who.get("/api/v1/queues/verify").await;
        if s == 401 {
            return started.elapsed();
        }
        // 403 while a one-time password waits to be replaced.
        assert!(s == 200 || s == 403, "{s}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the session outlived its member's standing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn password_record(h: &Harness, who: &str) -> Vec<u8> {
    h.db.store
        .staff_by_email(who)
        .await
        .unwrap()
        .unwrap()
        .password
        .to_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_session_cannot_change_the_password_or_the_second_factor() {
    for engine in ENGINES {
        let mut h = Harness::start(engine).await;
        let who = email("supervisor", "gd-gz");
        let thief = h.sign_in(&who).await;
        let owner = h.sign_in(&who).await;
        let password = h.logins[&who].password.clone();
        let secret = h.logins[&who].totp.clone().unwrap();
        let before = password_record(&h, &who).await;
        let new = "a long and new passphrase";

        // Codes are spent by sign-ins; this test is about what the password
        // route asks for, not about replays (see a_totp_code_opens_one_session_only).
        h.forget_totp_steps(&who).await;
        let code = h.fresh_totp(&who, &secret).await;
        for body in [
            json!({"current_password": "guess", "totp": code, "new_password": new}),
            json!({"current_password": password, "new_password": new}),
            json!({"current_password": password, "totp": "000000", "new_password": new}),
        ] {
            let (s, v) = thief.post("/api/v1/password", body).await;
            assert_eq!(
                (s, v["error"]["code"].as_str()),
                (403, Some("wrong_current_credentials")),
                "{engine:?}"
            );
        }
        assert_eq!(password_record(&h, &who).await, before, "nothing changed");
        assert!(
            h.db.store
                .pending_totp(owner_id(&owner))
                .await
                .unwrap()
                .is_none()
        );

        // The owner, with the password and a fresh code: the thief's
        // session ends, the owner's lives on.
        h.forget_totp_steps(&who).await;
        let code = h.fresh_totp(&who, &secret).await;
        let (s, v) = owner
            .post(
                "/api/v1/password",
                json!({"current_password": password, "totp": code, "new_password": new}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let new_secret = v["totp_secret"].as_str().unwrap().to_owned();
        assert_ne!(new_secret, secret);
        assert_eq!(thief.get("/api/v1/queues/verify").await.0, 401);
        // Until the new secret is confirmed, the old one (which the admin
        // saw) still signs in: nothing but confirming it is allowed.
        let (s, v) = owner.get("/api/v1/queues/verify").await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (403, Some("totp_confirmation_required"))
        );

        // Until confirmed, the old secret still signs in; a wrong code does
        // not confirm.
        h.logins.get_mut(&who).unwrap().password = new.to_owned();
        h.forget_totp_steps(&who).await;
        let _again = h.sign_in(&who).await;
        let (s, _) = owner
            .post("/api/v1/totp/confirm", json!({"totp": "123456"}))
            .await;
        assert_eq!(s, 403);
        let key = format!("{who}#new");
        let code = h.fresh_totp(&key, &new_secret).await;
        let (s, v) = owner
            .post("/api/v1/totp/confirm", json!({"totp": code}))
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["recovery_codes"].as_array().unwrap().len(), 10);
        assert_eq!(owner.get("/api/v1/queues/verify").await.0, 200);
        let (s, _) = owner
            .post("/api/v1/totp/confirm", json!({"totp": code}))
            .await;
        assert_eq!(s, 409, "nothing waits any more");
        // From now on only the new secret signs in.
        h.forget_totp_steps(&who).await;
        let old_code = h.fresh_totp(&who, &secret).await;
        let res = reqwest::Client::new()
            .post(h.url("/api/v1/session"))
            .json(&json!({"email": who, "password": new, "totp": old_code}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        let code = h.fresh_totp(&key, &new_secret).await;
        let res = reqwest::Client::new()
            .post(h.url("/api/v1/session"))
            .json(&json!({"email": who, "password": new, "totp": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        h.stop().await;
    }
}

fn owner_id(c: &StaffClient) -> uuid::Uuid {
    c.staff_id.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_reset_and_password_change_end_sessions_in_every_process() {
    for engine in ENGINES {
        let mut h = Harness::start(engine).await;
        let (other, stop_other) = h.another_process().await;
        let admin = h.sign_in(&email("admin", "gd-gz-tianhe")).await;
        let who = email("verifier", "gd-gz-tianhe");
        // Not a replay test: the member may reuse this step's code.
        h.forget_totp_steps(&who).await;
        let here = h.sign_in(&who).await;
        // Not a replay test: the member may reuse this step's code.
        h.forget_totp_steps(&who).await;
        let there = h.sign_in_at(&other, &who).await;
        let id = here.staff_id.clone();

        // Another unit's admin cannot touch this member.
        let stranger = h.sign_in(&email("admin", "gd-sz")).await;
        let (s, _) = stranger
            .post(&format!("/api/v1/staff/{id}/disable"), json!({}))
            .await;
        assert_eq!(s, 404, "{engine:?}");
        let (s, _) = here
            .post(&format!("/api/v1/staff/{id}/disable"), json!({}))
            .await;
        assert_eq!(s, 403, "not an admin");

        let (s, v) = admin
            .post(&format!("/api/v1/staff/{id}/disable"), json!({}))
            .await;
        assert_eq!((s, v["disabled"].as_bool()), (200, Some(true)), "{v}");
        assert_eq!(
            here.get("/api/v1/queues/verify").await.0,
            401,
            "at once here"
        );
        let took = until_refused(&there).await;
        eprintln!("{engine:?}: session in the other process ended after {took:?}");
        let (s, _) = admin
            .post(&format!("/api/v1/staff/{id}/disable"), json!({}))
            .await;
        assert_eq!(s, 409, "disabled already");
        let (s, _) = admin
            .post(&format!("/api/v1/staff/{id}/enable"), json!({}))
            .await;
        assert_eq!(s, 200);

        // A reset: the member's sessions end, the old password is gone, the
        // one-time password signs in and must be replaced.
        // Not a replay test: the member may reuse this step's code.
        h.forget_totp_steps(&who).await;
        let there = h.sign_in_at(&other, &who).await;
        let (s, v) = admin
            .post(&format!("/api/v1/staff/{id}/reset"), json!({}))
            .await;
        assert_eq!(s, 200, "{v}");
        let one_time = v["one_time_password"].as_str().unwrap().to_owned();
        until_refused(&there).await;
        let old = reqwest::Client::new()
            .post(format!("{other}/api/v1/session"))
            .json(&json!({"email": who, "password": h.logins[&who].password}))
            .send()
            .await
            .unwrap();
        assert_eq!(old.status(), 401);
        h.logins.get_mut(&who).unwrap().password = one_time.clone();
        // Not a replay test: the member may reuse this step's code.
        h.forget_totp_steps(&who).await;
        let member = h.sign_in_at(&other, &who).await;
        assert_eq!(
            member.get("/api/v1/queues/verify").await.1["error"]["code"],
            "password_change_required"
        );

        // A password change from one process ends the member's session in
        // the other.
        // Not a replay test: the member may reuse this step's code.
        h.forget_totp_steps(&who).await;
        let here = h.sign_in(&who).await;
        let secret = h.logins[&who].totp.clone().unwrap();
        h.forget_totp_steps(&who).await;
        let code = h.fresh_totp(&who, &secret).await;
        let (s, v) = member
            .post(
                "/api/v1/password",
                json!({"current_password": one_time, "totp": code, "new_password": "the member's own passphrase"}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        until_refused(&here).await;
        // The change gave a new authenticator secret; one code confirms it.
        let renewed = v["totp_secret"].as_str().unwrap().to_owned();
        let code = h.fresh_totp(&format!("{who}#new"), &renewed).await;
        let (s, _) = member
            .post("/api/v1/totp/confirm", json!({"totp": code}))
            .await;
        assert_eq!(s, 200);
        assert_eq!(member.get("/api/v1/queues/verify").await.0, 200);

        // Every step is in the audit log, and the log is intact.
        for action in [
            "staff.disable",
            "staff.enable",
            "staff.reset",
            "staff.password",
        ] {
            let n = sunlight_testkit::count_audit(&h.db.store, action)
                .await
                .unwrap();
            assert_eq!(n, 1, "{engine:?}: {action} audited {n} times");
        }
        let audit = h.db.store.verify_audit().await.unwrap();
        assert!(matches!(audit, sunlight_store::AuditReport::Intact { .. }));
        let _stopped = stop_other.send(());
        h.stop().await;
    }
}
