//! Table `tasks`: work beside a case's stages (受理告知, 复查) with a deadline.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub kind: String,
    /// The unit whose people must do it.
    pub unit_id: String,
    /// `case_id/kind` while open; NULL once done (unique).
    #[sea_orm(unique)]
    pub open_key: Option<String>,
    pub opened_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    pub next_sweep_at: Option<DateTimeUtc>,
    pub overdue_at: Option<DateTimeUtc>,
    pub done_at: Option<DateTimeUtc>,
    pub done_by: Option<Uuid>,
    /// `acknowledged`, `upheld`, `reopened`.
    pub done_how: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
