//! Unit keys over time: escrow to the parent, retired keys, rotation.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sunlight_core::UnitId;
use sunlight_core::crypto::{UnitPublicKey, WrappedUnitKey};
use uuid::Uuid;

use crate::audit::{AuditRecord, append};
use crate::entity::{staff, unit, unit_key};
use crate::error::Clash;
use crate::{Store, StoreError};

/// The unit keys a new report or reporter message was sealed to: each
/// unit with the key generation read when it was sealed. Its transaction
/// refuses it (`Clash::KeyChanged`) if any of them rotated since, so that
/// nothing arriving after a rotation is stored sealed to the retired key
/// (which a member removed by that rotation may still hold). Empty: no
/// unit key to check (material entered by tools and tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealedTo(pub Vec<(UnitId, i32)>);

impl SealedTo {
    /// The keys of `units` as read.
    pub fn of<'a>(units: impl IntoIterator<Item = &'a crate::UnitRow>) -> Self {
        Self(
            units
                .into_iter()
                .map(|u| (u.id.clone(), u.key_generation))
                .collect(),
        )
    }
}

impl Store {
    /// Whether every unit named in `sealed` still has the key generation
    /// named, read in `txn`. Call it only after `txn` appended to the audit
    /// chain: on PostgreSQL that took the chain's lock, which a rotation
    /// takes too (its own audit entry) and holds until it commits — so
    /// either the rotation committed before this read, which sees its new
    /// generation, or it commits after this transaction does. (Not
    /// `FOR SHARE` on the unit rows: that needs UPDATE rights on `units`,
    /// which intake's role must not have.) SQLite's write transaction holds
    /// the whole file.
    ///
    /// A `false` also drops this process's copy of the units
    /// ([`Self::forget_recent_units`]), whoever called: what was sealed
    /// from the copy is sealed again from a fresh read, not refused again.
    pub(crate) async fn keys_still_current<'a>(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        sealed: impl IntoIterator<Item = &'a SealedTo> + Clone,
    ) -> Result<bool, StoreError> {
        let current = generations_current(txn, sealed).await?;
        if !current {
            self.forget_recent_units();
        }
        Ok(current)
    }

    /// [`Self::keys_still_current`] against generations the caller read in
    /// its transaction under the same conditions (a batch of filings reads
    /// them together with the log's and the chain's heads, `batch_heads`).
    pub(crate) fn keys_match<'a>(
        &self,
        sealed: impl IntoIterator<Item = &'a SealedTo>,
        current: &Generations,
    ) -> bool {
        let matched = generations_match(sealed, current);
        if !matched {
            self.forget_recent_units();
        }
        matched
    }
}

/// [`Store::keys_still_current`] without the copy.
async fn generations_current<'a>(
    txn: &sea_orm::DatabaseTransaction,
    sealed: impl IntoIterator<Item = &'a SealedTo> + Clone,
) -> Result<bool, StoreError> {
    let ids = units_named(sealed.clone());
    if ids.is_empty() {
        return Ok(true);
    }
    let current: Generations = unit::Entity::find()
        .select_only()
        .column(unit::Column::Id)
        .column(unit::Column::KeyGeneration)
        .filter(unit::Column::Id.is_in(ids))
        .into_tuple::<(String, i32)>()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    Ok(generations_match(sealed, &current))
}

/// Units' current key generations, by unit id.
pub(crate) type Generations = std::collections::HashMap<String, i32>;

/// The units `sealed` names, each once.
pub(crate) fn units_named<'a>(sealed: impl IntoIterator<Item = &'a SealedTo>) -> Vec<&'a str> {
    let mut ids: Vec<&str> = sealed
        .into_iter()
        .flat_map(|s| &s.0)
        .map(|(u, _)| u.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Whether every unit named in `sealed` has the generation named in
/// `current` (a unit missing from it has none, and does not match).
fn generations_match<'a>(
    sealed: impl IntoIterator<Item = &'a SealedTo>,
    current: &Generations,
) -> bool {
    sealed
        .into_iter()
        .flat_map(|s| &s.0)
        .all(|(u, g)| current.get(u.as_str()) == Some(g))
}

