//! `sunlight backup` under write load and `sunlight restore` into an empty
//! data folder: the copy is one consistent snapshot — every report
//! acknowledged before the backup started is in it and can be looked up
//! with its code after the restore, the restored case count equals the
//! backup's own, and the audit chain verifies. On SQLite (VACUUM INTO while
//! `serve` keeps writing) and on PostgreSQL (pg_dump / pg_restore).

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests fail loudly"
)]

use crate::support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use sunlight_testkit::fresh_pg_url;
use support::{Deployment, Processes, Side, spawn_listening};
use tokio::sync::Mutex;

fn report(n: usize) -> serde_json::Value {
    json!({
        "unit": "gd-gz-tianhe", "category": "office_trading",
        "accused": {"name": "某某", "position": "科长", "role": "ordinary"},
        "selection_stage": "recommendation", "narrative": format!("备份负载 {n}"),
        "real_name": false, "reporter": {"name": "", "phone": ""}
    })
}

/// Submitters filing reports until `stop`; every acknowledged code is kept.
fn load(
    intake: &str,
    writers: usize,
    stop: &Arc<AtomicBool>,
    acked: &Arc<Mutex<Vec<String>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..writers)
        .map(|w| {
            let (intake, stop, acked) = (intake.to_owned(), stop.clone(), acked.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let res = client
                        .post(format!("{intake}/api/v1/reports"))
                        .json(&report(w * 100_000 + n))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 201);
                    let v: serde_json::Value = res.json().await.unwrap();
                    acked
                        .lock()
                        .await
                        .push(v["tracking_code"].as_str().unwrap().to_owned());
                }
            })
        })
        .collect()
}

/// `N cases` out of a `backup …: N cases, M audit entries, …` line.
fn cases_in(line: &str) -> u64 {
    let after = line.split(": ").nth(1).unwrap_or_else(|| panic!("{line}"));
    after.split(' ').next().unwrap().parse().unwrap()
}

