//! The simulated province: its unit tree, keys and staff, set up in a fresh database.

use super::*;

/// The tree of the simulation: the demo's Guangdong chain, widened.
pub(super) const UNITS: [(&str, &str, Level, Option<&str>); 10] = [
    ("gd", "广东省委组织部", Level::Province, None),
    ("gd-gz", "广州市委组织部", Level::City, Some("gd")),
    ("gd-sz", "深圳市委组织部", Level::City, Some("gd")),
    ("gd-fs", "佛山市委组织部", Level::City, Some("gd")),
    (
        "gd-gz-tianhe",
        "天河区委组织部",
        Level::County,
        Some("gd-gz"),
    ),
    (
        "gd-gz-yuexiu",
        "越秀区委组织部",
        Level::County,
        Some("gd-gz"),
    ),
    (
        "gd-sz-futian",
        "福田区委组织部",
        Level::County,
        Some("gd-sz"),
    ),
    (
        "gd-sz-nanshan",
        "南山区委组织部",
        Level::County,
        Some("gd-sz"),
    ),
    (
        "gd-fs-chancheng",
        "禅城区委组织部",
        Level::County,
        Some("gd-fs"),
    ),
    (
        "gd-fs-nanhai",
        "南海区委组织部",
        Level::County,
        Some("gd-fs"),
    ),
];

pub(super) struct SimUnit {
    pub(super) id: UnitId,
    pub(super) jurisdiction: Jurisdiction,
    pub(super) verifier: std::sync::Arc<Session>,
    pub(super) supervisor: std::sync::Arc<Session>,
    pub(super) chain_keys: Vec<UnitPublicKey>,
    pub(super) idle: Vec<(NaiveDate, NaiveDate)>,
}

pub(super) async fn setup_units(
    store: &Store,
    cfg: &SimConfig,
    rng: &mut Rng,
    now: DateTime<Utc>,
) -> Result<Vec<SimUnit>, SimError> {
    let setup = |e: &dyn std::fmt::Display| SimError::Setup(e.to_string());
    let sessions = Sessions::new(Duration::days(10_000), Duration::days(10_000));
    let mut public: HashMap<String, UnitPublicKey> = HashMap::new();
    let mut out = Vec::new();
    for (id, name, level, parent) in UNITS {
        let unit = UnitId::parse(id).map_err(|e| setup(&e))?;
        let parent_id = parent
            .map(UnitId::parse)
            .transpose()
            .map_err(|e| setup(&e))?;
        let (row, secret, _) = create_unit(
            store,
            UnitSpec::new(unit.clone(), name, level, parent_id),
            false,
            "cli:simulate",
            now,
        )
        .await
        .map_err(|e| setup(&e))?;
        public.insert(id.to_owned(), row.public_key);
        let mut chain_keys = vec![row.public_key];
        let mut up = parent;
        while let Some(p) = up {
            if let Some(k) = public.get(p) {
                chain_keys.push(*k);
            }
            up = UNITS.iter().find(|u| u.0 == p).and_then(|u| u.3);
        }
        let jurisdiction = store.jurisdiction(&unit).await?;
        let member = |role: Role| {
            let store = store.clone();
            let unit = unit.clone();
            let secret = secret.clone();
            let jurisdiction = jurisdiction.clone();
            async move {
                let email = format!("{role}@{unit}.demo");
                let created = create_staff(
                    &store,
                    &unit,
                    &secret,
                    &email,
                    role,
                    StretchParams::TEST,
                    "cli:simulate",
                    now,
                )
                .await
                .map_err(|e| SimError::Setup(e.to_string()))?;
                Ok::<_, SimError>((created.staff.id, email, jurisdiction, secret, role, unit))
            }
        };
        let mut opened = Vec::new();
        for role in Role::ALL {
            let (staff_id, email, jurisdiction, unit_key, role, unit) = member(*role).await?;
            let session = sessions
                .open(
                    NewSession {
                        staff_id,
                        email,
                        unit,
                        role,
                        jurisdiction,
                        unit_key,
                        must_change_password: false,
                        must_confirm_totp: false,
                        epoch: 0,
                        recovery_code_used: false,
                    },
                    now,
                )
                .map_err(|e| setup(&e))?
                .session;
            opened.push((role, session));
        }
        let session_of = |role: Role| {
            opened
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, s)| s.clone())
                .ok_or_else(|| SimError::Setup(format!("no {role} in {id}")))
        };
        out.push(SimUnit {
            id: unit.clone(),
            jurisdiction,
            verifier: session_of(Role::Verifier)?,
            supervisor: session_of(Role::Supervisor)?,
            chain_keys,
            idle: Vec::new(),
        });
    }
    // Some units stop working for weeks: nobody there acts at all.
    for _ in 0..cfg.idle_units {
        let i = usize::try_from(rng.below(out.len() as u64)).unwrap_or(0);
        let from = cfg.start + Duration::days(rng.range(0, i64::from(cfg.days.max(1)) - 1));
        let to = from + Duration::weeks(i64::from(cfg.idle_weeks));
        if let Some(u) = out.get_mut(i) {
            u.idle.push((from, to));
        }
    }
    Ok(out)
}
