//! Getting at unit keys: a member's from their password, a unit below from
//! its escrow, retired keys from the history, and rotating a unit's key.
//! See docs/crypto.md ("Escrow up the tree", "Key rotation").

use chrono::{DateTime, Utc};
use sunlight_core::UnitId;
use sunlight_core::crypto::{
    CryptoError, PasswordKeys, RecoveryKey, SealContext, UnitKeyPair, UnitPublicKey, UnitSecretKey,
    WrappedUnitKey,
};
use sunlight_core::unit_tree::ImportProblem;

use crate::unit_keys::{RotatedMember, Rotation};
use crate::units::{escrow_context, retired_key_context};
use crate::{MemberKeys, StaffRow, Store, StoreError, UnitRow};

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("key handling failed: {0}")]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Plan(#[from] ImportProblem),
    #[error("line {line}: {why}")]
    Line { line: usize, why: String },
    #[error(
        "unit {0} has no key escrowed to its parent yet: a member of {0} signs in once, or use its own recovery key"
    )]
    NoEscrow(UnitId),
}

/// A nil case id marks envelopes that belong to no case (staff secrets).
pub use crate::staff_auth::no_case;

/// The sealing context of a unit key sealed to a member's own key.
pub fn member_context(unit: &UnitId, email: &str) -> Vec<u8> {
    format!("member-unit-key:{unit}:{}", email.trim().to_lowercase()).into_bytes()
}

fn ctx(item: &[u8]) -> SealContext<'_> {
    SealContext {
        case_id: no_case(),
        item,
    }
}

/// A fresh member key pair for `email`: its private half wrapped under
/// `password`, and `unit_key` (current generation only) sealed to it.
pub fn member_keys(
    unit_key: &UnitSecretKey,
    unit: &UnitId,
    email: &str,
    password: &PasswordKeys,
) -> Result<MemberKeys, CryptoError> {
    let member = UnitKeyPair::generate(password.suite())?;
    Ok(MemberKeys {
        wrapped_member_key: member
            .secret
            .wrap_as_member(password, &email.trim().to_lowercase())?,
        member_public_key: member.public,
        unit_key_sealed: seal_to_member(unit_key, unit, email, &member.public)?,
    })
}

fn seal_to_member(
    unit_key: &UnitSecretKey,
    unit: &UnitId,
    email: &str,
    member: &UnitPublicKey,
) -> Result<Vec<u8>, CryptoError> {
    unit_key.seal_to(member, &ctx(&member_context(unit, email)))
}

/// The unit key a member's password opens (current generation only; see
/// `with_history`). An account from before member keys holds the unit key
/// wrapped directly under the password; the caller upgrades it.
pub fn open_member(
    staff: &StaffRow,
    password: &PasswordKeys,
) -> Result<UnitSecretKey, CryptoError> {
    if !staff.wrapped_unit_key.is_member_key() {
        return staff
            .wrapped_unit_key
            .unwrap_with_password(password, staff.unit.as_str());
    }
    let member = staff
        .wrapped_unit_key
        .unwrap_as_member(password, &staff.email)?;
    // The key a rotation seals to must be this member's: a public key
    // swapped in the database would hand the next unit key to its writer.
    if staff.member_public_key != Some(member.public()) {
        return Err(CryptoError::Open);
    }
    let sealed = staff.unit_key_sealed.as_deref().ok_or(CryptoError::Open)?;
    UnitSecretKey::open_sealed(
        sealed,
        &ctx(&member_context(&staff.unit, &staff.email)),
        &member,
    )
}

/// `current` with every retired key of `unit` attached, so material
/// sealed before a rotation opens too.
pub async fn with_history(
    store: &Store,
    unit: &UnitId,
    current: UnitSecretKey,
) -> Result<UnitSecretKey, ProvisionError> {
    let mut ring = current;
    for retired in store.retired_keys(unit).await? {
        // A row that does not open to its public key is skipped, not fatal:
        // one junk row (anyone can write one) must not lock a unit out.
        // Retired keys only open old material; they vouch for nothing.
        let old = UnitSecretKey::open_sealed(
            &retired.sealed_to_successor,
            &ctx(&retired_key_context(unit, retired.generation)),
            &ring,
        );
        match old {
            Ok(old) if old.public() == retired.public_key => ring = ring.with_retired(old),
            _ => tracing::warn!(
                unit = %unit,
                generation = retired.generation,
                "a retired key row does not open to its public key; skipped"
            ),
        }
    }
    Ok(ring)
}

