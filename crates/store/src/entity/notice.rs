//! Table `notices`: the sweeper's ledger. One row per queue entry (or hold)
//! and notice kind; the primary key is what makes each reminder and
//! escalation happen exactly once, whatever the number of sweepers.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notices")]
pub struct Model {
    /// The queue entry, or the hold for hold notices.
    #[sea_orm(primary_key, auto_increment = false)]
    pub entry_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    pub case_id: Uuid,
    /// The stage, or `hold`.
    pub stage: String,
    pub unit_id: String,
    /// When the notice fell due.
    pub scheduled_at: DateTimeUtc,
    /// When the sweeper recorded it (and wrote its mails).
    pub recorded_at: DateTimeUtc,
    /// Mails written with it; 0 when superseded by a later notice.
    pub mails: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
