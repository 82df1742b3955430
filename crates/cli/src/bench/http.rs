//! `sunlight bench --http-seconds S`: report submissions and status lookups
//! over HTTP against an in-process intake app with the production Argon2id
//! parameters and the rate limits lifted, from 1, 16 and 64 concurrent
//! keep-alive connections on this machine — the figures of
//! `benches/intake-load.sh`, without needing wrk.

use std::time::{Duration, Instant};

use chrono::Utc;
use sunlight_core::Level;
use sunlight_core::UnitId;
use sunlight_core::crypto::{CodeStretcher, DeploymentSecrets, StretchParams};
use sunlight_store::Store;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::config::Config;

/// About 1.3 KiB of report, as the wrk script sends.
fn report_body(n: u64) -> String {
    let narrative = "在本次干部推荐过程中，有人组织宴请并发放红包，要求参会人员投票。".repeat(12);
    serde_json::json!({
        "unit": "p", "category": "canvassing_bribery",
        "accused": {"name": "某某", "position": "副局长", "role": "unit_leader"},
        "selection_stage": "recommendation", "narrative": format!("{narrative} #{n}"),
        "real_name": false, "reporter": {"name": "", "phone": ""}
    })
    .to_string()
}

/// One HTTP/1.1 request on a kept-alive connection; the status and body.
pub(super) async fn request(
    conn: &mut BufReader<TcpStream>,
    path: &str,
    body: &str,
) -> Result<(u16, Vec<u8>), String> {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let e = |err: std::io::Error| err.to_string();
    conn.get_mut().write_all(head.as_bytes()).await.map_err(e)?;
    conn.get_mut().write_all(body.as_bytes()).await.map_err(e)?;
    let mut line = String::new();
    conn.read_line(&mut line).await.map_err(e)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {line:?}"))?;
    let mut length = 0usize;
    loop {
        line.clear();
        conn.read_line(&mut line).await.map_err(e)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().map_err(|_| "bad content-length")?;
        }
    }
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).await.map_err(e)?;
    Ok((status, body))
}

#[derive(Default)]
pub(super) struct Round {
    pub latencies: Vec<Duration>,
    pub failures: u64,
    /// Tracking codes (or, on the sealed path, tokens) of what was filed.
    pub codes: Vec<String>,
    pub elapsed: Duration,
    /// CPU seconds this process spent meanwhile: the server and the load
    /// generator, which share it.
    pub cpu: f64,
}

/// CPU seconds (user and system) of this process so far, from
/// /proc/self/stat in clock ticks of 1/100 s (Linux's USER_HZ).
pub(super) fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest.split(' ').collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15; the rest starts at field 3.
    #[expect(clippy::cast_precision_loss, reason = "clock ticks")]
    let seconds = (ticks(11) + ticks(12)) as f64 / 100.0;
    seconds
}

/// `clients` connections sending for `seconds`; `make(i)` is the path and
/// body of the i-th request of a connection.
async fn round(
    port: u16,
    clients: usize,
    seconds: f64,
    make: impl Fn(usize, u64) -> (&'static str, String) + Clone + Send + 'static,
) -> Result<Round, String> {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let cpu = cpu_seconds();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(("127.0.0.1", port))
                .await
                .map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let mut conn = BufReader::new(stream);
            let (mut latencies, mut failures, mut codes) = (Vec::new(), 0u64, Vec::new());
            let mut i = 0u64;
            while Instant::now() < until {
                let (path, body) = make(c, i);
                i += 1;
                let t = Instant::now();
                let (status, answer) = request(&mut conn, path, &body).await?;
                latencies.push(t.elapsed());
                if !(200..300).contains(&status) {
                    failures += 1;
                } else if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&answer)
                    && let Some(code) = v.get("tracking_code").and_then(|c| c.as_str())
                {
                    codes.push(code.to_owned());
                }
            }
            Ok::<_, String>((latencies, failures, codes))
        }));
    }
    let mut all = Round::default();
    for task in tasks {
        let (latencies, failures, codes) = task.await.map_err(|e| e.to_string())??;
        all.latencies.extend(latencies);
        all.failures += failures;
        all.codes.extend(codes);
    }
    all.elapsed = started.elapsed();
    all.cpu = cpu_seconds() - cpu;
    all.latencies.sort();
    Ok(all)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let last = sorted.len().saturating_sub(1);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into at most millions of samples"
    )]
    let i = ((last as f64) * p).round() as usize;
    sorted.get(i.min(last)).copied().unwrap_or_default()
}

fn row(engine: &str, what: &str, clients: usize, r: &Round) -> String {
    #[expect(clippy::cast_precision_loss, reason = "request counts")]
    let count = r.latencies.len().max(1) as f64;
    let rate = count / r.elapsed.as_secs_f64().max(f64::EPSILON);
    format!(
        "| {engine} | {what} | {clients} | {rate:.0} | {:.1} ms | {:.1} ms | {} | {:.2} |",
        percentile(&r.latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&r.latencies, 0.99).as_secs_f64() * 1000.0,
        r.failures,
        r.cpu * 1000.0 / count
    )
}

