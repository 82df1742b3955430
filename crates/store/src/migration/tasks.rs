//! Tasks and ratings (#18): the acknowledgement of real-name reports and
//! the re-examination by the unit above, each with a deadline the sweeper
//! watches; the reporter's rating of each round of feedback; the round a
//! case is in (a reopened case starts a new one).

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(super) struct Tasks;

impl MigrationName for Tasks {
    fn name(&self) -> &str {
        "m20261205_000009_tasks"
    }
}

fn at(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn at_or_null(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name))
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Tasks {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("tasks"))
                .col(
                    ColumnDef::new(Alias::new("id"))
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Alias::new("case_id")).uuid().not_null())
                .col(ColumnDef::new(Alias::new("kind")).string().not_null())
                .col(ColumnDef::new(Alias::new("unit_id")).string().not_null())
                // `case_id/kind` while open, NULL once done: its unique index
                // keeps one open task of a kind per case on both engines.
                .col(
                    ColumnDef::new(Alias::new("open_key"))
                        .string()
                        .null()
                        .unique_key(),
                )
                .col(at("opened_at"))
                .col(at("due_at"))
                .col(at_or_null("next_sweep_at"))
                .col(at_or_null("overdue_at"))
                .col(at_or_null("done_at"))
                .col(ColumnDef::new(Alias::new("done_by")).uuid().null())
                .col(ColumnDef::new(Alias::new("done_how")).string().null())
                .to_owned(),
        )
        .await?;
        let conn = m.get_connection();
        conn.execute_unprepared("CREATE INDEX ix_tasks_case ON tasks (case_id)")
            .await?;
        conn.execute_unprepared(
            "CREATE INDEX ix_tasks_open ON tasks (unit_id, due_at) WHERE done_at IS NULL",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX ix_tasks_sweep ON tasks (next_sweep_at) \
             WHERE done_at IS NULL AND next_sweep_at IS NOT NULL",
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("ratings"))
                .col(ColumnDef::new(Alias::new("case_id")).uuid().not_null())
                .col(ColumnDef::new(Alias::new("round")).integer().not_null())
                // The reporter's own case: after a merge, each reporter of
                // the surviving case rates for themself.
                .col(
                    ColumnDef::new(Alias::new("reporter_case"))
                        .uuid()
                        .not_null(),
                )
                .col(ColumnDef::new(Alias::new("unit_id")).string().not_null())
                .col(ColumnDef::new(Alias::new("rating")).string().not_null())
                .col(ColumnDef::new(Alias::new("objection")).boolean().not_null())
                // The local day only, like every reporter action.
                .col(at("rated_on"))
                .primary_key(
                    Index::create()
                        .col(Alias::new("case_id"))
                        .col(Alias::new("round"))
                        .col(Alias::new("reporter_case")),
                )
                .to_owned(),
        )
        .await?;
        conn.execute_unprepared("CREATE INDEX ix_ratings_day ON ratings (rated_on)")
            .await?;
        m.alter_table(
            Table::alter()
                .table(Alias::new("cases"))
                .add_column(
                    ColumnDef::new(Alias::new("round"))
                        .integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
