//! The deployment pepper lives in a file (by default `pepper.key` in the data
//! folder, mode 0600), never in the database: a copy of the database alone
//! cannot be searched for codes. Replicas share it through `pepper_file`.

use std::io::Write;
use std::path::Path;

use sunlight_core::crypto::{CodeStretcher, DeploymentSecrets, StretchParams};
use sunlight_store::{Store, setting_keys};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("pepper file {0}: {1}")]
    Io(String, std::io::Error),
    #[error("pepper file {0} is damaged (expected 64 hex digits)")]
    Damaged(String),
    #[error("code salt missing or damaged in the database; was `sunlight init` run?")]
    Salt,
    #[error(transparent)]
    Store(#[from] sunlight_store::StoreError),
    #[error("a code salt already exists in the database")]
    SaltExists,
    #[error("random generator failed")]
    Random,
}

/// Creates the pepper file and the salt setting (init only).
pub async fn create(path: &Path, store: &Store) -> Result<(), SecretsError> {
    let fresh = DeploymentSecrets::generate().map_err(|_| SecretsError::Random)?;
    let shown = path.display().to_string();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    if path.exists() {
        return Err(SecretsError::Io(
            shown,
            std::io::ErrorKind::AlreadyExists.into(),
        ));
    }
    // Written beside the final name, synced, then renamed: a crash never
    // leaves a half-written pepper under the real name.
    let folder = path.parent().unwrap_or(Path::new("."));
    if let Err(e) = std::fs::create_dir_all(folder) {
        return Err(SecretsError::Io(shown, e));
    }
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(".tmp");
    let tmp = folder.join(tmp_name);
    let _ignored = std::fs::remove_file(&tmp);
    let mut file = opts
        .open(&tmp)
        .map_err(|e| SecretsError::Io(shown.clone(), e))?;
    let hex = Zeroizing::new(data_encoding::HEXLOWER.encode(fresh.pepper.as_ref()));
    file.write_all(hex.as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path))
        .and_then(|()| std::fs::File::open(folder)?.sync_all())
        .map_err(|e| SecretsError::Io(shown, e))?;
    if !store
        .put_setting_once(setting_keys::CODE_SALT, fresh.salt.to_vec())
        .await?
    {
        return Err(SecretsError::SaltExists);
    }
    Ok(())
}

/// Reads and checks a pepper file: 64 hex digits.
fn read_pepper(path: &Path) -> Result<Zeroizing<[u8; 32]>, SecretsError> {
    let shown = path.display().to_string();
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| SecretsError::Io(shown.clone(), e))?,
    );
    let bytes = Zeroizing::new(
        data_encoding::HEXLOWER
            .decode(text.trim().as_bytes())
            .map_err(|_| SecretsError::Damaged(shown.clone()))?,
    );
    let pepper: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| SecretsError::Damaged(shown))?;
    Ok(Zeroizing::new(pepper))
}

/// The pepper itself (the log key is derived from it).
pub fn pepper(path: &Path) -> Result<Zeroizing<[u8; 32]>, SecretsError> {
    read_pepper(path)
}

/// Checks that `path` holds a pepper (for `restore --pepper`).
pub fn check_file(path: &Path) -> Result<(), SecretsError> {
    read_pepper(path).map(|_| ())
}

/// Copies a checked pepper file to `target` (mode 0600, synced), refusing
/// to replace one: restoring never changes an existing deployment's pepper.
pub fn install_copy(from: &Path, target: &Path) -> Result<(), SecretsError> {
    let pepper = read_pepper(from)?;
    let shown = target.display().to_string();
    let folder = target.parent().unwrap_or(Path::new("."));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let hex = Zeroizing::new(data_encoding::HEXLOWER.encode(pepper.as_ref()));
    std::fs::create_dir_all(folder)
        .and_then(|()| opts.open(target))
        .and_then(|mut file| {
            file.write_all(hex.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::File::open(folder)?.sync_all())
        .map_err(|e| SecretsError::Io(shown, e))
}

/// Loads the code stretcher for a running service.
pub async fn stretcher(path: &Path, store: &Store) -> Result<CodeStretcher, SecretsError> {
    let pepper = read_pepper(path)?;
    let salt: [u8; 16] = store
        .setting(setting_keys::CODE_SALT)
        .await?
        .and_then(|s| s.try_into().ok())
        .ok_or(SecretsError::Salt)?;
    let stretcher = CodeStretcher::new(DeploymentSecrets { salt, pepper }, StretchParams::CODE)
        .with_suite(store.suite().await?);
    // Back in modern after shangmi: replies and keys of that time are
    // beyond the browser script, so the forms keep doing the sealing.
    Ok(if store.shangmi_used().await? {
        stretcher.without_browser_path()
    } else {
        stretcher
    })
}
