//! Guessing tracking codes against the running binary with its default
//! limits: 8 clients post random well-formed codes to `/api/v1/status` and
//! `/api/v1/status/messages` as fast as they can. Shown: the answers that
//! reach a lookup stay within the lookup bucket (burst + rate × time), the
//! rest are 429, none is 5xx, and no guess hits. From the measured rate,
//! the expected time to a first hit with 10^6 stored reports is printed.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use sunlight_core::TrackingCode;
use support::{Deployment, Processes};

/// The defaults of `[intake.rate_limits]` (deploy/sunlight.example.toml).
const LOOKUPS_PER_MINUTE: f64 = 1200.0;
const LOOKUP_BURST: f64 = 120.0;
const SECONDS: f64 = 6.0;
/// On a machine busy with other tests the server may stretch codes more
/// slowly than the bucket drains at first: guess on, up to this, until
/// the bucket has run dry once.
const MAX_SECONDS: f64 = 60.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn code_guessing_is_throttled_to_the_lookup_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    let live = Deployment::start(dir.path(), None, &mut procs).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, throttled, other) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let client = reqwest::Client::new();
    // Every 25th guess, for the log scan at the end.
    let sample = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (stop, answered, throttled, other, client, intake, sample) = (
            stop.clone(),
            answered.clone(),
            throttled.clone(),
            other.clone(),
            client.clone(),
            live.intake.clone(),
            sample.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let code = TrackingCode::generate().unwrap().to_string();
                n += 1;
                if n.is_multiple_of(25) {
                    sample.lock().unwrap().push(code.clone());
                }
                // Half the guesses through the message route: it must not
                // be a second, separate budget.
                let req = if i % 2 == 0 {
                    client
                        .post(format!("{intake}/api/v1/status"))
                        .json(&json!({"code": code}))
                } else {
                    client
                        .post(format!("{intake}/api/v1/status/messages"))
                        .json(&json!({"code": code, "body": "猜一猜"}))
                };
                match req.send().await.unwrap().status().as_u16() {
                    404 => answered.fetch_add(1, Ordering::Relaxed),
                    429 => throttled.fetch_add(1, Ordering::Relaxed),
                    _ => other.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let ran = started.elapsed().as_secs_f64();
        if (ran >= SECONDS && throttled.load(Ordering::Relaxed) > 0) || ran >= MAX_SECONDS {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (answered, throttled, other) = (
        answered.load(Ordering::Relaxed),
        throttled.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed),
    );
    assert_eq!(
        other, 0,
        "answers other than 404 (unknown) or 429 (throttled)"
    );
    assert!(throttled > 0, "the guesser was never throttled");
    #[expect(clippy::cast_precision_loss, reason = "request counts")]
    let looked_up = answered as f64;
    let ceiling = LOOKUP_BURST + LOOKUPS_PER_MINUTE / 60.0 * elapsed;
    assert!(
        looked_up <= ceiling + 2.0,
        "{looked_up} guesses looked up in {elapsed:.1} s; the bucket allows {ceiling:.0}"
    );
    // The sustained rate an attacker gets is the bucket's refill; with
    // 10^6 reports among 10^19 well-formed codes each guess hits with
    // probability 10^-13.
    let per_year = LOOKUPS_PER_MINUTE * 60.0 * 24.0 * 365.0;
    let years = 1.0 / (per_year * 1e6 / 1e19);
    let measured_per_minute = ((looked_up - LOOKUP_BURST).max(0.0) / elapsed) * 60.0;
    // The guesses (wrong codes) are no more logged than right ones.
    drop(procs);
    let sample = sample.lock().unwrap().clone();
    let lines =
        support::assert_logs_clean(std::slice::from_ref(&live.serve_log), &sample, &["猜一猜"]);
    println!(
        "log: {lines} lines, none holds any of {} sampled guesses or the message text",
        sample.len()
    );
    sunlight_testkit::scorecard(
        "abuse_guessing",
        &format!(
            "code guessing, {elapsed:.1} s from 8 clients: {answered} looked up, {throttled} throttled (429), 0 other; \
         measured sustained rate {measured_per_minute:.0}/min (bucket: {LOOKUPS_PER_MINUTE:.0}/min after a burst of {LOOKUP_BURST:.0}); \
         at {per_year:.2e} guesses a year against 10^6 reports, the expected first hit takes {years:.0} years"
        ),
    );
}

/// The body of a JSON report, as a script would post it.
fn report(narrative: &str) -> serde_json::Value {
    json!({
        "unit": "gd-gz-tianhe",
        "category": "canvassing_bribery",
        "accused": {"name": "王某", "position": "镇长", "role": "ordinary"},
        "selection_stage": "none",
        "narrative": narrative,
        "real_name": false,
        "reporter": {"name": "", "phone": ""}
    })
}

/// One clearnet client (as named by the TLS proxy in `X-Forwarded-For`)
/// firing 50 reports a second cannot shut another out: its own bucket
/// runs dry, the shared buckets do not. Nothing keeps either address.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_flooding_client_cannot_shut_out_another() {
    const FLOODER: &str = "203.0.113.77";
    const REPORTER: &str = "198.51.100.23";
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    // The default budgets, with the proxy on loopback trusted to name
    // clients (the shipped Caddyfile sets the header to the address it saw).
    let live = Deployment::start(
        dir.path(),
        Some("[intake]\ntrusted_proxies = [\"127.0.0.1\"]\n"),
        &mut procs,
    )
    .await;
    let post = |from: &'static str, narrative: String| {
        let url = format!("{}/api/v1/reports", live.intake);
        async move {
            reqwest::Client::new()
                .post(url)
                .header("X-Forwarded-For", from)
                .json(&report(&narrative))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let flood = {
        async move {
            // 50 a second for 4 seconds, each on its own schedule.
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let mut sent = Vec::new();
            for i in 0..200 {
                tick.tick().await;
                sent.push(tokio::spawn(post(FLOODER, format!("灌水{i}"))));
            }
            let mut statuses = Vec::new();
            for s in sent {
                statuses.push(s.await.unwrap());
            }
            statuses
        }
    };
    let reporter = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut statuses = Vec::new();
        for i in 0..5 {
            statuses.push(post(REPORTER, format!("真实举报{i}")).await);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        statuses
    };
    let (flooder, reporter) = tokio::join!(flood, reporter);
    let refused = flooder.iter().filter(|s| **s == 429).count();
    let filed = flooder.iter().filter(|s| **s == 201).count();
    eprintln!(
        "flooder: {filed} filed, {refused} × 429 of {}; other client: {reporter:?}",
        flooder.len()
    );
    sunlight_testkit::scorecard(
        "flood_other_client_429",
        &reporter.iter().filter(|s| **s == 429).count().to_string(),
    );
    sunlight_testkit::scorecard("flood_flooder_429", &refused.to_string());
    assert!(
        flooder.iter().all(|s| *s == 201 || *s == 429),
        "{flooder:?}"
    );
    assert!(
        refused >= 150,
        "the flooder was not held back: {refused} × 429"
    );
    assert_eq!(reporter, vec![201; 5], "the other client was shut out");

    // Neither address is in the database or the log.
    drop(procs);
    let log = std::fs::read(&live.serve_log).unwrap();
    let mut stored = vec![("serve.log".to_owned(), log)];
    for entry in std::fs::read_dir(dir.path().join("data")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            stored.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    for (path, bytes) in &stored {
        for needle in [FLOODER, REPORTER] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} found in {path}"
            );
        }
    }
}
