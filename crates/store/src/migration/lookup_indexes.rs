//! Indexes for what is read by case: a case's files and its leaves in the
//! transparency log. Without them every reporter's lookup, every case page
//! and each step of `log verify` read the whole table (measured in
//! docs/performance.md: lookups by token fell by a quarter each time the
//! filings doubled).

use sea_orm_migration::prelude::*;

use super::tables::index;

#[derive(Debug)]
pub(super) struct LookupIndexes;

impl MigrationName for LookupIndexes {
    fn name(&self) -> &str {
        "m20261213_000018_lookup_indexes"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for LookupIndexes {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let on = |name: &'static str, table: &'static str| {
            index(name, Alias::new(table), &["case_id", "message_id"], false)
        };
        m.create_index(on("ix_attachments_case", "attachments"))
            .await?;
        m.create_index(on("ix_log_leaves_case", "log_leaves")).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("ix_log_leaves_case", "log_leaves"),
            ("ix_attachments_case", "attachments"),
        ] {
            m.drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
