//! Which derivation a case's tracking code was stretched with: 1 for the
//! cases filed before the reporter's browser could stretch (Argon2id with
//! the pepper as its secret), 2 for every case filed since (the pepper
//! applied to the stretch's output; docs/crypto.md). Lookups try scheme 2
//! first and scheme 1 only while a scheme-1 case exists.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(super) struct CodeScheme;

impl MigrationName for CodeScheme {
    fn name(&self) -> &str {
        "m20261209_000015_code_scheme"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for CodeScheme {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("cases"))
                .add_column(
                    ColumnDef::new(Alias::new("code_scheme"))
                        .small_integer()
                        .not_null()
                        .default(1),
                )
                .to_owned(),
        )
        .await
    }
}
