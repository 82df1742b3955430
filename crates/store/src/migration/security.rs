//! The security issue's schema (#16): a per-member session epoch that ends
//! every live session when it moves (disable, reset, password change), a
//! TOTP secret that waits for its first code before it replaces the old
//! one, and an audit log the application cannot rewrite.
//!
//! The triggers refuse UPDATE and DELETE on `audit_log` for every role the
//! application connects as. They are schema objects: whoever may run
//! migrations (the owner of the tables) can drop them, so the anchor
//! (`sunlight audit verify --expect`, the daily audit-head mail) is what
//! catches that role; docs/threat-model.md says so.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(super) struct Security;

impl MigrationName for Security {
    fn name(&self) -> &str {
        "m20261203_000006_security"
    }
}

const SQLITE_TRIGGERS: [&str; 2] = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log \
     BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log \
     BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
];

const POSTGRES_TRIGGERS: [&str; 3] = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
     BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log \
     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    // TRUNCATE skips row triggers; a statement trigger catches it.
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log \
     FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Security {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            ColumnDef::new(Alias::new("session_epoch"))
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new(Alias::new("totp_pending"))
                .blob()
                .null()
                .to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Alias::new("staff"))
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        let conn = m.get_connection();
        let triggers: &[&str] = match conn.get_database_backend() {
            DbBackend::Sqlite => &SQLITE_TRIGGERS,
            _ => &POSTGRES_TRIGGERS,
        };
        for sql in triggers {
            conn.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
