//! Table `attachments`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub message_id: Option<Uuid>,
    /// Sealed file name and type.
    pub sealed_meta: Vec<u8>,
    /// Stream header: recipient slots and stream nonce.
    pub stream_header: Vec<u8>,
    pub chunk_count: i32,
    pub sealed_bytes: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
