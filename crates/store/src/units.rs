//! The unit tree (province → city → county) and unit keys.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryOrder, QuerySelect,
};
use sunlight_core::crypto::{UnitPublicKey, WrappedUnitKey};
use sunlight_core::{Level, UnitId};

use crate::audit::{AuditRecord, append};
use crate::entity::unit;
use crate::error::Clash;
use crate::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct NewUnit {
    pub id: UnitId,
    pub name: String,
    pub name_en: Option<String>,
    pub level: Level,
    pub parent: Option<UnitId>,
    pub public_key: UnitPublicKey,
    /// Empty when the unit has no recovery key of its own.
    pub recovery_wrapped_key: WrappedUnitKey,
    /// The private key sealed to the parent's public key (`None` for a root).
    pub escrow_sealed_key: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct UnitRow {
    pub id: UnitId,
    pub name: String,
    pub name_en: Option<String>,
    pub level: Level,
    pub parent: Option<UnitId>,
    pub public_key: UnitPublicKey,
    /// Empty when the unit has no recovery key of its own.
    pub recovery_wrapped_key: WrappedUnitKey,
    pub escrow_sealed_key: Option<Vec<u8>>,
    pub key_generation: i32,
}

impl UnitRow {
    /// The name for a page in `english` or Chinese: the English name when
    /// one was given, else the Chinese one.
    pub fn display_name(&self, english: bool) -> &str {
        match (&self.name_en, english) {
            (Some(en), true) if !en.trim().is_empty() => en,
            _ => &self.name,
        }
    }

    pub fn has_recovery_key(&self) -> bool {
        !self.recovery_wrapped_key.as_bytes().is_empty()
    }
}

impl TryFrom<unit::Model> for UnitRow {
    type Error = StoreError;
    fn try_from(m: unit::Model) -> Result<Self, StoreError> {
        let bad = |what: &str| StoreError::Corrupt(format!("unit {}: bad {what}", m.id));
        Ok(Self {
            id: UnitId::parse(&m.id).map_err(|_| bad("id"))?,
            level: m.level.parse().map_err(|_| bad("level"))?,
            parent: m
                .parent_id
                .as_deref()
                .map(UnitId::parse)
                .transpose()
                .map_err(|_| bad("parent"))?,
            public_key: UnitPublicKey::from_slice(&m.public_key).map_err(|_| bad("public key"))?,
            recovery_wrapped_key: WrappedUnitKey::from_bytes(m.recovery_wrapped_key),
            escrow_sealed_key: m.escrow_sealed_key,
            key_generation: m.key_generation,
            name_en: m.name_en,
            name: m.name,
        })
    }
}

/// The sealing context of a unit's private key escrowed to its parent:
/// bound to the child unit and its key generation, so an escrow cannot be
/// moved to another unit's row or replayed after a rotation.
pub fn escrow_context(unit: &UnitId, generation: i32) -> Vec<u8> {
    format!("unit-escrow:{unit}:{generation}").into_bytes()
}

/// The sealing context of a retired key sealed to its successor.
pub fn retired_key_context(unit: &UnitId, generation: i32) -> Vec<u8> {
    format!("unit-key-retired:{unit}:{generation}").into_bytes()
}

/// Inserts `new` in `txn`: its parent must exist (in the database or
/// earlier in the same transaction) and be exactly one level up. Audited.
pub(crate) async fn insert_unit_in(
    txn: &DatabaseTransaction,
    new: &NewUnit,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if let Some(parent) = &new.parent {
        let p = unit::Entity::find_by_id(parent.as_str().to_owned())
            .one(txn)
            .await?
            .ok_or(StoreError::NotFound("parent unit"))?;
        if p.level.parse::<Level>().ok() != new.level.parent_level() {
            return Err(StoreError::Invalid(
                "the parent unit must be exactly one level up",
            ));
        }
        if new.escrow_sealed_key.is_none() {
            return Err(StoreError::Invalid(
                "a unit with a parent needs its key escrowed to the parent",
            ));
        }
    } else if new.level != Level::Province {
        return Err(StoreError::Invalid("only a province unit has no parent"));
    }
    let model = unit::ActiveModel {
        id: Set(new.id.as_str().to_owned()),
        name: Set(new.name.clone()),
        level: Set(new.level.as_str().to_owned()),
        parent_id: Set(new.parent.as_ref().map(|p| p.as_str().to_owned())),
        public_key: Set(new.public_key.as_bytes().to_vec()),
        recovery_wrapped_key: Set(new.recovery_wrapped_key.as_bytes().to_vec()),
        created_at: Set(now),
        name_en: Set(new.name_en.clone()),
        escrow_sealed_key: Set(new.escrow_sealed_key.clone()),
        key_generation: Set(1),
    };
    unit::Entity::insert(model)
        .exec_without_returning(txn)
        .await
        .map_err(|e| StoreError::unique(e, Clash::Exists("unit")))?;
    append(
        txn,
        AuditRecord {
            actor: actor.to_owned(),
            action: "unit.add".into(),
            unit: new.id.to_string(),
            ..Default::default()
        },
        now,
    )
    .await?;
    Ok(())
}

/// Where a unit import stopped: the position (0-based) of the unit that
/// failed in the list given, and why.
#[derive(Debug, thiserror::Error)]
#[error("unit {index}: {error}")]
pub struct ImportFailure {
    pub index: usize,
    #[source]
    pub error: StoreError,
}

/// A unit and every unit above it (their ids), read in `txn`: the units
/// whose keys a case of `unit` is sealed to.
pub(crate) async fn unit_chain_in(
    txn: &DatabaseTransaction,
    unit: &str,
) -> Result<Vec<String>, StoreError> {
    let mut chain = Vec::new();
    let mut next = Some(unit.to_owned());
    while let Some(current) = next {
        let row = crate::entity::unit::Entity::find_by_id(current.clone())
            .one(txn)
            .await?
            .ok_or(StoreError::NotFound("unit"))?;
        next = row.parent_id;
        chain.push(current);
        if chain.len() > 8 {
            return Err(StoreError::Corrupt("unit tree has a cycle".into()));
        }
    }
    Ok(chain)
}

impl Store {
    /// Creates a unit; its parent must exist and be one level up.
    pub async fn add_unit(
        &self,
        new: NewUnit,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<UnitRow, StoreError> {
        let txn = self.write_txn().await?;
        insert_unit_in(&txn, &new, actor, now).await?;
        txn.commit().await?;
        Ok(UnitRow {
            id: new.id,
            name: new.name,
            name_en: new.name_en,
            level: new.level,
            parent: new.parent,
            public_key: new.public_key,
            recovery_wrapped_key: new.recovery_wrapped_key,
            escrow_sealed_key: new.escrow_sealed_key,
            key_generation: 1,
        })
    }

    /// Creates every unit of `units` (parents before children) in one
    /// transaction: all of them, or none and the first that failed.
    pub async fn import_units(
        &self,
        units: &[NewUnit],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ImportFailure> {
        let at = |index: usize| move |error: StoreError| ImportFailure { index, error };
        let txn = self.write_txn().await.map_err(at(0))?;
        for (index, new) in units.iter().enumerate() {
            insert_unit_in(&txn, new, actor, now)
                .await
                .map_err(at(index))?;
        }
        txn.commit()
            .await
            .map_err(|e| at(units.len().saturating_sub(1))(e.into()))
    }

    /// The whole tree, parents before children.
    pub async fn units(&self) -> Result<Vec<UnitRow>, StoreError> {
        let rows = unit::Entity::find()
            .order_by_asc(unit::Column::Id)
            .all(self.conn())
            .await?;
        let mut units: Vec<UnitRow> = rows
            .into_iter()
            .map(UnitRow::try_from)
            .collect::<Result<_, _>>()?;
        units.sort_by_key(|u| (u.level, u.id.clone()));
        Ok(units)
    }

    pub async fn unit(&self, id: &UnitId) -> Result<Option<UnitRow>, StoreError> {
        unit::Entity::find_by_id(id.as_str().to_owned())
            .one(self.conn())
            .await?
            .map(UnitRow::try_from)
            .transpose()
    }

    /// The unit and every unit above it, nearest first. One query: the
    /// tree is small, and this runs for every staff action.
    pub async fn unit_with_ancestors(&self, id: &UnitId) -> Result<Vec<UnitRow>, StoreError> {
        chain_of(self.units().await?, id)
    }

    /// Every unit with its public part only — id, names, level, parent,
    /// public key, key generation; `recovery_wrapped_key` empty and no
    /// escrow. What the public side needs: the wrapped and escrowed private
    /// keys are never read, and intake's database role may not read them
    /// (deploy/postgres/intake-role.sql).
    pub async fn public_units(&self) -> Result<Vec<UnitRow>, StoreError> {
        public_units_on(self.reader()).await
    }

    /// [`Self::public_units`] as read at most [`RECENT_UNITS`] ago, for
    /// addressing a new report (the keys `sealed/prepare` hands a browser,
    /// the keys a filing is checked against or sealed to): every filing
    /// needs them, and each read is every unit. A stale answer cannot
    /// widen who reads a report: the filing's transaction checks the key
    /// generation of every unit it was sealed to ([`crate::SealedTo`]) and
    /// refuses it if one moved, and that refusal drops this copy
    /// (`Store::keys_still_current`), so the next call reads the units
    /// again. A unit's
    /// place in the tree never changes once it is created, so only its key
    /// can be stale.
    pub async fn public_units_recent(&self) -> Result<Vec<UnitRow>, StoreError> {
        let read = match self.recent_units.fresh() {
            Ok(units) => return Ok(units),
            Err(read) => read,
        };
        let units = self.public_units().await?;
        self.recent_units.keep(read, units.clone());
        Ok(units)
    }

    /// [`Self::public_unit_with_ancestors`] from [`Self::public_units_recent`]
    /// ([`Self::public_units_covering`]: a unit just created takes reports
    /// at once).
    pub async fn public_unit_with_ancestors_recent(
        &self,
        id: &UnitId,
    ) -> Result<Vec<UnitRow>, StoreError> {
        chain_of(self.public_units_covering(&[id]).await?, id)
    }

    /// [`Self::public_units_recent`], or a fresh read if the copy lacks one
    /// of `ids`: a unit created after the copy was read is found at once.
    /// The fresh read becomes the copy. An unknown id (a flood of made-up
    /// slugs) costs one read each, as every filing did before the copy.
    pub async fn public_units_covering(&self, ids: &[&UnitId]) -> Result<Vec<UnitRow>, StoreError> {
        let units = self.public_units_recent().await?;
        if ids.iter().all(|id| units.iter().any(|u| &u.id == *id)) {
            return Ok(units);
        }
        let read = self.recent_units.begin();
        let units = self.public_units().await?;
        self.recent_units.keep(read, units.clone());
        Ok(units)
    }

    /// Drops the copy [`Self::public_units_recent`] keeps: the next call
    /// reads the units again.
    pub fn forget_recent_units(&self) {
        self.recent_units.forget();
    }

    /// One unit's public part ([`Self::public_units`]).
    pub async fn public_unit(&self, id: &UnitId) -> Result<Option<UnitRow>, StoreError> {
        Ok(self.public_units().await?.into_iter().find(|u| &u.id == id))
    }

    /// [`Self::unit_with_ancestors`] with public parts only.
    pub async fn public_unit_with_ancestors(
        &self,
        id: &UnitId,
    ) -> Result<Vec<UnitRow>, StoreError> {
        chain_of(self.public_units().await?, id)
    }
}

/// How old a copy of the public units [`Store::public_units_recent`] may
/// hand out: a unit added or a key rotated reaches new browsers within it.
pub const RECENT_UNITS: std::time::Duration = std::time::Duration::from_secs(1);

/// The copy behind [`Store::public_units_recent`], when its read began,
/// and how many times it was forgotten (so that a read begun before a
/// forget does not put back what the forget removed).
#[derive(Debug, Default)]
pub(crate) struct RecentUnits(std::sync::Mutex<Recent>);

#[derive(Debug, Default)]
struct Recent {
    forgotten: u64,
    copy: Option<(std::time::Instant, Vec<UnitRow>)>,
}

impl RecentUnits {
    fn slot(&self) -> std::sync::MutexGuard<'_, Recent> {
        // Only ever replaced whole, so a poisoned lock still holds a
        // consistent copy (or none).
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The copy if fresh; otherwise what [`Self::keep`] needs to know of
    /// the read about to begin.
    fn fresh(&self) -> Result<Vec<UnitRow>, (u64, std::time::Instant)> {
        let slot = self.slot();
        match &slot.copy {
            Some((read_at, units)) if read_at.elapsed() < RECENT_UNITS => Ok(units.clone()),
            _ => Err((slot.forgotten, std::time::Instant::now())),
        }
    }

    /// What [`Self::keep`] needs to know of a read about to begin, whether
    /// or not the copy is fresh.
    fn begin(&self) -> (u64, std::time::Instant) {
        (self.slot().forgotten, std::time::Instant::now())
    }

    /// Keeps `units`, read from `began`, unless forgotten since or a read
    /// begun later was kept already (a slow read must not bring back keys
    /// a newer one replaced).
    fn keep(&self, (forgotten, began): (u64, std::time::Instant), units: Vec<UnitRow>) {
        let mut slot = self.slot();
        let newer_kept = slot.copy.as_ref().is_some_and(|(at, _)| *at > began);
        if slot.forgotten == forgotten && !newer_kept {
            slot.copy = Some((began, units));
        }
    }

    fn forget(&self) {
        let mut slot = self.slot();
        slot.forgotten = slot.forgotten.wrapping_add(1);
        slot.copy = None;
    }
}

/// `id` and every unit above it among `units` (as [`Store::public_units`]
/// or a [`crate::ReporterView`] holds them), nearest first.
pub fn unit_chain(units: &[UnitRow], id: &UnitId) -> Result<Vec<UnitRow>, StoreError> {
    chain_of(units.to_vec(), id)
}

/// [`Store::public_units`] on a given connection or transaction.
pub(crate) async fn public_units_on(db: &impl ConnectionTrait) -> Result<Vec<UnitRow>, StoreError> {
    let rows: Vec<PublicColumns> = unit::Entity::find()
        .select_only()
        .columns([
            unit::Column::Id,
            unit::Column::Name,
            unit::Column::NameEn,
            unit::Column::Level,
            unit::Column::ParentId,
            unit::Column::PublicKey,
            unit::Column::KeyGeneration,
        ])
        .order_by_asc(unit::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut units: Vec<UnitRow> = rows
        .into_iter()
        .map(
            |(id, name, name_en, level, parent_id, public_key, key_generation)| {
                UnitRow::try_from(unit::Model {
                    id,
                    name,
                    level,
                    parent_id,
                    public_key,
                    recovery_wrapped_key: Vec::new(),
                    created_at: DateTime::<Utc>::UNIX_EPOCH,
                    name_en,
                    escrow_sealed_key: None,
                    key_generation,
                })
            },
        )
        .collect::<Result<_, _>>()?;
    units.sort_by_key(|u| (u.level, u.id.clone()));
    Ok(units)
}

/// The public columns of `units`, in the order [`Store::public_units`]
/// selects them.
type PublicColumns = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Vec<u8>,
    i32,
);

/// `id` and every unit above it in `units`, nearest first.
fn chain_of(units: Vec<UnitRow>, id: &UnitId) -> Result<Vec<UnitRow>, StoreError> {
    let mut all: std::collections::HashMap<UnitId, UnitRow> =
        units.into_iter().map(|u| (u.id.clone(), u)).collect();
    let mut chain = Vec::new();
    let mut next = Some(id.clone());
    while let Some(current) = next {
        let row = all.remove(&current).ok_or(StoreError::NotFound("unit"))?;
        next = row.parent.clone();
        chain.push(row);
        if chain.len() > 8 {
            return Err(StoreError::Corrupt("unit tree has a cycle".into()));
        }
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::RecentUnits;

    #[test]
    fn a_read_begun_before_a_forget_does_not_put_the_old_units_back() {
        let recent = RecentUnits::default();
        let read = recent.fresh().unwrap_err();
        recent.forget();
        recent.keep(read, Vec::new());
        assert!(recent.fresh().is_err(), "the forgotten read was kept");
        let read = recent.fresh().unwrap_err();
        recent.keep(read, Vec::new());
        assert!(recent.fresh().is_ok());
    }
}
