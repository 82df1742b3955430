//! The audit page (#18 item 12) and the desk's numbering batches: the
//! audit log read by unit and by case, newest first, without a scan of the
//! whole log; unnumbered cases looked up by routing day, the day their
//! numbering batch is (a back-dated letter joins the day it was entered).

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(super) struct AuditView;

impl MigrationName for AuditView {
    fn name(&self) -> &str {
        "m20261206_000010_audit_view"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for AuditView {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in [
            "CREATE INDEX audit_log_unit_seq ON audit_log (unit_id, seq)",
            "CREATE INDEX audit_log_case_seq ON audit_log (case_id, seq)",
            "DROP INDEX cases_unnumbered",
            "CREATE INDEX cases_unnumbered ON cases (routed_at) \
             WHERE number_seq IS NULL AND routed_at IS NOT NULL",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for sql in [
            "DROP INDEX audit_log_unit_seq",
            "DROP INDEX audit_log_case_seq",
            "DROP INDEX cases_unnumbered",
            "CREATE INDEX cases_unnumbered ON cases (received_at) \
             WHERE number_seq IS NULL AND routed_at IS NOT NULL",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
