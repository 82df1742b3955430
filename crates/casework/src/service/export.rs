//! One case exported whole for the paper file (归档/呈批): the report,
//! history, messages, internal comments and every attachment, opened with
//! the supervisor's unit key; audited as `case.export`.

use std::collections::HashMap;

use super::attachments::AttachmentStream;
use super::view::Opened;
use super::*;

/// A case ready to be written out: everything opened, each attachment's
/// chunks ready to stream (never all in memory at once).
pub struct CaseExport {
    pub case: CaseRow,
    pub opened: Opened,
    /// Emails of the members the history names.
    pub staff: HashMap<Uuid, String>,
    pub files: Vec<(Uuid, AttachmentMeta, AttachmentStream)>,
}

impl std::fmt::Debug for CaseExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseExport")
            .field("case", &self.case.id)
            .finish_non_exhaustive()
    }
}

impl Triage {
    /// Opens a case of the member's units for export. Supervisors only:
    /// an export leaves the system, and whoever carries it answers for it.
    pub async fn export(
        &self,
        session: &Session,
        id: CaseId,
        now: DateTime<Utc>,
    ) -> Result<CaseExport, CaseworkError> {
        if session.role != sunlight_core::Role::Supervisor {
            return Err(CaseworkError::Forbidden);
        }
        let (case, _) = self.load(session, id).await?;
        let opened = self.open_contents(session, &case).await?;
        let mut files = Vec::new();
        for row in self.store.attachments_of(case.id).await? {
            // One that does not open is listed as such in the texts, and
            // left out of the files.
            match self.attachment_stream(session, &case, &row) {
                Ok((meta, stream)) => files.push((row.id, meta, stream)),
                Err(CaseworkError::Conflict(sunlight_store::Clash::Unreadable)) => {}
                Err(e) => return Err(e),
            }
        }
        let mut named: Vec<Uuid> = opened.history.iter().filter_map(|s| s.actor).collect();
        named.sort_unstable();
        named.dedup();
        let staff = self.store.staff_emails(&named).await?;
        self.store
            .audit(
                sunlight_store::AuditRecord {
                    actor: format!("staff:{}", session.staff_id),
                    action: "case.export".into(),
                    unit: case.unit.to_string(),
                    case_id: case.id.to_string(),
                    detail: format!("attachments={}", files.len()),
                },
                now,
            )
            .await?;
        Ok(CaseExport {
            case,
            opened,
            staff,
            files,
        })
    }

    /// Records that an export of `case` was written whole, with the
    /// SHA-256 of its manifest (`case.exported`): the hash-chained log
    /// then vouches for the copy's files.
    pub async fn exported(
        &self,
        session: &Session,
        case: CaseId,
        unit: &sunlight_core::UnitId,
        manifest_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CaseworkError> {
        self.store
            .audit(
                sunlight_store::AuditRecord {
                    actor: format!("staff:{}", session.staff_id),
                    action: "case.exported".into(),
                    unit: unit.to_string(),
                    case_id: case.to_string(),
                    detail: format!("manifest_sha256={manifest_sha256}"),
                },
                now,
            )
            .await?;
        Ok(())
    }
}
