//! Creating units and staff with their keys: used by `sunlight init`,
//! `unit add`, `unit import`, `staff add`, `demo` and the admin pages.

use chrono::{DateTime, Utc};
use data_encoding::BASE32_NOPAD;
use std::collections::HashMap;

use sunlight_core::crypto::{
    CryptoError, RecoveryKey, SealContext, StretchParams, Suite, UnitKeyPair, UnitPublicKey,
    UnitSecretKey, WrappedUnitKey,
};
use sunlight_core::unit_tree::{UnitSpec, plan_import};
use sunlight_core::{Role, UnitId};
use zeroize::Zeroizing;

pub use crate::keyring::{ProvisionError, no_case};
pub use crate::staff_auth::totp_context;
use crate::units::escrow_context;
use crate::{NewStaff, NewUnit, StaffRow, Store, StoreError, UnitRow};

/// What an operator must be shown once and never again.
#[derive(Debug)]
pub struct NewStaffSecrets {
    pub staff: StaffRow,
    pub password: Zeroizing<String>,
    /// Base32 TOTP secret (RFC 6238), when the member has a second factor.
    pub totp: Option<Zeroizing<String>>,
}

/// `bytes` random bytes as base32: one-time passwords (10) and TOTP secrets (20).
pub fn random_text(bytes: usize) -> Result<Zeroizing<String>, CryptoError> {
    let mut raw = Zeroizing::new(vec![0u8; bytes]);
    getrandom::fill(raw.as_mut_slice()).map_err(|_| CryptoError::Random)?;
    Ok(Zeroizing::new(BASE32_NOPAD.encode(&raw)))
}

/// A unit's recovery key, to show once (`None` when made without one).
pub type NewRecovery = Option<RecoveryKey>;

/// A unit about to be created: its key pair sealed as the database keeps
/// it (wrapped under a fresh recovery key if asked for, escrowed to the
/// parent's public key if it has a parent).
fn new_unit(
    spec: UnitSpec,
    parent_key: Option<&UnitPublicKey>,
    with_recovery: bool,
    suite: Suite,
) -> Result<(NewUnit, UnitKeyPair, NewRecovery), ProvisionError> {
    let pair = UnitKeyPair::generate(suite)?;
    let recovery = if with_recovery {
        Some(RecoveryKey::generate()?)
    } else {
        None
    };
    let recovery_wrapped_key = match &recovery {
        Some(rk) => pair.secret.wrap_with_recovery(rk, spec.id.as_str())?,
        None => WrappedUnitKey::from_bytes(Vec::new()),
    };
    let escrow_sealed_key = match parent_key {
        Some(parent) => Some(pair.secret.seal_to(
            parent,
            &SealContext {
                case_id: no_case(),
                item: &escrow_context(&spec.id, 1),
            },
        )?),
        None => None,
    };
    let unit = NewUnit {
        id: spec.id,
        name: spec.name,
        name_en: spec.name_en,
        level: spec.level,
        parent: spec.parent,
        public_key: pair.public,
        recovery_wrapped_key,
        escrow_sealed_key,
    };
    Ok((unit, pair, recovery))
}

