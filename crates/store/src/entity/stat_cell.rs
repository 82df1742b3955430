//! Table `stat_cells`: events counted per local month, unit, category,
//! channel and measure; refreshed from the plain metadata, never from
//! sealed content.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stat_cells")]
pub struct Model {
    /// `YYYY-MM`, in the deployment's time zone.
    #[sea_orm(primary_key, auto_increment = false)]
    pub month: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub unit_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub category: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub channel: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub measure: String,
    pub n: i64,
    /// Of `n`, how many met their deadline (stage completions only).
    pub on_time: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
