//! Table `log_leaves`: the transparency log's leaves. A filing's row is
//! written in the filing's transaction with `idx` NULL; the publisher
//! gives the pending rows their places in the tree. Padding rows carry
//! only a random hash.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "log_leaves")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub leaf_hash: Vec<u8>,
    pub idx: Option<i64>,
    pub day: String,
    pub envelopes: Option<Vec<u8>>,
    pub nonce: Option<Vec<u8>>,
    pub case_id: Option<Uuid>,
    pub message_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
