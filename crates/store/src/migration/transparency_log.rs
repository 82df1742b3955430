//! The transparency log of filings (#24): its leaves, written in each
//! filing's transaction, and its signed heads.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(super) struct TransparencyLog;

impl MigrationName for TransparencyLog {
    fn name(&self) -> &str {
        "m20261211_000017_transparency_log"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for TransparencyLog {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let col = |name: &str| ColumnDef::new(Alias::new(name)).to_owned();
        m.create_table(
            Table::create()
                .table(Alias::new("log_leaves"))
                .col(col("leaf_hash").blob().not_null().primary_key())
                .col(col("idx").big_integer().null().unique_key())
                .col(col("day").string_len(10).not_null())
                .col(col("envelopes").blob().null())
                .col(col("nonce").blob().null())
                .col(col("case_id").uuid().null())
                .col(col("message_id").uuid().null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("log_heads"))
                .col(col("size").big_integer().not_null().primary_key())
                .col(col("root").blob().not_null())
                .col(col("day").string_len(10).not_null())
                .col(col("signature").blob().not_null())
                .to_owned(),
        )
        .await?;
        // The log starts in the deployment's suite (modern when none was
        // chosen); `record_suite` moves it along only while it is empty.
        let modern = match m.get_database_backend() {
            sea_orm_migration::sea_orm::DbBackend::Postgres => "'\\x6d6f6465726e'::bytea",
            _ => "X'6d6f6465726e'",
        };
        m.get_connection()
            .execute_unprepared(&format!(
                "INSERT INTO settings (key, value) SELECT 'log_suite', \
                 COALESCE((SELECT value FROM settings WHERE key = 'cipher_suite'), {modern})"
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DELETE FROM settings WHERE key = 'log_suite'")
            .await?;
        for t in ["log_heads", "log_leaves"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned())
                .await?;
        }
        Ok(())
    }
}
