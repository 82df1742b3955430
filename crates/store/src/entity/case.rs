//! Table `cases`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Argon2id stretch of the tracking code; the code itself is never stored.
    #[sea_orm(unique)]
    pub lookup_key: Vec<u8>,
    /// How `lookup_key` was derived: 1 Argon2id with the pepper as secret
    /// (before browser sealing), 2 the pepper's HMAC of the stretch.
    pub code_scheme: i16,
    /// The unit that handles the case (after key-person escalation).
    pub unit_id: String,
    /// The unit the reporter chose.
    pub addressed_unit_id: String,
    pub category: String,
    pub accused_role: String,
    pub selection_stage: String,
    pub channel: String,
    pub real_name: bool,
    pub stage: String,
    pub hold: bool,
    pub received_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    pub merged_into: Option<Uuid>,
    pub outcome: Option<String>,
    /// The report, sealed to the unit, the units above it and the reporter.
    pub sealed_report: Vec<u8>,
    /// The reporter's X25519 public key (from the stretched code), so staff
    /// can seal answers the reporter reads. NULL only for rows from before
    /// the triage migration.
    pub reporter_public_key: Option<Vec<u8>>,
    /// A handling decision is recorded (its text is sealed in `transitions`).
    pub has_decision: bool,
    pub feedback_given: bool,
    /// Who transferred the case (转办), so someone else re-checks it.
    pub transferred_by: Option<Uuid>,
    pub extension_days: Option<i32>,
    /// When routing ran; routing is a no-op for a routed case.
    pub routed_at: Option<DateTimeUtc>,
    /// The case number (`UNIT-YEAR-NNNNN`), given once the arrival's day is
    /// over; all three NULL until then.
    pub number_unit: Option<String>,
    pub number_year: Option<i32>,
    pub number_seq: Option<i64>,
    /// Reporter messages its staff have not opened yet (the case page or
    /// JSON read since). Not under `version`: it never makes an action fail.
    pub unread: i32,
    /// Rounds of feedback: a reopened case starts a new one, which the
    /// reporter may rate again.
    pub round: i32,
    /// Optimistic concurrency: every state write checks and bumps it.
    pub version: i32,
    /// When the retention rule purged the sealed content (report,
    /// messages, attachments, notes); NULL while it is kept.
    pub purged_at: Option<DateTimeUtc>,
    /// Since when a supervisor holds the case from purging (legal hold).
    pub legal_hold_since: Option<DateTimeUtc>,
    /// The unit of the supervisor who set the hold.
    pub legal_hold_unit: Option<String>,
    /// When a hold was last lifted: the purge waits 30 days after it.
    pub legal_hold_lifted_at: Option<DateTimeUtc>,
    /// How the case was disposed of (`sunlight_core::Disposition`).
    pub disposition: String,
    /// Who recorded the verification outcome (or its 复核).
    pub verified_by: Option<Uuid>,
    /// The reporter was asked for specifics at acceptance (once only).
    pub specifics_asked: bool,
    /// Where a referred case went (`sunlight_core::ReferralBody`).
    pub referred_to: Option<String>,
}

/// The joins a reporter's lookup reads with the case in one query
/// (`crate::reporter`): one round trip instead of three.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The case's open queue entry: at most one (`open_case_id` is
    /// unique, and NULL once the entry is closed).
    #[sea_orm(
        belongs_to = "super::queue_entry::Entity",
        from = "Column::Id",
        to = "super::queue_entry::Column::OpenCaseId"
    )]
    OpenEntry,
    /// The transparency-log leaf of the case's report (a reporter's
    /// message has a leaf of its own, with `message_id` set).
    #[sea_orm(
        belongs_to = "super::log_leaf::Entity",
        from = "Column::Id",
        to = "super::log_leaf::Column::CaseId",
        on_condition = r#"super::log_leaf::Column::MessageId.is_null()"#
    )]
    ReportLeaf,
}

impl Related<super::queue_entry::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::OpenEntry.def()
    }
}

impl Related<super::log_leaf::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReportLeaf.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
