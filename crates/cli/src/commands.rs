//! The subcommands. Each reads the clock once and passes `now` down.

use std::io::Write;
use std::net::TcpListener;
use std::process::ExitCode;

use chrono::Utc;
use sunlight_core::crypto::{RecoveryKey, StretchParams};
use sunlight_core::{Level, Role, UnitId};
use sunlight_store::provision::{NewStaffSecrets, create_staff, create_unit};
use sunlight_store::{AuditReport, Store, setting_keys};

use crate::config::Config;
use crate::{AuditCommand, Command, StaffCommand, StatsCommand, UnitCommand};

/// Writes one line of command output to standard output.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ignored = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Reports a failure on standard error and returns a failing exit code.
pub fn fail(message: &str) -> ExitCode {
    let _ignored = writeln!(std::io::stderr().lock(), "error: {message}");
    ExitCode::FAILURE
}

type CmdResult = Result<ExitCode, String>;

pub async fn run(command: Command, config: Config) -> ExitCode {
    let result = match command {
        Command::Init {
            unit_id,
            unit_name,
            admin_email,
        } => init(&config, &unit_id, &unit_name, &admin_email).await,
        Command::Migrate => migrate(&config).await,
        Command::Unit {
            action:
                UnitCommand::Add {
                    id,
                    name,
                    level,
                    parent,
                },
        } => unit_add(&config, &id, &name, &level, parent.as_deref()).await,
        Command::Staff {
            action: StaffCommand::Add { unit, email, role },
        } => staff_add(&config, &unit, &email, &role).await,
        Command::Staff {
            action: StaffCommand::Disable { email },
        } => staff_disable(&config, &email).await,
        Command::Demo => demo(&config).await,
        Command::Audit {
            action: AuditCommand::Verify { expect },
        } => audit_verify(&config, expect.as_deref()).await,
        Command::Stats {
            action: StatsCommand::Refresh,
        } => stats_refresh(&config).await,
        Command::Bench {
            runs,
            queue_cases,
            bench_database_url,
            smtp_url,
            mails,
            stats_cases,
            http_seconds,
            http_clients,
            smoke,
        } => {
            // Smoke: every part once at a tiny size (CI), whatever else
            // the flags say.
            let (runs, queue_cases, stats_cases, http_seconds, http_clients) = if smoke {
                (3, 2_000, 300, 1.0, vec![1, 4])
            } else {
                (runs, queue_cases, stats_cases, http_seconds, http_clients)
            };
            let mut result = crate::bench::run(runs);
            if http_seconds > 0.0
                && let Ok(lines) = &mut result
            {
                match crate::bench::http(
                    &config,
                    bench_database_url.clone(),
                    &http_clients,
                    http_seconds,
                )
                .await
                {
                    Ok(more) => lines.extend(more),
                    Err(e) => return fail(&e),
                }
            }
            if let (Some(url), Ok(lines)) = (&smtp_url, &mut result) {
                match crate::bench::mail(url, mails).await {
                    Ok(more) => lines.extend(more),
                    Err(e) => return fail(&e),
                }
            }
            if stats_cases > 0
                && let Ok(lines) = &mut result
            {
                match crate::bench::stats(stats_cases, bench_database_url.clone(), &config).await {
                    Ok(more) => lines.extend(more),
                    Err(e) => return fail(&e),
                }
            }
            if queue_cases > 0
                && let Ok(lines) = &mut result
            {
                match crate::bench::queue(queue_cases, bench_database_url, runs.max(100)).await {
                    Ok(more) => lines.extend(more),
                    Err(e) => return fail(&e),
                }
            }
            result.map(|lines| {
                lines.iter().for_each(|l| say(l));
                ExitCode::SUCCESS
            })
        }
        Command::Simulate {
            seed,
            reports,
            start,
            days,
            sweep_minutes,
            share,
            idle_units,
            idle_weeks,
            all_idle,
            chart,
            sim_database_url,
        } => {
            let cfg = sunlight_triage::simulate::SimConfig {
                seed,
                reports,
                start,
                days,
                sweep_minutes,
                share,
                idle_units,
                idle_weeks,
                all_idle,
            };
            match crate::simulate::run(&config, &cfg, sim_database_url, &chart).await {
                Ok(lines) => {
                    lines.iter().for_each(|l| say(l));
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Err(e),
            }
        }
        Command::Backup { to } => match crate::backup::backup(&config, &to).await {
            Ok(checked) => {
                say(&format!("backup {}: {checked}", to.display()));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err(e),
        },
        Command::Restore { from, pepper } => {
            match crate::backup::restore(&config, &from, pepper.as_deref()).await {
                Ok((checked, has_pepper)) => {
                    say(&format!("restored {}: {checked}", from.display()));
                    if !has_pepper {
                        say(&format!(
                            "no pepper at {}: copy the deployment's pepper.key there before `sunlight serve` (without it no tracking code can be looked up)",
                            config.pepper_file.display()
                        ));
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Err(e),
            }
        }
        Command::Torrc => {
            let mut out = std::io::stdout().lock();
            let _ignored = out
                .write_all(config.torrc().as_bytes())
                .and_then(|()| out.flush());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => serve(&config, true, true).await,
        Command::Intake => serve(&config, true, false).await,
        Command::Triage => serve(&config, false, true).await,
    };
    result.unwrap_or_else(|e| fail(&e))
}

/// Opens the store, creating the data folder for SQLite, and migrates.
async fn open(config: &Config) -> Result<Store, String> {
    create_data_dir(&config.data_dir)?;
    let store = Store::connect(&config.database_url)
        .await
        .map_err(|e| format!("cannot open database: {e}"))?;
    store
        .migrate()
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    Ok(store)
}

/// The data folder holds the pepper and (on SQLite) the database: owner only.
fn create_data_dir(dir: &std::path::Path) -> Result<(), String> {
    let shown = || dir.display().to_string();
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder
            .create(dir)
            .map_err(|e| format!("cannot create data folder {}: {e}", shown()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot restrict data folder {}: {e}", shown()))?;
    }
    #[cfg(not(unix))]
    builder
        .create(dir)
        .map_err(|e| format!("cannot create data folder {}: {e}", shown()))?;
    Ok(())
}

async fn is_initialized(store: &Store) -> Result<bool, String> {
    Ok(store
        .setting(setting_keys::INITIALIZED_AT)
        .await
        .map_err(|e| e.to_string())?
        .is_some())
}

fn login_line(s: &NewStaffSecrets) -> String {
    format!(
        "login {} {} {} {} {}",
        s.staff.email,
        s.password.as_str(),
        s.staff.role,
        s.staff.unit,
        s.totp.as_ref().map_or("-", |t| t.as_str())
    )
}

/// Creates the deployment's secrets; refuses when it already exists. The
/// deployment counts as initialised only once `finish_deployment` ran, after
/// the first unit and admin exist.
async fn start_deployment(config: &Config, store: &Store) -> Result<(), String> {
    if is_initialized(store).await? {
        return Err("this deployment is already initialised; refusing to run again".into());
    }
    crate::secrets::create(&config.pepper_file, store).await.map_err(|e| {
        format!("{e}. An earlier `init` may have stopped halfway: start again with an empty data folder and database")
    })
}

async fn finish_deployment(store: &Store) -> Result<(), String> {
    let first = store
        .put_setting_once(
            setting_keys::INITIALIZED_AT,
            Utc::now().to_rfc3339().into_bytes(),
        )
        .await
        .map_err(|e| e.to_string())?;
    if first {
        Ok(())
    } else {
        Err("another process initialised this deployment at the same time".into())
    }
}

async fn init(config: &Config, unit_id: &str, unit_name: &str, admin_email: &str) -> CmdResult {
    let store = open(config).await?;
    let unit = UnitId::parse(unit_id).map_err(|e| format!("--unit-id: {e}"))?;
    if is_initialized(&store).await? {
        return Err("this deployment is already initialised; refusing to run again".into());
    }
    crate::reveal::check_free(&config.data_dir)?;
    start_deployment(config, &store).await?;
    let now = Utc::now();
    let (row, recovery) = create_unit(
        &store,
        unit.clone(),
        unit_name.to_owned(),
        Level::Province,
        None,
        "cli:init",
        now,
    )
    .await
    .map_err(|e| e.to_string())?;
    let secret = row
        .recovery_wrapped_key
        .unwrap_with_recovery(&recovery, unit.as_str())
        .map_err(|e| e.to_string())?;
    let admin = create_staff(
        &store,
        &unit,
        &secret,
        admin_email,
        Role::Admin,
        StretchParams::PASSWORD,
        "cli:init",
        now,
    )
    .await
    .map_err(|e| e.to_string())?;
    finish_deployment(&store).await?;
    crate::reveal::reveal(
        &config.data_dir,
        &[
            zeroize::Zeroizing::new(login_line(&admin)),
            zeroize::Zeroizing::new(format!("recovery {} {}", unit, recovery.reveal().as_str())),
        ],
    )?;
    Ok(ExitCode::SUCCESS)
}

async fn stats_refresh(config: &Config) -> CmdResult {
    let store = open(config).await?;
    let (policy, _) = config.deadline_rules().map_err(|e| e.to_string())?;
    let stats = sunlight_triage::Stats::new(
        store,
        std::sync::Arc::new(policy),
        config.stats.clone(),
        config.mail_style(),
    );
    let pass = stats
        .refresh(chrono::Utc::now())
        .await
        .map_err(|e| format!("statistics refresh failed: {e}"))?;
    say(&format!(
        "refreshed {} month(s): {} events in {} cells; bulletin published; hotspots raised {}, cleared {}; {} mail(s) queued",
        pass.refreshed.months,
        pass.refreshed.facts,
        pass.refreshed.cells,
        pass.raised.len(),
        pass.cleared.len(),
        pass.mails
    ));
    Ok(ExitCode::SUCCESS)
}

async fn migrate(config: &Config) -> CmdResult {
    create_data_dir(&config.data_dir)?;
    let store = Store::connect(&config.database_url)
        .await
        .map_err(|e| format!("cannot open database: {e}"))?;
    let ran = store
        .migrate()
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    say(&format!("applied {ran} migration(s)"));
    Ok(ExitCode::SUCCESS)
}

async fn unit_add(
    config: &Config,
    id: &str,
    name: &str,
    level: &str,
    parent: Option<&str>,
) -> CmdResult {
    let store = open(config).await?;
    let id = UnitId::parse(id).map_err(|e| format!("--id: {e}"))?;
    let level: Level = level
        .parse()
        .map_err(|_| "--level must be province, city or county".to_owned())?;
    let parent = parent
        .map(UnitId::parse)
        .transpose()
        .map_err(|e| format!("--parent: {e}"))?;
    let (row, recovery) = create_unit(
        &store,
        id,
        name.to_owned(),
        level,
        parent,
        "cli",
        Utc::now(),
    )
    .await
    .map_err(|e| e.to_string())?;
    say(&format!(
        "recovery {} {}",
        row.id,
        recovery.reveal().as_str()
    ));
    Ok(ExitCode::SUCCESS)
}

async fn staff_add(config: &Config, unit: &str, email: &str, role: &str) -> CmdResult {
    let store = open(config).await?;
    let unit = UnitId::parse(unit).map_err(|e| format!("--unit: {e}"))?;
    let role: Role = role
        .parse()
        .map_err(|_| "--role must be intake, verifier, supervisor or admin".to_owned())?;
    if !email.contains('@') || email.len() > 254 {
        return Err("--email is not an email address".into());
    }
    let row = store
        .unit(&unit)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no such unit")?;
    let line = crate::reveal::read_secret_line("Recovery key of the unit (not shown): ")
        .map_err(|e| format!("cannot read the recovery key: {e}"))?;
    let recovery = RecoveryKey::parse(&line)
        .map_err(|_| "the recovery key on standard input is not well-formed".to_owned())?;
    let secret = row
        .recovery_wrapped_key
        .unwrap_with_recovery(&recovery, unit.as_str())
        .map_err(|_| "the recovery key does not open this unit's key".to_owned())?;
    let created = create_staff(
        &store,
        &unit,
        &secret,
        email,
        role,
        StretchParams::PASSWORD,
        "cli",
        Utc::now(),
    )
    .await
    .map_err(|e| e.to_string())?;
    say(&login_line(&created));
    Ok(ExitCode::SUCCESS)
}

/// The demo tree: a province, one city under it and one county under that.
const DEMO_UNITS: [(&str, &str, Level, Option<&str>); 3] = [
    ("gd", "广东省委组织部", Level::Province, None),
    ("gd-gz", "广州市委组织部", Level::City, Some("gd")),
    (
        "gd-gz-tianhe",
        "天河区委组织部",
        Level::County,
        Some("gd-gz"),
    ),
];

async fn demo(config: &Config) -> CmdResult {
    let store = open(config).await?;
    if is_initialized(&store).await? {
        return Err("demo needs an empty data folder; this one is already initialised".into());
    }
    start_deployment(config, &store).await?;
    let now = Utc::now();
    for (id, name, level, parent) in DEMO_UNITS {
        let unit = UnitId::parse(id).map_err(|e| e.to_string())?;
        let parent = parent
            .map(UnitId::parse)
            .transpose()
            .map_err(|e| e.to_string())?;
        let (row, recovery) = create_unit(
            &store,
            unit.clone(),
            name.to_owned(),
            level,
            parent,
            "cli:demo",
            now,
        )
        .await
        .map_err(|e| e.to_string())?;
        let secret = row
            .recovery_wrapped_key
            .unwrap_with_recovery(&recovery, id)
            .map_err(|e| e.to_string())?;
        for role in Role::ALL {
            let email = format!("{role}@{id}.demo");
            let created = create_staff(
                &store,
                &unit,
                &secret,
                &email,
                *role,
                StretchParams::PASSWORD,
                "cli:demo",
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
            // Demo logins stay as printed (real ones must be changed).
            store
                .keep_first_password(created.staff.id)
                .await
                .map_err(|e| e.to_string())?;
            say(&login_line(&created));
        }
        say(&format!("recovery {} {}", unit, recovery.reveal().as_str()));
    }
    finish_deployment(&store).await?;
    Ok(ExitCode::SUCCESS)
}

async fn staff_disable(config: &Config, email: &str) -> CmdResult {
    let store = open(config).await?;
    let row = store
        .disable_staff(email, "cli", Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    say(&format!(
        "disabled {} ({} of {}); their open sessions end at their next request, in every triage process",
        row.email, row.role, row.unit
    ));
    Ok(ExitCode::SUCCESS)
}

async fn audit_verify(config: &Config, expect: Option<&str>) -> CmdResult {
    // Parsed first: a mistyped anchor must not read as a broken log.
    let expect = expect
        .map(|raw| {
            let (seq, hash) = raw
                .split_once(':')
                .ok_or("--expect: write SEQ:HASH (as `head SEQ HASH` printed them)")?;
            let seq = seq
                .trim()
                .parse::<i64>()
                .map_err(|_| "--expect: SEQ is a number")?;
            let hash = data_encoding::HEXLOWER_PERMISSIVE
                .decode(hash.trim().as_bytes())
                .map_err(|_| "--expect: HASH is hexadecimal")?;
            Ok::<_, String>((seq, hash))
        })
        .transpose()?;
    let store = open(config).await?;
    match store.verify_audit().await.map_err(|e| e.to_string())? {
        AuditReport::Intact { entries } => {
            say(&format!("audit log intact: {entries} entries"));
            if let Some((seq, hash)) = expect {
                match store.audit_hash(seq).await.map_err(|e| e.to_string())? {
                    Some(stored) if stored == hash => {
                        say(&format!("entry {seq} is there with the expected hash"));
                    }
                    Some(_) => {
                        return Ok(fail(&format!(
                            "audit log broken: entry {seq} has another hash than expected (rewritten)"
                        )));
                    }
                    None => {
                        return Ok(fail(&format!(
                            "audit log broken: entry {seq} is gone (the log was cut back)"
                        )));
                    }
                }
            }
            if let Some((seq, hash)) = store.audit_head().await.map_err(|e| e.to_string())? {
                say(&format!(
                    "head {seq} {}",
                    data_encoding::HEXLOWER.encode(&hash)
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditReport::Broken(e) => Ok(fail(&format!("audit log broken: {e}"))),
    }
}

async fn serve(config: &Config, intake: bool, triage: bool) -> CmdResult {
    let store = open(config).await?;
    if !is_initialized(&store).await? {
        if intake && triage {
            say("Empty data folder: initialising (as `sunlight init`).");
            init(config, "province", "省委组织部", "admin@example.org").await?;
        } else {
            return Err("the deployment is not initialised; run `sunlight init` first".into());
        }
    }
    let (policy, calendar) = config.deadline_rules().map_err(|e| e.to_string())?;
    let year = chrono::Datelike::year(&policy.local_date(Utc::now()));
    for missing in calendar.missing_years(year..=year.saturating_add(1)) {
        tracing::warn!(
            year = missing,
            calendar = policy.calendar_name(),
            "no holiday calendar for this year: deadlines count plain weekdays"
        );
    }
    tracing::info!(policy = policy.name(), "deadline policy loaded");
    // Fails early when the pepper is missing, before any port opens.
    let stretcher = crate::secrets::stretcher(&config.pepper_file, &store)
        .await
        .map_err(|e| e.to_string())?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    let bind = |addr: std::net::SocketAddr, name: &str| -> Result<TcpListener, String> {
        let l = TcpListener::bind(addr)
            .map_err(|e| format!("cannot listen on {addr} for {name}: {e}"))?;
        tracing::info!(%addr, side = name, "listening");
        Ok(l)
    };
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ignored = rx.wait_for(|stop| *stop).await;
    };
    let metrics = sunlight_metrics::Metrics::new();
    if let Some(addr) = config.metrics_addr {
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "metrics listener is not on loopback: keep it off public networks");
        }
        // Database gauges where triage runs: once per deployment shape,
        // not once per intake replica.
        let server = metrics
            .clone()
            .serve(triage.then(|| store.clone()), bind(addr, "metrics")?)
            .map_err(|e| format!("cannot start the metrics listener: {e}"))?;
        let handle = server.handle();
        let stop = stopped(stop_rx.clone());
        tasks.push(tokio::spawn(async move {
            tokio::select! {
                res = server => res,
                () = stop => {
                    handle.stop(true).await;
                    Ok(())
                }
            }
        }));
    }
    let onion = config.onion_location();
    if intake {
        let parts = sunlight_intake::IntakeParts {
            store: store.clone(),
            stretcher: stretcher.clone(),
            policy: policy.clone(),
            calendar: calendar.clone(),
            settings: sunlight_intake::IntakeSettings {
                onion_location: onion.clone(),
                ..config.intake.clone()
            },
            spool_dir: config.data_dir.join("spool"),
            metrics: metrics.clone(),
        };
        let app = sunlight_intake::Application::build(parts, bind(config.intake_addr, "intake")?)
            .map_err(|e| format!("cannot start intake: {e}"))?;
        tasks.push(tokio::spawn(
            app.run_until_stopped(stopped(stop_rx.clone())),
        ));
    }
    if triage {
        let parts = sunlight_triage::TriageParts {
            store: store.clone(),
            stretcher: stretcher.clone(),
            policy: policy.clone(),
            calendar: calendar.clone(),
            settings: config.triage.clone(),
            mail: config.mail_style(),
            stats: config.stats.clone(),
            onion: onion.clone(),
            metrics: metrics.clone(),
        };
        let app = sunlight_triage::Application::build(parts, bind(config.triage_addr, "triage")?)
            .map_err(|e| format!("cannot start triage: {e}"))?;
        tasks.push(tokio::spawn(
            app.run_until_stopped(stopped(stop_rx.clone())),
        ));
        // Mail goes out where the sweeper runs; never from intake.
        let transport = sunlight_notify::Transport::new(
            config.smtp_url.as_deref(),
            &config.data_dir.join("mail"),
        )
        .map_err(|e| e.to_string())?;
        let delivery =
            sunlight_notify::Delivery::new(store.clone(), transport, config.mail.clone())
                .map_err(|e| e.to_string())?;
        let stop = stopped(stop_rx.clone());
        tasks.push(tokio::spawn(async move {
            delivery.run(stop).await;
            Ok(())
        }));
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ignored = stop_tx.send(true);
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("server error: {e}")),
            Err(e) => return Err(format!("server task failed: {e}")),
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ignored = tokio::signal::ctrl_c().await;
}
