use super::*;

#[test]
fn sqlite_urls_name_their_file() {
    assert_eq!(
        sqlite_path("sqlite://./data/sunlight.db"),
        Some(PathBuf::from("./data/sunlight.db"))
    );
    assert_eq!(
        sqlite_path("sqlite:///srv/s.db?mode=rwc"),
        Some(PathBuf::from("/srv/s.db"))
    );
    assert_eq!(sqlite_path("sqlite::memory:"), None);
    assert_eq!(sqlite_path("postgres://h/db"), None);
}

#[test]
fn passwords_leave_the_url() {
    let (url, pw) =
        split_password("postgres://sun:p%40ss:w@db.internal:5432/sunlight?sslmode=require");
    assert_eq!(
        url,
        "postgres://sun@db.internal:5432/sunlight?sslmode=require"
    );
    assert_eq!(pw.as_deref(), Some("p@ss:w"));
    let (url, pw) = split_password("postgres://postgres@127.0.0.1/x");
    assert_eq!(
        (url.as_str(), pw),
        ("postgres://postgres@127.0.0.1/x", None)
    );
}

#[tokio::test]
async fn a_backup_is_checked_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = Config::load(None, Some(&data), Vec::new()).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let store = Store::connect(&config.database_url).await.unwrap();
    store.migrate().await.unwrap();
    let to = dir.path().join("copy.db");
    let (checked, written) = backup(&config, &to).await.unwrap();
    assert_eq!((checked.cases, written), (0, to.clone()));
    assert!(
        backup(&config, &to)
            .await
            .unwrap_err()
            .contains("already exists")
    );
    assert!(!partial_name(&to).exists());

    // A damaged copy is refused by restore, and nothing is written.
    let mut bytes = std::fs::read(&to).unwrap();
    for b in bytes.iter_mut().skip(4096).take(4096) {
        *b = 0xA5;
    }
    let bad = dir.path().join("bad.db");
    std::fs::write(&bad, &bytes).unwrap();
    let empty = Config::load(None, Some(&dir.path().join("fresh")), Vec::new()).unwrap();
    let err = restore(&empty, &bad, None, None).await.unwrap_err();
    assert!(err.contains("failed its check"), "{err}");
    assert!(!dir.path().join("fresh/sunlight.db").exists());
}

/// An encrypted backup into a folder: named by the day, mode 0600, no
/// plain copy left behind, unreadable without the identity, restored
/// with it.
#[tokio::test]
async fn an_encrypted_backup_round_trips() {
    use age::secrecy::ExposeSecret;
    let dir = tempfile::tempdir().unwrap();
    let identity = age::x25519::Identity::generate();
    let key_file = dir.path().join("backup-identity.txt");
    std::fs::write(&key_file, identity.to_string().expose_secret()).unwrap();
    let vars = vec![(
        "SUNLIGHT_BACKUP__AGE_RECIPIENT".to_owned(),
        identity.to_public().to_string(),
    )];
    let data = dir.path().join("data");
    let config = Config::load(None, Some(&data), vars.clone()).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let store = Store::connect(&config.database_url).await.unwrap();
    store.migrate().await.unwrap();
    let folder = dir.path().join("backups");
    std::fs::create_dir(&folder).unwrap();
    let (checked, written) = backup(&config, &folder).await.unwrap();
    let day = sunlight_core::policy::Policy::cn_12380().local_date(chrono::Utc::now());
    assert_eq!(written, folder.join(format!("sunlight-{day}.backup.age")));
    assert!(!data.join("backup.plain.partial").exists());
    assert!(sealed::is_encrypted(&written));
    let names: Vec<_> = std::fs::read_dir(&folder).unwrap().collect();
    assert_eq!(names.len(), 1, "no plain copy left: {names:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&written).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let bytes = std::fs::read(&written).unwrap();
    assert!(!bytes.windows(15).any(|w| w == b"SQLite format 3"));

    let fresh = dir.path().join("fresh");
    let target = Config::load(None, Some(&fresh), vars).unwrap();
    let err = restore(&target, &written, None, None).await.unwrap_err();
    assert!(err.contains("--identity"), "{err}");
    let (restored, _) = restore(&target, &written, Some(&key_file), None)
        .await
        .unwrap();
    assert_eq!(restored, checked);
    assert!(fresh.join("sunlight.db").is_file());
    assert!(!fresh.join("restore.plain.partial").exists());
    // A second backup the same day gets its own name.
    let (_, second) = backup(&config, &folder).await.unwrap();
    assert_eq!(second, folder.join(format!("sunlight-{day}-2.backup.age")));
}
