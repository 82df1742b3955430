//! The deploy kit, checked with the tools that will run it — no container
//! engine runs here, so each part is validated on its own:
//! `docker-compose config` on compose.yaml, `tor --verify-config` on the
//! torrc that `sunlight torrc` generates, `caddy validate` on the Caddyfile
//! and Caddy itself proxying to a stand-in upstream (no client address may
//! reach intake), `systemd-analyze verify` and `security` on the units.
//! The same topology runs without containers in topology.rs.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests fail loudly"
)]

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// Runs a validator; a missing tool is a failure with the package to
/// install (`.ci/run` installs them all).
fn run(program: &str, package: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("{program} not runnable ({e}): apt-get install {package}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn compose_file_is_valid_and_keeps_triage_and_the_database_private() {
    let compose = deploy_dir().join("compose.yaml");
    let env_file = deploy_dir().join("env.example");
    let args = [
        "--env-file",
        env_file.to_str().unwrap(),
        "-f",
        compose.to_str().unwrap(),
    ];
    let check = run(
        "docker-compose",
        "docker-compose",
        &[&args[..], &["config", "-q"]].concat(),
        &[],
    );
    assert!(check.status.success(), "{}", text(&check));
    let rendered = run(
        "docker-compose",
        "docker-compose",
        &[&args[..], &["config"]].concat(),
        &[],
    );
    assert!(rendered.status.success(), "{}", text(&rendered));
    let config = String::from_utf8(rendered.stdout).unwrap();
    for service in [
        "postgres:",
        "intake-1:",
        "intake-2:",
        "triage:",
        "tor:",
        "proxy:",
    ] {
        assert!(
            config.contains(&format!("  {service}\n")),
            "no {service}\n{config}"
        );
    }
    // Every Sunlight container (init, two intakes, triage) and Tor and the
    // proxy: read-only root; Sunlight's unprivileged.
    assert_eq!(
        config.matches("image: sunlight:latest").count(),
        4,
        "{config}"
    );
    assert_eq!(config.matches("read_only: true").count(), 6, "{config}");
    assert_eq!(config.matches("user: 10001:10001").count(), 4, "{config}");
    // The database network has no route out; triage publishes its port
    // only on the staff address (loopback in the example).
    assert!(config.contains("internal: true"), "{config}");
    assert!(config.contains("- 127.0.0.1:8081:8081/tcp"), "{config}");
    assert!(
        !config.contains("5432:5432"),
        "PostgreSQL must not be published"
    );

    // The checker is not a rubber stamp: a misspelt key is refused.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("compose.yaml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&compose)
            .unwrap()
            .replace("  read_only: true", "  readonly: true"),
    )
    .unwrap();
    let refused = run(
        "docker-compose",
        "docker-compose",
        &[
            "--env-file",
            env_file.to_str().unwrap(),
            "-f",
            bad.to_str().unwrap(),
            "config",
            "-q",
        ],
        &[],
    );
    assert!(!refused.status.success());
}

/// `sunlight --config FILE torrc`.
fn torrc(config: &Path) -> Output {
    Command::new(support::binary())
        .arg("--config")
        .arg(config)
        .arg("torrc")
        .output()
        .unwrap()
}

/// `tor --verify-config` on a torrc's text.
fn tor_verify(dir: &Path, name: &str, torrc: &[u8]) -> Output {
    let file = dir.join(name);
    std::fs::write(&file, torrc).unwrap();
    run(
        "tor",
        "tor",
        &["--verify-config", "-f", file.to_str().unwrap()],
        &[],
    )
}

#[test]
fn generated_torrc_passes_tor_verify_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sunlight.toml");
    let hs = dir.path().join("hs");
    std::fs::write(
        &config,
        format!(
            "[tor]\nhidden_service_dir = \"{}\"\ntargets = [\"172.30.80.11:8080\", \"172.30.80.12:8080\"]\n",
            hs.display()
        ),
    )
    .unwrap();
    let out = torrc(&config);
    assert!(out.status.success(), "{}", text(&out));
    let generated = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        generated
            .matches("HiddenServicePort 80 172.30.80.1")
            .count(),
        2,
        "{generated}"
    );
    assert!(generated.contains("SocksPort 0"), "{generated}");
    // Onion clients share one address: Tor's proof-of-work guards them.
    assert!(
        generated.contains("HiddenServicePoWDefensesEnabled 1"),
        "{generated}"
    );
    let verify = tor_verify(dir.path(), "torrc", generated.as_bytes());
    assert!(verify.status.success(), "{}\n{generated}", text(&verify));
    assert!(text(&verify).contains("Configuration was valid"));

    // The torrc of the compose deployment, from its shipped configuration.
    let out = torrc(&deploy_dir().join("sunlight.compose.toml"));
    assert!(out.status.success(), "{}", text(&out));
    let verify = tor_verify(dir.path(), "torrc.compose", &out.stdout);
    assert!(verify.status.success(), "{}", text(&verify));

    // Tor forwards only to IP addresses: a host name is refused at once,
    // with the reason, instead of a torrc that tor would reject later.
    std::fs::write(&config, "[tor]\ntargets = [\"intake-1:8080\"]\n").unwrap();
    let out = torrc(&config);
    assert!(!out.status.success());
    assert!(text(&out).contains("intake-1:8080"), "{}", text(&out));
}

