//! The deploy kit, checked with the tools that will run it — no container
//! engine or registry is reachable here, so each part is validated on its
//! own: `docker-compose config` on compose.yaml (deploy/compose.rs),
//! `tor --verify-config` on the torrc that `sunlight torrc` generates,
//! `caddy validate` on both Caddyfiles and Caddy itself in front of a
//! stand-in upstream (no client address may reach intake; the staff side
//! only over TLS), `systemd-analyze verify` and `security` on the units and
//! the install script in a scratch root (deploy/systemd.rs), and `promtool`
//! on the alerting rules. The same topology runs without containers in
//! topology.rs.

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

mod compose;
mod systemd;

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
fn staff_caddyfile_is_valid_with_the_internal_ca_by_default() {
    let caddyfile = deploy_dir().join("Caddyfile.staff");
    let out = run(
        "caddy",
        "caddy",
        &[
            "validate",
            "--config",
            caddyfile.to_str().unwrap(),
            "--adapter",
            "caddyfile",
        ],
        &[("SUNLIGHT_STAFF_DOMAIN", "staff.example.org")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Valid configuration"));
    // The adapted configuration: TLS from Caddy's internal CA unless
    // SUNLIGHT_STAFF_TLS names the department's certificate and key, no
    // redirect listener on port 80, the host's trust store left alone.
    let adapted = |tls: &str| {
        let out = run(
            "caddy",
            "caddy",
            &[
                "adapt",
                "--config",
                caddyfile.to_str().unwrap(),
                "--adapter",
                "caddyfile",
            ],
            &[
                ("SUNLIGHT_STAFF_DOMAIN", "staff.example.org"),
                ("SUNLIGHT_STAFF_TLS", tls),
            ],
        );
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let internal = adapted("internal");
    assert!(internal.contains(r#""module":"internal""#), "{internal}");
    assert!(
        internal.contains(r#""disable_redirects":true"#),
        "{internal}"
    );
    assert!(internal.contains(r#""install_trust":false"#), "{internal}");
    assert!(
        internal.contains(r#""listen":["0.0.0.0:8443"]"#),
        "{internal}"
    );
    let operator = adapted("/etc/caddy/staff-tls/cert.pem /etc/caddy/staff-tls/key.pem");
    assert!(
        operator.contains(r#""certificate":"/etc/caddy/staff-tls/cert.pem""#),
        "{operator}"
    );
    assert!(!operator.contains(r#""module":"internal""#), "{operator}");
}

/// The staff proxy as shipped, with its internal CA, in front of a stand-in
/// triage: staff get TLS that verifies against that CA's root, triage gets
/// the Host staff typed (its login checks Origin against it), and plain
/// HTTP on the staff port gets no page.
#[tokio::test]
async fn caddy_serves_the_staff_side_over_tls_only() {
    let (upstream, _echo) = echo_upstream().await;
    let port = support::free_port();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("caddy.log");
    let child = Command::new("caddy")
        .args(["run", "--config"])
        .arg(deploy_dir().join("Caddyfile.staff"))
        .args(["--adapter", "caddyfile"])
        .env("SUNLIGHT_STAFF_DOMAIN", "staff.example.test")
        .env("SUNLIGHT_STAFF_PORT", port.to_string())
        .env("SUNLIGHT_STAFF_BIND", "127.0.0.1")
        .env("SUNLIGHT_TRIAGE_UPSTREAM", format!("127.0.0.1:{upstream}"))
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("caddy not runnable ({e}): apt-get install caddy"));
    let mut procs = support::Processes::default();
    procs.add(child, false);
    let root_cert = dir.path().join("caddy/pki/authorities/local/root.crt");
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let url = format!("https://staff.example.test:{port}/login");
    let deadline = Instant::now() + Duration::from_secs(30);
    let res = loop {
        // The root appears once Caddy made its CA; until then, and while a
        // half-written file does not parse, try again.
        let root = std::fs::read(&root_cert)
            .ok()
            .and_then(|pem| reqwest::Certificate::from_pem(&pem).ok());
        let answered = match root {
            Some(root) => {
                let client = reqwest::Client::builder()
                    .add_root_certificate(root)
                    .resolve("staff.example.test", address)
                    .build()
                    .unwrap();
                client.get(&url).send().await.ok()
            }
            None => None,
        };
        if let Some(r) = answered {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "caddy never answered over TLS: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("server").is_none(), "{:?}", res.headers());
    let seen = res.text().await.unwrap().to_ascii_lowercase();
    assert!(seen.starts_with("get /login "), "{seen}");
    assert!(
        seen.contains(&format!("\r\nhost: staff.example.test:{port}\r\n")),
        "{seen}"
    );
    // The same port in clear: Caddy refuses to speak plain HTTP there.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);
    assert!(!plain.text().await.unwrap().contains("get /login"));
}

/// The alerting rules load, and their unit tests make every alert fire;
/// every series they use is one the code exports.
#[test]
fn prometheus_alert_rules_pass_promtool_and_fire_in_their_tests() {
    let dir = deploy_dir().join("prometheus");
    let rules = dir.join("sunlight-alerts.yml");
    let tests = dir.join("sunlight-alerts.test.yml");
    let check = run(
        "promtool",
        "prometheus",
        &["check", "rules", rules.to_str().unwrap()],
        &[],
    );
    assert!(check.status.success(), "{}", text(&check));
    assert!(text(&check).contains("SUCCESS"), "{}", text(&check));
    let unit = run(
        "promtool",
        "prometheus",
        &["test", "rules", tests.to_str().unwrap()],
        &[],
    );
    assert!(unit.status.success(), "{}", text(&unit));
    assert!(text(&unit).contains("SUCCESS"), "{}", text(&unit));

    // Each alert has a test that expects it to fire.
    let rules_text = std::fs::read_to_string(&rules).unwrap();
    let tests_text = std::fs::read_to_string(&tests).unwrap();
    let alerts: Vec<&str> = rules_text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(alerts.len() >= 4, "{alerts:?}");
    for alert in &alerts {
        let firing = format!("alertname: {alert}\n        exp_alerts:\n          - exp_labels:");
        assert!(tests_text.contains(&firing), "no test makes {alert} fire");
    }

    // Every sunlight_* name in the rules is registered by crates/metrics
    // (counters get `_total`, histograms `_bucket`, `_sum`, `_count`).
    let mut registered = Vec::new();
    for entry in std::fs::read_dir(deploy_dir().join("../crates/metrics/src")).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        // `registry.register("name", …)` and `gauge_family(registry, "name", …)`.
        for marker in [".register(", "gauge_family("] {
            for after in source.split(marker).skip(1) {
                if let Some(name) = after.split('"').nth(1) {
                    registered.push(format!("sunlight_{name}"));
                }
            }
        }
    }
    let used = rules_text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("sunlight_"));
    for series in used {
        let known = registered.iter().any(|r| {
            series
                .strip_prefix(r.as_str())
                .is_some_and(|rest| ["", "_total", "_bucket", "_sum", "_count"].contains(&rest))
        });
        assert!(
            known,
            "{series} is not exported by crates/metrics (registered: {registered:?})"
        );
    }
}