async fn run(cmd: Command) -> String {
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = cmd;
        cmd.output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn sunlight(data: &Path) -> Command {
    let mut c = Command::new(support::binary());
    c.arg("--data-dir")
        .arg(data)
        .env_remove("SUNLIGHT_DATABASE_URL")
        .env("SUNLIGHT_LOG", "warn");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_backup_under_load_restores_every_acknowledged_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    let live = Deployment::start(dir.path(), None, &mut procs).await;
    let (stop, acked) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(Mutex::new(Vec::new())),
    );
    let writers = load(&live.intake, 4, &stop, &acked);
    while acked.lock().await.len() < 20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before: Vec<String> = acked.lock().await.clone();
    let file = dir.path().join("sunlight-backup.db");
    let mut cmd = sunlight(&dir.path().join("data"));
    cmd.arg("backup").arg("--to").arg(&file);
    let line = run(cmd).await;
    // Writers kept going during the copy and go on after it.
    let during = acked.lock().await.len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let total = acked.lock().await.len();
    assert!(line.contains("integrity ok, audit chain intact"), "{line}");
    let in_backup = cases_in(&line);
    assert!(
        in_backup >= before.len() as u64 && in_backup <= total as u64,
        "backup holds {in_backup} cases; {} were acknowledged before it started, {total} in all",
        before.len()
    );
    assert!(total > during, "writes went on after the backup");
    assert!(!dir.path().join("sunlight-backup.db.partial").exists());
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a backup is readable by its owner only");
    }

    // Restore into an empty folder, with the pepper kept apart.
    let restored = dir.path().join("restored");
    let mut cmd = sunlight(&restored);
    cmd.arg("restore")
        .arg("--from")
        .arg(&file)
        .arg("--pepper")
        .arg(dir.path().join("data/pepper.key"));
    let line = run(cmd).await;
    assert_eq!(cases_in(&line), in_backup, "{line}");
    let mut cmd = sunlight(&restored);
    cmd.args(["audit", "verify"]);
    assert!(run(cmd).await.contains("audit log intact"));

    // A second restore into the same folder is refused and changes nothing.
    let mut cmd = sunlight(&restored);
    cmd.arg("restore").arg("--from").arg(&file);
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));

    // The restored deployment serves: every code acknowledged before the
    // backup is found; the rest of the load is not there.
    let log = dir.path().join("restored.log");
    let (child, intake, _triage) = spawn_listening(
        |intake, triage| {
            let mut c = sunlight(&restored);
            c.arg("serve")
                .env("SUNLIGHT_INTAKE_ADDR", format!("127.0.0.1:{intake}"))
                .env("SUNLIGHT_TRIAGE_ADDR", format!("127.0.0.1:{triage}"))
                .stdout(Stdio::null());
            c
        },
        &log,
        &[Side::Intake],
    )
    .await;
    procs.add(child, false);
    let intake = format!("http://127.0.0.1:{intake}");
    support::assert_codes_found(
        &intake,
        &before,
        "acknowledged before the backup, lost after restore",
    )
    .await;
    let last = acked.lock().await.last().cloned().unwrap();
    let res = reqwest::Client::new()
        .post(format!("{intake}/api/v1/status"))
        .json(&json!({"code": last}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "a report filed after the backup ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgresql_backup_restores_into_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let (db, empty) = (fresh_pg_url().await.unwrap(), fresh_pg_url().await.unwrap());
    let data = dir.path().join("data");
    let pg = |data: &Path, url: &str| {
        let mut c = sunlight(data);
        c.env("SUNLIGHT_DATABASE_URL", url);
        c
    };
    let mut demo = pg(&data, &db);
    demo.arg("demo");
    run(demo).await;
    let mut procs = Processes::default();
    let (child, intake, _triage) = spawn_listening(
        |intake, _| {
            let mut c = pg(&data, &db);
            c.arg("intake")
                .env("SUNLIGHT_INTAKE_ADDR", format!("127.0.0.1:{intake}"))
                .stdout(Stdio::null());
            c
        },
        &dir.path().join("intake.log"),
        &[Side::Intake],
    )
    .await;
    procs.add(child, false);
    let intake = format!("http://127.0.0.1:{intake}");
    let (stop, acked) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(Mutex::new(Vec::new())),
    );
    let writers = load(&intake, 2, &stop, &acked);
    while acked.lock().await.len() < 10 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before: Vec<String> = acked.lock().await.clone();
    let file = dir.path().join("sunlight.dump");
    let mut cmd = pg(&data, &db);
    cmd.arg("backup").arg("--to").arg(&file);
    let line = run(cmd).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    assert!(line.contains("integrity ok, audit chain intact"), "{line}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a dump is readable by its owner only");
    }

    let restored = dir.path().join("restored");
    let mut cmd = pg(&restored, &empty);
    cmd.arg("restore")
        .arg("--from")
        .arg(&file)
        .arg("--pepper")
        .arg(data.join("pepper.key"));
    let line = run(cmd).await;
    let restored_cases = cases_in(&line);
    assert!(
        restored_cases >= before.len() as u64,
        "{restored_cases} restored, {} acknowledged before the dump",
        before.len()
    );
    let mut cmd = pg(&restored, &empty);
    cmd.args(["audit", "verify"]);
    assert!(run(cmd).await.contains("audit log intact"));
    // Into a database that is not empty: refused.
    let mut cmd = pg(&dir.path().join("again"), &empty);
    cmd.arg("restore").arg("--from").arg(&file);
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));

    let (child, port, _triage) = spawn_listening(
        |intake, _| {
            let mut c = pg(&restored, &empty);
            c.arg("intake")
                .env("SUNLIGHT_INTAKE_ADDR", format!("127.0.0.1:{intake}"))
                .stdout(Stdio::null());
            c
        },
        &dir.path().join("restored.log"),
        &[Side::Intake],
    )
    .await;
    procs.add(child, false);
    support::assert_codes_found(
        &format!("http://127.0.0.1:{port}"),
        &before,
        "acknowledged before the dump, lost after restore",
    )
    .await;
}
