//! Triage (m20261127_000001): the case columns routing and actions need (reporter key, decision, feedback, transfer, extension, routing time, version) and holds.

use super::*;

/// Case state the triage side needs beside the stage, the reporter's public
/// key (so staff can seal answers the reporter reads), pause bookkeeping,
/// and hold tasks (rule 4).
#[derive(Debug)]
pub(super) struct Triage;

impl MigrationName for Triage {
    fn name(&self) -> &str {
        "m20261127_000001_triage"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Triage {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER statement.
        let cases_cols = [
            ColumnDef::new(Alias::new("reporter_public_key"))
                .blob()
                .null()
                .to_owned(),
            ColumnDef::new(Alias::new("has_decision"))
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new(Alias::new("feedback_given"))
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
            ColumnDef::new(Alias::new("transferred_by"))
                .uuid()
                .null()
                .to_owned(),
            ColumnDef::new(Alias::new("extension_days"))
                .integer()
                .null()
                .to_owned(),
            ColumnDef::new(Alias::new("routed_at"))
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            // Bumped by every write to the case's state: a write computed
            // from an older read fails instead of overwriting.
            ColumnDef::new(Alias::new("version"))
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
        ];
        for mut col in cases_cols {
            m.alter_table(
                Table::alter()
                    .table(Cases::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(QueueEntries::Table)
                .add_column(
                    ColumnDef::new(Alias::new("paused_at"))
                        .timestamp_with_time_zone()
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_cases_stage_received",
            Cases::Table,
            &["stage", "received_at"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table(Holds::Table)
                .col(ColumnDef::new(Holds::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Holds::CaseId).uuid().not_null())
                .col(ColumnDef::new(Holds::UnitId).string().not_null())
                .col(
                    ColumnDef::new(Holds::OpenedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Holds::NoticeDueAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Holds::MaxUntil)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Holds::ConfirmedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(ColumnDef::new(Holds::ConfirmedBy).uuid().null())
                .col(ColumnDef::new(Holds::SealedNoticeTo).blob().null())
                .col(
                    ColumnDef::new(Holds::LiftedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(Holds::EscalatedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .foreign_key(&mut fk(
                    "fk_holds_case",
                    (Holds::Table, Holds::CaseId),
                    (Cases::Table, Cases::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_holds_case", Holds::Table, &["case_id"], false))
            .await?;
        m.create_index(index(
            "ix_holds_open",
            Holds::Table,
            &["unit_id", "lifted_at"],
            false,
        ))
        .await?;
        Ok(())
    }
}
