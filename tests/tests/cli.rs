//! The `sunlight` binary as an operator uses it: real processes, real
//! SQLite files and real PostgreSQL databases.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers fail loudly"
)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sunlight_store::Store;
use sunlight_testkit::{execute, fresh_pg_url};

mod operations;
mod province;

/// The binary built by `.ci/run` (`cargo build -p sunlight`) next to this
/// test executable.
fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = dir.join("sunlight");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build -p sunlight` (as .ci/run does) first",
        bin.display()
    );
    bin
}

/// A data folder plus, optionally, a PostgreSQL database.
struct Deployment {
    dir: tempfile::TempDir,
    db_url: Option<String>,
}

impl Deployment {
    async fn new(pg: bool) -> Self {
        let db_url = if pg {
            Some(fresh_pg_url().await.unwrap())
        } else {
            None
        };
        Self {
            dir: tempfile::tempdir().unwrap(),
            db_url,
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(binary());
        c.arg("--data-dir").arg(self.dir.path()).args(args);
        c.env_remove("SUNLIGHT_DATABASE_URL")
            .env("SUNLIGHT_LOG", "warn");
        if let Some(url) = &self.db_url {
            c.env("SUNLIGHT_DATABASE_URL", url);
        }
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn url(&self) -> String {
        self.db_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/sunlight.db", self.dir.path().display()))
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn demo_prints_one_login_per_role_and_unit(pg: bool) {
    let d = Deployment::new(pg).await;
    let out = d.run(&["demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let logins: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| l.starts_with("login "))
        .map(|l| l.split(' ').collect())
        .collect();
    assert_eq!(logins.len(), 12, "{text}");
    for fields in &logins {
        assert_eq!(
            fields.len(),
            6,
            "login EMAIL PASSWORD ROLE UNIT TOTP: {fields:?}"
        );
        let (role, totp) = (fields[3], fields[5]);
        // Every role that reads reports has a second factor.
        if role == "intake" {
            assert_eq!(totp, "-");
        } else {
            assert_eq!(totp.len(), 32, "base32 TOTP secret for {role}");
        }
    }
    for unit in ["gd", "gd-gz", "gd-gz-tianhe"] {
        assert_eq!(logins.iter().filter(|f| f[4] == unit).count(), 4);
    }
    // Running it again on the same data refuses and changes nothing.
    let again = d.run(&["demo"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already initialised"),
        "{}",
        stderr(&again)
    );
    let verify = d.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    // The suite recorded, 3 units, 12 members.
    assert!(
        stdout(&verify).contains("intact: 16 entries"),
        "{}",
        stdout(&verify)
    );
}

#[tokio::test]
async fn demo_on_sqlite() {
    demo_prints_one_login_per_role_and_unit(false).await;
}

#[tokio::test]
async fn demo_on_postgres() {
    demo_prints_one_login_per_role_and_unit(true).await;
}

async fn audit_verify_names_the_altered_entry(pg: bool) {
    let d = Deployment::new(pg).await;
    assert!(d.run(&["init"]).status.success());
    assert!(
        d.run(&[
            "unit",
            "add",
            "--id",
            "gd-sz",
            "--name",
            "深圳市委组织部",
            "--level",
            "city",
            "--parent",
            "province"
        ])
        .status
        .success()
    );
    assert!(d.run(&["audit", "verify"]).status.success());

    // The last line is the head, to write down as an anchor.
    let verify = d.run(&["audit", "verify"]);
    let out = stdout(&verify);
    let head = out.lines().last().unwrap().to_owned();
    let mut words = head.split(' ');
    assert_eq!(words.next(), Some("head"), "{out}");
    let (seq, hash) = (words.next().unwrap(), words.next().unwrap());
    assert_eq!(hash.len(), 64, "{head}");
    let anchor = format!("{seq}:{hash}");
    assert!(
        d.run(&["audit", "verify", "--expect", &anchor])
            .status
            .success()
    );
    let bad = d.run(&["audit", "verify", "--expect", "2:zz"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("HASH is hexadecimal"),
        "{}",
        stderr(&bad)
    );

    // Whoever owns the schema drops the append-only triggers and cuts the
    // newest entries off: the chain that is left is intact, the anchor is not.
    let store = Store::connect(&d.url()).await.unwrap();
    sunlight_testkit::drop_audit_guards(&store).await.unwrap();
    assert_eq!(
        execute(&store, &format!("DELETE FROM audit_log WHERE seq >= {seq}"))
            .await
            .unwrap(),
        1
    );
    assert!(d.run(&["audit", "verify"]).status.success());
    let cut = d.run(&["audit", "verify", "--expect", &anchor]);
    assert!(!cut.status.success(), "a cut-back log must fail the anchor");
    assert!(
        stderr(&cut).contains(&format!("entry {seq} is gone")),
        "{}",
        stderr(&cut)
    );
    assert_eq!(
        execute(
            &store,
            "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2"
        )
        .await
        .unwrap(),
        1
    );
    drop(store);
    let out = d.run(&["audit", "verify"]);
    assert!(!out.status.success(), "a tampered log must fail");
    assert!(
        stderr(&out).contains("entry 2"),
        "names the entry: {}",
        stderr(&out)
    );
}

#[tokio::test]
async fn audit_verify_on_sqlite() {
    audit_verify_names_the_altered_entry(false).await;
}

#[tokio::test]
async fn audit_verify_on_postgres() {
    audit_verify_names_the_altered_entry(true).await;
}

#[tokio::test]
async fn init_refuses_twice_and_staff_add_needs_the_right_recovery_key() {
    let d = Deployment::new(false).await;
    let out = d.run(&["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Standard output is a pipe here (as under systemd or docker): the
    // secrets go to a 0600 file and only its path is printed.
    let printed = format!("{}{}", stdout(&out), stderr(&out));
    let secrets = d.dir.path().join("initial-secrets.txt");
    assert!(
        printed.contains(&secrets.display().to_string()),
        "{printed}"
    );
    let text = std::fs::read_to_string(&secrets).unwrap();
    let recovery = text
        .lines()
        .find_map(|l| l.strip_prefix("recovery province "))
        .unwrap()
        .to_owned();
    let login = text
        .lines()
        .find(|l| l.starts_with("login admin@example.org "))
        .unwrap();
    let password = login.split(' ').nth(2).unwrap();
    for secret in [recovery.as_str(), password] {
        assert!(
            !printed.contains(secret),
            "a secret reached the pipe: {printed}"
        );
    }
    assert!(d.dir.path().join("pepper.key").exists());
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(d.dir.path()), 0o700, "data folder is owner-only");
        assert_eq!(mode(&d.dir.path().join("pepper.key")), 0o600);
        assert_eq!(mode(&secrets), 0o600, "the secrets file is owner-only");
    }

    // On a terminal (util-linux `script` gives it one) they are shown there
    // and no file is written.
    let tty = Deployment::new(false).await;
    let on_terminal = Command::new("script")
        .args([
            "-qec",
            &format!(
                "{} --data-dir {} init",
                binary().display(),
                tty.dir.path().display()
            ),
            "/dev/null",
        ])
        .env_remove("SUNLIGHT_DATABASE_URL")
        .env("SUNLIGHT_LOG", "warn")
        .output()
        .unwrap();
    assert!(on_terminal.status.success(), "{}", stderr(&on_terminal));
    assert!(
        stdout(&on_terminal).contains("recovery province "),
        "{}",
        stdout(&on_terminal)
    );
    assert!(!tty.dir.path().join("initial-secrets.txt").exists());

    let twice = d.run(&["init"]);
    assert!(!twice.status.success());
    assert!(stderr(&twice).contains("already initialised"));

    let add = |key: &str| {
        let mut child = d
            .cmd(&[
                "staff",
                "add",
                "--unit",
                "province",
                "--email",
                "v@example.org",
                "--role",
                "verifier",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{key}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let other_key = sunlight_core::crypto::RecoveryKey::generate().unwrap();
    let wrong = add(other_key.reveal().as_str());
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("opens neither this unit"),
        "{}",
        stderr(&wrong)
    );
    let garbled = add("not a key");
    assert!(
        stderr(&garbled).contains("not well-formed"),
        "{}",
        stderr(&garbled)
    );
    let ok = add(&recovery);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(
        stdout(&ok).starts_with("login v@example.org "),
        "{}",
        stdout(&ok)
    );

    // Typed at a terminal, the recovery key is not echoed: a pseudo-terminal
    // shows the prompt and the login line, never the key.
    const TYPE_AT_A_TERMINAL: &str = r#"
import os, pty, select, sys
key = sys.stdin.readline().encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
seen = b""
# Wait for the prompt (at most 5 s: a program without one gets the key anyway).
while b"not shown" not in seen and select.select([fd], [], [], 5)[0]:
    seen += os.read(fd, 1024)
os.write(fd, key)
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let mut typed = Command::new("python3")
        .args(["-c", TYPE_AT_A_TERMINAL])
        .arg(binary())
        .args(["--data-dir"])
        .arg(d.dir.path())
        .args([
            "staff",
            "add",
            "--unit",
            "province",
            "--email",
            "tty@example.org",
            "--role",
            "verifier",
        ])
        .env_remove("SUNLIGHT_DATABASE_URL")
        .env("SUNLIGHT_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    typed
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{recovery}\n").as_bytes())
        .unwrap();
    let typed = typed.wait_with_output().unwrap();
    let screen = stdout(&typed);
    assert!(typed.status.success(), "{screen}{}", stderr(&typed));
    assert!(screen.contains("login tty@example.org "), "{screen}");
    assert!(!screen.contains(&recovery), "the key was echoed: {screen}");

    let bad_role = d.run(&[
        "staff",
        "add",
        "--unit",
        "province",
        "--email",
        "x@example.org",
        "--role",
        "boss",
    ]);
    assert!(!bad_role.status.success());
    assert!(stderr(&bad_role).contains("--role"));
}

#[tokio::test]
async fn bad_configuration_is_refused_with_the_setting_named() {
    let d = Deployment::new(false).await;
    let out = d
        .cmd(&["migrate"])
        .env("SUNLIGHT_INTAKE_ADDR", "not-an-address")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("SUNLIGHT_INTAKE_ADDR"),
        "{}",
        stderr(&out)
    );
    let out = d
        .cmd(&["migrate"])
        .env("SUNLIGHT_POLICY", "no-such-policy")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no-such-policy"));
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `GET /healthz` until it answers 200 (no sleeps as readiness waits).
async fn wait_healthy(port: u16) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await;
        if answer.is_ok_and(|r| r.status() == 200) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "port {port} never became healthy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn serve_initialises_an_empty_folder_and_answers_health(pg: bool) {
    let d = Deployment::new(pg).await;
    let (intake, triage) = (free_port(), free_port());
    let child = d
        .cmd(&["serve"])
        .env("SUNLIGHT_INTAKE_ADDR", format!("127.0.0.1:{intake}"))
        .env("SUNLIGHT_TRIAGE_ADDR", format!("127.0.0.1:{triage}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(intake).await;
    wait_healthy(triage).await;
    // SIGTERM stops it cleanly.
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "clean exit on SIGTERM");
    // Piped output: the first start writes the secrets file and prints
    // only its path, never the secrets.
    let text = stdout(&out);
    let secrets = std::fs::read_to_string(d.dir.path().join("initial-secrets.txt")).unwrap();
    assert!(
        secrets.contains("login admin@example.org "),
        "first start writes the admin login: {secrets}"
    );
    assert!(secrets.contains("recovery province "));
    assert!(text.contains("initial-secrets.txt"), "{text}");
    assert!(
        !text.contains("recovery province ") && !text.contains("login admin"),
        "{text}"
    );

    // A second start finds the deployment and does not print secrets again.
    let child = d
        .cmd(&["intake"])
        .env("SUNLIGHT_INTAKE_ADDR", format!("127.0.0.1:{intake}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(intake).await;
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!stdout(&out).contains("login "));
}

#[tokio::test]
async fn serve_on_sqlite() {
    serve_initialises_an_empty_folder_and_answers_health(false).await;
}

#[tokio::test]
async fn serve_on_postgres() {
    serve_initialises_an_empty_folder_and_answers_health(true).await;
}

/// `sunlight bench --smoke`, as CI runs it: every part of the harness that
/// reproduces docs/performance.md runs at a tiny size and prints its rows.
#[test]
fn bench_smoke_runs_every_part() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(binary())
        .arg("--data-dir")
        .arg(dir.path())
        .args(["bench", "--smoke"])
        .env_remove("SUNLIGHT_DATABASE_URL")
        .env("SUNLIGHT_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for part in [
        "code stretch Argon2id",
        "seal 4 KiB report to 4 recipients",
        "| SQLite | submit, no JavaScript | 4 |",
        "| SQLite | submit, sealed in the browser | 4 |",
        "| SQLite | lookup by code | 4 |",
        "| SQLite | lookup by token | 4 |",
        "% of the Argon2 bound",
        "bulletin page over HTTP",
        "dashboard data",
        "sweeper",
        "queue",
    ] {
        assert!(text.contains(part), "no {part:?} in\n{text}");
    }
    // Every HTTP row answered without a single non-2xx.
    for line in text.lines().filter(|l| l.starts_with("| SQLite |")) {
        let non_2xx = line.split('|').nth(7).map(str::trim);
        assert_eq!(non_2xx, Some("0"), "{line}");
    }
}
