//! Operator commands around a running deployment: `config show`,
//! `healthcheck`, `calendar check`, and what every start does with the
//! holiday calendars; `ready` tells systemd the service is up.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use sunlight_core::calendar::Calendar;
use sunlight_core::policy::Policy;

use super::*;
use crate::Side;

/// The settings key that remembers which years had an official holiday
/// file at the last start of triage (JSON list of years).
const OFFICIAL_YEARS: &str = "calendar_official_years";

/// The lease that lets one triage process recompute deadlines at a time.
const CALENDAR_LEASE: &str = "calendar";

/// How far from today `calendar check` and the start look for official
/// years: deadlines never reach further than the policy's longest spans.
const YEARS_AROUND: i32 = 30;

pub(super) fn config_show(config: &Config) -> CmdResult {
    for line in crate::config::show(config) {
        say(&line);
    }
    Ok(ExitCode::SUCCESS)
}

/// `sunlight healthcheck [intake|triage]`: GET /healthz on the configured
/// address (a wildcard address is asked on loopback), 3 s at most.
pub(super) fn healthcheck(config: &Config, side: Side) -> CmdResult {
    let mut addr = match side {
        Side::Intake => config.intake_addr,
        Side::Triage => config.triage_addr,
    };
    if addr.ip().is_unspecified() {
        let loopback: std::net::IpAddr = if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        };
        addr = SocketAddr::new(loopback, addr.port());
    }
    let status = ask_healthz(addr).map_err(|e| format!("{addr}: {e}"))?;
    if status == 200 {
        say(&format!("{addr} healthy"));
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!("{addr} answered {status} to /healthz"))
    }
}

fn ask_healthz(addr: SocketAddr) -> std::io::Result<u16> {
    let timeout = Duration::from_secs(3);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut head = Vec::new();
    stream.take(4096).read_to_end(&mut head)?;
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status line"))
}

/// Local years from the opening of every open deadline to its last day.
async fn years_reached(store: &Store, policy: &Policy) -> Result<BTreeSet<i32>, String> {
    let mut years = BTreeSet::new();
    for d in store.open_deadlines().await.map_err(|e| e.to_string())? {
        let first = policy.local_date(d.opened_at).year();
        let last = policy.last_day(d.due_at).year();
        years.extend(first..=last);
    }
    Ok(years)
}

/// `sunlight calendar check`.
pub(super) async fn calendar_check(config: &Config) -> CmdResult {
    let store = open(config).await?;
    let (policy, calendar) = config.deadline_rules().map_err(|e| e.to_string())?;
    let years = years_reached(&store, &policy).await?;
    if years.is_empty() {
        say("no open deadline");
        return Ok(ExitCode::SUCCESS);
    }
    let mut missing = 0;
    for year in years {
        let verdict = if calendar.has_year(year) {
            "official"
        } else if !calendar.provisional_years(year..=year).is_empty() {
            missing += 1;
            "provisional: no official file, statutory holidays without 调休"
        } else {
            missing += 1;
            "none: weekends only"
        };
        say(&format!("{year} {verdict}"));
    }
    if missing > 0 {
        say(&format!(
            "add {family}-YEAR.toml for each year above to calendar_dir ({dir}) once the State Council publishes it",
            family = policy.calendar_name(),
            dir = config
                .calendar_dir
                .as_ref()
                .map_or_else(|| "not set".to_owned(), |d| d.display().to_string()),
        ));
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// At every start of triage (which alone may move deadlines): a warning
/// for each year an open deadline reaches that has no official file, and
/// the open deadlines recomputed for years whose official file is new since
/// the last start.
pub(super) async fn calendars_at_start(
    config: &Config,
    store: &Store,
    policy: &Policy,
    calendar: &Calendar,
    triage: bool,
    now: DateTime<Utc>,
) -> Result<(), String> {
    // Intake's database role may not read the deadlines (and needs not).
    if !triage {
        return Ok(());
    }
    for year in years_reached(store, policy).await? {
        if !calendar.has_year(year) {
            tracing::warn!(
                year,
                calendar = policy.calendar_name(),
                provisional = !calendar.provisional_years(year..=year).is_empty(),
                "an open deadline reaches a year without an official holiday file: add it to calendar_dir (sunlight calendar check)"
            );
        }
    }
    // One triage process at a time; the others leave it to that one.
    let holder = uuid::Uuid::new_v4().to_string();
    let until = now + chrono::Duration::minutes(30);
    if !store
        .take_lease(CALENDAR_LEASE, &holder, now, until)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(());
    }
    let result = recompute_for_new_rules(config, store, policy, calendar, now).await;
    store
        .release_lease(CALENDAR_LEASE, &holder)
        .await
        .map_err(|e| e.to_string())?;
    result
}

/// The years with an official file now, against those recorded at the
/// last start: deadlines are recomputed for the new ones. With nothing
/// recorded (the first start of a release with provisional calendars),
/// against the rules of the releases before: shipped files only, weekends
/// for the other years, no roll to a working day.
async fn recompute_for_new_rules(
    config: &Config,
    store: &Store,
    policy: &Policy,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let this_year = policy.local_date(now).year();
    let official: BTreeSet<i32> = (this_year - YEARS_AROUND..=this_year + YEARS_AROUND)
        .filter(|y| calendar.has_year(*y))
        .collect();
    let recorded: Option<BTreeSet<i32>> = store
        .setting(OFFICIAL_YEARS)
        .await
        .map_err(|e| e.to_string())?
        .and_then(|raw| serde_json::from_slice(&raw).ok());
    let (old_policy, old_calendar, reason) = match recorded {
        None => (
            policy.without_end_on_working_day(),
            Calendar::builtin(policy.calendar_name())
                .map_err(|e| e.to_string())?
                .without_provisional(),
            "calendar-rules-upgrade".to_owned(),
        ),
        Some(recorded) => {
            let new: BTreeSet<i32> = official.difference(&recorded).copied().collect();
            if new.is_empty() {
                return record(store, &official).await;
            }
            let years: Vec<String> = new.iter().map(ToString::to_string).collect();
            (
                policy.clone(),
                config.calendar(policy, &new).map_err(|e| e.to_string())?,
                format!("official-calendar-{}", years.join("+")),
            )
        }
    };
    let sweeper = sunlight_casework::Sweeper::new(
        store.clone(),
        std::sync::Arc::new(policy.clone()),
        std::sync::Arc::new(calendar.clone()),
        config.mail_style(),
    );
    let old = sunlight_casework::Rules {
        policy: &old_policy,
        calendar: &old_calendar,
    };
    let moved = sweeper
        .recompute_deadlines(old, &reason, now)
        .await
        .map_err(|e| format!("cannot recompute deadlines: {e}"))?;
    tracing::info!(
        reason = %reason,
        moved = moved.len(),
        "holiday rules changed: open deadlines recomputed"
    );
    record(store, &official).await
}

async fn record(store: &Store, official: &BTreeSet<i32>) -> Result<(), String> {
    let value = serde_json::to_vec(official).map_err(|e| e.to_string())?;
    store
        .put_setting(OFFICIAL_YEARS, value)
        .await
        .map_err(|e| e.to_string())
}

/// `READY=1` to systemd (`Type=notify`) once every listener is bound.
pub(super) fn ready() {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let sent = match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name)
                .and_then(|addr| socket.send_to_addr(b"READY=1\n", &addr))
        }
        None => socket.send_to(b"READY=1\n", &path),
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "cannot tell systemd the service is ready");
    }
}
