//! Table `units`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "units")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub level: String,
    pub parent_id: Option<String>,
    pub public_key: Vec<u8>,
    /// The unit private key wrapped under the recovery key; empty when the
    /// unit has none (recovered through its parent's escrow instead).
    pub recovery_wrapped_key: Vec<u8>,
    pub created_at: DateTimeUtc,
    /// The name shown on English pages, when one was given.
    pub name_en: Option<String>,
    /// The unit's current private key sealed to its parent's public key.
    pub escrow_sealed_key: Option<Vec<u8>>,
    /// Counts key rotations; the current key's generation.
    pub key_generation: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
