//! Table `transitions`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "transitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub from_stage: String,
    pub to_stage: String,
    pub action: String,
    pub actor_id: Option<Uuid>,
    /// Free text (decision, reason, question) sealed like the report.
    pub sealed_note: Option<Vec<u8>>,
    /// Whether the reporter sees this step in their history.
    pub reporter_visible: bool,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
