//! Schema migrations, the same on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

mod security;
mod stats;
mod totp_replay;

#[derive(Debug)]
pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Init),
            Box::new(Triage),
            Box::new(QueueOrder),
            Box::new(Sweeper),
            Box::new(stats::Stats),
            Box::new(totp_replay::TotpReplay),
            Box::new(security::Security),
        ]
    }
}

#[derive(Debug)]
struct Init;

impl MigrationName for Init {
    fn name(&self) -> &str {
        "m20261126_000001_init"
    }
}

#[derive(DeriveIden)]
enum Units {
    Table,
    Id,
    Name,
    Level,
    ParentId,
    PublicKey,
    RecoveryWrappedKey,
    CreatedAt,
}
#[derive(DeriveIden)]
enum Staff {
    Table,
    Id,
    UnitId,
    Email,
    Role,
    PasswordRecord,
    WrappedUnitKey,
    TotpSealed,
    MustChangePassword,
    FailedLogins,
    LockedUntil,
    Disabled,
    CreatedAt,
}
#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    LookupKey,
    UnitId,
    AddressedUnitId,
    Category,
    AccusedRole,
    SelectionStage,
    Channel,
    RealName,
    Stage,
    Hold,
    ReceivedAt,
    ClosedAt,
    MergedInto,
    Outcome,
    SealedReport,
}
#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    CaseId,
    Author,
    StaffId,
    SealedBody,
    CreatedAt,
}
#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    CaseId,
    MessageId,
    SealedMeta,
    StreamHeader,
    ChunkCount,
    SealedBytes,
    CreatedAt,
}
#[derive(DeriveIden)]
enum AttachmentChunks {
    Table,
    AttachmentId,
    Seq,
    Data,
}
#[derive(DeriveIden)]
enum QueueEntries {
    Table,
    Id,
    CaseId,
    OpenCaseId,
    Stage,
    UnitId,
    RealName,
    OpenedAt,
    DueAt,
    ClosedAt,
    OwnerId,
    ClaimedAt,
    PausedUntil,
    Extended,
}
#[derive(DeriveIden)]
enum Transitions {
    Table,
    Id,
    CaseId,
    FromStage,
    ToStage,
    Action,
    ActorId,
    SealedNote,
    ReporterVisible,
    At,
}
#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Seq,
    At,
    Actor,
    Action,
    UnitId,
    CaseId,
    Detail,
    PrevHash,
    Hash,
}
#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    DedupeKey,
    Recipient,
    Subject,
    Body,
    CreatedAt,
    NextAttemptAt,
    Attempts,
    SentAt,
    LastError,
}
#[derive(DeriveIden)]
enum Settings {
    Table,
    Key,
    Value,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

fn index(
    name: &str,
    table: impl IntoIden,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    if unique {
        stmt.unique();
    }
    stmt.to_owned()
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Init {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let ts =
            |c: &mut ColumnDef| -> ColumnDef { c.timestamp_with_time_zone().not_null().to_owned() };
        let ts_null =
            |c: &mut ColumnDef| -> ColumnDef { c.timestamp_with_time_zone().null().to_owned() };

        m.create_table(
            Table::create()
                .table(Units::Table)
                .col(ColumnDef::new(Units::Id).string().not_null().primary_key())
                .col(ColumnDef::new(Units::Name).string().not_null())
                .col(ColumnDef::new(Units::Level).string().not_null())
                .col(ColumnDef::new(Units::ParentId).string().null())
                .col(ColumnDef::new(Units::PublicKey).blob().not_null())
                .col(ColumnDef::new(Units::RecoveryWrappedKey).blob().not_null())
                .col(ts(&mut ColumnDef::new(Units::CreatedAt)))
                .foreign_key(&mut fk(
                    "fk_units_parent",
                    (Units::Table, Units::ParentId),
                    (Units::Table, Units::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Staff::Table)
                .col(ColumnDef::new(Staff::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Staff::UnitId).string().not_null())
                .col(
                    ColumnDef::new(Staff::Email)
                        .string()
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Staff::Role).string().not_null())
                .col(ColumnDef::new(Staff::PasswordRecord).blob().not_null())
                .col(ColumnDef::new(Staff::WrappedUnitKey).blob().not_null())
                .col(ColumnDef::new(Staff::TotpSealed).blob().null())
                .col(
                    ColumnDef::new(Staff::MustChangePassword)
                        .boolean()
                        .not_null(),
                )
                .col(ColumnDef::new(Staff::FailedLogins).integer().not_null())
                .col(ts_null(&mut ColumnDef::new(Staff::LockedUntil)))
                .col(ColumnDef::new(Staff::Disabled).boolean().not_null())
                .col(ts(&mut ColumnDef::new(Staff::CreatedAt)))
                .foreign_key(&mut fk(
                    "fk_staff_unit",
                    (Staff::Table, Staff::UnitId),
                    (Units::Table, Units::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Cases::Table)
                .col(ColumnDef::new(Cases::Id).uuid().not_null().primary_key())
                .col(
                    ColumnDef::new(Cases::LookupKey)
                        .blob()
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Cases::UnitId).string().not_null())
                .col(ColumnDef::new(Cases::AddressedUnitId).string().not_null())
                .col(ColumnDef::new(Cases::Category).string().not_null())
                .col(ColumnDef::new(Cases::AccusedRole).string().not_null())
                .col(ColumnDef::new(Cases::SelectionStage).string().not_null())
                .col(ColumnDef::new(Cases::Channel).string().not_null())
                .col(ColumnDef::new(Cases::RealName).boolean().not_null())
                .col(ColumnDef::new(Cases::Stage).string().not_null())
                .col(ColumnDef::new(Cases::Hold).boolean().not_null())
                .col(ts(&mut ColumnDef::new(Cases::ReceivedAt)))
                .col(ts_null(&mut ColumnDef::new(Cases::ClosedAt)))
                .col(ColumnDef::new(Cases::MergedInto).uuid().null())
                .col(ColumnDef::new(Cases::Outcome).string().null())
                .col(ColumnDef::new(Cases::SealedReport).blob().not_null())
                .foreign_key(&mut fk(
                    "fk_cases_unit",
                    (Cases::Table, Cases::UnitId),
                    (Units::Table, Units::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_cases_addressed",
                    (Cases::Table, Cases::AddressedUnitId),
                    (Units::Table, Units::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_cases_merged",
                    (Cases::Table, Cases::MergedInto),
                    (Cases::Table, Cases::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_cases_unit_received",
            Cases::Table,
            &["unit_id", "received_at"],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_cases_received",
            Cases::Table,
            &["received_at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Messages::Table)
                .col(ColumnDef::new(Messages::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Messages::CaseId).uuid().not_null())
                .col(ColumnDef::new(Messages::Author).string().not_null())
                .col(ColumnDef::new(Messages::StaffId).uuid().null())
                .col(ColumnDef::new(Messages::SealedBody).blob().not_null())
                .col(ts(&mut ColumnDef::new(Messages::CreatedAt)))
                .foreign_key(&mut fk(
                    "fk_messages_case",
                    (Messages::Table, Messages::CaseId),
                    (Cases::Table, Cases::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_messages_case",
            Messages::Table,
            &["case_id", "created_at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Attachments::Table)
                .col(
                    ColumnDef::new(Attachments::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Attachments::CaseId).uuid().not_null())
                .col(ColumnDef::new(Attachments::MessageId).uuid().null())
                .col(ColumnDef::new(Attachments::SealedMeta).blob().not_null())
                .col(ColumnDef::new(Attachments::StreamHeader).blob().not_null())
                .col(ColumnDef::new(Attachments::ChunkCount).integer().not_null())
                .col(
                    ColumnDef::new(Attachments::SealedBytes)
                        .big_integer()
                        .not_null(),
                )
                .col(ts(&mut ColumnDef::new(Attachments::CreatedAt)))
                .foreign_key(&mut fk(
                    "fk_attachments_case",
                    (Attachments::Table, Attachments::CaseId),
                    (Cases::Table, Cases::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AttachmentChunks::Table)
                .col(
                    ColumnDef::new(AttachmentChunks::AttachmentId)
                        .uuid()
                        .not_null(),
                )
                .col(ColumnDef::new(AttachmentChunks::Seq).integer().not_null())
                .col(ColumnDef::new(AttachmentChunks::Data).blob().not_null())
                .primary_key(
                    Index::create()
                        .col(AttachmentChunks::AttachmentId)
                        .col(AttachmentChunks::Seq),
                )
                .foreign_key(&mut fk(
                    "fk_chunks_attachment",
                    (AttachmentChunks::Table, AttachmentChunks::AttachmentId),
                    (Attachments::Table, Attachments::Id),
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(QueueEntries::Table)
                .col(
                    ColumnDef::new(QueueEntries::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(QueueEntries::CaseId).uuid().not_null())
                .col(
                    ColumnDef::new(QueueEntries::OpenCaseId)
                        .uuid()
                        .null()
                        .unique_key(),
                )
                .col(ColumnDef::new(QueueEntries::Stage).string().not_null())
                .col(ColumnDef::new(QueueEntries::UnitId).string().not_null())
                .col(ColumnDef::new(QueueEntries::RealName).boolean().not_null())
                .col(ts(&mut ColumnDef::new(QueueEntries::OpenedAt)))
                .col(ts(&mut ColumnDef::new(QueueEntries::DueAt)))
                .col(ts_null(&mut ColumnDef::new(QueueEntries::ClosedAt)))
                .col(ColumnDef::new(QueueEntries::OwnerId).uuid().null())
                .col(ts_null(&mut ColumnDef::new(QueueEntries::ClaimedAt)))
                .col(ts_null(&mut ColumnDef::new(QueueEntries::PausedUntil)))
                .col(ColumnDef::new(QueueEntries::Extended).boolean().not_null())
                .foreign_key(&mut fk(
                    "fk_queue_case",
                    (QueueEntries::Table, QueueEntries::CaseId),
                    (Cases::Table, Cases::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_queue_owner",
                    (QueueEntries::Table, QueueEntries::OwnerId),
                    (Staff::Table, Staff::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_queue_open",
            QueueEntries::Table,
            &["unit_id", "stage", "closed_at", "due_at"],
            false,
        ))
        .await?;
        m.create_index(index(
            "ix_queue_case",
            QueueEntries::Table,
            &["case_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Transitions::Table)
                .col(
                    ColumnDef::new(Transitions::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Transitions::CaseId).uuid().not_null())
                .col(ColumnDef::new(Transitions::FromStage).string().not_null())
                .col(ColumnDef::new(Transitions::ToStage).string().not_null())
                .col(ColumnDef::new(Transitions::Action).string().not_null())
                .col(ColumnDef::new(Transitions::ActorId).uuid().null())
                .col(ColumnDef::new(Transitions::SealedNote).blob().null())
                .col(
                    ColumnDef::new(Transitions::ReporterVisible)
                        .boolean()
                        .not_null(),
                )
                .col(ts(&mut ColumnDef::new(Transitions::At)))
                .foreign_key(&mut fk(
                    "fk_transitions_case",
                    (Transitions::Table, Transitions::CaseId),
                    (Cases::Table, Cases::Id),
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_transitions_case",
            Transitions::Table,
            &["case_id", "at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(AuditLog::Table)
                .col(
                    ColumnDef::new(AuditLog::Seq)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ts(&mut ColumnDef::new(AuditLog::At)))
                .col(ColumnDef::new(AuditLog::Actor).string().not_null())
                .col(ColumnDef::new(AuditLog::Action).string().not_null())
                .col(ColumnDef::new(AuditLog::UnitId).string().not_null())
                .col(ColumnDef::new(AuditLog::CaseId).string().not_null())
                .col(ColumnDef::new(AuditLog::Detail).text().not_null())
                .col(ColumnDef::new(AuditLog::PrevHash).blob().not_null())
                .col(ColumnDef::new(AuditLog::Hash).blob().not_null())
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Outbox::Table)
                .col(ColumnDef::new(Outbox::Id).uuid().not_null().primary_key())
                .col(
                    ColumnDef::new(Outbox::DedupeKey)
                        .string()
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Outbox::Recipient).string().not_null())
                .col(ColumnDef::new(Outbox::Subject).string().not_null())
                .col(ColumnDef::new(Outbox::Body).text().not_null())
                .col(ts(&mut ColumnDef::new(Outbox::CreatedAt)))
                .col(ts(&mut ColumnDef::new(Outbox::NextAttemptAt)))
                .col(ColumnDef::new(Outbox::Attempts).integer().not_null())
                .col(ts_null(&mut ColumnDef::new(Outbox::SentAt)))
                .col(ColumnDef::new(Outbox::LastError).text().null())
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "ix_outbox_pending",
            Outbox::Table,
            &["sent_at", "next_attempt_at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Settings::Table)
                .col(
                    ColumnDef::new(Settings::Key)
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Settings::Value).blob().not_null())
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}

/// Case state the triage side needs beside the stage, the reporter's public
/// key (so staff can seal answers the reporter reads), pause bookkeeping,
/// and hold tasks (rule 4).
#[derive(Debug)]
struct Triage;

impl MigrationName for Triage {
    fn name(&self) -> &str {
        "m20261127_000001_triage"
    }
}

#[derive(DeriveIden)]
enum Holds {
    Table,
    Id,
    CaseId,
    UnitId,
    OpenedAt,
    NoticeDueAt,
    MaxUntil,
    ConfirmedAt,
    ConfirmedBy,
    SealedNoticeTo,
    LiftedAt,
    EscalatedAt,
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

/// Queue listings of a large jurisdiction read open entries in the order
/// they are shown (real-name first, then by deadline) and stop at the page
/// size, instead of sorting every open entry of every unit. Partial, so
/// closed entries (the bulk, over time) cost nothing here. Measured with
/// `sunlight bench --queue-cases 100000`: docs/performance.md.
#[derive(Debug)]
struct QueueOrder;

impl MigrationName for QueueOrder {
    fn name(&self) -> &str {
        "m20261127_000002_queue_order"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for QueueOrder {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Partial indexes are the same SQL on SQLite and PostgreSQL.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_queue_open_order ON queue_entries \
                 (stage, real_name DESC, due_at) WHERE closed_at IS NULL",
            )
            .await?;
        Ok(())
    }
}

/// The sweeper (催办/督办): when each open stage needs it next, which
/// notices went out (once per entry and kind: the primary key), overdue
/// marks, late hold notices, the mail outbox's failures, and a lease so
/// that one triage process at a time sweeps.
#[derive(Debug)]
struct Sweeper;

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
