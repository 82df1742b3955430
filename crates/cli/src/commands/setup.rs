//! `init`, `migrate`, `staff add`, `staff disable` and `demo`: setting up a deployment and its people.

use super::*;

pub(super) fn login_line(s: &NewStaffSecrets) -> String {
    format!(
        "login {} {} {} {} {}",
        s.staff.email,
        s.password.as_str(),
        s.staff.role,
        s.staff.unit,
        s.totp.as_ref().map_or("-", |t| t.as_str())
    )
}

/// Creates the deployment's secrets; refuses when it already exists. The
/// deployment counts as initialised only once `finish_deployment` ran, after
/// the first unit and admin exist.
pub(super) async fn start_deployment(config: &Config, store: &Store) -> Result<(), String> {
    if is_initialized(store).await? {
        return Err("this deployment is already initialised; refusing to run again".into());
    }
    crate::secrets::create(&config.pepper_file, store).await.map_err(|e| {
        format!("{e}. An earlier `init` may have stopped halfway: start again with an empty data folder and database")
    })?;
    // Before the first key is made: every key follows this setting.
    store
        .record_suite(config.suite, "cli:init", Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(suite = %config.suite, "cipher suite recorded");
    Ok(())
}

/// `sunlight suite`: shows the suite, or moves new material to another.
pub(super) async fn suite(config: &Config, action: Option<SuiteCommand>) -> CmdResult {
    let store = open(config).await?;
    if !is_initialized(&store).await? {
        return Err("the deployment is not initialised; run `sunlight init` first".into());
    }
    let now = store.suite().await.map_err(|e| e.to_string())?;
    let suite = match action {
        None => {
            say(now.as_str());
            let kdf = store.password_kdf().await.map_err(|e| e.to_string())?;
            say(&format!("passwords {kdf}"));
            return Ok(ExitCode::SUCCESS);
        }
        Some(SuiteCommand::Passwords { kdf }) => return password_kdf(&store, now, &kdf).await,
        Some(SuiteCommand::Move { suite }) => suite,
    };
    let to: Suite = suite.parse().map_err(|e: UnknownSuite| e.to_string())?;
    if to == now {
        say(&format!("{now} (unchanged)"));
        return Ok(ExitCode::SUCCESS);
    }
    store
        .record_suite(to, "cli:suite", Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(from = %now, to = %to, "cipher suite moved");
    say(&format!(
        "{now} -> {to}: new units, members and reports get {to} keys from now on."
    ));
    say(&format!(
        "Restart the service, then rotate each unit's key (`sunlight unit rotate-key --unit ID`) so reports to it are sealed in {to}."
    ));
    Ok(ExitCode::SUCCESS)
}

/// `sunlight suite passwords KDF`.
async fn password_kdf(store: &Store, suite: Suite, kdf: &str) -> CmdResult {
    if !sunlight_store::PASSWORD_KDFS.contains(&kdf) {
        return Err(format!(
            "unknown password function {kdf:?}: choose argon2id or pbkdf2-sm3"
        ));
    }
    if kdf == "pbkdf2-sm3" && suite != Suite::ShangMi {
        return Err(
            "pbkdf2-sm3 is the shangmi suite's fallback: move to it first (`sunlight suite move shangmi`)"
                .into(),
        );
    }
    store
        .record_password_kdf(kdf, "cli:suite", Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    say(&format!(
        "passwords {kdf}: new and changed staff passwords from now on; existing ones keep theirs until changed or reset."
    ));
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn finish_deployment(store: &Store) -> Result<(), String> {
    let first = store
        .put_setting_once(
            setting_keys::INITIALIZED_AT,
            Utc::now().to_rfc3339().into_bytes(),
        )
        .await
        .map_err(|e| e.to_string())?;
    if first {
        Ok(())
    } else {
        Err("another process initialised this deployment at the same time".into())
    }
}

pub(super) async fn init(
    config: &Config,
    unit_id: &str,
    unit_name: &str,
    admin_email: &str,
) -> CmdResult {
    let store = open(config).await?;
    let unit = UnitId::parse(unit_id).map_err(|e| format!("--unit-id: {e}"))?;
    if is_initialized(&store).await? {
        return Err("this deployment is already initialised; refusing to run again".into());
    }
    crate::reveal::check_free(&config.data_dir)?;
    start_deployment(config, &store).await?;
    let now = Utc::now();
    let (_, secret, recovery) = create_unit(
        &store,
        UnitSpec::new(unit.clone(), unit_name, Level::Province, None),
        true,
        "cli:init",
        now,
    )
    .await
    .map_err(|e| e.to_string())?;
    let recovery = recovery.ok_or("a root unit always gets a recovery key")?;
    let admin = create_staff(
        &store,
        &unit,
        &secret,
        admin_email,
        Role::Admin,
        StretchParams::PASSWORD,
        "cli:init",
        now,
    )
    .await
    .map_err(|e| e.to_string())?;
    finish_deployment(&store).await?;
    crate::reveal::reveal(
        &config.data_dir,
        &[
            zeroize::Zeroizing::new(login_line(&admin)),
            zeroize::Zeroizing::new(format!("recovery {} {}", unit, recovery.reveal().as_str())),
        ],
    )?;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn migrate(config: &Config) -> CmdResult {
    let store = connect(config).await?;
    let ran = store
        .migrate()
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    say(&format!("applied {ran} migration(s)"));
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn staff_add(config: &Config, unit: &str, email: &str, role: Role) -> CmdResult {
    let store = open(config).await?;
    let unit = UnitId::parse(unit).map_err(|e| format!("--unit: {e}"))?;
    if !email.contains('@') || email.len() > 254 {
        return Err("--email is not an email address".into());
    }
    let row = store
        .unit(&unit)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no such unit")?;
    let secret = super::units::key_from_stdin(&store, &row.id).await?;
    let created = create_staff(
        &store,
        &unit,
        &secret,
        email,
        role,
        StretchParams::PASSWORD,
        "cli",
        Utc::now(),
    )
    .await
    .map_err(|e| e.to_string())?;
    say(&login_line(&created));
    Ok(ExitCode::SUCCESS)
}

/// Tags the staff material of `unit` and below written before tags
/// existed; prints one line of counts.
pub(super) async fn staff_reauthenticate(config: &Config, unit: &str, force: bool) -> CmdResult {
    let store = open(config).await?;
    let unit = UnitId::parse(unit).map_err(|e| format!("--unit: {e}"))?;
    store
        .unit(&unit)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no such unit")?;
    let secret = super::units::key_from_stdin(&store, &unit).await?;
    let done = sunlight_store::reauthenticate::reauthenticate(
        &store,
        &unit,
        &secret,
        force,
        "cli",
        Utc::now(),
    )
    .await
    .map_err(|e| e.to_string())?;
    say(&format!("reauthenticated {done}"));
    Ok(ExitCode::SUCCESS)
}

/// The demo tree: a province, one city under it and one county under that.
pub(super) const DEMO_UNITS: [(&str, &str, Level, Option<&str>); 3] = [
    ("gd", "广东省委组织部", Level::Province, None),
    ("gd-gz", "广州市委组织部", Level::City, Some("gd")),
    (
        "gd-gz-tianhe",
        "天河区委组织部",
        Level::County,
        Some("gd-gz"),
    ),
];

pub(super) async fn demo(config: &Config) -> CmdResult {
    let store = open(config).await?;
    if is_initialized(&store).await? {
        return Err("demo needs an empty data folder; this one is already initialised".into());
    }
    start_deployment(config, &store).await?;
    let now = Utc::now();
    for (id, name, level, parent) in DEMO_UNITS {
        let unit = UnitId::parse(id).map_err(|e| e.to_string())?;
        let parent = parent
            .map(UnitId::parse)
            .transpose()
            .map_err(|e| e.to_string())?;
        let (_, secret, recovery) = create_unit(
            &store,
            UnitSpec::new(unit.clone(), name, level, parent),
            true,
            "cli:demo",
            now,
        )
        .await
        .map_err(|e| e.to_string())?;
        let recovery = recovery.ok_or("the demo gives every unit a recovery key")?;
        for role in Role::ALL {
            let email = format!("{role}@{id}.demo");
            let created = create_staff(
                &store,
                &unit,
                &secret,
                &email,
                *role,
                StretchParams::PASSWORD,
                "cli:demo",
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
            // Demo logins stay as printed (real ones must be changed).
            store
                .keep_first_password(created.staff.id)
                .await
                .map_err(|e| e.to_string())?;
            say(&login_line(&created));
        }
        say(&format!("recovery {} {}", unit, recovery.reveal().as_str()));
    }
    finish_deployment(&store).await?;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn staff_disable(config: &Config, email: &str) -> CmdResult {
    let store = open(config).await?;
    let row = store
        .disable_staff(email, "cli", Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    say(&format!(
        "disabled {} ({} of {}); their open sessions end at their next request, in every triage process",
        row.email, row.role, row.unit
    ));
    Ok(ExitCode::SUCCESS)
}
