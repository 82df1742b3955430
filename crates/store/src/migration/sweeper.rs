//! The sweeper (m20261128_000003): next visits, sent notices, overdue marks, outbox failures and the sweeper lease.

use super::*;

/// The sweeper (催办/督办): when each open stage needs it next, which
/// notices went out (once per entry and kind: the primary key), overdue
/// marks, late hold notices, the mail outbox's failures, and a lease so
/// that one triage process at a time sweeps.
#[derive(Debug)]
pub(super) struct Sweeper;

impl MigrationName for Sweeper {
    fn name(&self) -> &str {
        "m20261128_000003_sweeper"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Sweeper {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let ts_col = |name: &str| {
            ColumnDef::new(Alias::new(name))
                .timestamp_with_time_zone()
                .null()
                .to_owned()
        };
        // SQLite adds one column per ALTER statement.
        let added = [
            ("queue_entries", ts_col("next_sweep_at")),
            ("queue_entries", ts_col("overdue_at")),
            ("holds", ts_col("notice_late_at")),
            ("outbox", ts_col("failed_at")),
            (
                "outbox",
                ColumnDef::new(Alias::new("case_id"))
                    .uuid()
                    .null()
                    .to_owned(),
            ),
            (
                "outbox",
                ColumnDef::new(Alias::new("kind"))
                    .string()
                    .null()
                    .to_owned(),
            ),
        ];
        for (table, mut col) in added {
            m.alter_table(
                Table::alter()
                    .table(Alias::new(table))
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        let conn = m.get_connection();
        // Entries opened before this migration are looked at on the first pass.
        conn.execute_unprepared(
            "UPDATE queue_entries SET next_sweep_at = opened_at WHERE closed_at IS NULL",
        )
        .await?;
        // A pass reads only what falls due; partial, so closed entries cost nothing.
        conn.execute_unprepared(
            "CREATE INDEX ix_queue_sweep ON queue_entries (next_sweep_at) \
             WHERE closed_at IS NULL AND next_sweep_at IS NOT NULL",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX ix_holds_max ON holds (max_until) \
             WHERE lifted_at IS NULL AND escalated_at IS NULL",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX ix_holds_notice ON holds (notice_due_at) \
             WHERE lifted_at IS NULL AND confirmed_at IS NULL AND notice_late_at IS NULL",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX ix_outbox_due ON outbox (next_attempt_at) \
             WHERE sent_at IS NULL AND failed_at IS NULL",
        )
        .await?;
        // Every message to a reporter looks for cases merged into its case.
        conn.execute_unprepared(
            "CREATE INDEX ix_cases_merged_into ON cases (merged_into) \
             WHERE merged_into IS NOT NULL",
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("notices"))
                .col(ColumnDef::new(Alias::new("entry_id")).uuid().not_null())
                .col(ColumnDef::new(Alias::new("kind")).string().not_null())
                .col(ColumnDef::new(Alias::new("case_id")).uuid().not_null())
                .col(ColumnDef::new(Alias::new("stage")).string().not_null())
                .col(ColumnDef::new(Alias::new("unit_id")).string().not_null())
                .col(
                    ColumnDef::new(Alias::new("scheduled_at"))
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Alias::new("recorded_at"))
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(ColumnDef::new(Alias::new("mails")).integer().not_null())
                .primary_key(
                    Index::create()
                        .col(Alias::new("entry_id"))
                        .col(Alias::new("kind")),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_notices_case",
            Alias::new("notices"),
            &["case_id"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("leases"))
                .col(
                    ColumnDef::new(Alias::new("name"))
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Alias::new("holder")).string().not_null())
                .col(
                    ColumnDef::new(Alias::new("until"))
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
