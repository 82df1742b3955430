//! 64 concurrent submitters, a supervisor accepting (受理) what arrives, and
//! 8 staff members claiming from the same verify queue, against the real binary for a bounded time (GlobaLeaks
//! 5.0.95 answered 500 to 37–41 % of submissions at 8 clients, their #3390).
//! Shown: 0 answers 5xx, every case at most one claim and one owner, every
//! acknowledged report in a queue.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use crate::support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use sunlight_store::Store;
use sunlight_testkit::query_text;
use support::{Deployment, Processes, fresh_totp};
use tokio::sync::Mutex;

const SUBMITTERS: usize = 64;
const STAFF: usize = 8;
const SECONDS: u64 = 8;

struct Staff {
    client: reqwest::Client,
    csrf: String,
    name: String,
}

async fn sign_in(triage: &str, email: &str, password: &str, totp: Option<&str>) -> Staff {
    let totp = match totp {
        Some(secret) => Some(fresh_totp(email, secret).await),
        None => None,
    };
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let res = client
        .post(format!("{triage}/api/v1/session"))
        .json(&json!({"email": email, "password": password, "totp": totp}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "sign-in of {email}");
    let v: serde_json::Value = res.json().await.unwrap();
    Staff {
        client,
        csrf: v["csrf_token"].as_str().unwrap().to_owned(),
        name: email.to_owned(),
    }
}

/// Seven more verifiers for Tianhe, made by its admin, each replacing the
/// one-time password the admin saw.
async fn verifiers(live: &Deployment) -> Vec<Staff> {
    let l = live.login("verifier", "gd-gz-tianhe");
    let mut staff = vec![sign_in(&live.triage, &l[1], &l[2], Some(&l[5])).await];
    let a = live.login("admin", "gd-gz-tianhe");
    let admin = sign_in(&live.triage, &a[1], &a[2], Some(&a[5])).await;
    for i in 1..STAFF {
        let email = format!("verifier{i}@gd-gz-tianhe.demo");
        let res = admin
            .client
            .post(format!("{}/api/v1/staff", live.triage))
            .header("X-CSRF-Token", &admin.csrf)
            .json(&json!({"email": email, "role": "verifier"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let created: serde_json::Value = res.json().await.unwrap();
        // Verifiers read reports: they sign in with a second factor.
        let secret = created["totp_secret"].as_str().unwrap();
        let member = sign_in(
            &live.triage,
            &email,
            created["one_time_password"].as_str().unwrap(),
            Some(secret),
        )
        .await;
        let res = member
            .client
            .post(format!("{}/api/v1/password", live.triage))
            .header("X-CSRF-Token", &member.csrf)
            .json(&json!({
                "current_password": created["one_time_password"],
                "totp": fresh_totp(&email, secret).await,
                "new_password": format!("verifier {i} long passphrase"),
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        // The change gave a new authenticator secret: one code confirms it.
        let renewed: serde_json::Value = res.json().await.unwrap();
        let renewed = renewed["totp_secret"].as_str().unwrap().to_owned();
        let res = member
            .client
            .post(format!("{}/api/v1/totp/confirm", live.triage))
            .header("X-CSRF-Token", &member.csrf)
            .json(&json!({"totp": fresh_totp(&email, &renewed).await}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        staff.push(member);
    }
    staff
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_submitters_and_eight_staff_get_no_5xx_and_no_double_owner() {
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    let config = format!(
        "{}[triage]\nroute_every_seconds = 1\n",
        support::LIFTED_RATE_LIMITS
    );
    let live = Deployment::start(dir.path(), Some(&config), &mut procs).await;
    let staff = verifiers(&live).await;

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let codes = Arc::new(Mutex::new(Vec::<String>::new()));
    let server_errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut submitters = Vec::new();
    let client = reqwest::Client::new();
    for w in 0..SUBMITTERS {
        let (stop, acked, codes, errors, client, intake) = (
            stop.clone(),
            acked.clone(),
            codes.clone(),
            server_errors.clone(),
            client.clone(),
            live.intake.clone(),
        );
        submitters.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let res = client
                    .post(format!("{intake}/api/v1/reports"))
                    .json(&json!({
                        "unit": "gd-gz-tianhe", "category": "office_trading",
                        "accused": {"name": "某某", "position": "局长", "role": "ordinary"},
                        "selection_stage": "deliberation", "narrative": format!("并发 {w}/{n}"),
                        "real_name": n % 10 == 0,
                        "reporter": if n % 10 == 0 {
                            json!({"name": "张三", "phone": "13800000000"})
                        } else {
                            json!({"name": "", "phone": ""})
                        }
                    }))
                    .send()
                    .await
                    .unwrap();
                match res.status().as_u16() {
                    201 => {
                        acked.fetch_add(1, Ordering::Relaxed);
                        let receipt: serde_json::Value = res.json().await.unwrap();
                        let code = receipt["tracking_code"].as_str().unwrap().to_owned();
                        codes.lock().await.push(code);
                    }
                    s => errors.lock().await.push(format!("submit {s}")),
                }
            }
        }));
    }
    // The desk: accept whatever waits for its acceptance decision.
    let desk = {
        let l = live.login("supervisor", "gd-gz-tianhe");
        let desk = sign_in(&live.triage, &l[1], &l[2], Some(&l[5])).await;
        let (stop, errors, triage) = (stop.clone(), server_errors.clone(), live.triage.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let waiting: Vec<serde_json::Value> = desk
                    .client
                    .get(format!("{triage}/api/v1/queues/received"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap_or_default();
                if waiting.is_empty() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                for line in waiting {
                    let case = line["case_id"].as_str().unwrap();
                    let res = desk
                        .client
                        .post(format!("{triage}/api/v1/cases/{case}/transitions"))
                        .header("X-CSRF-Token", &desk.csrf)
                        .json(&json!({"action": "accept"}))
                        .send()
                        .await
                        .unwrap();
                    if res.status().is_server_error() {
                        errors.lock().await.push(format!("accept {}", res.status()));
                    }
                }
            }
        })
    };
    // Each staff member: read the verify queue, claim what looks free.
    let claims = Arc::new(Mutex::new(HashMap::<String, Vec<String>>::new()));
    let refused = Arc::new(AtomicU64::new(0));
    let mut desks = Vec::new();
    for (i, member) in staff.into_iter().enumerate() {
        let (stop, claims, refused, errors, triage) = (
            stop.clone(),
            claims.clone(),
            refused.clone(),
            server_errors.clone(),
            live.triage.clone(),
        );
        desks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let res = member
                    .client
                    .get(format!("{triage}/api/v1/queues/verify"))
                    .send()
                    .await
                    .unwrap();
                if res.status().is_server_error() {
                    errors.lock().await.push(format!("queue {}", res.status()));
                    continue;
                }
                let queue: Vec<serde_json::Value> = res.json().await.unwrap();
                // Staff members pick differently, but overlap on purpose.
                let free: Vec<String> = queue
                    .iter()
                    .filter(|e| e["owner"].is_null())
                    .map(|e| e["case_id"].as_str().unwrap().to_owned())
                    .skip(i % 3)
                    .take(3)
                    .collect();
                if free.is_empty() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                for case in free {
                    let res = member
                        .client
                        .post(format!("{triage}/api/v1/cases/{case}/claim"))
                        .header("X-CSRF-Token", &member.csrf)
                        .send()
                        .await
                        .unwrap();
                    match res.status().as_u16() {
                        200 => claims
                            .lock()
                            .await
                            .entry(case)
                            .or_default()
                            .push(member.name.clone()),
                        409 => {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                        s => errors.lock().await.push(format!("claim {s}")),
                    }
                }
            }
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(SECONDS)).await;
    stop.store(true, Ordering::Relaxed);
    for t in submitters.into_iter().chain(desks).chain([desk]) {
        t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let errors = server_errors.lock().await.clone();
    assert!(errors.is_empty(), "{} failures: {errors:?}", errors.len());
    let claims = claims.lock().await.clone();
    let doubled: Vec<_> = claims.iter().filter(|(_, who)| who.len() > 1).collect();
    assert!(doubled.is_empty(), "cases claimed twice: {doubled:?}");
    let acked = acked.load(Ordering::Relaxed);
    assert!(acked > 0 && !claims.is_empty());

    // The database agrees: one claim per case at most, and every
    // acknowledged report is a case with an open queue entry.
    let store = Store::connect(&format!(
        "sqlite://{}/data/sunlight.db",
        dir.path().display()
    ))
    .await
    .unwrap();
    let twice = query_text(
        &store,
        "SELECT COUNT(*) FROM (SELECT case_id FROM transitions WHERE action = 'claimed' GROUP BY case_id HAVING COUNT(*) > 1) t",
    )
    .await
    .unwrap();
    assert_eq!(twice, "0");
    let cases = query_text(&store, "SELECT COUNT(*) FROM cases")
        .await
        .unwrap();
    assert_eq!(
        cases,
        acked.to_string(),
        "cases stored vs reports acknowledged"
    );
    let unqueued = query_text(
        &store,
        "SELECT COUNT(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM queue_entries q WHERE q.case_id = c.id AND q.closed_at IS NULL)",
    )
    .await
    .unwrap();
    assert_eq!(unqueued, "0", "acknowledged reports outside every queue");
    // Under load, too, the info log holds no code and no report text.
    drop(procs);
    let codes = codes.lock().await.clone();
    let lines = support::assert_logs_clean(
        std::slice::from_ref(&live.serve_log),
        &codes,
        &["并发", "张三", "13800000000"],
    );
    sunlight_testkit::scorecard(
        "concurrency",
        &format!(
            "{SUBMITTERS} submitters, {STAFF} staff, {elapsed:.1} s: {acked} reports acknowledged, {} claims won, {} refused as taken, 0 answers 5xx, 0 double owners; log ({lines} lines) clean",
            claims.len(),
            refused.load(Ordering::Relaxed)
        ),
    );
}
