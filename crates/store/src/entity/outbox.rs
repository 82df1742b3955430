//! Table `outbox`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `entry/kind/recipient`: makes each mail happen once.
    #[sea_orm(unique)]
    pub dedupe_key: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTimeUtc,
    pub next_attempt_at: DateTimeUtc,
    pub attempts: i32,
    pub sent_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    /// Set when the SMTP server refused the mail for good (5xx): it is
    /// shown on the admin page and not tried again by itself.
    pub failed_at: Option<DateTimeUtc>,
    /// The case the mail is about, for the admin page; no content.
    pub case_id: Option<Uuid>,
    /// The notice kind (`overdue`, `reminder-500`, …).
    pub kind: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
