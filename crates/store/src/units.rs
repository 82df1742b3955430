//! The unit tree (province → city → county) and unit keys.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait, QueryOrder};
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
    pub level: Level,
    pub parent: Option<UnitId>,
    pub public_key: UnitPublicKey,
    pub recovery_wrapped_key: WrappedUnitKey,
}

#[derive(Debug, Clone)]
pub struct UnitRow {
    pub id: UnitId,
    pub name: String,
    pub level: Level,
    pub parent: Option<UnitId>,
    pub public_key: UnitPublicKey,
    pub recovery_wrapped_key: WrappedUnitKey,
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
            name: m.name,
        })
    }
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
        if let Some(parent) = &new.parent {
            let p = unit::Entity::find_by_id(parent.as_str().to_owned())
                .one(&txn)
                .await?
                .ok_or(StoreError::NotFound("parent unit"))?;
            let expected = match new.level {
                Level::Province => None,
                Level::City => Some(Level::Province),
                Level::County => Some(Level::City),
            };
            if p.level.parse::<Level>().ok() != expected {
                return Err(StoreError::Invalid(
                    "the parent unit must be exactly one level up",
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
        };
        unit::Entity::insert(model)
            .exec_without_returning(&txn)
            .await
            .map_err(|e| StoreError::unique(e, Clash::Exists("unit")))?;
        append(
            &txn,
            AuditRecord {
                actor: actor.to_owned(),
                action: "unit.add".into(),
                unit: new.id.to_string(),
                ..Default::default()
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(UnitRow {
            id: new.id,
            name: new.name,
            level: new.level,
            parent: new.parent,
            public_key: new.public_key,
            recovery_wrapped_key: new.recovery_wrapped_key,
        })
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
        let mut all: std::collections::HashMap<UnitId, UnitRow> = self
            .units()
            .await?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
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
}