/// The key of `target`, reached from `holder`'s key down the escrow chain
/// (`target` itself, or any unit below `holder`); with its history. Fails
/// with `NotFound` when `target` is not `holder` or below it.
pub async fn key_below(
    store: &Store,
    holder: &UnitId,
    holder_key: &UnitSecretKey,
    target: &UnitId,
) -> Result<UnitSecretKey, ProvisionError> {
    let chain: Vec<UnitRow> = store.unit_with_ancestors(target).await?;
    let at = chain
        .iter()
        .position(|u| &u.id == holder)
        .ok_or(StoreError::NotFound("unit in your jurisdiction"))?;
    let mut key = holder_key.clone();
    for child in chain.iter().take(at).rev() {
        let escrow = child
            .escrow_sealed_key
            .as_deref()
            .ok_or(ProvisionError::NoEscrow(child.id.clone()))?;
        let current = UnitSecretKey::open_sealed(
            escrow,
            &ctx(&escrow_context(&child.id, child.key_generation)),
            &key,
        )?;
        if current.public() != child.public_key {
            return Err(ProvisionError::Crypto(CryptoError::Open));
        }
        key = with_history(store, &child.id, current).await?;
    }
    Ok(key)
}

/// The key of `target` from a recovery key: `target`'s own, or that of any
/// unit above it (down the escrow chain from there).
pub async fn key_from_recovery(
    store: &Store,
    target: &UnitId,
    recovery: &RecoveryKey,
) -> Result<UnitSecretKey, ProvisionError> {
    for unit in store.unit_with_ancestors(target).await? {
        if !unit.has_recovery_key() {
            continue;
        }
        if let Ok(current) = unit
            .recovery_wrapped_key
            .unwrap_with_recovery(recovery, unit.id.as_str())
        {
            let key = with_history(store, &unit.id, current).await?;
            return key_below(store, &unit.id, &key, target).await;
        }
    }
    Err(ProvisionError::Crypto(CryptoError::Open))
}

/// The parent a unit's key is about to be sealed to, if it stands where a
/// parent of that unit must (one level up): a row re-parented under a
/// unit of the wrong level is refused, not handed the key.
pub(crate) async fn parent_of(
    store: &Store,
    unit: &UnitRow,
    parent: &UnitId,
) -> Result<UnitRow, ProvisionError> {
    let row = store
        .unit(parent)
        .await?
        .ok_or(StoreError::NotFound("parent unit"))?;
    if Some(row.level) != unit.level.parent_level() {
        return Err(ProvisionError::Store(StoreError::Corrupt(format!(
            "unit {}: its parent {} is not one level up",
            unit.id, row.id
        ))));
    }
    Ok(row)
}

/// What a rotation leaves to show: the new recovery key (when the unit
/// keeps one) and how many members kept access.
#[derive(Debug)]
pub struct Rotated {
    pub generation: i32,
    pub recovery: Option<RecoveryKey>,
    pub members: usize,
    /// Members who lost the unit key (disabled, or never signed in since
    /// member keys came): they need a password reset to get the new one.
    pub left_out: usize,
    /// Staff rows whose tag was carried over to the new key; `None` when
    /// that pass failed part way (logged).
    pub retagged: Option<usize>,
}

