//! The compose topology without containers: two `sunlight intake` processes
//! and one `sunlight triage` over one PostgreSQL database, each with its own
//! data folder and one shared pepper file (`SUNLIGHT_PEPPER_FILE`, as the
//! compose secret mounts it). A report filed at each intake reaches
//! triage's acceptance queue; a code issued by one replica is found by the
//! other; the onion address is announced by intake and shown to the admin.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use crate::support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use sunlight_testkit::fresh_pg_url;
use support::{Processes, Side, file_report, fresh_totp, spawn_listening};

const ONION: &str = "http://sunlightxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion";

/// A `sunlight` command on `db` with its own data folder and the shared pepper.
fn sunlight(db: &str, data: &Path, pepper: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(support::binary());
    c.arg("--data-dir")
        .arg(data)
        .args(args)
        .env("SUNLIGHT_DATABASE_URL", db)
        .env("SUNLIGHT_PEPPER_FILE", pepper)
        .env("SUNLIGHT_ONION_LOCATION", ONION)
        .env("SUNLIGHT_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    c
}

async fn api_sign_in(triage: &str, login: &[&str]) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let totp = if login[5] == "-" {
        None
    } else {
        Some(fresh_totp(login[1], login[5]).await)
    };
    let res = client
        .post(format!("{triage}/api/v1/session"))
        .json(&json!({"email": login[1], "password": login[2], "totp": totp}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "sign-in of {}", login[1]);
    client
}

fn report(narrative: &str) -> serde_json::Value {
    json!({
        "unit": "gd-gz-tianhe", "category": "canvassing_bribery",
        "accused": {"name": "某某", "position": "副局长", "role": "ordinary"},
        "selection_stage": "inspection", "narrative": narrative,
        "real_name": false, "reporter": {"name": "", "phone": ""}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_intakes_and_one_triage_share_one_postgresql_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_pg_url().await.unwrap();
    // `init`/`demo` once, as the compose `init` service does; its pepper
    // file is what every replica mounts.
    let setup = dir.path().join("setup");
    let pepper = setup.join("pepper.key");
    let demo = sunlight(&db, &setup, &pepper, &["demo"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let text = String::from_utf8(demo.stdout).unwrap();
    let logins: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| l.starts_with("login "))
        .map(|l| l.split(' ').collect())
        .collect();
    let login = |role: &str, unit: &str| {
        logins
            .iter()
            .find(|l| l[3] == role && l[4] == unit)
            .unwrap()
            .clone()
    };

    let mut procs = Processes::default();
    let mut intakes = Vec::new();
    for replica in ["intake-1", "intake-2"] {
        let data = dir.path().join(replica);
        let log = dir.path().join(format!("{replica}.log"));
        let (child, port, _unused) = spawn_listening(
            |intake, _| {
                let mut c = sunlight(&db, &data, &pepper, &["intake"]);
                c.env("SUNLIGHT_INTAKE_ADDR", format!("127.0.0.1:{intake}"));
                c
            },
            &log,
            &[Side::Intake],
        )
        .await;
        procs.add(child, false);
        intakes.push(format!("http://127.0.0.1:{port}"));
    }
    let triage_data = dir.path().join("triage");
    let config = dir.path().join("triage.toml");
    std::fs::write(&config, "[triage]\nroute_every_seconds = 1\n").unwrap();
    let (child, _unused, port) = spawn_listening(
        |_, triage| {
            let mut c = sunlight(&db, &triage_data, &pepper, &["triage"]);
            c.arg("--config")
                .arg(&config)
                .env("SUNLIGHT_TRIAGE_ADDR", format!("127.0.0.1:{triage}"));
            c
        },
        &dir.path().join("triage.log"),
        &[Side::Triage],
    )
    .await;
    procs.add(child, false);
    let triage = format!("http://127.0.0.1:{port}");

    // One report at each replica; each code is found at the other one.
    let codes = [
        file_report(&intakes[0], report("replica one: 票数异常")).await,
        file_report(&intakes[1], report("replica two: 突击提拔")).await,
    ];
    let http = reqwest::Client::new();
    for (code, other) in codes.iter().zip([&intakes[1], &intakes[0]]) {
        let res = http
            .post(format!("{other}/api/v1/status"))
            .json(&json!({"code": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            200,
            "code from one replica unknown to the other"
        );
    }

    // Triage routes both into Tianhe's acceptance (received) queue.
    let verifier = api_sign_in(&triage, &login("verifier", "gd-gz-tianhe")).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let queue: serde_json::Value = verifier
            .get(format!("{triage}/api/v1/queues/received"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mine = queue
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["unit"] == "gd-gz-tianhe")
            .count();
        if mine == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "triage saw {mine} of 2 reports: {queue}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The onion address: announced by both replicas, shown to the admin.
    for intake in &intakes {
        let res = http.get(format!("{intake}/")).send().await.unwrap();
        assert_eq!(
            res.headers()
                .get("onion-location")
                .unwrap()
                .to_str()
                .unwrap(),
            format!("{ONION}/")
        );
    }
    let admin = api_sign_in(&triage, &login("admin", "gd-gz-tianhe")).await;
    let page = admin
        .get(format!("{triage}/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("<code id=\"onion-address\">{ONION}</code>")),
        "{page}"
    );
}
