//! Schema migrations, the same on SQLite and PostgreSQL.

use sea_orm_migration::prelude::*;

mod audit_view;
mod case_numbers;
mod code_scheme;
mod definer;
mod dispositions;
mod init;
mod lifecycle;
mod lookup_indexes;
mod queue_order;
mod register_counts;
mod replies;
mod retention;
mod security;
mod stats;
mod sweeper;
mod tables;
mod tasks;
mod totp_replay;
mod transparency_log;
mod triage;

use init::Init;
use queue_order::QueueOrder;
use sweeper::Sweeper;
use tables::{
    AttachmentChunks, Attachments, AuditLog, Cases, Holds, Messages, Outbox, QueueEntries,
    Settings, Staff, Transitions, Units, fk, index,
};
use triage::Triage;

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
            Box::new(case_numbers::CaseNumbers),
            Box::new(replies::Replies),
            Box::new(tasks::Tasks),
            Box::new(audit_view::AuditView),
            Box::new(register_counts::RegisterCounts),
            Box::new(lifecycle::Lifecycle),
            Box::new(retention::Retention),
            Box::new(definer::Definer),
            Box::new(code_scheme::CodeScheme),
            Box::new(dispositions::Dispositions),
            Box::new(transparency_log::TransparencyLog),
            Box::new(lookup_indexes::LookupIndexes),
        ]
    }
}
