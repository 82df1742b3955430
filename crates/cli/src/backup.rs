//! `sunlight backup` and `sunlight restore`: a consistent copy of the
//! database taken while the service runs, checked before it counts, and put
//! back into an empty data folder.
//!
//! SQLite: `VACUUM INTO` (one read transaction; writers go on), progress
//! shown as the copy grows against the pages in use. PostgreSQL: `pg_dump
//! --format=custom`, progress per table, then `pg_restore --list` on the
//! result. The pepper file is never in a backup: a stolen backup alone
//! cannot be searched for codes. Keep it offline, once (it never changes).
//! With `[backup] age_recipient` set, the checked copy is encrypted to it
//! (`sealed`) and the unencrypted copy deleted.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sunlight_store::{AuditReport, Store};
use tokio::io::AsyncBufReadExt;

use crate::config::Config;

mod sealed;

/// What a checked copy holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub cases: u64,
    pub audit_entries: u64,
}

impl std::fmt::Display for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cases, {} audit entries, integrity ok, audit chain intact",
            self.cases, self.audit_entries
        )
    }
}

/// The SQLite file behind a `sqlite:` URL.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// A progress bar on standard error (drawn only when it is a terminal);
/// `counter` is indicatif's placeholder for the amount, e.g. `{bytes}`.
fn bar(len: u64, counter: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let template = format!("{{spinner}} {{elapsed_precise}} [{{bar:40}}] {counter} {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Refuses to write over anything: a backup never replaces a backup.
fn refuse_existing(path: &Path) -> Result<(), String> {
    if path.exists() {
        return Err(format!(
            "{} already exists; choose a new file name",
            path.display()
        ));
    }
    Ok(())
}

/// Writes, syncs and renames into place: a crash leaves either no file or
/// the whole file under the final name.
fn sync_and_rename(tmp: &Path, target: &Path) -> Result<(), String> {
    let folder = target.parent().filter(|p| !p.as_os_str().is_empty());
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(tmp, target))
        .and_then(|()| match folder {
            Some(dir) => std::fs::File::open(dir)?.sync_all(),
            None => Ok(()),
        })
        .map_err(|e| format!("cannot finish {}: {e}", target.display()))
}

fn partial_name(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    target.with_file_name(name)
}

/// Integrity, audit chain and counts of an open store.
async fn check(store: &Store) -> Result<Checked, String> {
    store
        .integrity_check()
        .await
        .map_err(|e| format!("integrity check failed: {e}"))?;
    let audit_entries = match store.verify_audit().await.map_err(|e| e.to_string())? {
        AuditReport::Intact { entries } => entries,
        AuditReport::Broken(e) => return Err(format!("audit chain broken: {e}")),
    };
    let (cases, _open) = store.counts().await.map_err(|e| e.to_string())?;
    Ok(Checked {
        cases,
        audit_entries: u64::try_from(audit_entries).unwrap_or(u64::MAX),
    })
}

/// Checks an SQLite backup file without changing it.
pub async fn check_sqlite_file(path: &Path) -> Result<Checked, String> {
    let store = Store::open_sqlite_read_only(path)
        .await
        .map_err(|e| format!("cannot open {} as a Sunlight backup: {e}", path.display()))?;
    check(&store).await
}

/// `sunlight backup --to FILE|DIR`: into a folder, the file is named by
/// the day (`sunlight-YYYY-MM-DD.backup`, `.backup.age` when encrypted).
/// Returns the file written.
pub async fn backup(config: &Config, to: &Path) -> Result<(Checked, PathBuf), String> {
    let recipient = config
        .backup
        .age_recipient
        .as_deref()
        .map(sealed::recipient)
        .transpose()?;
    let target = if to.is_dir() {
        dated_name(config, to, recipient.is_some())
    } else {
        to.to_path_buf()
    };
    refuse_existing(&target)?;
    let Some(recipient) = recipient else {
        return backup_plain(config, &target).await.map(|c| (c, target));
    };
    // The plain copy lives in the data folder (owner only, beside the live
    // database it copies), never in the backup folder that is carried off
    // the host; removed whatever happens, and a crash's leftover is
    // removed by the next backup.
    let plain = config.data_dir.join("backup.plain.partial");
    let _leftover = std::fs::remove_file(&plain);
    let result = async {
        let checked = backup_plain(config, &plain).await?;
        let partial = partial_name(&target);
        sealed::encrypt_file(&plain, &partial, &recipient)?;
        sync_and_rename(&partial, &target)?;
        Ok(checked)
    }
    .await;
    let _ignored = std::fs::remove_file(&plain);
    result.map(|c| (c, target))
}

/// `DIR/sunlight-DAY.backup[.age]` by the deployment's local day, or with
/// `-2`, `-3`, … when that day has one already (a manual run before the
/// timer's).
fn dated_name(config: &Config, dir: &Path, encrypted: bool) -> PathBuf {
    let day = config.deadline_rules().map_or_else(
        |_| chrono::Utc::now().date_naive(),
        |(policy, _)| policy.local_date(chrono::Utc::now()),
    );
    let suffix = if encrypted { ".age" } else { "" };
    let first = dir.join(format!("sunlight-{day}.backup{suffix}"));
    (2..1000)
        .map(|n| dir.join(format!("sunlight-{day}-{n}.backup{suffix}")))
        .fold(
            first,
            |found, next| if found.exists() { next } else { found },
        )
}

async fn backup_plain(config: &Config, to: &Path) -> Result<Checked, String> {
    refuse_existing(to)?;
    let started = Instant::now();
    let checked = match sqlite_path(&config.database_url) {
        Some(db) => backup_sqlite(config, &db, to).await?,
        None => backup_postgres(&config.database_url, to).await?,
    };
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or_default();
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        bytes,
        "backup written and checked"
    );
    Ok(checked)
}

