//! Dispositions (#25): how each case was disposed of (accepted, referred,
//! filed for reference, merged, concluded, knowingly false), who recorded
//! its verification outcome, whether the reporter was asked for specifics
//! at acceptance, and where a referred case went. Cases from before are
//! given the disposition their stage implies.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(super) struct Dispositions;

impl MigrationName for Dispositions {
    fn name(&self) -> &str {
        "m20261210_000016_dispositions"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Dispositions {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            ColumnDef::new(Alias::new("disposition"))
                .string()
                .not_null()
                .default("open")
                .to_owned(),
            ColumnDef::new(Alias::new("verified_by"))
                .uuid()
                .null()
                .to_owned(),
            ColumnDef::new(Alias::new("specifics_asked"))
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new(Alias::new("referred_to"))
                .string()
                .null()
                .to_owned(),
        ];
        for mut column in columns {
            m.alter_table(
                Table::alter()
                    .table(Alias::new("cases"))
                    .add_column(&mut column)
                    .to_owned(),
            )
            .await?;
        }
        m.get_connection()
            .execute_unprepared(
                "UPDATE cases SET disposition = CASE \
                 WHEN merged_into IS NOT NULL THEN 'merged' \
                 WHEN stage = 'closed' THEN 'concluded' \
                 WHEN stage = 'received' THEN 'open' \
                 ELSE 'accepted' END",
            )
            .await?;
        // Who verified each case before, from its history: the
        // knowingly-false rule needs it (and refuses while it is unknown).
        m.get_connection()
            .execute_unprepared(
                "UPDATE cases SET verified_by = (SELECT t.actor_id FROM transitions t \
                 WHERE t.case_id = cases.id AND t.action IN ('verified', 'rechecked') \
                 ORDER BY t.at DESC LIMIT 1) WHERE outcome IS NOT NULL",
            )
            .await?;
        // The register filters on it within a unit.
        m.get_connection()
            .execute_unprepared("CREATE INDEX ix_cases_disposition ON cases (unit_id, disposition)")
            .await?;
        Ok(())
    }
}
