//! Where first-start secrets go, and how a secret is read: never into a
//! pipe, a journal or container logs. `init` (and `serve` on an empty data
//! folder) show the admin's one-time password, TOTP secret and the root
//! unit's recovery key on the terminal when standard output is one;
//! otherwise (systemd, docker, a pipe) they go into
//! `DATA_DIR/initial-secrets.txt`, mode 0600, and only its path is printed.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// The file first-start secrets go to when standard output is no terminal.
pub const SECRETS_FILE: &str = "initial-secrets.txt";

/// Shows `lines` (which hold secrets) to the operator: on the terminal, or
/// in a new 0600 file in `data_dir` whose path alone is printed. Returns
/// the file's path when it wrote one.
pub fn reveal(data_dir: &Path, lines: &[Zeroizing<String>]) -> Result<Option<PathBuf>, String> {
    if std::io::stdout().is_terminal() {
        let mut out = std::io::stdout().lock();
        for line in lines {
            writeln!(out, "{}", line.as_str()).map_err(|e| e.to_string())?;
        }
        writeln!(
            out,
            "Write the password, TOTP secret and recovery key down now: they are not shown again."
        )
        .map_err(|e| e.to_string())?;
        return Ok(None);
    }
    std::fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    let path = data_dir.join(SECRETS_FILE);
    let mut file = private_file(&path)?;
    let mut text = Zeroizing::new(String::new());
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(
        "# Write these down, then delete this file: the recovery key opens every report of the unit.\n",
    );
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = std::io::stdout().lock();
    let _ignored = writeln!(
        out,
        "First-start secrets (admin login, recovery key) written to {} (mode 0600): read them there, write them down, delete the file.",
        path.display()
    );
    Ok(Some(path))
}

/// Refuses up front (before anything is created) when the secrets would go
/// to a file that exists already: it may hold an earlier deployment's
/// secrets, and the new ones must not be lost.
pub fn check_free(data_dir: &Path) -> Result<(), String> {
    let path = data_dir.join(SECRETS_FILE);
    if !std::io::stdout().is_terminal() && path.exists() {
        return Err(format!(
            "{} exists (secrets of an earlier start?): read it, write them down, delete it, then start again",
            path.display()
        ));
    }
    Ok(())
}

/// Creates `path` for secrets: readable by its owner only from the first
/// byte on, and never over an existing file.
pub fn private_file(path: &Path) -> Result<std::fs::File, String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads one line that is a secret (a recovery key) from standard input;
/// when that is a terminal, with echo off, so it never shows on screen or
/// in a terminal recording.
pub fn read_secret_line(prompt: &str) -> Result<Zeroizing<String>, String> {
    let stdin = std::io::stdin();
    let mut line = Zeroizing::new(String::new());
    if !stdin.is_terminal() {
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        return Ok(line);
    }
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    // Echo goes off before the prompt shows: a key pasted the moment the
    // prompt appears is not echoed either.
    let saved = tcgetattr(&stdin).map_err(|e| format!("terminal: {e}"))?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet).map_err(|e| format!("terminal: {e}"))?;
    let mut err = std::io::stderr().lock();
    let _ignored = write!(err, "{prompt}").and_then(|()| err.flush());
    let read = stdin.lock().read_line(&mut line);
    let restored = tcsetattr(&stdin, SetArg::TCSANOW, &saved);
    let _ignored = writeln!(err);
    read.map_err(|e| e.to_string())?;
    restored.map_err(|e| format!("terminal: {e}"))?;
    Ok(line)
}
