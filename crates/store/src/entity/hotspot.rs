//! Table `hotspots`: units put under focused management (重点管理), when and
//! why; at most one open flag per unit (a partial unique index).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "hotspots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub unit_id: String,
    /// `threshold` or `rise`.
    pub reason: String,
    /// Reports in the window that raised the flag.
    pub window_count: i64,
    /// Mean of the earlier windows.
    pub baseline: f64,
    pub raised_at: DateTimeUtc,
    pub cleared_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
