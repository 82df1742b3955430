//! The triage app over real HTTP on SQLite and PostgreSQL: sign-in with
//! TOTP and key unlock, routing and holds, the whole life of a case,
//! refusals with reasons, exclusive claims, and jurisdiction.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use crate::common;

use common::{ENGINES, Harness, email};
use serde_json::json;
use sunlight_core::Role;
use sunlight_core::crypto::{SealContext, open};
use sunlight_core::report::item;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_goes_from_phone_call_to_closed_with_every_step_checked() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let verifier = h.sign_in(&email("verifier", "gd-gz-tianhe")).await;
        let boss = h.sign_in(&email("supervisor", "gd-gz-tianhe")).await;

        // A report about a candidate under inspection: routed at once, with a hold.
        let (code, id) = desk
            .file(
                "gd-gz-tianhe",
                "ordinary",
                "inspection",
                "电话举报：考察期间送礼",
            )
            .await;
        assert_eq!(code.len(), 24, "{code}");
        let (s, q) = verifier.get("/api/v1/queues/verify").await;
        assert_eq!(s, 200);
        let line = q
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["case_id"] == id.as_str())
            .unwrap();
        assert_eq!(line["overdue"], false);
        assert!(line["owner"].is_null());

        let (s, case) = verifier.get(&format!("/api/v1/cases/{id}")).await;
        assert_eq!(s, 200);
        assert_eq!(case["report"]["narrative"], "电话举报：考察期间送礼");
        assert_eq!(case["stage"], "verify");
        assert_eq!(case["hold"], true);
        assert_eq!(case["channel"], "phone");
        let hold = case["holds"][0]["id"].as_str().unwrap().to_owned();

        // Acting before claiming is refused with the reason.
        let (s, e) = verifier
            .act(
                &id,
                json!({"action": "verified", "outcome": "substantiated"}),
            )
            .await;
        assert_eq!(s, 403, "{e}");
        assert!(e["error"]["message"].as_str().unwrap().contains("owner"));
        assert_eq!(verifier.claim(&id).await, 200);
        // Closing in verify: 409 with the reason.
        let (s, e) = verifier.act(&id, json!({"action": "close"})).await;
        assert_eq!(s, 409);
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("verify"),
            "{e}"
        );

        // The hold is confirmed with whom the notice went to.
        let (s, _) = verifier
            .post(
                &format!("/api/v1/cases/{id}/holds/{hold}/confirm"),
                json!({"notice_to": "天河区委组织部干部科"}),
            )
            .await;
        assert_eq!(s, 200);
        // Asking the reporter pauses the clock; the reporter sees the question.
        let before = case["deadline"].as_str().unwrap().to_owned();
        let (s, _) = verifier
            .act(
                &id,
                json!({"action": "ask_reporter", "question": "请提供送礼的时间"}),
            )
            .await;
        assert_eq!(s, 200);
        let (_, c) = verifier.get(&format!("/api/v1/cases/{id}")).await;
        assert!(
            c["deadline"].as_str().unwrap() > before.as_str(),
            "deadline moved by the pause"
        );
        assert_eq!(c["messages"][0]["from"], "staff");
        assert_eq!(c["messages"][0]["body"], "请提供送礼的时间");

        let (s, v) = verifier
            .act(
                &id,
                json!({"action": "verified", "outcome": "substantiated", "note": "两名证人证实"}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["stage"], "handle");
        // The hold is lifted with verification.
        let (_, c) = boss.get(&format!("/api/v1/cases/{id}")).await;
        assert_eq!(c["hold"], false);
        assert!(c["holds"][0]["lifted_at"].is_string());
        assert!(
            c["history"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["note"] == "两名证人证实")
        );

        // Handle: only supervisors claim and decide.
        assert_eq!(verifier.claim(&id).await, 403);
        assert_eq!(boss.claim(&id).await, 200);
        let (s, v) = boss
            .act(
                &id,
                json!({"action": "decided", "decision": "取消其考察对象资格"}),
            )
            .await;
        assert_eq!((s, v["stage"].as_str()), (200, Some("notify")));

        // Notify: close needs feedback first.
        assert_eq!(verifier.claim(&id).await, 200);
        let (s, e) = verifier.act(&id, json!({"action": "close"})).await;
        assert_eq!(s, 409);
        assert!(
            e["error"]["message"].as_str().unwrap().contains("feedback"),
            "{e}"
        );
        let (s, _) = verifier
            .act(
                &id,
                json!({"action": "feedback", "message": "经查属实，已作处理。"}),
            )
            .await;
        assert_eq!(s, 200);
        let (s, v) = verifier.act(&id, json!({"action": "close"})).await;
        assert_eq!((s, v["stage"].as_str()), (200, Some("closed")));
        let (s, _) = verifier
            .act(&id, json!({"action": "feedback", "message": "again"}))
            .await;
        assert_eq!(s, 409, "nothing moves a closed case");

        // Every action is in the audit chain, which is intact.
        assert!(matches!(
            h.db.store.verify_audit().await.unwrap(),
            sunlight_store::AuditReport::Intact { .. }
        ));
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transferred_case_is_rechecked_by_someone_else() {
    for engine in ENGINES {
        let mut h = Harness::start(engine).await;
        let second = h
            .add_staff("gd-gz", Role::Supervisor, "second-supervisor")
            .await;
        let desk = h.sign_in(&email("intake", "gd-gz")).await;
        let boss = h.sign_in(&email("supervisor", "gd-gz")).await;
        let other = h.sign_in(&second).await;
        let (_, id) = desk.file("gd-gz", "unit_leader", "none", "转办测试").await;
        assert_eq!(boss.claim(&id).await, 200);
        let (s, v) = boss
            .act(&id, json!({"action": "transfer", "to": "市纪委监委"}))
            .await;
        assert_eq!((s, v["stage"].as_str()), (200, Some("recheck")));
        assert_eq!(boss.claim(&id).await, 200);
        let (s, e) = boss
            .act(&id, json!({"action": "rechecked", "outcome": "partly"}))
            .await;
        assert_eq!(s, 403, "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("someone other")
        );
        // A supervisor may reassign; the second one re-checks.
        assert_eq!(other.claim(&id).await, 200);
        let (s, v) = other
            .act(&id, json!({"action": "rechecked", "outcome": "partly"}))
            .await;
        assert_eq!((s, v["stage"].as_str()), (200, Some("handle")));
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_leave_exactly_one_owner() {
    for engine in ENGINES {
        let mut h = Harness::start(engine).await;
        let mut names = vec![email("verifier", "gd-gz")];
        for n in 0..5 {
            names.push(h.add_staff("gd-gz", Role::Verifier, &format!("v{n}")).await);
        }
        let desk = h.sign_in(&email("intake", "gd-gz")).await;
        let mut clients = Vec::new();
        for n in &names {
            clients.push(h.sign_in(n).await);
        }
        for round in 0..5 {
            let (_, id) = desk
                .file("gd-gz", "ordinary", "none", &format!("并发 {round}"))
                .await;
            let mut tasks = Vec::new();
            for c in &clients {
                let (client, csrf, base, id) =
                    (c.client.clone(), c.csrf.clone(), c.base.clone(), id.clone());
                tasks.push(tokio::spawn(async move {
                    client
                        .post(format!("{base}/api/v1/cases/{id}/claim"))
                        .header("X-CSRF-Token", csrf)
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                }));
            }
            let mut codes = Vec::new();
            for t in tasks {
                codes.push(t.await.unwrap());
            }
            assert_eq!(
                codes.iter().filter(|c| **c == 200).count(),
                1,
                "{engine:?} {codes:?}"
            );
            assert!(codes.iter().all(|c| *c == 200 || *c == 409), "{codes:?}");
            let (_, case) = clients[0].get(&format!("/api/v1/cases/{id}")).await;
            assert!(case["owner"].is_string());
        }
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_see_and_open_only_their_jurisdiction() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let tianhe = h.sign_in(&email("verifier", "gd-gz-tianhe")).await;
        let shenzhen = h.sign_in(&email("verifier", "gd-sz")).await;
        let city = h.sign_in(&email("verifier", "gd-gz")).await;
        let province = h.sign_in(&email("verifier", "gd")).await;

        let (_, ordinary) = desk.file("gd-gz-tianhe", "ordinary", "none", "普通").await;
        // About Tianhe's own party secretary: goes to the city; Tianhe never sees it.
        let (_, key_person) = desk
            .file("gd-gz-tianhe", "party_secretary", "none", "关于区委书记")
            .await;
        let city_desk = h.sign_in(&email("intake", "gd-gz")).await;
        let (s, v) = city_desk
            .act(&key_person, json!({"action": "accept"}))
            .await;
        assert_eq!(s, 200, "{v}");

        for (who, sees_ordinary, sees_key) in [
            (&tianhe, true, false),
            (&shenzhen, false, false),
            (&city, true, true),
            (&province, true, true),
        ] {
            let (_, q) = who.get("/api/v1/queues/verify").await;
            let ids: Vec<&str> = q
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["case_id"].as_str().unwrap())
                .collect();
            assert_eq!(ids.contains(&ordinary.as_str()), sees_ordinary);
            assert_eq!(ids.contains(&key_person.as_str()), sees_key);
            let (s, _) = who.get(&format!("/api/v1/cases/{key_person}")).await;
            assert_eq!(s == 200, sees_key);
            if !sees_key {
                assert_eq!(s, 404);
                assert_eq!(who.claim(&key_person).await, 404);
                let (s, _) = who
                    .act(
                        &key_person,
                        json!({"action": "verified", "outcome": "partly"}),
                    )
                    .await;
                assert_eq!(s, 404);
            }
        }
        // Nor can Tianhe's key open it.
        let id = sunlight_core::CaseId::parse(&key_person).unwrap();
        let j =
            h.db.store
                .jurisdiction(&sunlight_core::UnitId::parse("gd").unwrap())
                .await
                .unwrap();
        let row = h.db.store.case_in(&j, id).await.unwrap().unwrap();
        assert_eq!(row.unit.as_str(), "gd-gz");
        let ctx = SealContext {
            case_id: id,
            item: item::REPORT,
        };
        assert!(
            open(
                &row.sealed_report,
                &ctx,
                h.keys.get("gd-gz-tianhe").unwrap()
            )
            .is_err()
        );
        assert!(open(&row.sealed_report, &ctx, h.keys.get("gd-gz").unwrap()).is_ok());
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_needs_password_and_totp_and_locks_after_failures() {
    let h = Harness::start(sunlight_testkit::Engine::Sqlite).await;
    let client = reqwest::Client::new();
    let boss = h.logins.get(&email("supervisor", "gd")).unwrap();
    let try_login = |password: String, totp: Option<String>| {
        let client = client.clone();
        let url = h.url("/api/v1/session");
        let email = boss.email.clone();
        async move {
            client
                .post(url)
                .json(&json!({"email": email, "password": password, "totp": totp}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Right password, no or wrong code: refused.
    assert_eq!(try_login(boss.password.clone(), None).await, 401);
    assert_eq!(
        try_login(boss.password.clone(), Some("000000".into())).await,
        401
    );
    // Unknown email: the same answer.
    let unknown = client
        .post(h.url("/api/v1/session"))
        .json(&json!({"email": "nobody@example.org", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    // Without Accept-Language the API answers in Chinese.
    assert_eq!(unknown.headers()["content-language"], "zh-CN");
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_credentials");
    assert!(
        !body["error"]["message"].as_str().unwrap().is_ascii(),
        "{body}"
    );
    // In the reader's language: a refused sign-in and a body the JSON
    // parser refused (answered before any handler runs) alike.
    for (body, code) in [
        (
            json!({"email": "nobody@example.org", "password": "x"}).to_string(),
            "bad_credentials",
        ),
        ("{not json".to_owned(), "malformed_body"),
    ] {
        let english = client
            .post(h.url("/api/v1/session"))
            .header("accept-language", "en")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(english.headers()["content-language"], "en");
        let answer: serde_json::Value = english.json().await.unwrap();
        assert_eq!(answer["error"]["code"], code);
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.is_ascii() && !message.is_empty(), "{answer}");
    }
    // Wrong passwords lock the account, even for the right one after.
    assert_eq!(try_login("wrong".into(), None).await, 401);
    // The fourth failure locks (for 2 s, doubling with each further one).
    assert_eq!(try_login("wrong".into(), None).await, 401);
    let code = common::totp_now(boss.totp.as_deref().unwrap());
    // Locked: even the right password and code get the same 401 as any
    // failure (the answer must not reveal that the account exists).
    assert_eq!(try_login(boss.password.clone(), Some(code)).await, 401);

    // No cookie: 401; a state change without the CSRF header: 403.
    let (s, _) = (
        client
            .get(h.url("/api/v1/queues/verify"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        (),
    );
    assert_eq!(s, 401);
    let v = h.sign_in(&email("verifier", "gd")).await;
    let res = v
        .client
        .delete(h.url("/api/v1/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "logout needs the CSRF token too");
    let res = v
        .client
        .delete(h.url("/api/v1/session"))
        .header("X-CSRF-Token", &v.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (s, _) = v.get("/api/v1/queues/verify").await;
    assert_eq!(s, 401, "the session is gone");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_follow_the_calendar_across_national_day() {
    use chrono::TimeZone;
    use sunlight_core::policy::DeadlineKind;
    let h = Harness::start(sunlight_testkit::Engine::Sqlite).await;
    let triage = sunlight_casework::Triage::new(
        h.db.store.clone(),
        sunlight_core::policy::Policy::cn_12380(),
        sunlight_core::calendar::Calendar::cn(),
        h.stretcher.clone(),
        sunlight_metrics::Metrics::default(),
    );
    // Decided on Wed 30 Sep 2026 (Beijing): 15 working days of notify skip
    // the National Day week (1-7 Oct) and count Sat 10 Oct (调休): Oct 8, 9,
    // 10, 12-16, 19-23, 26, 27. Due at the end of Tue 27 Oct, local time.
    let decided = chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 9, 30, 10, 0, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let due = triage.due(DeadlineKind::Notify, decided);
    let local = due.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
    assert_eq!(
        local.format("%Y-%m-%d %H:%M").to_string(),
        "2026-10-28 00:00"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_staff_from_their_session_and_the_new_member_can_work() {
    for engine in ENGINES {
        let mut h = Harness::start(engine).await;
        let admin = h.sign_in(&email("admin", "gd-gz")).await;
        let verifier = h.sign_in(&email("verifier", "gd-gz")).await;
        let (s, _) = verifier
            .post(
                "/api/v1/staff",
                json!({"email": "x@gd-gz.test", "role": "verifier"}),
            )
            .await;
        assert_eq!(s, 403, "only admins manage staff");
        let (s, _) = admin.get("/api/v1/queues/verify").await;
        assert_eq!(s, 403, "admins act on no case");

        let (s, created) = admin
            .post(
                "/api/v1/staff",
                json!({"email": "new.verifier@gd-gz.test", "role": "verifier"}),
            )
            .await;
        assert_eq!(s, 201, "{created}");
        let (s, _) = admin
            .post(
                "/api/v1/staff",
                json!({"email": "new.verifier@gd-gz.test", "role": "verifier"}),
            )
            .await;
        assert_eq!(s, 409, "email taken");
        let (_, list) = admin.get("/api/v1/staff").await;
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .any(|m| m["email"] == "new.verifier@gd-gz.test")
        );

        h.logins.insert(
            "new.verifier@gd-gz.test".into(),
            common::Login {
                email: "new.verifier@gd-gz.test".into(),
                password: created["one_time_password"].as_str().unwrap().into(),
                totp: created["totp_secret"].as_str().map(str::to_owned),
            },
        );
        let newbie = h.sign_in("new.verifier@gd-gz.test").await;
        // The admin saw the one-time password: nothing works until it is
        // replaced, and the replacement re-wraps the unit key.
        let (s, e) = newbie.get("/api/v1/queues/verify").await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (403, Some("password_change_required"))
        );
        let one_time = created["one_time_password"].as_str().unwrap();
        let (s, _) = newbie
            .post(
                "/api/v1/password",
                json!({"current_password": one_time, "new_password": "short"}),
            )
            .await;
        assert_eq!(s, 422);
        // A session alone is not enough: without the current password
        // nothing changes.
        let (s, e) = newbie
            .post(
                "/api/v1/password",
                json!({"current_password": "not the password", "new_password": "a long new passphrase 7"}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (403, Some("wrong_current_credentials"))
        );
        let secret = created["totp_secret"].as_str().unwrap().to_owned();
        let code = h.fresh_totp("new.verifier@gd-gz.test", &secret).await;
        let (s, out) = newbie
            .post(
                "/api/v1/password",
                json!({"current_password": one_time, "totp": code, "new_password": "a long new passphrase 7"}),
            )
            .await;
        assert_eq!(s, 200, "{out}");
        // Verifiers read reports: their second factor is renewed with the
        // password (the admin saw the first secret) and confirmed by a code.
        let renewed = out["totp_secret"].as_str().unwrap().to_owned();
        let code = h.fresh_totp("new.verifier@gd-gz.test#new", &renewed).await;
        let (s, _) = newbie
            .post("/api/v1/totp/confirm", json!({"totp": code}))
            .await;
        assert_eq!(s, 200);
        h.logins.get_mut("new.verifier@gd-gz.test").unwrap().totp = Some(renewed);
        h.forget_totp_steps("new.verifier@gd-gz.test").await;
        h.logins
            .get_mut("new.verifier@gd-gz.test")
            .unwrap()
            .password = "a long new passphrase 7".into();
        let old = reqwest::Client::new()
            .post(h.url("/api/v1/session"))
            .json(&json!({"email": "new.verifier@gd-gz.test", "password": created["one_time_password"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(old.status(), 401, "the one-time password is gone");
        let newbie = h.sign_in("new.verifier@gd-gz.test").await;
        let desk = h.sign_in(&email("intake", "gd-gz")).await;
        let (_, id) = desk.file("gd-gz", "ordinary", "none", "新同事能打开").await;
        let (s, case) = newbie.get(&format!("/api/v1/cases/{id}")).await;
        assert_eq!(s, 200, "the wrapped unit key opens the report");
        assert_eq!(case["report"]["narrative"], "新同事能打开");
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_filters_by_unit_and_category_within_the_jurisdiction() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in(&email("intake", "gd-gz")).await;
        let city = h.sign_in(&email("verifier", "gd-gz")).await;
        let (_, in_city) = desk.file("gd-gz", "ordinary", "none", "市里").await;
        let (_, in_county) = desk.file("gd-gz-tianhe", "ordinary", "none", "区里").await;
        let ids = |v: serde_json::Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|l| l["case_id"].as_str().unwrap().to_owned())
                .collect()
        };
        let (_, all) = city.get("/api/v1/queues/verify").await;
        assert_eq!(ids(all).len(), 2);
        let (_, county) = city.get("/api/v1/queues/verify?unit=gd-gz-tianhe").await;
        assert_eq!(ids(county), vec![in_county.clone()]);
        let (_, cat) = city
            .get("/api/v1/queues/verify?category=canvassing_bribery")
            .await;
        let cat = ids(cat);
        assert!(cat.contains(&in_city) && cat.contains(&in_county));
        let (_, none) = city
            .get("/api/v1/queues/verify?category=office_trading")
            .await;
        assert!(ids(none).is_empty());
        // A unit outside the jurisdiction lists nothing rather than leaking.
        let (_, other) = city.get("/api/v1/queues/verify?unit=gd-sz").await;
        assert!(ids(other).is_empty());
        // A bad filter is told as a filter, not as the desk's "your own
        // unit" refusal; `?lang=` is the language here as on every route.
        for bad in ["category=bogus", "unit=not%20a%20unit"] {
            let (s, body) = city.get(&format!("/api/v1/queues/verify?{bad}")).await;
            assert_eq!(s, 422, "{bad}");
            assert_eq!(body["error"]["detail"], "filter: unknown unit or category");
        }
        let (s, body) = city
            .get("/api/v1/queues/verify?unit=not%20a%20unit&lang=en")
            .await;
        assert_eq!(s, 422);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("filter") && !message.contains("own unit"),
            "{message}"
        );
        let (s, _) = city.get("/api/v1/queues/verify?lang=en").await;
        assert_eq!(s, 200);
        let (s, _) = city.get("/api/v1/queues/closed").await;
        assert_eq!(s, 404);
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_computed_from_a_stale_read_is_refused_not_merged() {
    use sunlight_core::case::{Action, Actor, Limits, StaffId, apply};
    use sunlight_store::{EntryChange, TransitionWrite};
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in(&email("intake", "gd-gz")).await;
        let verifier = h.sign_in(&email("verifier", "gd-gz")).await;
        let (_, id) = desk.file("gd-gz", "ordinary", "inspection", "并发写").await;
        assert_eq!(verifier.claim(&id).await, 200);
        let store = &h.db.store;
        let j = store
            .jurisdiction(&sunlight_core::UnitId::parse("gd-gz").unwrap())
            .await
            .unwrap();
        let case_id = sunlight_core::CaseId::parse(&id).unwrap();
        // Two staff read the same state: the owner asks the reporter, a
        // supervisor extends. Both are allowed by the state machine.
        let (case, entry) = store.case_with_entry(&j, case_id).await.unwrap().unwrap();
        let state = sunlight_casework::state_of(&case, entry.as_ref());
        let owner = Actor {
            id: state.owner.unwrap(),
            role: Role::Verifier,
        };
        let boss = Actor {
            id: StaffId::from_uuid(uuid_of(&h, "supervisor", "gd-gz").await),
            role: Role::Supervisor,
        };
        let now = chrono::Utc::now();
        let limits = Limits {
            extension_max_days: 30,
            pause_ends: now + chrono::Duration::days(30),
        };
        let ask = apply(
            &state,
            Action::AskReporter {
                question: "?".into(),
            },
            &owner,
            now,
            &limits,
        )
        .unwrap();
        let extend = apply(
            &state,
            Action::Extend {
                days: 10,
                reason: "r".into(),
            },
            &boss,
            now,
            &limits,
        )
        .unwrap();
        let write = |t| TransitionWrite {
            transition: t,
            expected_version: case.version,
            expected_owner: state.owner,
            next_due: None,
            entry_change: EntryChange::default(),
            row_ids: vec![uuid::Uuid::now_v7()],
            sealed_notes: vec![None],
            reporter_messages: Vec::new(),
        };
        store.record_transition(&j, write(&ask)).await.unwrap();
        let second = store.record_transition(&j, write(&extend)).await;
        assert!(
            matches!(second, Err(sunlight_store::StoreError::Conflict(_))),
            "{engine:?}: {second:?}"
        );
        // The first write stands and the second left no trace.
        let (case, _) = store.case_with_entry(&j, case_id).await.unwrap().unwrap();
        assert_eq!(case.extension_days, None);
        let actions: Vec<String> = store
            .transitions_of(case_id)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.action)
            .collect();
        assert!(actions.contains(&"reporter_asked".to_owned()));
        assert!(!actions.contains(&"extended".to_owned()), "{actions:?}");
        h.stop().await;
    }
}

async fn uuid_of(h: &Harness, role: &str, unit: &str) -> uuid::Uuid {
    h.db.store
        .staff_by_email(&email(role, unit))
        .await
        .unwrap()
        .unwrap()
        .id
}

/// `sunlight staff disable`: a member rotated out gets the same 401 as a
/// wrong password, stays listed as disabled, and the step is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_member_cannot_sign_in() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let who = email("verifier", "gd-gz-tianhe");
        let _before = h.sign_in(&who).await;
        let store = &h.db.store;
        let row = store
            .disable_staff(&who, "cli", chrono::Utc::now())
            .await
            .unwrap();
        assert!(row.disabled);
        let again = store.disable_staff(&who, "cli", chrono::Utc::now()).await;
        assert!(
            matches!(again, Err(sunlight_store::StoreError::Conflict(_))),
            "{again:?}"
        );
        let unknown = store
            .disable_staff("nobody@example.org", "cli", chrono::Utc::now())
            .await;
        assert!(matches!(
            unknown,
            Err(sunlight_store::StoreError::NotFound(_))
        ));

        let login = &h.logins[&who];
        let res = reqwest::Client::new()
            .post(h.url("/api/v1/session"))
            .json(&json!({"email": login.email, "password": login.password}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "bad_credentials");

        let admin = h.sign_in(&email("admin", "gd-gz-tianhe")).await;
        let (s, staff) = admin.get("/api/v1/staff").await;
        assert_eq!(s, 200);
        let listed = staff
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["email"] == who)
            .unwrap();
        assert_eq!(listed["disabled"], true);
        assert!(matches!(
            store.verify_audit().await.unwrap(),
            sunlight_store::AuditReport::Intact { .. }
        ));
        h.stop().await;
    }
}

/// RFC 6238 §5.2: a TOTP code is accepted once. One seen over a shoulder or
/// relayed by a phishing page cannot open a second session within its
/// window, and a replay counts as a failed sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_totp_code_opens_one_session_only() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let login = h.logins.get(&email("supervisor", "gd-gz-tianhe")).unwrap();
        let code = common::totp_now(login.totp.as_deref().unwrap());
        let client = reqwest::Client::new();
        let attempt = |code: String| {
            client
                .post(h.url("/api/v1/session"))
                .json(&json!({"email": login.email, "password": login.password, "totp": code}))
                .send()
        };
        assert_eq!(attempt(code.clone()).await.unwrap().status(), 200);
        assert_eq!(
            attempt(code).await.unwrap().status(),
            401,
            "{engine:?}: the same code signed in twice"
        );
        h.stop().await;
    }
}
