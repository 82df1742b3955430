//! The first schema (m20261126_000001): units, staff, cases, messages, attachments, queue entries, transitions, the audit log, the outbox and settings.

use super::*;

#[derive(Debug)]
pub(super) struct Init;

impl MigrationName for Init {
    fn name(&self) -> &str {
        "m20261126_000001_init"
    }
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
