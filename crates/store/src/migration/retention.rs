//! Retention and legal hold (#19): when a closed case's sealed content was
//! purged, and since when a supervisor holds it from purging.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(super) struct Retention;

impl MigrationName for Retention {
    fn name(&self) -> &str {
        "m20261207_000013_retention"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Retention {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in ["purged_at", "legal_hold_since", "legal_hold_lifted_at"] {
            m.alter_table(
                Table::alter()
                    .table(Alias::new("cases"))
                    .add_column(
                        ColumnDef::new(Alias::new(column))
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        }
        // The unit whose supervisor set the hold: only it or a unit above
        // may lift it.
        m.alter_table(
            Table::alter()
                .table(Alias::new("cases"))
                .add_column(
                    ColumnDef::new(Alias::new("legal_hold_unit"))
                        .string()
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        // The daily purge looks for closed cases by closing time.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_cases_retention ON cases (closed_at) \
                 WHERE purged_at IS NULL AND closed_at IS NOT NULL",
            )
            .await?;
        Ok(())
    }
}
