//! Creating units and staff with their keys: used by `sunlight init`,
//! `unit add`, `staff add`, `demo` (and later the admin pages).

use chrono::{DateTime, Utc};
use data_encoding::BASE32_NOPAD;
use sunlight_core::crypto::{
    CryptoError, PasswordKeys, RecoveryKey, SealContext, StretchParams, UnitKeyPair, UnitSecretKey,
    seal,
};
use sunlight_core::{CaseId, Level, Role, UnitId};
use zeroize::Zeroizing;

use crate::{NewStaff, NewUnit, StaffRow, Store, StoreError, UnitRow};

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("key handling failed: {0}")]
    Crypto(#[from] CryptoError),
}

/// What an operator must be shown once and never again.
#[derive(Debug)]
pub struct NewStaffSecrets {
    pub staff: StaffRow,
    pub password: Zeroizing<String>,
    /// Base32 TOTP secret (RFC 6238), when the member has a second factor.
    pub totp: Option<Zeroizing<String>>,
}

/// The sealing context of a staff member's TOTP secret: bound to the member
/// so it cannot be copied onto another account.
pub fn totp_context(email: &str) -> Vec<u8> {
    let mut item = b"totp:".to_vec();
    item.extend(email.trim().to_lowercase().as_bytes());
    item
}

/// A nil case id marks envelopes that belong to no case (staff secrets).
pub fn no_case() -> CaseId {
    CaseId::from_uuid(uuid::Uuid::nil())
}

/// `bytes` random bytes as base32: one-time passwords (10) and TOTP secrets (20).
pub fn random_text(bytes: usize) -> Result<Zeroizing<String>, CryptoError> {
    let mut raw = Zeroizing::new(vec![0u8; bytes]);
    getrandom::fill(raw.as_mut_slice()).map_err(|_| CryptoError::Random)?;
    Ok(Zeroizing::new(BASE32_NOPAD.encode(&raw)))
}

/// Creates a unit with a fresh key pair; returns the recovery key to show once.
pub async fn create_unit(
    store: &Store,
    id: UnitId,
    name: String,
    level: Level,
    parent: Option<UnitId>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(UnitRow, RecoveryKey), ProvisionError> {
    let pair = UnitKeyPair::generate()?;
    let recovery = RecoveryKey::generate()?;
    let wrapped = pair.secret.wrap_with_recovery(&recovery, id.as_str())?;
    let row = store
        .add_unit(
            NewUnit {
                id,
                name,
                level,
                parent,
                public_key: pair.public,
                recovery_wrapped_key: wrapped,
            },
            actor,
            now,
        )
        .await?;
    Ok((row, recovery))
}

/// Creates a staff member of `unit`, wrapping the unit key under a fresh
/// one-time password. Supervisors and admins always get a TOTP secret.
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
    let (record, keys) = PasswordKeys::enroll(password.as_bytes(), params)?;
    let wrapped = unit_secret.wrap_with_password(&keys, unit.as_str())?;
    let totp = if matches!(role, Role::Supervisor | Role::Admin) {
        Some(random_text(20)?)
    } else {
        None
    };
    let totp_sealed = match &totp {
        Some(secret) => {
            let item = totp_context(email);
            Some(seal(
                secret.as_bytes(),
                &SealContext {
                    case_id: no_case(),
                    item: &item,
                },
                &[unit_secret.public()],
            )?)
        }
        None => None,
    };
    let staff = store
        .add_staff(
            NewStaff {
                unit: unit.clone(),
                email: email.to_owned(),
                role,
                password: record,
                wrapped_unit_key: wrapped,
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
