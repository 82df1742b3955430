//! Operator commands from outside (#20): the parser checks roles and
//! levels (exit 2, values listed), `--help` shows the variables,
//! `calendar check` names provisional years and is satisfied by an
//! operator file, `healthcheck` asks a running service on a wildcard
//! address, and `serve` tells systemd it is ready (`READY=1`).

use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use sunlight_core::{AccusedRole, CaseId, Category, Channel, SelectionStage, Stage, UnitId};
use sunlight_store::{NewCase, NewQueueEntry, Store};

use super::{Deployment, free_port, stderr, stdout, wait_healthy};

#[tokio::test]
async fn roles_and_levels_are_checked_and_help_shows_the_variables() {
    let d = Deployment::new(false).await;
    let out = d.run(&[
        "staff", "add", "--unit", "gd", "--email", "a@b.cn", "--role", "boss",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[possible values: intake, verifier, supervisor, admin]"),
        "{}",
        stderr(&out)
    );
    let out = d.run(&[
        "unit", "add", "--id", "x", "--name", "镇", "--level", "town",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("province, city, county"),
        "{}",
        stderr(&out)
    );
    assert!(
        !d.dir.path().join("sunlight.db").exists(),
        "nothing was opened"
    );
    let help = d.run(&["--help"]);
    let text = stdout(&help);
    for shown in [
        "[env: SUNLIGHT_CONFIG=",
        "[env: SUNLIGHT_DATA_DIR=",
        "SUNLIGHT_LOG_FORMAT",
        "SUNLIGHT_CALENDAR_DIR",
        "SUNLIGHT_INTAKE__RATE_LIMITS__LOOKUP_BURST=50",
        "sunlight config show",
    ] {
        assert!(text.contains(shown), "{shown} not in --help:\n{text}");
    }
}

/// A received case whose routing deadline lies in 2031.
fn case_in_2031() -> NewCase {
    let arrived = Utc.with_ymd_and_hms(2031, 3, 2, 16, 0, 0).unwrap();
    let id = CaseId::arrived_on(arrived);
    let mut lookup_key = [0u8; 32];
    lookup_key[..16].copy_from_slice(id.as_uuid().as_bytes());
    NewCase {
        id,
        lookup_key,
        unit: UnitId::parse("gd-gz-tianhe").unwrap(),
        addressed_unit: UnitId::parse("gd-gz-tianhe").unwrap(),
        category: Category::Other,
        accused_role: AccusedRole::Ordinary,
        selection_stage: SelectionStage::None,
        channel: Channel::Web,
        real_name: false,
        received_at: arrived,
        sealed_report: vec![0xA5; 64],
        reporter_public_key: sunlight_core::crypto::UnitPublicKey::from_bytes([7; 32]),
        first_entry: NewQueueEntry {
            stage: Stage::Received,
            due_at: arrived + chrono::Duration::days(7),
        },
        sealed_to: Default::default(),
    }
}

#[tokio::test]
async fn calendar_check_names_a_provisional_year_until_its_file_is_added() {
    let d = Deployment::new(false).await;
    let demo = d.run(&["demo"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let out = d.run(&["calendar", "check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "no open deadline");

    let store = Store::connect(&d.url()).await.unwrap();
    store.insert_case(case_in_2031()).await.unwrap();
    drop(store);
    let out = d.run(&["calendar", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("2031 provisional:"), "{text}");
    assert!(text.contains("cn-YEAR.toml"), "{text}");

    let calendars = d.dir.path().join("calendars");
    std::fs::create_dir(&calendars).unwrap();
    std::fs::write(
        calendars.join("cn-2031.toml"),
        "year = 2031\n[[holidays]]\nname = \"元旦\"\nfrom = 2031-01-01\nto = 2031-01-01\n",
    )
    .unwrap();
    let out = d
        .cmd(&["calendar", "check"])
        .env("SUNLIGHT_CALENDAR_DIR", &calendars)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "2031 official");
    // A broken operator file stops every command, naming it.
    std::fs::write(
        calendars.join("cn-2032.toml"),
        "year = 2032\nholidays = 7\n",
    )
    .unwrap();
    let out = d
        .cmd(&["calendar", "check"])
        .env("SUNLIGHT_CALENDAR_DIR", &calendars)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cn-2032.toml"), "{}", stderr(&out));
}

#[tokio::test]
async fn serve_says_ready_to_systemd_and_healthcheck_asks_it() {
    let d = Deployment::new(false).await;
    let demo = d.run(&["demo"]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let socket_path = d.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let (intake, triage) = (free_port(), free_port());
    let mut child = d
        .cmd(&["serve"])
        .env("SUNLIGHT_INTAKE_ADDR", format!("0.0.0.0:{intake}"))
        .env("SUNLIGHT_TRIAGE_ADDR", format!("127.0.0.1:{triage}"))
        .env("NOTIFY_SOCKET", &socket_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 64];
    let n = socket.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1\n");
    // Ready means listening: no waiting needed, but be sure anyway.
    wait_healthy(triage).await;
    let ask = |side: &str, addr: String| {
        d.cmd(&["healthcheck", side])
            .env("SUNLIGHT_INTAKE_ADDR", &addr)
            .env("SUNLIGHT_TRIAGE_ADDR", &addr)
            .output()
            .unwrap()
    };
    let up = ask("intake", format!("0.0.0.0:{intake}"));
    assert!(up.status.success(), "{}", stderr(&up));
    assert_eq!(stdout(&up).trim(), format!("127.0.0.1:{intake} healthy"));
    let up = ask("triage", format!("127.0.0.1:{triage}"));
    assert!(up.status.success(), "{}", stderr(&up));
    let _killed = child.kill();
    let _reaped = child.wait();
    let down = ask("triage", format!("127.0.0.1:{triage}"));
    assert_eq!(down.status.code(), Some(1));
    assert!(
        stderr(&down).contains(&format!("127.0.0.1:{triage}")),
        "{}",
        stderr(&down)
    );
}

/// Empty variables count as unset, `--config` and `--data-dir` included
/// (compose passes `${X:-}` through); a wrong value names its variable.
#[test]
fn empty_variables_are_unset_and_bad_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let show = |vars: &[(&str, &str)]| {
        let mut c = std::process::Command::new(super::binary());
        c.current_dir(dir.path())
            .args(["config", "show"])
            .env_remove("SUNLIGHT_DATABASE_URL");
        for (k, v) in vars {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let out = show(&[
        ("SUNLIGHT_CONFIG", ""),
        ("SUNLIGHT_DATA_DIR", ""),
        ("SUNLIGHT_SMTP_URL", ""),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("data_dir = \"./sunlight-data\"  # default"),
        "{text}"
    );
    assert!(text.contains("smtp_url = \"\"  # default"), "{text}");
    let out = show(&[("SUNLIGHT_DATA_DIR", "/srv/x")]);
    assert!(
        stdout(&out).contains("data_dir = \"/srv/x\"  # environment SUNLIGHT_DATA_DIR"),
        "{}",
        stdout(&out)
    );
    let out = show(&[("SUNLIGHT_INTAKE__RATE_LIMITS__LOOKUP_BURST", "many")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "error: configuration: invalid type: found string \"many\", expected u32 for key \"SUNLIGHT_INTAKE__RATE_LIMITS__LOOKUP_BURST\" in the environment"
    );
}
