//! Evidence files opened chunk by chunk for a member of the case's units.

use super::*;

impl Triage {
    /// Opens one attachment chunk by chunk for download; the caller streams
    /// the returned chunks. Audited.
    pub async fn attachment(
        &self,
        session: &Session,
        case_id: CaseId,
        attachment: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(AttachmentMeta, AttachmentStream), CaseworkError> {
        if session.role == sunlight_core::Role::Admin {
            return Err(CaseworkError::Forbidden);
        }
        let (case, _) = self.load(session, case_id).await?;
        let row = self
            .store
            .attachments_of(case.id)
            .await?
            .into_iter()
            .find(|a| a.id == attachment)
            .ok_or(CaseworkError::NotFound)?;
        let (meta, stream) = self.attachment_stream(session, &case, &row)?;
        self.store
            .audit(
                sunlight_store::AuditRecord {
                    actor: format!("staff:{}", session.staff_id),
                    action: "attachment.read".into(),
                    unit: case.unit.to_string(),
                    case_id: case.id.to_string(),
                    detail: format!("attachment={}", row.id),
                },
                now,
            )
            .await?;
        Ok((meta, stream))
    }

    /// One attachment of `case`: its metadata and its chunks, opened with
    /// the session's unit key. Not audited: the caller audits.
    pub(super) fn attachment_stream(
        &self,
        session: &Session,
        case: &CaseRow,
        row: &sunlight_store::AttachmentRow,
    ) -> Result<(AttachmentMeta, AttachmentStream), CaseworkError> {
        let meta_item = item::attachment_meta(row.id);
        let meta: AttachmentMeta =
            super::view::open_sealed(&row.sealed_meta, case.id, &meta_item, session)
                .ok_or(CaseworkError::Conflict(sunlight_store::Clash::Unreadable))?;
        let stream_item = item::attachment(row.id);
        let opener = AttachmentOpener::start(
            &row.stream_header,
            &SealContext {
                case_id: case.id,
                item: &stream_item,
            },
            session.unit_key(),
        )
        .map_err(|_| CaseworkError::Conflict(sunlight_store::Clash::Unreadable))?;
        Ok((
            meta,
            AttachmentStream {
                store: self.store.clone(),
                id: row.id,
                chunks: row.chunk_count,
                next: 0,
                opener: Some(opener),
            },
        ))
    }
}

/// The chunks of one attachment, opened one at a time.
pub struct AttachmentStream {
    store: Store,
    id: Uuid,
    chunks: u32,
    next: u32,
    opener: Option<AttachmentOpener>,
}

impl std::fmt::Debug for AttachmentStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentStream")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl AttachmentStream {
    /// The next plaintext chunk, `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, CaseworkError> {
        if self.next >= self.chunks {
            return Ok(None);
        }
        // A chunk row gone is damage like a chunk that does not open.
        let sealed = match self.store.attachment_chunk(self.id, self.next).await {
            Err(sunlight_store::StoreError::NotFound(_)) => {
                return Err(CaseworkError::Conflict(sunlight_store::Clash::Unreadable));
            }
            other => other?,
        };
        self.next += 1;
        let plain = if self.next == self.chunks {
            self.opener
                .take()
                .ok_or_else(|| CaseworkError::Internal("attachment stream ended".into()))?
                .finish(&sealed)
                .map_err(|_| CaseworkError::Conflict(sunlight_store::Clash::Unreadable))?
        } else {
            self.opener
                .as_mut()
                .ok_or_else(|| CaseworkError::Internal("attachment stream ended".into()))?
                .open_chunk(&sealed)
                .map_err(|_| CaseworkError::Conflict(sunlight_store::Clash::Unreadable))?
        };
        Ok(Some(plain))
    }
}
