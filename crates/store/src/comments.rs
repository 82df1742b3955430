//! Internal comments (内部意见): a history row sealed to the case's units,
//! written beside the case without touching it, so a comment never races an
//! action (no version bump) and changes no stage, entry or date.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use sunlight_core::CaseId;
use uuid::Uuid;

use crate::Store;
use crate::audit::{AuditRecord, append};
use crate::cases::Jurisdiction;
use crate::entity::case;
use crate::error::StoreError;
use crate::transitions::{Step, insert_transition};

impl Store {
    /// Adds the comment `row` (sealed by the caller) to a case of the
    /// jurisdiction, in its current stage, never visible to the reporter;
    /// audited as `case.noted` without content.
    pub async fn add_comment(
        &self,
        j: &Jurisdiction,
        case_id: CaseId,
        row: Uuid,
        staff: Uuid,
        sealed: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.write_txn().await?;
        let Some(case) = case::Entity::find_by_id(case_id.as_uuid())
            .filter(case::Column::UnitId.is_in(j.ids()))
            .one(&txn)
            .await?
        else {
            txn.rollback().await?;
            return Err(StoreError::NotFound("case"));
        };
        let stage = case
            .stage
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("case {}: bad stage", case.id)))?;
        insert_transition(
            &txn,
            Step {
                id: row,
                case: case_id,
                from: stage,
                to: stage,
                action: "noted",
                actor: Some(staff),
                sealed_note: Some(sealed),
                reporter_visible: false,
                at: now,
            },
        )
        .await?;
        append(
            &txn,
            AuditRecord {
                actor: format!("staff:{staff}"),
                action: "case.noted".into(),
                unit: case.unit_id,
                case_id: case_id.to_string(),
                detail: String::new(),
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
