//! The systemd kit: the units pass `systemd-analyze verify` and its
//! sandboxing score, and the documented install steps
//! (deploy/systemd/install.sh) run in a scratch root give every folder and
//! file its owner and mode, so that `init` succeeds as the `sunlight` user.

use super::{deploy_dir, run, text};
use crate::support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

/// The long-running units: READY=1 once listening (`Type=notify`).
const SERVICES: [&str; 2] = ["sunlight-intake.service", "sunlight-triage.service"];

#[test]
fn systemd_units_verify_and_are_sandboxed() {
    let dir = tempfile::tempdir().unwrap();
    let binary = support::binary();
    let kit = deploy_dir().join("systemd");
    // Production runs intake and triage apart; `serve` is for trying
    // Sunlight, so no unit runs it.
    assert!(!kit.join("sunlight.service").exists());
    let units = [
        SERVICES[0],
        SERVICES[1],
        "sunlight-backup.service",
        "sunlight-backup.timer",
    ];
    for unit in units {
        // The units name the installed path; point them at the built binary
        // so `verify` can check the command exists and is executable.
        let shipped = std::fs::read_to_string(kit.join(unit)).unwrap();
        assert!(!shipped.contains(" serve"), "{unit} runs serve");
        if unit.ends_with(".service") {
            for needed in [
                "ProtectSystem=strict",
                "NoNewPrivileges=yes",
                "PrivateTmp=yes",
                "User=sunlight",
                "UMask=0077",
            ] {
                assert!(shipped.contains(needed), "{unit} lacks {needed}");
            }
        }
        std::fs::write(
            dir.path().join(unit),
            shipped.replace("/usr/local/bin/sunlight", binary.to_str().unwrap()),
        )
        .unwrap();
    }
    let read = |unit: &str| std::fs::read_to_string(kit.join(unit)).unwrap();
    for unit in SERVICES {
        let shipped = read(unit);
        for needed in [
            "Type=notify",
            "NotifyAccess=main",
            "SUNLIGHT_MIGRATE_ON_START=false",
        ] {
            assert!(shipped.contains(needed), "{unit} lacks {needed}");
        }
    }
    let triage = read("sunlight-triage.service");
    assert!(
        triage.contains(
            "\nExecStartPre=/usr/local/bin/sunlight --config /etc/sunlight/sunlight.toml migrate\n"
        ),
        "triage does not migrate before it starts"
    );
    assert!(read("sunlight-intake.service").contains("EnvironmentFile=-/etc/sunlight/intake.env"));
    assert!(triage.contains("EnvironmentFile=-/etc/sunlight/triage.env"));
    let backup = read("sunlight-backup.service");
    for needed in [
        "Type=oneshot",
        "backup --to /var/backups/sunlight/",
        "ReadWritePaths=/var/backups/sunlight",
        "EnvironmentFile=-/etc/sunlight/triage.env",
    ] {
        assert!(
            backup.contains(needed),
            "sunlight-backup.service lacks {needed}"
        );
    }
    let timer = read("sunlight-backup.timer");
    for needed in [
        "OnCalendar=",
        "Persistent=true",
        "RandomizedDelaySec=",
        "WantedBy=timers.target",
    ] {
        assert!(
            timer.contains(needed),
            "sunlight-backup.timer lacks {needed}"
        );
    }

    // Each file on its own, the timer with the service it starts; a
    // setting systemd cannot parse is only a warning to it, so its output
    // must not name the file either.
    for unit in units {
        let mut args = vec![
            "verify".to_owned(),
            dir.path().join(unit).display().to_string(),
        ];
        if unit.ends_with(".timer") {
            args.push(
                dir.path()
                    .join("sunlight-backup.service")
                    .display()
                    .to_string(),
            );
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let verify = run("systemd-analyze", "systemd", &args, &[]);
        assert!(verify.status.success(), "{unit}: {}", text(&verify));
        assert!(!text(&verify).contains(unit), "{unit}: {}", text(&verify));
    }
    // 0 is fully locked down, 10 is unprotected; fail above 2.0. The backup
    // (a oneshot) has the same sandbox as the services plus write access
    // to /var/backups/sunlight, and is held to the same bound.
    for unit in units.iter().filter(|u| u.ends_with(".service")) {
        let path = dir.path().join(unit);
        let security = run(
            "systemd-analyze",
            "systemd",
            &[
                "security",
                "--offline=yes",
                "--threshold=20",
                path.to_str().unwrap(),
            ],
            &[],
        );
        let report = text(&security);
        assert!(security.status.success(), "{unit}: {report}");
        let level = report
            .lines()
            .find(|l| l.contains("Overall exposure level"))
            .unwrap_or_else(|| panic!("{unit}: no exposure level in {report}"));
        println!("{unit}: {}", level.trim());
    }
}

/// `uid:gid` and mode of `path`.
fn owner_and_mode(path: &Path) -> (u32, u32, u32) {
    let meta =
        std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (meta.uid(), meta.gid(), meta.mode() & 0o7777)
}

/// `ROOT=root deploy/systemd/install.sh` with the built binary.
fn install(root: &Path) {
    let out = Command::new(deploy_dir().join("systemd/install.sh"))
        .env("ROOT", root)
        .env("SUNLIGHT_BIN", support::binary())
        .output()
        .unwrap();
    assert!(out.status.success(), "install.sh: {}", text(&out));
}

/// The documented install steps in a scratch root: the user, the folders
/// and files with their owners and modes (read back against the passwd
/// entry the script made there), twice (the script mends an older
/// install's modes and keeps the operator's edits), then `init` as that
/// user through sunlight-admin, which leaves the pepper and the database
/// the user's own, mode 0600. Needs root (CI runs as root).
#[test]
fn install_script_sets_owners_and_modes_and_init_runs_as_the_user() {
    if std::fs::metadata("/proc/self").unwrap().uid() != 0 {
        println!("skipped: install.sh needs root (useradd, chown); CI runs as root");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    // The sunlight user must be able to walk into the scratch root.
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    install(root);

    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    let entry: Vec<&str> = passwd
        .lines()
        .find(|l| l.starts_with("sunlight:"))
        .unwrap_or_else(|| panic!("no sunlight user in {passwd}"))
        .split(':')
        .collect();
    let (uid, gid): (u32, u32) = (entry[2].parse().unwrap(), entry[3].parse().unwrap());
    assert!(uid != 0 && gid != 0, "{entry:?}");
    assert_eq!(entry[5], "/var/lib/sunlight", "{entry:?}");
    assert_eq!(entry[6], "/usr/sbin/nologin", "{entry:?}");
    let expected = |uid: u32, gid: u32| {
        vec![
            ("etc/sunlight", (0, gid, 0o750)),
            ("etc/sunlight/calendars", (0, gid, 0o750)),
            ("etc/sunlight/sunlight.toml", (0, gid, 0o640)),
            ("etc/sunlight/intake.env", (0, 0, 0o600)),
            ("etc/sunlight/triage.env", (0, 0, 0o600)),
            ("var/lib/sunlight", (uid, gid, 0o700)),
            ("var/backups/sunlight", (uid, gid, 0o700)),
            ("usr/local/bin/sunlight", (0, 0, 0o755)),
            ("usr/local/sbin/sunlight-admin", (0, 0, 0o755)),
            ("etc/systemd/system/sunlight-intake.service", (0, 0, 0o644)),
            ("etc/systemd/system/sunlight-triage.service", (0, 0, 0o644)),
            ("etc/systemd/system/sunlight-backup.service", (0, 0, 0o644)),
            ("etc/systemd/system/sunlight-backup.timer", (0, 0, 0o644)),
        ]
    };
    for (path, want) in expected(uid, gid) {
        assert_eq!(owner_and_mode(&root.join(path)), want, "{path}");
    }

    // Again, over an install made by the old instructions (the folder
    // root:root, so the user could not read its configuration) and with an
    // operator's edit in the configuration.
    let config = root.join("etc/sunlight/sunlight.toml");
    std::os::unix::fs::chown(root.join("etc/sunlight"), Some(0), Some(0)).unwrap();
    std::fs::set_permissions(
        root.join("etc/sunlight"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let edited = format!(
        "{}\n# edited by the operator\n",
        std::fs::read_to_string(&config).unwrap()
    );
    std::fs::write(&config, &edited).unwrap();
    install(root);
    for (path, want) in expected(uid, gid) {
        assert_eq!(
            owner_and_mode(&root.join(path)),
            want,
            "{path} after a second run"
        );
    }
    assert_eq!(std::fs::read_to_string(&config).unwrap(), edited);
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert_eq!(
        passwd
            .lines()
            .filter(|l| l.starts_with("sunlight:"))
            .count(),
        1
    );

    // `init` as the user (it exists only in the scratch root, hence the
    // numeric ids), with the installed configuration; standard output is
    // a pipe, so the first secrets go to a file.
    let data = root.join("var/lib/sunlight");
    let admin = |args: &[&str]| {
        Command::new(root.join("usr/local/sbin/sunlight-admin"))
            .args(args)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("SUNLIGHT_ETC", root.join("etc/sunlight"))
            .env("SUNLIGHT_USER", uid.to_string())
            .env("SUNLIGHT_GROUP", gid.to_string())
            .env("SUNLIGHT_BIN", root.join("usr/local/bin/sunlight"))
            .env("SUNLIGHT_DATA_DIR", &data)
            .env("SUNLIGHT_CALENDAR_DIR", root.join("etc/sunlight/calendars"))
            .current_dir(root)
            .output()
            .unwrap()
    };
    let init = admin(&[
        "init",
        "--unit-id",
        "gd",
        "--unit-name",
        "广东省委组织部",
        "--admin-email",
        "admin@example.org",
    ]);
    assert!(
        init.status.success(),
        "init as the sunlight user: {}",
        text(&init)
    );
    assert!(
        String::from_utf8_lossy(&init.stdout).contains("initial-secrets.txt"),
        "{}",
        text(&init)
    );
    assert_eq!(owner_and_mode(&data), (uid, gid, 0o700));
    for file in ["pepper.key", "sunlight.db", "initial-secrets.txt"] {
        assert_eq!(
            owner_and_mode(&data.join(file)),
            (uid, gid, 0o600),
            "{file}"
        );
    }
    // The user reads what it wrote.
    let verify = admin(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(
        String::from_utf8_lossy(&verify.stdout).contains("audit log intact"),
        "{}",
        text(&verify)
    );
}
