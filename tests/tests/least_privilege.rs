//! PostgreSQL least privilege: migrations by the owner (`sunlight migrate`,
//! several at once under an advisory lock), the public intake under the
//! restricted role of `deploy/postgres/intake-role.sql` with
//! `migrate_on_start = false`: it files and finds reports and messages,
//! and cannot read staff records, delete, or change the schema.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use crate::support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::json;
use sunlight_testkit::fresh_pg_url;
use support::{Processes, Side, file_report, spawn_listening};

fn sunlight(db: &str, data: &Path, pepper: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(support::binary());
    c.arg("--data-dir")
        .arg(data)
        .args(args)
        .env("SUNLIGHT_DATABASE_URL", db)
        .env("SUNLIGHT_PEPPER_FILE", pepper)
        .env("SUNLIGHT_LOG", "warn")
        .stdin(Stdio::null());
    c
}

fn psql(url: &str, args: &[&str]) -> Output {
    Command::new("psql")
        .args(["-v", "ON_ERROR_STOP=1", "-X", "-q", "-d", url])
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The same database as `url`, signed in as `role`.
fn as_role(url: &str, role: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{role}@{host}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_take_turns_and_intake_runs_with_least_privilege() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_pg_url().await.unwrap();
    let setup = dir.path().join("setup");
    let pepper = setup.join("pepper.key");

    // Three replicas migrating at once: one applies everything, the others
    // wait for its lock and find nothing left.
    let racers: Vec<_> = (0..3)
        .map(|i| {
            sunlight(
                &db,
                &dir.path().join(format!("m{i}")),
                &pepper,
                &["migrate"],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let mut applied: Vec<String> = racers
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", text(&out));
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        })
        .collect();
    applied.sort();
    assert_eq!(
        &applied[..2],
        ["applied 0 migration(s)", "applied 0 migration(s)"]
    );
    assert!(applied[2] != "applied 0 migration(s)", "{applied:?}");

    let demo = sunlight(&db, &setup, &pepper, &["demo"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(demo.status.success(), "{}", text(&demo));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/postgres/intake-role.sql");
    let granted = psql(&db, &["-f", script.to_str().unwrap()]);
    assert!(granted.status.success(), "{}", text(&granted));
    // Re-running it (after an upgrade) is fine.
    let again = psql(&db, &["-f", script.to_str().unwrap()]);
    assert!(again.status.success(), "{}", text(&again));
    let intake_db = as_role(&db, "sunlight_intake");

    // Under that role, migrating at start is refused by PostgreSQL itself.
    let data = dir.path().join("intake");
    let refused = sunlight(&intake_db, &data, &pepper, &["intake"])
        .env("SUNLIGHT_INTAKE_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("migration failed"),
        "{}",
        text(&refused)
    );

    let mut procs = Processes::default();
    let (child, port, _unused) = spawn_listening(
        |intake, _| {
            let mut c = sunlight(&intake_db, &data, &pepper, &["intake"]);
            c.env("SUNLIGHT_MIGRATE_ON_START", "false")
                .env("SUNLIGHT_INTAKE_ADDR", format!("127.0.0.1:{intake}"))
                .stdout(Stdio::null());
            c
        },
        &dir.path().join("intake.log"),
        &[Side::Intake],
    )
    .await;
    procs.add(child, false);
    let intake = format!("http://127.0.0.1:{port}");
    let code = file_report(
        &intake,
        json!({
            "unit": "gd-gz-tianhe", "category": "office_trading",
            "accused": {"name": "某某", "position": "科长", "role": "ordinary"},
            "selection_stage": "deliberation", "narrative": "least privilege canary",
            "real_name": false, "reporter": {"name": "", "phone": ""}
        }),
    )
    .await;
    let http = reqwest::Client::new();
    let status = http
        .post(format!("{intake}/api/v1/status"))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    let message = http
        .post(format!("{intake}/api/v1/status/messages"))
        .json(&json!({ "code": code, "body": "更多情况" }))
        .send()
        .await
        .unwrap();
    assert_eq!(message.status(), 201);
    // The form with a file: attachment rows and sealed chunks.
    let form = reqwest::multipart::Form::new()
        .text("unit", "gd-gz-tianhe")
        .text("category", "office_trading")
        .text("accused_name", "某某")
        .text("accused_position", "科长")
        .text("accused_role", "ordinary")
        .text("selection_stage", "publicity")
        .text("narrative", "least privilege with a file")
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(b"evidence".repeat(5000)).file_name("evidence.txt"),
        );
    let page = http
        .post(format!("{intake}/report"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("id=\"tracking-code\""));

    // What the role cannot do, asked of PostgreSQL directly.
    for sql in [
        "SELECT count(*) FROM staff",
        "SELECT count(*) FROM outbox",
        "SELECT count(*) FROM attachment_chunks",
        "SELECT count(*) FROM register_counts",
        "SELECT recovery_wrapped_key FROM units",
        "SELECT escrow_sealed_key FROM units",
        "DELETE FROM cases",
        "UPDATE cases SET stage = 'closed'",
        "DELETE FROM audit_log",
        "CREATE TABLE intruder (a int)",
        "DROP TABLE messages",
    ] {
        let out = psql(&intake_db, &["-c", sql]);
        assert!(!out.status.success(), "{sql} was allowed");
        assert!(
            text(&out).contains("permission denied") || text(&out).contains("must be owner"),
            "{sql}: {}",
            text(&out)
        );
    }
    let cases = psql(&db, &["-At", "-c", "SELECT count(*) FROM cases"]);
    assert_eq!(text(&cases).trim(), "2");
    let chunks = psql(
        &db,
        &["-At", "-c", "SELECT count(*) > 0 FROM attachment_chunks"],
    );
    assert_eq!(text(&chunks).trim(), "t");

    // A migration the owner has not applied yet: intake refuses to start
    // and names the command that applies it.
    drop(procs);
    let forget = psql(
        &db,
        &[
            "-c",
            "DELETE FROM seaql_migrations WHERE version = (SELECT max(version) FROM seaql_migrations)",
        ],
    );
    assert!(forget.status.success(), "{}", text(&forget));
    let stale = sunlight(&intake_db, &data, &pepper, &["intake"])
        .env("SUNLIGHT_MIGRATE_ON_START", "false")
        .env("SUNLIGHT_INTAKE_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    assert!(!stale.status.success());
    assert!(
        text(&stale).contains("sunlight migrate"),
        "{}",
        text(&stale)
    );
}