/// A stretcher at the production cost, a code and its working memory.
fn stretch_kit() -> Result<
    (
        CodeStretcher,
        sunlight_core::TrackingCode,
        sunlight_core::crypto::StretchMemory,
    ),
    String,
> {
    let stretcher = CodeStretcher::new(
        DeploymentSecrets::generate().map_err(|e| e.to_string())?,
        StretchParams::CODE,
    );
    let code = sunlight_core::TrackingCode::generate().map_err(|e| e.to_string())?;
    let memory = sunlight_core::crypto::StretchMemory::new(StretchParams::CODE)
        .map_err(|e| e.to_string())?;
    Ok((stretcher, code, memory))
}

/// The median of `runs` code stretches at the production cost, in seconds,
/// and the Argon2 bound: cores ÷ that time.
fn argon2_bound(runs: usize) -> Result<(f64, f64), String> {
    let (stretcher, code, mut memory) = stretch_kit()?;
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        stretcher
            .stretch_in(&code, &mut memory)
            .map_err(|e| e.to_string())?;
        times.push(t.elapsed());
    }
    times.sort();
    let median = percentile(&times, 0.5).as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    #[expect(clippy::cast_precision_loss, reason = "a core count")]
    let bound = cores as f64 / median.max(f64::EPSILON);
    Ok((median, bound))
}

/// Stretches per second with every core stretching at once, each thread
/// with its own working memory, for `seconds`: what the machine gives when
/// the cores share their caches and memory bandwidth, which `cores ÷
/// stretch` assumes they do not.
fn argon2_all_cores(seconds: f64) -> Result<f64, String> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let until = Instant::now() + std::time::Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            std::thread::spawn(move || -> Result<u32, String> {
                let (stretcher, code, mut memory) = stretch_kit()?;
                let mut n = 0u32;
                while Instant::now() < until {
                    stretcher
                        .stretch_in(&code, &mut memory)
                        .map_err(|e| e.to_string())?;
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    let mut total = 0u32;
    for t in threads {
        total += t
            .join()
            .map_err(|_| "a stretch thread panicked".to_owned())??;
    }
    Ok(f64::from(total) / started.elapsed().as_secs_f64())
}

/// A running in-process intake on a fresh database with one unit.
struct Running {
    engine: &'static str,
    /// The app's store, for what group commit did.
    store: Store,
    port: u16,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start(config: &Config, database_url: Option<String>) -> Result<Running, String> {
    let e = |err: sunlight_store::StoreError| err.to_string();
    let dir = tempfile::tempdir().map_err(|err| err.to_string())?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}/http.db", dir.path().display()));
    let engine = if url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let store = Store::connect(&url).await.map_err(e)?;
    store.migrate().await.map_err(e)?;
    let root = UnitId::parse("p").map_err(|err| err.to_string())?;
    sunlight_store::provision::create_unit(
        &store,
        sunlight_core::unit_tree::UnitSpec::new(root, "bench province", Level::Province, None),
        true,
        "bench",
        Utc::now(),
    )
    .await
    .map_err(|err| err.to_string())?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|err| err.to_string())?;
    let port = listener.local_addr().map_err(|err| err.to_string())?.port();
    let (policy, calendar) = config.deadline_rules().map_err(|err| err.to_string())?;
    let mut settings = config.intake.clone();
    settings.rate_limits = sunlight_intake::RateLimits {
        submissions_per_minute: 100_000_000,
        submission_burst: 1_000_000,
        lookups_per_minute: 100_000_000,
        lookup_burst: 1_000_000,
        per_client_per_minute: 100_000_000,
        per_client_burst: 1_000_000,
        upload_mib_per_minute: 1_000_000,
    };
    let parts = sunlight_intake::IntakeParts {
        store: store.clone(),
        // The production cost: every submission and lookup pays it.
        stretcher: CodeStretcher::new(
            DeploymentSecrets::generate().map_err(|err| err.to_string())?,
            StretchParams::CODE,
        ),
        policy,
        calendar,
        settings,
        spool_dir: dir.path().join("spool"),
        metrics: sunlight_intake::Metrics::default(),
    };
    let app =
        sunlight_intake::Application::build(parts, listener).map_err(|err| err.to_string())?;
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ignored = rx.await;
    }));
    Ok(Running {
        engine,
        store: store.clone(),
        port,
        stop,
        server,
        _dir: dir,
    })
}

/// Lookups of `codes` (or tokens) at `path`, `body` making the request.
async fn lookups(
    port: u16,
    clients: usize,
    seconds: f64,
    codes: Vec<String>,
    path: &'static str,
    field: &'static str,
) -> Result<Round, String> {
    if codes.is_empty() {
        return Err("nothing was filed to look up".into());
    }
    let codes = std::sync::Arc::new(codes);
    round(port, clients, seconds, move |c, i| {
        let n = (c * 7919 + usize::try_from(i).unwrap_or_default()) % codes.len();
        let code = codes.get(n).cloned().unwrap_or_default();
        (path, serde_json::json!({ field: code }).to_string())
    })
    .await
}

