//! Case numbers (#18): a counter row per responsible unit and year, and the
//! number each case was given. The unique index is the last line against a
//! duplicate; the counter row, updated in the numbering transaction, is
//! what keeps the sequence gapless across processes.

use sea_orm_migration::prelude::*;

use super::tables::index;

#[derive(Debug)]
pub(super) struct CaseNumbers;

impl MigrationName for CaseNumbers {
    fn name(&self) -> &str {
        "m20261204_000007_case_numbers"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for CaseNumbers {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("case_counters"))
                .col(ColumnDef::new(Alias::new("unit_id")).string().not_null())
                .col(ColumnDef::new(Alias::new("year")).integer().not_null())
                .col(ColumnDef::new(Alias::new("last")).big_integer().not_null())
                .primary_key(
                    Index::create()
                        .col(Alias::new("unit_id"))
                        .col(Alias::new("year")),
                )
                .to_owned(),
        )
        .await?;
        // SQLite adds one column per ALTER TABLE.
        for column in [
            ColumnDef::new(Alias::new("number_unit"))
                .string()
                .null()
                .to_owned(),
            ColumnDef::new(Alias::new("number_year"))
                .integer()
                .null()
                .to_owned(),
            ColumnDef::new(Alias::new("number_seq"))
                .big_integer()
                .null()
                .to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Alias::new("cases"))
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(index(
            "cases_number",
            Alias::new("cases"),
            &["number_unit", "number_year", "number_seq"],
            true,
        ))
        .await?;
        // The router looks for unnumbered cases every few seconds; partial,
        // so the index holds only the day's few and the look is not a scan.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX cases_unnumbered ON cases (received_at) \
                 WHERE number_seq IS NULL AND routed_at IS NOT NULL",
            )
            .await?;
        Ok(())
    }
}