/// Creates a unit with a fresh key pair, escrowed to its parent. A root
/// always gets a recovery key (nothing above it can recover it); other
/// units only when `with_recovery`. Returns the unit, its private key (for
/// a caller that goes on to add staff) and the recovery key to show once.
pub async fn create_unit(
    store: &Store,
    spec: UnitSpec,
    with_recovery: bool,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(UnitRow, UnitSecretKey, NewRecovery), ProvisionError> {
    let parent_key = match &spec.parent {
        Some(parent) => Some(
            store
                .unit(parent)
                .await?
                .ok_or(StoreError::NotFound("parent unit"))?
                .public_key,
        ),
        None => None,
    };
    let with_recovery = with_recovery || spec.parent.is_none();
    let suite = store.suite().await?;
    let (new, pair, recovery) = new_unit(spec, parent_key.as_ref(), with_recovery, suite)?;
    let row = store.add_unit(new, actor, now).await?;
    Ok((row, pair.secret, recovery))
}

/// What `import_units` created: each new unit with its recovery key.
#[derive(Debug)]
pub struct Imported {
    pub created: Vec<(UnitId, NewRecovery)>,
    pub unchanged: usize,
}

/// Creates the units of a file in one transaction (see
/// `sunlight_core::unit_tree::plan_import` for what is refused): each gets
/// its own key pair escrowed to its parent; roots always get a recovery
/// key, other units only `with_recovery`.
pub async fn import_units(
    store: &Store,
    file: Vec<UnitSpec>,
    with_recovery: bool,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Imported, ProvisionError> {
    let existing = store.units().await?;
    let specs: Vec<UnitSpec> = existing
        .iter()
        .map(|u| UnitSpec {
            line: 0,
            id: u.id.clone(),
            name: u.name.clone(),
            name_en: u.name_en.clone(),
            level: u.level,
            parent: u.parent.clone(),
        })
        .collect();
    let total = file.len();
    let plan = plan_import(file, &specs)?;
    let mut publics: HashMap<UnitId, UnitPublicKey> = existing
        .iter()
        .map(|u| (u.id.clone(), u.public_key))
        .collect();
    let suite = store.suite().await?;
    let mut lines = Vec::with_capacity(plan.len());
    let mut units = Vec::with_capacity(plan.len());
    let mut created = Vec::with_capacity(plan.len());
    for spec in plan {
        let line = spec.line;
        let parent_key = spec.parent.as_ref().and_then(|p| publics.get(p)).copied();
        let recovery = with_recovery || spec.parent.is_none();
        let (unit, pair, rk) = new_unit(spec, parent_key.as_ref(), recovery, suite)?;
        publics.insert(unit.id.clone(), pair.public);
        created.push((unit.id.clone(), rk));
        lines.push(line);
        units.push(unit);
    }
    store
        .import_units(&units, actor, now)
        .await
        .map_err(|f| ProvisionError::Line {
            line: lines.get(f.index).copied().unwrap_or_default(),
            why: f.error.to_string(),
        })?;
    Ok(Imported {
        unchanged: total.saturating_sub(created.len()),
        created,
    })
}

/// Creates a staff member of `unit`, wrapping the unit key under a fresh
/// one-time password. Verifiers, supervisors and admins (the roles that
/// read reports) get a TOTP secret.
#[expect(
    clippy::too_many_arguments,
    reason = "each is a distinct, required fact about the new member"
)]
pub async fn create_staff(
    store: &Store,
    unit: &UnitId,
    unit_secret: &UnitSecretKey,
    email: &str,
    role: Role,
    params: StretchParams,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<NewStaffSecrets, ProvisionError> {
    // A wrong secret would give the member a key that opens nothing.
    let stored = store
        .unit(unit)
        .await?
        .ok_or(StoreError::NotFound("unit"))?;
    if stored.public_key != unit_secret.public() {
        return Err(ProvisionError::Crypto(CryptoError::Open));
    }
    // 80 random bits, typeable.
    let password = random_text(10)?;
    let (record, keys) = store
        .password_policy(params)
        .await?
        .enroll(password.as_bytes())?;
    let member = crate::keyring::member_keys(unit_secret, unit, email, &keys)?;
    // Every role that reads reports signs in with a second factor.
    let totp = if matches!(role, Role::Verifier | Role::Supervisor | Role::Admin) {
        Some(random_text(20)?)
    } else {
        None
    };
    let totp_sealed = match &totp {
        Some(secret) => Some(crate::staff_auth::seal_totp(
            secret,
            email,
            unit,
            unit_secret,
        )?),
        None => None,
    };
    let staff = store
        .add_staff(
            NewStaff {
                unit: unit.clone(),
                email: email.to_owned(),
                role,
                password: record,
                keys: member,
                totp_sealed,
            },
            actor,
            now,
        )
        .await?;
    Ok(NewStaffSecrets {
        staff,
        password,
        totp,
    })
}
