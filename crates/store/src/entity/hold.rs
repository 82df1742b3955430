//! Table `holds`: rule 4 (未查清前停止/暂缓): a running selection waits while
//! a report about it is unverified.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "holds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_id: Uuid,
    pub unit_id: String,
    pub opened_at: DateTimeUtc,
    /// By when staff must confirm the hold and record the notice.
    pub notice_due_at: DateTimeUtc,
    /// The longest the hold may last; then it escalates to the level above.
    pub max_until: DateTimeUtc,
    pub confirmed_at: Option<DateTimeUtc>,
    pub confirmed_by: Option<Uuid>,
    /// To whom the hold notice went, sealed like the report.
    pub sealed_notice_to: Option<Vec<u8>>,
    pub lifted_at: Option<DateTimeUtc>,
    pub escalated_at: Option<DateTimeUtc>,
    /// When the sweeper found the notice unconfirmed past `notice_due_at`.
    pub notice_late_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
