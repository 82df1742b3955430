//! Staff mail end to end: the real `sunlight` binary, a real SMTP server
//! (Debian's python3-aiosmtpd, writing a Maildir) on a loopback port, the
//! sweeper on the wall clock. Each mail is matched to its outbox row by its
//! Message-ID, so "delivered once" is checked mail by mail:
//! - reports filed → the unit's people are told, with no report content;
//! - the SMTP server down for a while → every queued mail arrives once;
//! - the process killed (SIGKILL) after the outbox write, before delivery
//!   → the mail is sent after restart, once;
//! - two triage processes on one PostgreSQL database, one killed mid-way →
//!   every notice, reminders and escalations included, is mailed once.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests fail loudly"
)]

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use sunlight_store::Store;
use sunlight_testkit::{execute, fresh_pg_url};
use support::{Side, binary, free_port, spawn_listening};

const PYTHON: &str = "/usr/bin/python3";
const CANARY: &str = "CANARY-mail-51d2e8";
const ACCUSED: &str = "CANARYNAME王某";

/// aiosmtpd with the Maildir handler: every accepted mail becomes a file.
struct SmtpServer {
    port: u16,
    maildir: PathBuf,
    child: Option<Child>,
}

impl SmtpServer {
    async fn start(port: u16, maildir: &Path) -> Self {
        let mut s = Self {
            port,
            maildir: maildir.to_owned(),
            child: None,
        };
        s.resume().await;
        s
    }

    async fn resume(&mut self) {
        let child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{PYTHON} -m aiosmtpd: {e} (apt-get install python3-aiosmtpd)")
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _killed = c.kill();
            let _reaped = c.wait();
        }
    }

    /// Every mail received so far, as (Message-ID, To, whole text).
    fn received(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .map(|e| {
                let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
                let header = |name: &str| {
                    text.lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                        })
                        .unwrap_or_default()
                };
                Mail {
                    message_id: header("Message-ID"),
                    to: header("To"),
                    text,
                }
            })
            // These tests count case notices; the daily audit-head mail
            // (its own test is in crates/triage/tests/sweeper.rs) is
            // delivered too and left out of their counts.
            .filter(|m| !m.text.contains("Subject: [Sunlight] Audit log head"))
            .collect()
    }

    async fn wait_for(&self, n: usize, what: &str) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: {} of {n} mails arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[derive(Debug)]
struct Mail {
    message_id: String,
    to: String,
    text: String,
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _killed = self.0.kill();
        let _reaped = self.0.wait();
    }
}

/// A data folder with the demo deployment and a config that sweeps and
/// delivers every second.
struct Site {
    dir: tempfile::TempDir,
    config: PathBuf,
    database_url: Option<String>,
    logins: Vec<Vec<String>>,
}

impl Site {
    fn new(smtp_port: u16, database_url: Option<String>, mail_every: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sunlight.toml");
        std::fs::write(
            &config,
            format!(
                "smtp_url = \"smtp://127.0.0.1:{smtp_port}\"\n\
                 [triage]\nsweep_every_seconds = 1\nroute_every_seconds = 1\n\
                 [mail]\nlang = \"en\"\nfrom = \"Sunlight <sunlight@test.example>\"\n\
                 every_seconds = {mail_every}\nretry_base_seconds = 1\nretry_max_seconds = 2\n\
                 link_base = \"https://triage.test.example\"\n"
            ),
        )
        .unwrap();
        let mut site = Self {
            dir,
            config,
            database_url,
            logins: Vec::new(),
        };
        let demo = site
            .command(&["demo"], free_port(), free_port())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            demo.status.success(),
            "{}",
            String::from_utf8_lossy(&demo.stderr)
        );
        site.logins = String::from_utf8(demo.stdout)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("login "))
            .map(|l| l.split(' ').map(str::to_owned).collect())
            .collect();
        site
    }

    fn command(&self, args: &[&str], intake: u16, triage: u16) -> Command {
        let mut c = Command::new(binary());
        c.arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .args(args)
            .env("SUNLIGHT_INTAKE_ADDR", format!("127.0.0.1:{intake}"))
            .env("SUNLIGHT_TRIAGE_ADDR", format!("127.0.0.1:{triage}"))
            .env("SUNLIGHT_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        match &self.database_url {
            Some(url) => c.env("SUNLIGHT_DATABASE_URL", url),
            None => c.env_remove("SUNLIGHT_DATABASE_URL"),
        };
        c
    }

    /// `sunlight ARGS` with its log in `log_name`; waits for health.
    async fn run(&self, args: &[&str], log_name: &str) -> (Proc, u16, u16) {
        let log = self.dir.path().join(log_name);
        let serve = args.contains(&"serve");
        let mut sides = Vec::new();
        if serve || args.contains(&"intake") {
            sides.push(Side::Intake);
        }
        if serve || args.contains(&"triage") {
            sides.push(Side::Triage);
        }
        let (child, intake, triage) = spawn_listening(
            |intake, triage| self.command(args, intake, triage),
            &log,
            &sides,
        )
        .await;
        (Proc(child), intake, triage)
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    async fn store(&self) -> Store {
        let url = self
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/data/sunlight.db", self.dir.path().display()));
        Store::connect(&url).await.unwrap()
    }

    fn email(&self, role: &str, unit: &str) -> String {
        self.logins
            .iter()
            .find(|l| l[3] == role && l[4] == unit)
            .unwrap()[1]
            .clone()
    }
}

