use super::*;

fn env_of(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_follow_interfaces_md() {
    let c = Config::load(None, None, env_of(&[])).unwrap();
    assert_eq!(c.data_dir, PathBuf::from("./sunlight-data"));
    assert_eq!(c.database_url, "sqlite://./sunlight-data/sunlight.db");
    assert_eq!(c.intake_addr.to_string(), "127.0.0.1:8080");
    assert_eq!(c.triage_addr.to_string(), "127.0.0.1:8081");
    assert_eq!(c.policy, "cn-12380");
    assert_eq!(c.log, "info");
    assert!(c.smtp_url.is_none());
}

#[test]
fn environment_overrides_file_and_flag_overrides_environment() {
    let dir = std::env::temp_dir().join(format!("sunlight-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sunlight.toml");
    std::fs::write(
        &file,
        "intake_addr = \"0.0.0.0:9000\"\npolicy = \"eu-2019-1937\"\n",
    )
    .unwrap();
    let c = Config::load(
        Some(&file),
        Some(Path::new("/srv/x")),
        env_of(&[
            ("SUNLIGHT_DATA_DIR", "/env"),
            ("SUNLIGHT_POLICY", "cn-12380"),
        ]),
    )
    .unwrap();
    assert_eq!(c.intake_addr.to_string(), "0.0.0.0:9000");
    assert_eq!(c.policy, "cn-12380");
    assert_eq!(c.data_dir, PathBuf::from("/srv/x"));
    assert_eq!(c.database_url, "sqlite:///srv/x/sunlight.db");

    std::fs::write(&file, "intake_adr = \"x\"\n").unwrap();
    let err = Config::load(Some(&file), None, env_of(&[])).unwrap_err();
    assert!(err.to_string().contains("intake_adr"), "{err}");
}

#[test]
fn bad_values_are_named_and_secrets_redacted() {
    let err =
        Config::load(None, None, env_of(&[("SUNLIGHT_INTAKE_ADDR", "localhost")])).unwrap_err();
    assert!(err.to_string().contains("SUNLIGHT_INTAKE_ADDR"));
    assert!(
        Config::load(
            None,
            None,
            env_of(&[("SUNLIGHT_DATABASE_URL", "mysql://x")])
        )
        .is_err()
    );
    assert!(Config::load(None, None, env_of(&[("SUNLIGHT_POLICY", "nope")])).is_err());
    let dir = std::env::temp_dir().join(format!("sunlight-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("policy.toml");
    std::fs::write(
        &file,
        "preset = \"cn-12380\"\n[deadlines]\nverify = { calendar_days = 0 }\n",
    )
    .unwrap();
    let err = Config::load(
        None,
        None,
        env_of(&[("SUNLIGHT_POLICY", file.to_str().unwrap())]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("policy.toml"), "{err}");
    let c = Config::load(
        None,
        None,
        env_of(&[
            ("SUNLIGHT_DATABASE_URL", "postgres://u:hunter2@db/s"),
            ("SUNLIGHT_SMTP_URL", "smtps://m:pw123@mail:465"),
        ]),
    )
    .unwrap();
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("pw123"),
        "{shown}"
    );
}

#[test]
fn the_example_config_in_deploy_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/sunlight.example.toml");
    let c = Config::load(Some(&path), None, env_of(&[])).unwrap();
    assert_eq!(c.policy, "cn-12380");
    // The example documents the defaults.
    assert_eq!(c.intake.limits, sunlight_core::report::Limits::default());
    assert_eq!(c.intake.rate_limits, sunlight_intake::RateLimits::default());
    let t = sunlight_triage::TriageSettings::default();
    assert_eq!(
        (
            c.triage.session_idle_minutes,
            c.triage.session_absolute_hours,
            c.triage.secure_cookies,
            c.triage.route_every_seconds,
            c.triage.workers,
            &c.triage.second_factor_roles
        ),
        (
            t.session_idle_minutes,
            t.session_absolute_hours,
            t.secure_cookies,
            t.route_every_seconds,
            t.workers,
            &t.second_factor_roles
        )
    );
}

#[test]
fn every_key_nested_ones_too_is_settable_by_variable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sunlight.toml");
    std::fs::write(
        &file,
        "[intake.rate_limits]\nlookup_burst = 7\nsubmission_burst = 9\n[mail]\nfrom = \"File <f@example.org>\"\n",
    )
    .unwrap();
    let c = Config::load(
        Some(&file),
        None,
        env_of(&[
            ("SUNLIGHT_INTAKE__RATE_LIMITS__LOOKUP_BURST", "50"),
            ("SUNLIGHT_TRIAGE__SECURE_COOKIES", "true"),
            ("SUNLIGHT_TRIAGE__SECOND_FACTOR_ROLES", "[verifier, admin]"),
            ("SUNLIGHT_MAIL__LINK_BASE", "https://staff.example.org"),
            ("SUNLIGHT_LOG_FORMAT", "json"),
            ("SUNLIGHT_MIGRATE_ON_START", "false"),
            // Empty means unset, as compose passes `${X:-}` through.
            ("SUNLIGHT_SMTP_URL", ""),
            ("SUNLIGHT_ONION_LOCATION", ""),
            // Not ours: Caddy's, the tests'.
            ("SUNLIGHT_DOMAIN", "report.example.org"),
            ("SUNLIGHT_TEST_PG_URL", "postgres://x"),
        ]),
    )
    .unwrap();
    assert_eq!(c.intake.rate_limits.lookup_burst, 50);
    assert_eq!(c.intake.rate_limits.submission_burst, 9, "the file's");
    assert_eq!(c.triage.secure_cookies, Some(true));
    assert_eq!(
        c.triage.second_factor_roles,
        vec![sunlight_core::Role::Verifier, sunlight_core::Role::Admin]
    );
    assert_eq!(c.mail.from, "File <f@example.org>");
    assert_eq!(c.mail.link_base, "https://staff.example.org");
    assert_eq!(c.log_format, LogFormat::Json);
    assert!(!c.migrate_on_start);
    assert!(c.smtp_url.is_none() && c.intake.onion_location.is_none());

    let shown = show(&c).join("\n");
    for line in [
        "intake.rate_limits.lookup_burst = 50  # environment SUNLIGHT_INTAKE__RATE_LIMITS__LOOKUP_BURST",
        "intake.rate_limits.submission_burst = 9  # file ",
        "intake.rate_limits.per_client_burst = 10  # default",
        "triage.secure_cookies = true  # environment SUNLIGHT_TRIAGE__SECURE_COOKIES",
        "# ignored: SUNLIGHT_DOMAIN is not a configuration key",
    ] {
        assert!(shown.contains(line), "{line} not in:\n{shown}");
    }
    assert!(!shown.contains("SUNLIGHT_TEST_PG_URL"), "the tests' own");

    // A wrong value names the variable; a misspelt nested key too.
    let err = Config::load(
        None,
        None,
        env_of(&[("SUNLIGHT_INTAKE__RATE_LIMITS__LOOKUP_BURST", "many")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("SUNLIGHT_INTAKE__RATE_LIMITS__LOOKUP_BURST"),
        "{err}"
    );
    let err = Config::load(
        None,
        None,
        env_of(&[("SUNLIGHT_INTAKE__RATE_LIMTS__X", "1")]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("rate_limts"), "{err}");
    let err = Config::load(None, None, env_of(&[("SUNLIGHT_LOG_FORMAT", "xml")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("text or json"), "{err}");
}

#[test]
fn config_show_redacts_secrets_and_names_the_flag() {
    let c = Config::load(
        None,
        Some(Path::new("/srv/sunlight")),
        env_of(&[
            (
                "SUNLIGHT_DATABASE_URL",
                "postgres://u:hunter2@db/s?sslpassword=x",
            ),
            ("SUNLIGHT_SMTP_URL", "smtps://m:pw123@mail:465"),
        ]),
    )
    .unwrap();
    let shown = show(&c).join("\n");
    assert!(
        !shown.contains("hunter2") && !shown.contains("pw123") && !shown.contains("sslpassword")
    );
    assert!(
        shown.contains("data_dir = \"/srv/sunlight\"  # flag --data-dir"),
        "{shown}"
    );
    assert!(shown.contains("database_url = \"postgres://<redacted>@db/s?<redacted>\"  # environment SUNLIGHT_DATABASE_URL"), "{shown}");
}

#[test]
fn operator_calendar_files_are_loaded_and_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let cal = dir.path().join("calendars");
    std::fs::create_dir(&cal).unwrap();
    let load = || {
        Config::load(
            None,
            None,
            env_of(&[("SUNLIGHT_CALENDAR_DIR", cal.to_str().unwrap())]),
        )
    };
    std::fs::write(
        cal.join("cn-2027.toml"),
        "year = 2027\n[[holidays]]\nname = \"春节\"\nfrom = 2027-02-06\nto = 2027-02-12\n",
    )
    .unwrap();
    let c = load().unwrap();
    let (_, calendar) = c.deadline_rules().unwrap();
    assert!(calendar.has_year(2027));
    let day = |m, d| chrono::NaiveDate::from_ymd_opt(2027, m, d).unwrap();
    assert!(calendar.is_working_day(day(2, 5)), "the official file wins");
    assert!(!calendar.is_working_day(day(2, 12)));
    // `skip` gives the calendar before the file: provisional 2027.
    let policy = Policy::cn_12380();
    let before = c.calendar(&policy, &BTreeSet::from([2027])).unwrap();
    assert!(!before.has_year(2027) && !before.is_working_day(day(2, 5)));

    std::fs::write(
        cal.join("cn-2028.toml"),
        "year = 2028\n[[holidays]]\nname = \"x\"\nfrom = 2028-13-01\nto = 2028-01-02\n",
    )
    .unwrap();
    let err = load().unwrap_err().to_string();
    assert!(
        err.contains("cn-2028.toml") && err.contains("line 4"),
        "{err}"
    );
    std::fs::write(cal.join("cn-2028.toml"), "year = 2029\n").unwrap();
    let err = load().unwrap_err().to_string();
    assert!(
        err.contains("cn-2028.toml") && err.contains("2028"),
        "{err}"
    );
    std::fs::remove_file(cal.join("cn-2028.toml")).unwrap();
    std::fs::write(cal.join("holidays-2028.toml"), "year = 2028\n").unwrap();
    let err = load().unwrap_err().to_string();
    assert!(err.contains("named cn-YEAR.toml"), "{err}");
}

#[test]
fn the_systemd_config_in_deploy_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/systemd/sunlight.toml");
    // Its calendar_dir is made by install.sh; elsewhere it is missing and
    // named in the error.
    let err = Config::load(Some(&path), None, env_of(&[])).unwrap_err();
    assert!(err.to_string().contains("/etc/sunlight/calendars"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load(
        Some(&path),
        None,
        env_of(&[("SUNLIGHT_CALENDAR_DIR", dir.path().to_str().unwrap())]),
    )
    .unwrap();
    assert_eq!(c.data_dir, PathBuf::from("/var/lib/sunlight"));
    assert_eq!(c.triage.secure_cookies, Some(true));
    assert!(c.mail.link_base.starts_with("https://"));
}
