//! `unit add`, `unit import` and `unit rotate-key`: the unit tree and its
//! keys, and reading a recovery key for the commands that need a unit key.

use std::path::Path;

use sunlight_core::crypto::UnitSecretKey;
use sunlight_core::unit_tree::{NAME_CHARS, name_ok};
use sunlight_store::keyring;
use sunlight_store::provision::import_units;

use super::*;

/// A unit as given on the command line.
pub(super) struct Given<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub name_en: Option<&'a str>,
    pub level: Level,
    pub parent: Option<&'a str>,
}

fn spec(given: &Given<'_>) -> Result<UnitSpec, String> {
    let id = UnitId::parse(given.id).map_err(|e| format!("--id: {e}"))?;
    let level = given.level;
    let parent = given
        .parent
        .map(UnitId::parse)
        .transpose()
        .map_err(|e| format!("--parent: {e}"))?;
    let mut spec = UnitSpec::new(id, given.name.trim(), level, parent);
    spec.name_en = given
        .name_en
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    Ok(spec)
}

fn recovery_line(unit: &UnitId, recovery: &RecoveryKey) -> String {
    format!("recovery {} {}", unit, recovery.reveal().as_str())
}

pub(super) async fn unit_add(config: &Config, given: &Given<'_>, with_recovery: bool) -> CmdResult {
    let store = open(config).await?;
    let spec = spec(given)?;
    if !name_ok(&spec.name) || spec.name_en.as_deref().is_some_and(|n| !name_ok(n)) {
        return Err(format!(
            "--name and --name-en must be 1 to {NAME_CHARS} characters, without control characters"
        ));
    }
    let (row, _, recovery) = create_unit(&store, spec, with_recovery, "cli", Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    match recovery {
        Some(rk) => say(&recovery_line(&row.id, &rk)),
        None => say(&format!(
            "unit {} created without a recovery key of its own; {} recovers it",
            row.id,
            row.parent.as_ref().map_or("nothing", UnitId::as_str)
        )),
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn unit_import(config: &Config, file: &Path, with_recovery: bool) -> CmdResult {
    let units = crate::units_file::read(file)?;
    let store = open(config).await?;
    let done = import_units(&store, units, with_recovery, "cli:import", Utc::now())
        .await
        .map_err(|e| format!("{}: {e}; nothing was imported", file.display()))?;
    for (unit, recovery) in &done.created {
        match recovery {
            Some(rk) => say(&recovery_line(unit, rk)),
            None => say(&format!("unit {unit}")),
        }
    }
    say(&format!(
        "imported {} unit(s); {} already existed unchanged",
        done.created.len(),
        done.unchanged
    ));
    Ok(ExitCode::SUCCESS)
}

/// Reads a recovery key from standard input and opens `unit`'s key with
/// it: the unit's own recovery key, or that of any unit above it (down
/// the escrow chain from there), with the unit's retired keys.
pub(super) async fn key_from_stdin(store: &Store, unit: &UnitId) -> Result<UnitSecretKey, String> {
    let line = crate::reveal::read_secret_line(
        "Recovery key of the unit or of a unit above it (not shown): ",
    )
    .map_err(|e| format!("cannot read the recovery key: {e}"))?;
    let recovery = RecoveryKey::parse(&line)
        .map_err(|_| "the recovery key on standard input is not well-formed".to_owned())?;
    keyring::key_from_recovery(store, unit, &recovery)
        .await
        .map_err(|e| match e {
            sunlight_store::provision::ProvisionError::NoEscrow(_) => e.to_string(),
            _ => "the recovery key opens neither this unit's key nor that of a unit above it"
                .to_owned(),
        })
}

pub(super) async fn unit_rotate_key(config: &Config, unit: &str) -> CmdResult {
    let store = open(config).await?;
    let unit = UnitId::parse(unit).map_err(|e| format!("--unit: {e}"))?;
    store
        .unit(&unit)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no such unit")?;
    let key = key_from_stdin(&store, &unit).await?;
    let done = keyring::rotate(&store, &unit, &key, "cli", Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    if let Some(rk) = &done.recovery {
        say(&recovery_line(&unit, rk));
    }
    say(&format!(
        "unit {unit} now seals to key generation {}; {} member(s) hold it, {} left out (disabled, or to be reset); every session of the unit ended",
        done.generation, done.members, done.left_out
    ));
    if done.retagged.is_none() {
        say(
            "warning: not every staff row could be tagged with the new key (see the log): those show as unauthenticated, and a member whose second factor was among them needs an admin reset",
        );
    }
    Ok(ExitCode::SUCCESS)
}