/// A retired key of a unit, sealed to the key that replaced it.
#[derive(Debug, Clone)]
pub struct RetiredKey {
    pub generation: i32,
    pub public_key: UnitPublicKey,
    pub sealed_to_successor: Vec<u8>,
}

/// Everything a key rotation writes, prepared by the caller who holds the
/// old key: applied in one transaction or not at all.
#[derive(Debug)]
pub struct Rotation {
    pub unit: UnitId,
    /// The generation being retired (a concurrent rotation makes this stale).
    pub retiring: i32,
    pub retired_public: UnitPublicKey,
    pub retired_sealed: Vec<u8>,
    pub public_key: UnitPublicKey,
    /// Empty when the unit keeps no recovery key of its own.
    pub recovery_wrapped_key: WrappedUnitKey,
    /// The new key sealed to the parent (`None` for a root).
    pub escrow_sealed_key: Option<Vec<u8>>,
    /// The new key sealed to each enabled member's key. Members not named
    /// here (disabled, never upgraded, or left out before) lose their
    /// sealed unit key.
    pub members: Vec<RotatedMember>,
    /// Each child unit's key (at the generation named) sealed again to the
    /// new key.
    pub children: Vec<(UnitId, i32, Vec<u8>)>,
}

/// A member who receives a rotated key: sealed to the member key the
/// caller read, which must still be theirs when the rotation is written.
#[derive(Debug)]
pub struct RotatedMember {
    pub id: Uuid,
    pub public_key: UnitPublicKey,
    pub sealed: Vec<u8>,
}

/// Whether `r` was prepared against the unit as it is now (locked in
/// `txn`): the same key generation, and exactly its enabled members who
/// hold the current key, each with the member key the caller sealed to.
async fn rotation_still_fits(
    txn: &sea_orm::DatabaseTransaction,
    r: &Rotation,
) -> Result<bool, StoreError> {
    let row = unit::Entity::find_by_id(r.unit.as_str().to_owned())
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(StoreError::NotFound("unit"))?;
    if row.key_generation != r.retiring {
        return Ok(false);
    }
    // Locked, so a disable, reset or password change waits for the
    // rotation (PostgreSQL; SQLite's write transaction holds the file).
    let mut holders: Vec<(Uuid, Vec<u8>)> = staff::Entity::find()
        .select_only()
        .column(staff::Column::Id)
        .column(staff::Column::MemberPublicKey)
        .filter(staff::Column::UnitId.eq(r.unit.as_str()))
        .filter(staff::Column::Disabled.eq(false))
        .filter(staff::Column::MemberPublicKey.is_not_null())
        .filter(staff::Column::UnitKeySealed.is_not_null())
        .lock_exclusive()
        .into_tuple::<(Uuid, Vec<u8>)>()
        .all(txn)
        .await?;
    let mut named: Vec<(Uuid, Vec<u8>)> = r
        .members
        .iter()
        .map(|m| (m.id, m.public_key.as_bytes().to_vec()))
        .collect();
    named.sort_unstable();
    holders.sort_unstable();
    Ok(named == holders)
}

