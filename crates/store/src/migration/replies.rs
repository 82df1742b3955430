//! Replies that are never missed and the register (#18): how many reporter
//! messages of a case its staff have not opened yet, which reporter
//! messages still owe their notice mail, and the register's order.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(super) struct Replies;

impl MigrationName for Replies {
    fn name(&self) -> &str {
        "m20261204_000008_replies"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Replies {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("cases"))
                .add_column(
                    ColumnDef::new(Alias::new("unread"))
                        .integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("messages"))
                .add_column(
                    ColumnDef::new(Alias::new("notice_pending"))
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .to_owned(),
        )
        .await?;
        // The register's order (newest arrival first, then id) with the
        // unit beside it, so SQLite walks it and stops at a page.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_cases_register ON cases (received_at, id, unit_id)",
            )
            .await?;
        // A member's own open cases (unread first in their queue, the
        // register's owner filter): few, found without a walk of the queue.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_queue_owner_open ON queue_entries (owner_id, stage) \
                 WHERE closed_at IS NULL",
            )
            .await?;
        // The sweeper looks for these every pass; partial, so the index
        // holds only the few that wait.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX messages_notice_pending ON messages (created_at) \
                 WHERE notice_pending",
            )
            .await?;
        Ok(())
    }
}