/// Files a report on the public intake; returns its tracking code.
async fn file(intake: u16, n: usize) -> String {
    let res = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{intake}/api/v1/reports"))
        .json(&json!({
            "unit": "gd-gz-tianhe", "category": "canvassing_bribery",
            "accused": {"name": ACCUSED, "position": "副局长", "role": "ordinary"},
            "selection_stage": "none",
            "narrative": format!("{CANARY} 第{n}件：拉票"), "real_name": false
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let v: serde_json::Value = res.json().await.unwrap();
    v["tracking_code"].as_str().unwrap().to_owned()
}

/// Each received mail is a distinct outbox row, and each row was received
/// at most once; returns the rows' kinds by Message-ID.
async fn match_to_outbox(store: &Store, mails: &[Mail]) -> BTreeMap<String, String> {
    let rows: BTreeMap<String, (String, String)> = store
        .outbox_all()
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                format!("<{}@sunlight>", r.id),
                (r.kind.unwrap_or_default(), r.recipient),
            )
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut kinds = BTreeMap::new();
    for m in mails {
        assert!(
            seen.insert(m.message_id.clone()),
            "{} received twice",
            m.message_id
        );
        let (kind, recipient) = rows
            .get(&m.message_id)
            .unwrap_or_else(|| panic!("{} is in no outbox row", m.message_id));
        assert!(
            m.to.contains(recipient.as_str()),
            "{} went to {}",
            recipient,
            m.to
        );
        kinds.insert(m.message_id.clone(), kind.clone());
    }
    kinds
}

fn assert_no_report_content(mails: &[Mail], codes: &[String]) {
    for m in mails {
        for secret in [CANARY, ACCUSED, "CANARYNAME", "拉票", "副局长"] {
            assert!(!m.text.contains(secret), "{secret} in a mail:\n{}", m.text);
        }
        for code in codes {
            let digits: String = code.chars().filter(char::is_ascii_digit).collect();
            assert!(!m.text.contains(code.as_str()) && !m.text.contains(&digits));
        }
        assert!(
            m.text.contains("https://triage.test.example/cases/"),
            "{}",
            m.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mails_reach_the_smtp_server_once_even_when_it_was_down() {
    let smtp_port = free_port();
    let site = Site::new(smtp_port, None, 1);
    let mut smtp = SmtpServer::start(smtp_port, &site.dir.path().join("maildir")).await;
    let (_serve, intake, _) = site.run(&["serve"], "serve.log").await;

    let mut codes = vec![file(intake, 0).await];
    let first = smtp.wait_for(2, "the first report's notices").await;
    let to: BTreeSet<String> = first.iter().map(|m| m.to.clone()).collect();
    // The acceptance step (受理) is announced to the desk.
    assert!(
        to.iter()
            .any(|t| t.contains(&site.email("intake", "gd-gz-tianhe")))
    );
    assert!(
        to.iter()
            .any(|t| t.contains(&site.email("supervisor", "gd-gz-tianhe")))
    );

    // The server goes away; three more reports are filed meanwhile.
    smtp.stop();
    for n in 1..4 {
        codes.push(file(intake, n).await);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !site.log("serve.log").contains("mail deferred") {
        assert!(
            Instant::now() < deadline,
            "no delivery failed while the server was down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let store = site.store().await;
    let status = store.outbox_status().await.unwrap();
    assert!(status.pending >= 1 && status.retrying >= 1, "{status:?}");
    assert_eq!(
        smtp.received().len(),
        2,
        "nothing arrives while the server is down"
    );

    smtp.resume().await;
    let all = smtp
        .wait_for(8, "the queued notices after the server came back")
        .await;
    // A few more rounds: nothing is sent again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all_after = smtp.received();
    assert_eq!(all_after.len(), 8, "{all:?}");
    let kinds = match_to_outbox(&store, &all_after).await;
    assert!(kinds.values().all(|k| k == "opened"), "{kinds:?}");
    assert_no_report_content(&all_after, &codes);
    let status = store.outbox_status().await.unwrap();
    // The 8 notices and the day's audit-head mail.
    assert_eq!((status.pending, status.failed, status.sent), (0, 0, 9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_written_before_a_kill_is_sent_once_after_restart() {
    let smtp_port = free_port();
    // Delivery runs at start, then not for an hour: the mail the sweeper
    // writes waits in the outbox.
    let site = Site::new(smtp_port, None, 3600);
    let smtp = SmtpServer::start(smtp_port, &site.dir.path().join("maildir")).await;
    let (mut serve, intake, _) = site.run(&["serve"], "serve.log").await;
    let code = file(intake, 0).await;
    let store = site.store().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.outbox_status().await.unwrap().pending < 2 {
        assert!(Instant::now() < deadline, "the sweeper wrote no mail");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SIGKILL: no shutdown path runs.
    serve.0.kill().unwrap();
    serve.0.wait().unwrap();
    assert!(smtp.received().is_empty());

    let _serve = site.run(&["serve"], "serve2.log").await;
    let mails = smtp.wait_for(2, "the mails written before the kill").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mails_after = smtp.received();
    assert_eq!(mails_after.len(), 2, "{mails:?}");
    match_to_outbox(&store, &mails_after).await;
    assert_no_report_content(&mails_after, &[code]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_triage_processes_on_postgres_mail_every_notice_once() {
    let smtp_port = free_port();
    let db = fresh_pg_url().await.unwrap();
    let site = Site::new(smtp_port, Some(db.clone()), 1);
    let smtp = SmtpServer::start(smtp_port, &site.dir.path().join("maildir")).await;
    let (intake_proc, intake, _) = site.run(&["intake"], "intake.log").await;
    let (mut a, _, _) = site.run(&["triage"], "a.log").await;
    let (_b, _, _) = site.run(&["triage"], "b.log").await;

    let mut codes = Vec::new();
    for n in 0..10 {
        codes.push(file(intake, n).await);
    }
    smtp.wait_for(20, "the ten reports' arrival notices").await;
    // One triage process dies (it may hold the sweeper lease).
    a.0.kill().unwrap();
    a.0.wait().unwrap();
    // Accepted into verification (as the desk would; the stage's id, and
    // so its notices, stay), half the stages are 50 days old, half 61:
    // reminders and escalations fall due at once, for the surviving
    // process to send.
    let store = site.store().await;
    execute(
        &store,
        "UPDATE cases SET stage = 'verify', disposition = 'accepted' WHERE stage = 'received'",
    )
    .await
    .unwrap();
    execute(
        &store,
        "UPDATE queue_entries SET stage = 'verify' WHERE closed_at IS NULL AND stage = 'received'",
    )
    .await
    .unwrap();
    execute(
        &store,
        "UPDATE queue_entries SET \
           opened_at = opened_at - CASE WHEN right(case_id::text, 1) < '8' \
             THEN interval '50 days' ELSE interval '61 days' END, \
           due_at = due_at - CASE WHEN right(case_id::text, 1) < '8' \
             THEN interval '50 days' ELSE interval '61 days' END, \
           next_sweep_at = now() \
         WHERE closed_at IS NULL AND stage = 'verify'",
    )
    .await
    .unwrap();
    let old = store
        .all_queue_entries()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.closed_at.is_none())
        .count();
    assert_eq!(old, 10);
    // Expected: per stage 50 days old: unclaimed (1) + reminder-750 (2);
    // 61 days old: unclaimed (1) + overdue (2: the unit's and the parent's
    // supervisors). 30 more mails in all.
    smtp.wait_for(50, "reminders and escalations").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mails = smtp.received();
    assert_eq!(mails.len(), 50, "{}", mails.len());
    let kinds = match_to_outbox(&store, &mails).await;
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for k in kinds.values() {
        *by_kind.entry(k.as_str()).or_default() += 1;
    }
    assert_eq!(by_kind.get("opened"), Some(&20), "{by_kind:?}");
    assert_eq!(by_kind.get("unclaimed"), Some(&10), "{by_kind:?}");
    let reminders = by_kind.get("reminder-750").copied().unwrap_or(0);
    let overdue = by_kind.get("overdue").copied().unwrap_or(0);
    assert_eq!(reminders + overdue, 20, "{by_kind:?}");
    assert_no_report_content(&mails, &codes);
    drop(intake_proc);
}