async fn backup_sqlite(config: &Config, db: &Path, to: &Path) -> Result<Checked, String> {
    if !db.is_file() {
        return Err(format!("no database at {}", db.display()));
    }
    let store = Store::connect(&config.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let total = store
        .sqlite_bytes_in_use()
        .await
        .map_err(|e| e.to_string())?;
    let tmp = partial_name(to);
    let _stale = std::fs::remove_file(&tmp);
    // 0600 before the first byte: a backup holds every sealed report and
    // the audit log (VACUUM INTO and pg_dump both write into an empty file).
    drop(crate::reveal::private_file(&tmp)?);
    let progress = bar(total, "{bytes}/{total_bytes}");
    progress.set_message("copying");
    let watch = {
        let (progress, tmp) = (progress.clone(), tmp.clone());
        tokio::spawn(async move {
            loop {
                if let Ok(meta) = tokio::fs::metadata(&tmp).await {
                    progress.set_position(meta.len().min(progress.length().unwrap_or(0)));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let copied = store.vacuum_into(&tmp).await;
    watch.abort();
    if let Err(e) = copied {
        progress.abandon_with_message("failed");
        let _partial = std::fs::remove_file(&tmp);
        return Err(format!("backup failed: {e}"));
    }
    progress.set_position(total);
    progress.set_message("checking");
    let checked = match check_sqlite_file(&tmp).await {
        Ok(c) => c,
        Err(e) => {
            progress.abandon_with_message("check failed");
            let _partial = std::fs::remove_file(&tmp);
            return Err(format!("the copy failed its check, nothing kept: {e}"));
        }
    };
    sync_and_rename(&tmp, to)?;
    progress.finish_with_message("done");
    Ok(checked)
}

/// Splits the password out of a PostgreSQL URL, so it travels to pg_dump in
/// its environment rather than on a command line any local user can read.
fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return (url.to_owned(), None);
    };
    let (head, rest) = url.split_at(scheme_end);
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    match userinfo.split_once(':') {
        Some((user, password)) => (
            format!("{head}{user}@{host}{tail}"),
            Some(percent_decode(password)),
        ),
        None => (url.to_owned(), None),
    }
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pg_command(program: &str, url: &str) -> tokio::process::Command {
    let (bare, password) = split_password(url);
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg(format!("--dbname={bare}"));
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.kill_on_drop(true);
    cmd
}

async fn backup_postgres(url: &str, to: &Path) -> Result<Checked, String> {
    let store = Store::connect(url).await.map_err(|e| e.to_string())?;
    let tables = store.table_count().await.map_err(|e| e.to_string())?;
    let tmp = partial_name(to);
    let _stale = std::fs::remove_file(&tmp);
    // 0600 before the first byte: a backup holds every sealed report and
    // the audit log (VACUUM INTO and pg_dump both write into an empty file).
    drop(crate::reveal::private_file(&tmp)?);
    let progress = bar(tables, "{pos}/{len} tables");
    progress.set_message("pg_dump");
    // One snapshot for the whole dump (pg_dump's own transaction).
    let mut child = pg_command("pg_dump", url)
        .args(["--format=custom", "--no-owner", "--verbose", "--file"])
        .arg(&tmp)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run pg_dump (install postgresql-client): {e}"))?;
    let mut last_lines = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("dumping contents of table") {
                progress.inc(1);
            } else if !line.contains("pg_dump: ") || line.contains("error") {
                last_lines.push(line);
            }
        }
    }
    let status = child.wait().await.map_err(|e| e.to_string())?;
    if !status.success() {
        progress.abandon_with_message("failed");
        let _partial = std::fs::remove_file(&tmp);
        return Err(format!("pg_dump failed: {}", last_lines.join(" | ")));
    }
    progress.set_message("checking");
    let listing = tokio::process::Command::new("pg_restore")
        .arg("--list")
        .arg(&tmp)
        .output()
        .await
        .map_err(|e| format!("cannot run pg_restore: {e}"))?;
    let toc = String::from_utf8_lossy(&listing.stdout);
    let has = |table: &str| {
        toc.lines().any(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words
                .windows(4)
                .any(|w| w == ["TABLE", "DATA", "public", table])
        })
    };
    if !listing.status.success() || !has("cases") || !has("audit_log") {
        progress.abandon_with_message("check failed");
        let _partial = std::fs::remove_file(&tmp);
        return Err("the dump failed its check (pg_restore --list shows no cases or audit data), nothing kept".into());
    }
    sync_and_rename(&tmp, to)?;
    progress.finish_with_message("done");
    // The dump is one snapshot; the live database has moved on since, so
    // the figures shown are those of the database now, checked live.
    check(&store).await
}

/// `sunlight restore --from FILE [--identity FILE] [--pepper FILE]`: into
/// an empty data folder (SQLite) or an empty database (PostgreSQL); an age
/// file is decrypted with the identity first.
pub async fn restore(
    config: &Config,
    from: &Path,
    identity: Option<&Path>,
    pepper: Option<&Path>,
) -> Result<(Checked, bool), String> {
    if !from.is_file() {
        return Err(format!("no backup at {}", from.display()));
    }
    if !sealed::is_encrypted(from) {
        return restore_plain(config, from, pepper).await;
    }
    let identity = identity.ok_or_else(|| {
        format!(
            "{} is encrypted (age): give the identity file with --identity FILE",
            from.display()
        )
    })?;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let plain = config.data_dir.join("restore.plain.partial");
    let result = match sealed::decrypt_file(from, identity, &plain) {
        Ok(()) => restore_plain(config, &plain, pepper).await,
        Err(e) => Err(e),
    };
    let _ignored = std::fs::remove_file(&plain);
    result
}

async fn restore_plain(
    config: &Config,
    from: &Path,
    pepper: Option<&Path>,
) -> Result<(Checked, bool), String> {
    if let Some(p) = pepper {
        crate::secrets::check_file(p).map_err(|e| e.to_string())?;
        if config.pepper_file.exists() {
            return Err(format!(
                "{} already exists; restore only into an empty data folder",
                config.pepper_file.display()
            ));
        }
    }
    let checked = match sqlite_path(&config.database_url) {
        Some(db) => restore_sqlite(config, &db, from).await?,
        None => restore_postgres(&config.database_url, from).await?,
    };
    if let Some(p) = pepper {
        crate::secrets::install_copy(p, &config.pepper_file).map_err(|e| e.to_string())?;
    }
    Ok((checked, config.pepper_file.is_file()))
}

async fn restore_sqlite(config: &Config, db: &Path, from: &Path) -> Result<Checked, String> {
    for existing in [db.to_path_buf(), db.with_extension("db-wal")] {
        if existing.exists() {
            return Err(format!(
                "{} already exists; restore only into an empty data folder",
                existing.display()
            ));
        }
    }
    let before = check_sqlite_file(from)
        .await
        .map_err(|e| format!("the backup failed its check, nothing restored: {e}"))?;
    let folder = db.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let tmp = partial_name(db);
    let total = std::fs::metadata(from).map(|m| m.len()).unwrap_or_default();
    let progress = bar(total, "{bytes}/{total_bytes}");
    progress.set_message("copying");
    copy_with_progress(from, &tmp, &progress)?;
    sync_and_rename(&tmp, db)?;
    progress.set_message("checking");
    // Opened as the service will open it: WAL mode, migrations of this
    // binary applied if the backup is older.
    let store = Store::connect(&config.database_url)
        .await
        .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    let after = check(&store).await?;
    if after.cases != before.cases {
        progress.abandon_with_message("check failed");
        return Err(format!(
            "restored {} cases but the backup holds {}",
            after.cases, before.cases
        ));
    }
    progress.finish_with_message("done");
    Ok(after)
}

fn copy_with_progress(from: &Path, to: &Path, progress: &ProgressBar) -> Result<(), String> {
    use std::io::{Read, Write};
    let fail = |e: std::io::Error| format!("copying {} to {}: {e}", from.display(), to.display());
    let mut src = std::fs::File::open(from).map_err(fail)?;
    let mut dst = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .map_err(fail)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = src.read(&mut buf).map_err(fail)?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        dst.write_all(chunk).map_err(fail)?;
        progress.inc(u64::try_from(n).unwrap_or_default());
    }
    Ok(())
}

async fn restore_postgres(url: &str, from: &Path) -> Result<Checked, String> {
    let store = Store::connect(url).await.map_err(|e| e.to_string())?;
    if store.table_count().await.map_err(|e| e.to_string())? > 0 {
        return Err("the target database is not empty; restore only into an empty database".into());
    }
    let progress = bar(1, "{pos}/{len}");
    progress.set_message("pg_restore");
    let out = pg_command("pg_restore", url)
        .args(["--exit-on-error", "--single-transaction", "--no-owner"])
        .arg(from)
        .output()
        .await
        .map_err(|e| format!("cannot run pg_restore (install postgresql-client): {e}"))?;
    if !out.status.success() {
        progress.abandon_with_message("failed");
        return Err(format!(
            "pg_restore failed, nothing restored: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    progress.inc(1);
    store.migrate().await.map_err(|e| e.to_string())?;
    let checked = check(&store).await?;
    progress.finish_with_message("done");
    Ok(checked)
}

#[cfg(test)]
mod tests;