/// The browsers' filings at `clients`, and how many transactions group
/// commit wrote them in.
async fn sealed_row(r: &Running, clients: usize, seconds: f64) -> Result<(Round, String), String> {
    let before = r.store.filing_commits();
    let sealed = super::sealed_http::filings(r.port, clients, seconds).await?;
    let after = r.store.filing_commits();
    let batched = format!(
        "{clients} clients: {} filings in {} commits",
        after.filed.saturating_sub(before.filed),
        after.commits.saturating_sub(before.commits)
    );
    Ok((sealed, batched))
}

/// The no-JavaScript filings at `clients`; with `bracket`, also what every
/// core stretching at once does just before and just after the row: a
/// neighbour on this shared machine that takes memory bandwidth for a
/// while moves both the row and its bound.
async fn no_javascript(
    port: u16,
    clients: usize,
    seconds: f64,
    bracket: bool,
) -> Result<(Round, Option<(f64, f64)>), String> {
    let before = if bracket {
        Some(argon2_all_cores(seconds.clamp(1.0, 5.0))?)
    } else {
        None
    };
    let submitted = round(port, clients, seconds, |c, i| {
        (
            "/api/v1/reports",
            report_body(u64::try_from(c).unwrap_or_default() * 1_000_000 + i),
        )
    })
    .await?;
    let bracket = match before {
        Some(before) => Some((before, argon2_all_cores(seconds.clamp(1.0, 5.0))?)),
        None => None,
    };
    Ok((submitted, bracket))
}

pub async fn run(
    config: &Config,
    database_url: Option<String>,
    client_counts: &[usize],
    seconds: f64,
) -> Result<Vec<String>, String> {
    let (stretch, bound) = argon2_bound(9)?;
    let all_cores = argon2_all_cores(seconds.clamp(1.0, 5.0))?;
    let r = start(config, database_url).await?;
    let (engine, port) = (r.engine, r.port);
    let mut lines = vec![
        format!(
            "HTTP against an in-process intake, {seconds} s per row. Code stretch (Argon2id m=19 MiB t=2 p=1, median of 9): {:.1} ms; Argon2 bound (cores / stretch): {bound:.0} submissions/s; every core stretching at once, nothing else: {all_cores:.0} stretches/s. CPU ms/req is this whole process (server and load generator) per request; a browser filing is two requests (prepare, reports), its Argon2id and sealing left to the browser.",
            stretch * 1000.0
        ),
        "| engine | what | clients | req/s | p50 | p99 | non-2xx | CPU ms/req |".to_owned(),
        "|---|---|---|---|---|---|---|---|".to_owned(),
    ];
    let (mut codes, mut tokens) = (Vec::new(), Vec::new());
    // The yardstick is 16 clients; a run without them (the smoke
    // run) reports its largest count.
    let yardstick = if client_counts.contains(&16) {
        16
    } else {
        client_counts.iter().copied().max().unwrap_or(16)
    };
    let mut at_yardstick = None;
    let mut batches = Vec::new();
    for &clients in client_counts {
        let (submitted, bracket) =
            no_javascript(port, clients, seconds, clients == yardstick).await?;
        lines.push(row(engine, "submit, no JavaScript", clients, &submitted));
        if let Some((before, after)) = bracket {
            #[expect(clippy::cast_precision_loss, reason = "request counts")]
            let rate = submitted.latencies.len() as f64 / submitted.elapsed.as_secs_f64();
            at_yardstick = Some((clients, rate, before, after));
        }
        codes.extend(submitted.codes);
        let (sealed, batched) = sealed_row(&r, clients, seconds).await?;
        lines.push(row(
            engine,
            "submit, sealed in the browser",
            clients,
            &sealed,
        ));
        batches.push(batched);
        tokens.extend(sealed.codes);
    }
    for &clients in client_counts {
        let looked = lookups(
            port,
            clients,
            seconds,
            codes.clone(),
            "/api/v1/status",
            "code",
        )
        .await?;
        lines.push(row(engine, "lookup by code", clients, &looked));
        let path = "/api/v1/sealed/status";
        let looked = lookups(port, clients, seconds, tokens.clone(), path, "token").await?;
        lines.push(row(engine, "lookup by token", clients, &looked));
    }
    lines.push(format!(
        "group commit, sealed submissions: {}",
        batches.join("; ")
    ));
    if let Some((clients, rate, before, after)) = at_yardstick {
        lines.push(format!(
            "no-JavaScript submissions at {clients} clients: {rate:.0}/s, {:.0} % of the Argon2 bound (cores / one stretch alone), {:.0} % of what every core stretching at once did right before and after the row ({before:.0}/s, {after:.0}/s)",
            rate / bound * 100.0,
            rate / ((before + after) / 2.0).max(f64::EPSILON) * 100.0
        ));
    }
    let _stopped = r.stop.send(());
    let _ignored = r.server.await;
    Ok(lines)
}
