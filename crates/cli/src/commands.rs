//! The subcommands. Each reads the clock once and passes `now` down.

mod log;
mod ops;
mod serve;
mod setup;
mod units;
use ops::{calendar_check, config_show, healthcheck};
use serve::serve;
use setup::{demo, init, migrate, staff_add, staff_disable, staff_reauthenticate};
use units::{unit_add, unit_import, unit_rotate_key};

use std::io::Write;
use std::net::TcpListener;
use std::process::ExitCode;

use chrono::Utc;
use sunlight_core::crypto::{RecoveryKey, StretchParams, Suite, UnknownSuite};
use sunlight_core::unit_tree::UnitSpec;
use sunlight_core::{Level, Role, UnitId};
use sunlight_store::provision::{NewStaffSecrets, create_staff, create_unit};
use sunlight_store::{AuditReport, Store, setting_keys};

use crate::config::Config;
use crate::{
    AuditCommand, CalendarCommand, Command, ConfigCommand, LogCommand, ReceiptCommand,
    RetentionCommand, StaffCommand, StatsCommand, SuiteCommand, UnitCommand,
};

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
            suite,
        } => match suite.map(|s| s.parse::<Suite>()).transpose() {
            Ok(suite) => {
                let config = Config {
                    suite: suite.unwrap_or(config.suite),
                    ..config
                };
                init(&config, &unit_id, &unit_name, &admin_email).await
            }
            Err(e) => Err(format!("--suite: {e}")),
        },
        Command::Suite { action } => setup::suite(&config, action).await,
        Command::Migrate => migrate(&config).await,
        Command::Unit {
            action:
                UnitCommand::Add {
                    id,
                    name,
                    name_en,
                    level,
                    parent,
                    no_recovery_key,
                },
        } => {
            let given = units::Given {
                id: &id,
                name: &name,
                name_en: name_en.as_deref(),
                level,
                parent: parent.as_deref(),
            };
            unit_add(&config, &given, !no_recovery_key).await
        }
        Command::Unit {
            action:
                UnitCommand::Import {
                    file,
                    no_recovery_key,
                },
        } => unit_import(&config, &file, !no_recovery_key).await,
        Command::Unit {
            action: UnitCommand::RotateKey { unit },
        } => unit_rotate_key(&config, &unit).await,
        Command::Staff {
            action: StaffCommand::Add { unit, email, role },
        } => staff_add(&config, &unit, &email, role).await,
        Command::Staff {
            action: StaffCommand::Disable { email },
        } => staff_disable(&config, &email).await,
        Command::Staff {
            action: StaffCommand::Reauthenticate { unit, force },
        } => staff_reauthenticate(&config, &unit, force).await,
        Command::Demo => demo(&config).await,
        Command::Audit {
            action: AuditCommand::Verify { expect },
        } => audit_verify(&config, expect.as_deref()).await,
        Command::Stats {
            action: StatsCommand::Refresh,
        } => stats_refresh(&config).await,
        Command::Retention {
            action: RetentionCommand::Run { dry_run },
        } => retention_run(&config, dry_run).await,
        Command::Log {
            action: LogCommand::Publish,
        } => log::publish(&config).await,
        Command::Log {
            action: LogCommand::Verify,
        } => log::verify(&config).await,
        Command::Receipt {
            action: ReceiptCommand::Verify { file, url },
        } => log::verify_receipt(&file, url.as_deref()).await,
        Command::Bench {
            runs,
            queue_cases,
            bench_database_url,
            smtp_url,
            mails,
            stats_cases,
            http_seconds,
            http_clients,
            search_cases,
            smoke,
        } => {
            // Smoke: every part once at a tiny size (CI), whatever else
            // the flags say.
            let (runs, queue_cases, stats_cases, http_seconds, http_clients) = if smoke {
                (3, 2_000, 300, 1.0, vec![1, 4])
            } else {
                (runs, queue_cases, stats_cases, http_seconds, http_clients)
            };
            let search_cases: Vec<u64> = if smoke {
                vec![200]
            } else {
                search_cases.into_iter().filter(|n| *n > 0).collect()
            };
            // The proof sizes a reporter's receipt needs at a big deployment's
            // scale (#24); tiny in the smoke run.
            let log_leaves = if smoke { 1_000 } else { 1_000_000 };
            let mut result = crate::bench::run(runs, log_leaves);
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
            if !search_cases.is_empty()
                && let Ok(lines) = &mut result
            {
                match crate::bench::search(&search_cases, bench_database_url.clone()).await {
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
            let cfg = sunlight_casework::simulate::SimConfig {
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
            Ok((checked, written)) => {
                say(&format!("backup {}: {checked}", written.display()));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Err(e),
        },
        Command::Restore {
            from,
            pepper,
            identity,
        } => {
            let restored =
                crate::backup::restore(&config, &from, identity.as_deref(), pepper.as_deref())
                    .await;
            match restored {
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
        Command::Config {
            action: ConfigCommand::Show,
        } => config_show(&config),
        Command::Calendar {
            action: CalendarCommand::Check,
        } => calendar_check(&config).await,
        Command::Healthcheck { side } => healthcheck(&config, side),
        Command::Serve => serve(&config, true, true).await,
        Command::Intake => serve(&config, true, false).await,
        Command::Triage => serve(&config, false, true).await,
    };
    result.unwrap_or_else(|e| fail(&e))
}

/// Opens the store, creating the data folder for SQLite, and migrates —
/// or, with `migrate_on_start = false` (a database role that may not change
/// the schema), only checks that nothing is pending.
async fn open(config: &Config) -> Result<Store, String> {
    let store = connect(config).await?;
    if config.migrate_on_start {
        store
            .migrate()
            .await
            .map_err(|e| format!("migration failed: {e}"))?;
    } else {
        let pending = store
            .pending_migrations()
            .await
            .map_err(|e| format!("cannot read the schema version: {e}"))?;
        if pending > 0 {
            return Err(format!(
                "{pending} database migration(s) pending and migrate_on_start is false: run `sunlight migrate` with the owner's database role first"
            ));
        }
    }
    Ok(store)
}

/// Opens the store without touching the schema (`sunlight migrate`).
async fn connect(config: &Config) -> Result<Store, String> {
    create_data_dir(&config.data_dir)?;
    Store::connect(&config.database_url)
        .await
        .map_err(|e| format!("cannot open database: {e}"))
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

async fn retention_run(config: &Config, dry_run: bool) -> CmdResult {
    sunlight_casework::i18n::vocabulary()?;
    let store = open(config).await?;
    let (policy, calendar) = config.deadline_rules().map_err(|e| e.to_string())?;
    let months = policy.retention_months();
    let sweeper = sunlight_casework::Sweeper::new(
        store,
        std::sync::Arc::new(policy),
        std::sync::Arc::new(calendar),
        config.mail_style(),
    );
    let report = sweeper
        .retention(chrono::Utc::now(), dry_run)
        .await
        .map_err(|e| format!("retention run failed: {e}"))?;
    for (id, number) in &report.due {
        let name = number
            .as_ref()
            .map_or_else(|| id.to_string(), ToString::to_string);
        say(&format!(
            "{} {name}",
            if dry_run { "due" } else { "purged" }
        ));
    }
    say(&format!(
        "{} closed case(s) past {months} months and not held; {} purged{}",
        report.due.len(),
        report.purged,
        if dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    ));
    Ok(ExitCode::SUCCESS)
}

async fn stats_refresh(config: &Config) -> CmdResult {
    // Hotspot mails are worded from this catalog.
    sunlight_casework::i18n::vocabulary()?;
    let store = open(config).await?;
    let (policy, _) = config.deadline_rules().map_err(|e| e.to_string())?;
    let stats = sunlight_casework::Stats::new(
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
