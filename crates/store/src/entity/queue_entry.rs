//! Table `queue_entries`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "queue_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    /// Equal to `case_id` while the entry is open and NULL once closed; its
    /// unique index allows one open entry per case on both databases.
    #[sea_orm(unique)]
    pub open_case_id: Option<Uuid>,
    pub stage: String,
    pub unit_id: String,
    pub real_name: bool,
    pub opened_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    pub owner_id: Option<Uuid>,
    pub claimed_at: Option<DateTimeUtc>,
    pub paused_until: Option<DateTimeUtc>,
    pub extended: bool,
    /// When the reporter was asked; with `paused_until`, the pause.
    pub paused_at: Option<DateTimeUtc>,
    /// When the sweeper must look at this entry next (NULL: never again
    /// unless the stage changes).
    pub next_sweep_at: Option<DateTimeUtc>,
    /// When the sweeper found the deadline passed (督办).
    pub overdue_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