/// The new key of `unit` sealed to each enabled member who holds the
/// current one (a member left out by an earlier rotation stays out until
/// an admin resets them); and how many members are left out.
async fn seal_to_members(
    store: &Store,
    unit: &UnitId,
    fresh: &UnitSecretKey,
) -> Result<(Vec<RotatedMember>, usize), ProvisionError> {
    let mut members = Vec::new();
    let mut left_out = 0;
    for member in store.staff_of_unit(unit).await? {
        match (
            &member.member_public_key,
            &member.unit_key_sealed,
            member.disabled,
        ) {
            (Some(public), Some(_), false) => members.push(RotatedMember {
                id: member.id,
                public_key: *public,
                sealed: seal_to_member(fresh, unit, &member.email, public)?,
            }),
            _ => left_out += 1,
        }
    }
    Ok((members, left_out))
}

/// Each child unit's current key sealed again, to `unit`'s new key.
async fn reseal_children(
    store: &Store,
    unit: &UnitId,
    key: &UnitSecretKey,
    fresh: &UnitPublicKey,
) -> Result<Vec<(UnitId, i32, Vec<u8>)>, ProvisionError> {
    let mut children = Vec::new();
    for child in store.units().await? {
        if child.parent.as_ref() != Some(unit) {
            continue;
        }
        let child_key = key_below(store, unit, key, &child.id).await?;
        children.push((
            child.id.clone(),
            child.key_generation,
            child_key.current_only().seal_to(
                fresh,
                &ctx(&escrow_context(&child.id, child.key_generation)),
            )?,
        ));
    }
    Ok(children)
}

/// Rotates `unit`'s key: a new pair that new material is sealed to; the
/// old key kept sealed to the new one; the new key sealed to each enabled
/// member, to the parent (escrow), and under a fresh recovery key if the
/// unit had one; children's escrows re-sealed to it. `key` is the unit's
/// current key with its history (from a session or a recovery key).
pub async fn rotate(
    store: &Store,
    unit: &UnitId,
    key: &UnitSecretKey,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Rotated, ProvisionError> {
    let row = store
        .unit(unit)
        .await?
        .ok_or(StoreError::NotFound("unit"))?;
    if key.public() != row.public_key {
        return Err(ProvisionError::Crypto(CryptoError::Open));
    }
    let fresh = UnitKeyPair::generate(store.suite().await?)?;
    let generation = row.key_generation.saturating_add(1);
    let retired_sealed = key.seal_to(
        &fresh.public,
        &ctx(&retired_key_context(unit, row.key_generation)),
    )?;
    let recovery = if row.has_recovery_key() {
        Some(RecoveryKey::generate()?)
    } else {
        None
    };
    let recovery_wrapped_key = match &recovery {
        Some(rk) => fresh.secret.wrap_with_recovery(rk, unit.as_str())?,
        None => WrappedUnitKey::from_bytes(Vec::new()),
    };
    let escrow_sealed_key = match &row.parent {
        Some(parent) => {
            let parent = parent_of(store, &row, parent).await?;
            Some(
                fresh
                    .secret
                    .seal_to(&parent.public_key, &ctx(&escrow_context(unit, generation)))?,
            )
        }
        None => None,
    };
    let (members, left_out) = seal_to_members(store, unit, &fresh.secret).await?;
    let children = reseal_children(store, unit, key, &fresh.public).await?;
    let kept = members.len();
    let generation = store
        .rotate_unit_key(
            Rotation {
                unit: unit.clone(),
                retiring: row.key_generation,
                retired_public: row.public_key,
                retired_sealed,
                public_key: fresh.public,
                recovery_wrapped_key,
                escrow_sealed_key,
                members,
                children,
            },
            actor,
            now,
        )
        .await?;
    // Readers trust only the current key's tags: what the old key tagged
    // is tagged again with the new one. A crash before this ends leaves
    // rows shown as unauthenticated (and their members' second factor
    // refused until an admin resets it). The rotation itself stands: its
    // new recovery key must still reach the operator.
    let retagged = match crate::retag::carry_tags(store, unit, key, &fresh.secret).await {
        Ok(done) => Some(done.tagged()),
        Err(e) => {
            tracing::error!(unit = %unit, error = %e, "a key rotation could not carry every staff tag over to the new key");
            None
        }
    };
    Ok(Rotated {
        generation,
        recovery,
        members: kept,
        left_out,
        retagged,
    })
}
