//! Sign-in under attack: parallel guesses at one account reach Argon2 at
//! most four times before the lock answers without it, and unknown, locked
//! and wrong-password answers cannot be told apart by their timing.

use std::time::Instant;

use serde_json::json;
use sunlight_testkit::{count_audit, execute};

use crate::common::{ENGINES, Harness, email};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_reach_the_password_check_at_most_four_times() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let who = email("verifier", "gd-sz");
        let client = reqwest::Client::new();
        let guesses = (0..200).map(|i| {
            let (client, url, who) = (client.clone(), h.url("/api/v1/session"), who.clone());
            async move {
                client
                    .post(url)
                    .json(&json!({"email": who, "password": format!("guess {i}")}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        });
        let answers = futures_util::future::join_all(guesses).await;
        assert!(answers.iter().all(|s| *s == 401), "{answers:?}");
        // Every guess that reached Argon2 and failed is audited.
        let verified = count_audit(&h.db.store, "session.failed").await.unwrap();
        eprintln!("{engine:?}: 200 parallel guesses, {verified} password checks");
        sunlight_testkit::scorecard(
            &format!("signin_parallel_checks_{engine:?}").to_lowercase(),
            &verified.to_string(),
        );
        assert!(
            (1..=4).contains(&verified),
            "{engine:?}: {verified} guesses reached the password check"
        );
        h.stop().await;
    }
}

fn welch_t(a: &[f64], b: &[f64]) -> f64 {
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let var =
        |x: &[f64], m: f64| x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() as f64 - 1.0);
    let (ma, mb) = (mean(a), mean(b));
    (ma - mb) / (var(a, ma) / a.len() as f64 + var(b, mb) / b.len() as f64).sqrt()
}

/// Timing of a failed sign-in: an unknown email, a locked account and a
/// wrong password at an open account (which runs Argon2) take the same
/// time (the answer waits for the floor), measured as a client would.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_locked_and_wrong_password_answers_take_the_same_time() {
    // 15 clients × 100 attempts: 500 of each kind.
    const PER_TASK: usize = 100;
    const TASKS: usize = 15;
    let h = Harness::start(sunlight_testkit::Engine::Sqlite).await;
    let (base, stop) = h
        .process_with("127.0.0.1:0", |s| s.sign_in_floor_ms = 250)
        .await;
    let locked = email("intake", "gd");
    execute(
        &h.db.store,
        &format!(
            "UPDATE staff SET failed_logins = 20, locked_until = '2999-01-01T00:00:00Z' WHERE email = '{locked}'"
        ),
    )
    .await
    .unwrap();
    // One open account per task; each is unlocked again before its guess,
    // so every wrong password really runs Argon2.
    let open: Vec<String> = ["gd", "gd-gz", "gd-sz", "gd-gz-tianhe"]
        .iter()
        .flat_map(|u| [email("verifier", u), email("intake", u)])
        .filter(|e| *e != locked)
        .collect();
    let tasks = (0..TASKS).map(|t| {
        let (base, open, locked, store) = (
            base.clone(),
            open[t % open.len()].clone(),
            locked.clone(),
            h.db.store.clone(),
        );
        async move {
            let client = reqwest::Client::new();
            let mut times: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
            for round in 0..PER_TASK {
                let class = (round + t) % 3;
                let who = match class {
                    0 => format!("nobody{round}@gd.test"),
                    1 => locked.clone(),
                    _ => {
                        execute(
                            &store,
                            &format!("UPDATE staff SET failed_logins = 0, locked_until = NULL WHERE email = '{open}'"),
                        )
                        .await
                        .unwrap();
                        open.clone()
                    }
                };
                // A 408 is the server's transport timeout (the request was
                // never read: a machine busy with other tests), not an
                // answer to time; sent again.
                let took = loop {
                    let started = Instant::now();
                    let res = client
                        .post(format!("{base}/api/v1/session"))
                        .json(&json!({"email": who, "password": "wrong password"}))
                        .send()
                        .await
                        .unwrap();
                    let took = started.elapsed().as_secs_f64() * 1000.0;
                    if res.status() != 408 {
                        assert_eq!(res.status(), 401);
                        break took;
                    }
                };
                times[class].push(took);
            }
            times
        }
    });
    let mut all: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for times in futures_util::future::join_all(tasks).await {
        for (class, t) in times.into_iter().enumerate() {
            all[class].extend(t);
        }
    }
    let [unknown, locked_times, wrong] = &all;
    let refused: Vec<f64> = unknown.iter().chain(locked_times).copied().collect();
    let checks = count_audit(&h.db.store, "session.failed").await.unwrap();
    let t_unknown = welch_t(unknown, wrong);
    let t_locked = welch_t(locked_times, wrong);
    let t_both = welch_t(&refused, wrong);
    // Floor 250 ms plus up to 31 ms of jitter.
    let over = |x: &[f64]| x.iter().filter(|t| **t > 300.0).count();
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    eprintln!(
        "means {:.2} / {:.2} / {:.2} ms; over 300 ms: {} / {} / {}",
        mean(unknown),
        mean(locked_times),
        mean(wrong),
        over(unknown),
        over(locked_times),
        over(wrong)
    );
    eprintln!(
        "n = {} unknown + {} locked vs {} wrong ({checks} password checks): Welch t = {t_unknown:.2} (unknown), {t_locked:.2} (locked), {t_both:.2} (both)",
        unknown.len(),
        locked_times.len(),
        wrong.len()
    );
    sunlight_testkit::scorecard("signin_timing_welch_t", &format!("{t_both:.2}"));
    assert_eq!((wrong.len(), refused.len()), (500, 1000));
    assert!(
        checks as usize >= wrong.len(),
        "wrong passwords must really be checked"
    );
    for t in [t_unknown, t_locked, t_both] {
        assert!(t.abs() < 4.5, "timing tells them apart: t = {t:.2}");
    }
    let _stopped = stop.send(());
    h.stop().await;
}
