//! Table `messages`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    /// `staff` or `reporter`.
    pub author: String,
    pub staff_id: Option<Uuid>,
    pub sealed_body: Vec<u8>,
    pub created_at: DateTimeUtc,
    /// A reporter message whose notice mail has not been queued yet.
    pub notice_pending: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