/// Writes each child's escrow re-sealed to the new key; false when a
/// child rotated meanwhile (its escrow is of its new key, and stays).
async fn reseal_children(
    txn: &sea_orm::DatabaseTransaction,
    children: Vec<(UnitId, i32, Vec<u8>)>,
) -> Result<bool, StoreError> {
    for (child, generation, sealed) in children {
        let done = unit::Entity::update_many()
            .col_expr(unit::Column::EscrowSealedKey, Expr::value(Some(sealed)))
            .filter(unit::Column::Id.eq(child.as_str()))
            .filter(unit::Column::KeyGeneration.eq(generation))
            .exec(txn)
            .await?;
        if done.rows_affected != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Store {
    /// A unit's retired keys, newest first.
    pub async fn retired_keys(&self, unit: &UnitId) -> Result<Vec<RetiredKey>, StoreError> {
        unit_key::Entity::find()
            .filter(unit_key::Column::UnitId.eq(unit.as_str()))
            .order_by_desc(unit_key::Column::Generation)
            .all(self.conn())
            .await?
            .into_iter()
            .map(|m| {
                Ok(RetiredKey {
                    generation: m.generation,
                    public_key: UnitPublicKey::from_slice(&m.public_key).map_err(|_| {
                        StoreError::Corrupt(format!("retired key of {}: bad public key", m.unit_id))
                    })?,
                    sealed_to_successor: m.sealed_to_successor,
                })
            })
            .collect()
    }

    /// The ids of a unit's members with a member key, enabled or not.
    pub async fn unit_member_keys(
        &self,
        unit: &UnitId,
    ) -> Result<Vec<(Uuid, bool, Option<UnitPublicKey>)>, StoreError> {
        staff::Entity::find()
            .select_only()
            .column(staff::Column::Id)
            .column(staff::Column::Disabled)
            .column(staff::Column::MemberPublicKey)
            .filter(staff::Column::UnitId.eq(unit.as_str()))
            .into_tuple::<(Uuid, bool, Option<Vec<u8>>)>()
            .all(self.conn())
            .await?
            .into_iter()
            .map(|(id, disabled, key)| {
                let key = key
                    .as_deref()
                    .map(UnitPublicKey::from_slice)
                    .transpose()
                    .map_err(|_| StoreError::Corrupt(format!("staff {id}: bad member key")))?;
                Ok((id, disabled, key))
            })
            .collect()
    }

    /// Applies a key rotation: the new public key (what new material is
    /// sealed to), the retired key kept sealed to it, the new recovery
    /// wrap and escrow, each enabled member's sealed copy replaced and
    /// every other member's removed, children's escrows re-sealed; every
    /// member's sessions end. Refuses if the unit rotated meanwhile or its
    /// members changed since the caller read them. Audited.
    pub async fn rotate_unit_key(
        &self,
        r: Rotation,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<i32, StoreError> {
        let txn = self.write_txn().await?;
        if !rotation_still_fits(&txn, &r).await? {
            txn.rollback().await?;
            return Err(StoreError::Conflict(Clash::KeyChanged));
        }
        let generation = r.retiring.saturating_add(1);
        unit_key::Entity::insert(unit_key::ActiveModel {
            unit_id: Set(r.unit.as_str().to_owned()),
            generation: Set(r.retiring),
            public_key: Set(r.retired_public.as_bytes().to_vec()),
            sealed_to_successor: Set(r.retired_sealed),
            retired_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        unit::Entity::update(unit::ActiveModel {
            id: Set(r.unit.as_str().to_owned()),
            public_key: Set(r.public_key.as_bytes().to_vec()),
            recovery_wrapped_key: Set(r.recovery_wrapped_key.as_bytes().to_vec()),
            escrow_sealed_key: Set(r.escrow_sealed_key),
            key_generation: Set(generation),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        // Everyone left out loses the unit key they held; every session ends.
        staff::Entity::update_many()
            .col_expr(
                staff::Column::UnitKeySealed,
                Expr::value(Option::<Vec<u8>>::None),
            )
            .col_expr(
                staff::Column::SessionEpoch,
                sea_orm::sea_query::ExprTrait::add(Expr::col(staff::Column::SessionEpoch), 1),
            )
            .filter(staff::Column::UnitId.eq(r.unit.as_str()))
            .exec(&txn)
            .await?;
        let kept = r.members.len();
        for m in r.members {
            staff::Entity::update(staff::ActiveModel {
                id: Set(m.id),
                unit_key_sealed: Set(Some(m.sealed)),
                ..Default::default()
            })
            .exec(&txn)
            .await?;
        }
        if !reseal_children(&txn, r.children).await? {
            txn.rollback().await?;
            return Err(StoreError::Conflict(Clash::KeyChanged));
        }
        append(
            &txn,
            AuditRecord {
                actor: actor.to_owned(),
                action: "unit.rotate_key".into(),
                unit: r.unit.to_string(),
                detail: format!("generation={generation} members={kept}"),
                ..Default::default()
            },
            now,
        )
        .await?;
        txn.commit().await?;
        // A report this process addresses next is sealed to the new key at
        // once, not refused for the retired one the copy still names.
        self.forget_recent_units();
        Ok(generation)
    }
}