#[test]
fn caddyfile_is_valid() {
    let out = run(
        "caddy",
        "caddy",
        &[
            "validate",
            "--config",
            deploy_dir().join("Caddyfile").to_str().unwrap(),
            "--adapter",
            "caddyfile",
        ],
        &[("SUNLIGHT_DOMAIN", "report.example.org")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Valid configuration"));
}

/// A stand-in intake: answers every request with the request head it got.
async fn echo_upstream() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    head.len()
                );
                let _sent = stream.write_all(answer.as_bytes()).await;
                let _sent = stream.write_all(&head).await;
            });
        }
    });
    (port, task)
}

#[tokio::test]
async fn caddy_hands_intake_only_the_address_it_saw_and_sets_hsts() {
    let (upstream, echo) = echo_upstream().await;
    let port = support::free_port();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("caddy.log");
    // The shipped Caddyfile, with a plain-HTTP site address so no
    // certificate is needed, in front of the stand-in.
    let child = Command::new("caddy")
        .args(["run", "--config"])
        .arg(deploy_dir().join("Caddyfile"))
        .args(["--adapter", "caddyfile"])
        .env("SUNLIGHT_DOMAIN", format!("http://127.0.0.1:{port}"))
        .env("SUNLIGHT_INTAKE_UPSTREAMS", format!("127.0.0.1:{upstream}"))
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("caddy not runnable ({e}): apt-get install caddy"));
    let mut procs = support::Processes::default();
    procs.add(child, false);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let res = loop {
        let sent = client
            .get(format!("http://127.0.0.1:{port}/report"))
            .header("X-Forwarded-For", "203.0.113.7")
            .header("X-Real-IP", "203.0.113.7")
            .header("Forwarded", "for=203.0.113.7")
            .send()
            .await;
        if let Ok(r) = sent {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "caddy never answered: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()
            .get("strict-transport-security")
            .is_some_and(|v| v.to_str().unwrap().contains("max-age=63072000")),
        "{:?}",
        res.headers()
    );
    let seen = res.text().await.unwrap().to_ascii_lowercase();
    assert!(seen.starts_with("get /report "), "{seen}");
    for header in ["x-real-ip", "forwarded:"] {
        assert!(
            !seen.contains(header),
            "intake was handed {header}:\n{seen}"
        );
    }
    // The address Caddy saw, for intake's per-client fairness (kept in
    // memory under a keyed hash only), and never what the client claimed.
    let forwarded: Vec<&str> = seen
        .lines()
        .filter(|l| l.starts_with("x-forwarded-for:"))
        .collect();
    assert_eq!(forwarded, ["x-forwarded-for: 127.0.0.1"], "{seen}");
    assert!(!seen.contains("203.0.113.7"), "{seen}");

    // Intake down: Caddy answers an error and would log the client's address
    // and headers in its error log, which the Caddyfile drops.
    echo.abort();
    let _ended = echo.await;
    let res = client
        .get(format!("http://127.0.0.1:{port}/status"))
        .header("X-Forwarded-For", "203.0.113.7")
        .send()
        .await
        .unwrap();
    // 502 (dial failed) or 503 (health check already saw it down).
    assert!(
        matches!(res.status().as_u16(), 502 | 503),
        "{}",
        res.status()
    );
    drop(procs);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.is_empty(), "caddy wrote no log at all");
    for leak in ["203.0.113.7", "remote_ip", "/status", "User-Agent"] {
        assert!(!logged.contains(leak), "caddy logged {leak}:\n{logged}");
    }
}

#[test]
fn systemd_units_verify_and_are_sandboxed() {
    let dir = tempfile::tempdir().unwrap();
    let binary = support::binary();
    for unit in [
        "sunlight.service",
        "sunlight-intake.service",
        "sunlight-triage.service",
    ] {
        // The units name the installed path; point them at the built binary
        // so `verify` can check the command exists and is executable.
        let shipped = std::fs::read_to_string(deploy_dir().join("systemd").join(unit)).unwrap();
        for needed in [
            "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "User=sunlight",
        ] {
            assert!(shipped.contains(needed), "{unit} lacks {needed}");
        }
        let path = dir.path().join(unit);
        std::fs::write(
            &path,
            shipped.replace("/usr/local/bin/sunlight", binary.to_str().unwrap()),
        )
        .unwrap();
        let verify = run(
            "systemd-analyze",
            "systemd",
            &["verify", path.to_str().unwrap()],
            &[],
        );
        assert!(verify.status.success(), "{unit}: {}", text(&verify));
        // 0 is fully locked down, 10 is unprotected; fail above 2.0.
        let security = run(
            "systemd-analyze",
            "systemd",
            &[
                "security",
                "--offline=yes",
                "--threshold=20",
                path.to_str().unwrap(),
            ],
            &[],
        );
        let report = text(&security);
        assert!(security.status.success(), "{unit}: {report}");
        let level = report
            .lines()
            .find(|l| l.contains("Overall exposure level"))
            .unwrap_or_else(|| panic!("{unit}: no exposure level in {report}"));
        println!("{unit}: {}", level.trim());
    }
}
