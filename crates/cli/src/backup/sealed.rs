//! Backups encrypted with age (X25519 recipients, the `age` crate): the
//! deployment's configuration holds only the public recipient; the identity
//! that decrypts stays offline with the pepper until a restore.

use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::str::FromStr;

/// The first line of every age file.
const MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// The `[backup] age_recipient` of the configuration, parsed.
pub fn recipient(text: &str) -> Result<age::x25519::Recipient, String> {
    age::x25519::Recipient::from_str(text.trim()).map_err(|e| e.to_string())
}

/// Creates `path` for writing, owner only, never over an existing file.
fn create_private(path: &Path) -> Result<std::fs::File, String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

/// Encrypts `plain` into a new file `to` (mode 0600).
pub fn encrypt_file(
    plain: &Path,
    to: &Path,
    recipient: &age::x25519::Recipient,
) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("encrypting {}: {e}", plain.display());
    let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient as _))
        .map_err(|e| format!("cannot encrypt: {e}"))?;
    let mut src = std::fs::File::open(plain).map_err(fail)?;
    let mut out = encryptor
        .wrap_output(std::io::BufWriter::new(create_private(to)?))
        .map_err(fail)?;
    std::io::copy(&mut src, &mut out).map_err(fail)?;
    out.finish().and_then(|mut w| w.flush()).map_err(fail)?;
    Ok(())
}

/// Whether `path` is an age file (by its first line).
pub fn is_encrypted(path: &Path) -> bool {
    let mut head = [0u8; MAGIC.len()];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == MAGIC)
}

/// Decrypts `from` into a new file `to` (mode 0600) with the identities of
/// an age identity file (`age-keygen` output).
pub fn decrypt_file(from: &Path, identity_file: &Path, to: &Path) -> Result<(), String> {
    let identities = age::IdentityFile::from_file(identity_file.to_string_lossy().into_owned())
        .map_err(|e| format!("cannot read identity file {}: {e}", identity_file.display()))?
        .into_identities()
        .map_err(|e| format!("identity file {}: {e}", identity_file.display()))?;
    let fail = |e: std::io::Error| format!("decrypting {}: {e}", from.display());
    let source = BufReader::new(std::fs::File::open(from).map_err(fail)?);
    let decryptor = age::Decryptor::new(source)
        .map_err(|e| format!("{} is not a readable age file: {e}", from.display()))?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| {
            format!(
                "cannot decrypt {} with {}: {e}",
                from.display(),
                identity_file.display()
            )
        })?;
    let mut out = std::io::BufWriter::new(create_private(to)?);
    std::io::copy(&mut reader, &mut out)
        .and_then(|_| out.flush())
        .map_err(fail)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    #[test]
    fn round_trip_and_the_wrong_identity_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let identity = age::x25519::Identity::generate();
        let key_file = dir.path().join("backup.key");
        std::fs::write(&key_file, identity.to_string().expose_secret()).unwrap();
        let plain = dir.path().join("plain");
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&plain, &body).unwrap();
        let sealed = dir.path().join("sealed.age");
        let to = recipient(&identity.to_public().to_string()).unwrap();
        encrypt_file(&plain, &sealed, &to).unwrap();
        assert!(is_encrypted(&sealed) && !is_encrypted(&plain));
        let bytes = std::fs::read(&sealed).unwrap();
        let probe = &body[1000..1064];
        assert!(!bytes.windows(probe.len()).any(|w| w == probe));
        let back = dir.path().join("back");
        decrypt_file(&sealed, &key_file, &back).unwrap();
        assert_eq!(std::fs::read(&back).unwrap(), body);

        let other = dir.path().join("other.key");
        let stranger = age::x25519::Identity::generate();
        std::fs::write(&other, stranger.to_string().expose_secret()).unwrap();
        let err = decrypt_file(&sealed, &other, &dir.path().join("no")).unwrap_err();
        assert!(err.contains("cannot decrypt"), "{err}");
        assert!(
            encrypt_file(&plain, &sealed, &to).is_err(),
            "never overwrites"
        );
        assert!(recipient("age1nope").is_err());
    }
}
