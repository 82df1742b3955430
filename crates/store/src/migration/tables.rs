//! The tables and columns every migration names, and the helpers that build foreign keys and indexes on both engines.

use super::*;

#[derive(DeriveIden)]
pub(super) enum Units {
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
pub(super) enum Staff {
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
pub(super) enum Cases {
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
pub(super) enum Messages {
    Table,
    Id,
    CaseId,
    Author,
    StaffId,
    SealedBody,
    CreatedAt,
}

#[derive(DeriveIden)]
pub(super) enum Attachments {
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
pub(super) enum AttachmentChunks {
    Table,
    AttachmentId,
    Seq,
    Data,
}

#[derive(DeriveIden)]
pub(super) enum QueueEntries {
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
pub(super) enum Transitions {
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
pub(super) enum AuditLog {
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
pub(super) enum Outbox {
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
pub(super) enum Settings {
    Table,
    Key,
    Value,
}

pub(super) fn fk(
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

pub(super) fn index(
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

#[derive(DeriveIden)]
pub(super) enum Holds {
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
