//! Table `ratings`: a reporter's rating of one round of feedback (满意度评价).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ratings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: Uuid,
    /// The case's round when rated: one rating per round of feedback.
    #[sea_orm(primary_key, auto_increment = false)]
    pub round: i32,
    /// The case the reporter's code was issued for (their own, merged or
    /// not): one rating per reporter and round.
    #[sea_orm(primary_key, auto_increment = false)]
    pub reporter_case: Uuid,
    /// The unit that handled the case, for the statistics.
    pub unit_id: String,
    pub rating: String,
    /// The reporter objected and asked for a re-examination.
    pub objection: bool,
    /// Start of the local day: no finer time of a reporter's act is kept.
    pub rated_on: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
