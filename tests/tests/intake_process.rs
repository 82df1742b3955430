//! The promises of the intake side, checked on the real `sunlight` process:
//! after submissions, neither the database (file or PostgreSQL dump), the
//! data folder nor the logs hold a byte of what the reporter wrote, the
//! code, or the client's address, user agent or referrer — while staff can
//! still open all of it with the unit key. And a 20 MiB attachment streams
//! through with the process staying under 100 MiB of resident memory.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    reason = "tests fail loudly"
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sunlight_core::crypto::{AttachmentOpener, RecoveryKey, SealContext, open};
use sunlight_core::report::{ReportContent, decode_padded, item};
use sunlight_core::{TrackingCode, UnitId};
use sunlight_store::Store;
use sunlight_testkit::fresh_pg_url;

fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("sunlight");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build -p sunlight` first",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `sunlight serve` process over a fresh data folder (and database).
struct Server {
    child: Child,
    data: tempfile::TempDir,
    logs: tempfile::TempDir,
    db_url: String,
    pg: bool,
    port: u16,
    recovery: RecoveryKey,
}

impl Server {
    async fn start(pg: bool) -> Self {
        let data = tempfile::tempdir().unwrap();
        let logs = tempfile::tempdir().unwrap();
        let db_url = if pg {
            fresh_pg_url().await.unwrap()
        } else {
            format!("sqlite://{}/sunlight.db", data.path().display())
        };
        let (port, triage) = (free_port(), free_port());
        let cmd = |args: &[&str], out: Stdio, err: Stdio| {
            let mut c = Command::new(binary());
            c.arg("--data-dir")
                .arg(data.path())
                .args(args)
                .env("SUNLIGHT_DATABASE_URL", &db_url)
                .env("SUNLIGHT_INTAKE_ADDR", format!("127.0.0.1:{port}"))
                .env("SUNLIGHT_TRIAGE_ADDR", format!("127.0.0.1:{triage}"))
                // Everything the code logs, at its most talkative.
                .env("SUNLIGHT_LOG", "trace")
                .stdout(out)
                .stderr(err);
            c
        };
        let init = cmd(&["init"], Stdio::piped(), Stdio::piped())
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "{}",
            String::from_utf8_lossy(&init.stderr)
        );
        let text = std::fs::read_to_string(data.path().join("initial-secrets.txt")).unwrap();
        let recovery = text
            .lines()
            .find_map(|l| l.strip_prefix("recovery province "))
            .map(|k| RecoveryKey::parse(k.trim()).unwrap())
            .unwrap();
        let out = std::fs::File::create(logs.path().join("stdout.log")).unwrap();
        let err = std::fs::File::create(logs.path().join("stderr.log")).unwrap();
        let child = cmd(&["serve"], out.into(), err.into()).spawn().unwrap();
        let server = Self {
            child,
            data,
            logs,
            db_url,
            pg,
            port,
            recovery,
        };
        server.wait_healthy().await;
        server
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = reqwest::get(self.url("/healthz")).await
                && r.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "serve did not become healthy");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Peak resident memory of the process so far (VmHWM), in KiB.
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// SIGTERM and wait: logs are flushed, the database closed.
    fn stop(&mut self) {
        let _sent = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every byte the deployment keeps: the data folder (database, WAL,
    /// spool, pepper), a PostgreSQL dump, and the logs.
    fn everything_stored(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for dir in [self.data.path(), self.logs.path()] {
            collect_files(dir, &mut out);
        }
        if self.pg {
            let dump = Command::new("pg_dump")
                .args(["--data-only", "--inserts", &self.db_url])
                .output()
                .unwrap();
            assert!(
                dump.status.success(),
                "{}",
                String::from_utf8_lossy(&dump.stderr)
            );
            out.push(("pg_dump".into(), dump.stdout));
        }
        out
    }

    fn unit_secret(
        &self,
        store_unit: &sunlight_store::UnitRow,
    ) -> sunlight_core::crypto::UnitSecretKey {
        store_unit
            .recovery_wrapped_key
            .unwrap_with_recovery(&self.recovery, store_unit.id.as_str())
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _gone = self.child.kill();
        let _reaped = self.child.wait();
    }
}

fn collect_files(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            // The service is running: a transient file (a SQLite journal, a
            // spool file being committed) may go between the listing and
            // the read. What is gone is not kept.
            match std::fs::read(&path) {
                Ok(bytes) => out.push((path.display().to_string(), bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("{}: {e}", path.display()),
            }
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn nothing_readable_is_kept(pg: bool) {
    let mut server = Server::start(pg).await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let narrative = format!("CANARY-NARRATIVE-{tag} 他在考察前收了钱");
    let accused = format!("CANARY-ACCUSED-{tag}");
    let file_text = format!("CANARY-FILE-{tag}");
    let file_name = format!("canary-name-{tag}.txt");
    let message = format!("CANARY-MESSAGE-{tag}");
    let phone = "13800138000";
    let ip = "203.0.113.77";
    let agent = format!("CanaryAgent/{tag}");
    let referrer = format!("http://canary-referrer.example/{tag}");

    let client = reqwest::Client::builder()
        .user_agent(agent.clone())
        .build()
        .unwrap();
    let with_client_metadata = |rb: reqwest::RequestBuilder| {
        rb.header("X-Forwarded-For", ip)
            .header("X-Real-IP", ip)
            .header("Forwarded", format!("for={ip}"))
            .header("Referer", &referrer)
    };

    let form = reqwest::multipart::Form::new()
        .text("unit", "province")
        .text("category", "office_trading")
        .text("accused_name", accused.clone())
        .text("accused_position", "局长")
        .text("accused_role", "ordinary")
        .text("selection_stage", "publicity")
        .text("narrative", narrative.clone())
        .text("real_name", "on")
        .text("reporter_name", format!("CANARY-REPORTER-{tag}"))
        .text("reporter_phone", phone)
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(file_text.clone().into_bytes())
                .file_name(file_name.clone()),
        );
    let res = with_client_metadata(client.post(server.url("/report")).multipart(form))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let start = page.find("id=\"tracking-code\"").unwrap();
    let shown = &page[start..];
    let shown = &shown[shown.find('>').unwrap() + 1..shown.find("</").unwrap()];
    let code = TrackingCode::parse(shown).unwrap();

    let res = with_client_metadata(client.post(server.url("/api/v1/status/messages")))
        .json(&serde_json::json!({"code": code.to_string(), "body": message}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = with_client_metadata(client.post(server.url("/status")))
        .form(&[("code", code.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text().await.unwrap().contains(&message),
        "the reporter reads it back"
    );
    // A request the HTTP parser refuses (a NUL in a header) is answered
    // 400 and writes no ERROR line: no client fills the log at will.
    let addr = format!("127.0.0.1:{}", server.port);
    let answers = tokio::task::spawn_blocking(move || {
        sunlight_testkit::raw_http_exchange(
            &addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n",
        )
    })
    .await
    .unwrap();
    assert!(
        !answers.is_empty() && answers.iter().all(|(s, _)| *s == 400),
        "{answers:?}"
    );
    server.stop();

    // It is all there, for the unit key.
    let store = Store::connect(&server.db_url).await.unwrap();
    let unit = store
        .unit(&UnitId::parse("province").unwrap())
        .await
        .unwrap()
        .unwrap();
    let secret = server.unit_secret(&unit);
    let ids = store.recent_case_ids(10).await.unwrap();
    assert_eq!(ids.len(), 1);
    let case = store
        .case_in(&store.jurisdiction(&unit.id).await.unwrap(), ids[0])
        .await
        .unwrap()
        .unwrap();
    let plain = open(
        &case.sealed_report,
        &SealContext {
            case_id: case.id,
            item: item::REPORT,
        },
        &secret,
    )
    .unwrap();
    let content: ReportContent = decode_padded(&plain).unwrap();
    assert_eq!(content.narrative, narrative);
    assert_eq!(content.accused_name, accused);
    let atts = store.attachments_of(case.id).await.unwrap();
    let a = &atts[0];
    let stream_item = item::attachment(a.id);
    let ctx = SealContext {
        case_id: case.id,
        item: &stream_item,
    };
    let last = store.attachment_chunk(a.id, 0).await.unwrap();
    let back = AttachmentOpener::start(&a.stream_header, &ctx, &secret)
        .unwrap()
        .finish(&last)
        .unwrap();
    assert_eq!(back, file_text.as_bytes());
    drop(store);

    // And nowhere readable.
    let digits = code.to_string().replace('-', "");
    let needles: Vec<(&str, Vec<u8>)> = vec![
        ("narrative", narrative.clone().into_bytes()),
        (
            "narrative tag",
            format!("CANARY-NARRATIVE-{tag}").into_bytes(),
        ),
        ("accused name", accused.clone().into_bytes()),
        ("file content", file_text.clone().into_bytes()),
        ("file name", file_name.clone().into_bytes()),
        ("message", message.clone().into_bytes()),
        (
            "reporter name",
            format!("CANARY-REPORTER-{tag}").into_bytes(),
        ),
        ("reporter phone", phone.as_bytes().to_vec()),
        ("code", digits.clone().into_bytes()),
        ("code as shown", code.to_string().into_bytes()),
        (
            "code with spaces",
            code.to_string().replace('-', " ").into_bytes(),
        ),
        ("client address", ip.as_bytes().to_vec()),
        ("user agent", agent.clone().into_bytes()),
        ("referrer", referrer.clone().into_bytes()),
    ];
    let stored = server.everything_stored();
    assert!(stored.iter().any(|(p, _)| p.ends_with("stderr.log")));
    let log = stored
        .iter()
        .find(|(p, _)| p.ends_with("stderr.log"))
        .unwrap();
    assert!(
        contains(&log.1, b"sunlight::http"),
        "the request log ran at trace level"
    );
    // No timestamped request line for what a reporter posts (the report,
    // status look-ups, messages): its time would be their arrival.
    let text = String::from_utf8_lossy(&log.1);
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(errors.is_empty(), "ERROR lines: {errors:?}");
    for line in text.lines().filter(|l| l.contains("sunlight::http")) {
        assert!(
            !line.contains("POST"),
            "a reporter's request was logged: {line}"
        );
    }
    for (what, needle) in &needles {
        for (path, bytes) in &stored {
            assert!(!contains(bytes, needle), "{what} found in {path}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_readable_is_kept_on_sqlite() {
    nothing_readable_is_kept(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_readable_is_kept_on_postgres() {
    nothing_readable_is_kept(true).await;
}

/// Deterministic bytes of the test file, regenerated on both sides.
fn pattern(offset: u64, len: usize) -> Vec<u8> {
    (0..len as u64)
        .map(|i| ((offset + i).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mib_attachment_round_trips_in_flat_memory() {
    const SIZE: u64 = 20 * 1024 * 1024;
    const PIECE: usize = 256 * 1024;
    let mut server = Server::start(false).await;
    // On a loaded machine the process may still be doing its start-up
    // work (a first sweep, the statistics refresh, triage's own filing
    // buffers) when it first answers: measure once its peak has settled.
    let mut before = server.peak_rss_kib();
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let now = server.peak_rss_kib();
        if now == before {
            break;
        }
        before = now;
    }

    let body = futures_stream(SIZE, PIECE);
    let form = reqwest::multipart::Form::new()
        .text("unit", "province")
        .text("category", "other")
        .text("accused_name", "某某")
        .text("accused_role", "ordinary")
        .text("selection_stage", "none")
        .text("narrative", "二十兆的证据")
        .part(
            "attachment",
            reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(body), SIZE)
                .file_name("big.bin"),
        );
    let res = reqwest::Client::new()
        .post(server.url("/report"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let peak = server.peak_rss_kib();
    server.stop();
    eprintln!("serve peak RSS: {before} KiB before, {peak} KiB after a 20 MiB upload");
    // What the upload adds, not the whole: the process starts with its
    // Argon2id working memory (19 MiB a permit, touched once at start) and
    // its code pages, which move with the build, while a file held whole
    // would add its 20 MiB at least.
    let added = peak.saturating_sub(before);
    assert!(added < 8 * 1024, "a 20 MiB upload added {added} KiB of RSS");

    // The staff side reads it back, chunk by chunk, byte for byte.
    let store = Store::connect(&server.db_url).await.unwrap();
    let unit = store
        .unit(&UnitId::parse("province").unwrap())
        .await
        .unwrap()
        .unwrap();
    let secret = server.unit_secret(&unit);
    let case_id = store.recent_case_ids(1).await.unwrap()[0];
    let a = store.attachments_of(case_id).await.unwrap().remove(0);
    let stream_item = item::attachment(a.id);
    let ctx = SealContext {
        case_id,
        item: &stream_item,
    };
    let mut opener = Some(AttachmentOpener::start(&a.stream_header, &ctx, &secret).unwrap());
    let mut offset = 0u64;
    for seq in 0..a.chunk_count {
        let sealed = store.attachment_chunk(a.id, seq).await.unwrap();
        let plain = if seq + 1 == a.chunk_count {
            opener.take().unwrap().finish(&sealed).unwrap()
        } else {
            opener.as_mut().unwrap().open_chunk(&sealed).unwrap()
        };
        assert_eq!(plain, pattern(offset, plain.len()), "chunk {seq}");
        offset += plain.len() as u64;
    }
    assert_eq!(offset, SIZE);
}

fn futures_stream(
    size: u64,
    piece: usize,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::unfold(0u64, move |offset| async move {
        if offset >= size {
            return None;
        }
        let len = piece.min((size - offset) as usize);
        Some((Ok(pattern(offset, len)), offset + len as u64))
    })
}
