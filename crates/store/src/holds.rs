//! Holds (rule 4, 暂缓): opened by actions, their notice confirmed by staff.

use crate::audit::{AuditRecord, append};
use crate::cases::Jurisdiction;
use crate::entity::{case, hold};
use crate::error::Clash;
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr};
use sunlight_core::{CaseId, UnitId};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct NewHold {
    pub notice_due_at: DateTime<Utc>,
    pub max_until: DateTime<Utc>,
}

/// A hold as listed.
#[derive(Debug, Clone)]
pub struct HoldRow {
    pub id: Uuid,
    pub case_id: CaseId,
    pub unit: UnitId,
    pub opened_at: DateTime<Utc>,
    pub notice_due_at: DateTime<Utc>,
    pub max_until: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub sealed_notice_to: Option<Vec<u8>>,
    pub lifted_at: Option<DateTime<Utc>>,
}

impl TryFrom<hold::Model> for HoldRow {
    type Error = StoreError;
    fn try_from(m: hold::Model) -> Result<Self, StoreError> {
        Ok(Self {
            id: m.id,
            case_id: CaseId::from_uuid(m.case_id),
            unit: UnitId::parse(&m.unit_id)
                .map_err(|_| StoreError::Corrupt(format!("hold {}: bad unit", m.id)))?,
            opened_at: m.opened_at,
            notice_due_at: m.notice_due_at,
            max_until: m.max_until,
            confirmed_at: m.confirmed_at,
            sealed_notice_to: m.sealed_notice_to,
            lifted_at: m.lifted_at,
        })
    }
}

impl Store {
    /// Holds of a case.
    pub async fn holds_of(&self, case: CaseId) -> Result<Vec<HoldRow>, StoreError> {
        hold::Entity::find()
            .filter(hold::Column::CaseId.eq(case.as_uuid()))
            .order_by_asc(hold::Column::OpenedAt)
            .all(self.conn())
            .await?
            .into_iter()
            .map(HoldRow::try_from)
            .collect()
    }

    /// Staff confirm a hold and record (sealed) to whom its notice went.
    pub async fn confirm_hold(
        &self,
        j: &Jurisdiction,
        case_id: CaseId,
        hold_id: Uuid,
        staff: Uuid,
        sealed_notice_to: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.write_txn().await?;
        // The hold must belong to the case named and the case to the
        // jurisdiction (a merged hold keeps its old unit).
        let in_reach = case::Entity::find_by_id(case_id.as_uuid())
            .filter(case::Column::UnitId.is_in(j.ids()))
            .one(&txn)
            .await?
            .is_some();
        if !in_reach {
            txn.rollback().await?;
            return Err(StoreError::NotFound("hold"));
        }
        let row = hold::Entity::find_by_id(hold_id)
            .filter(hold::Column::CaseId.eq(case_id.as_uuid()))
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound("hold"))?;
        let n = hold::Entity::update_many()
            .col_expr(hold::Column::ConfirmedAt, Expr::value(now))
            .col_expr(hold::Column::ConfirmedBy, Expr::value(staff))
            .col_expr(hold::Column::SealedNoticeTo, Expr::value(sealed_notice_to))
            .filter(hold::Column::Id.eq(hold_id))
            .filter(hold::Column::ConfirmedAt.is_null())
            .filter(hold::Column::LiftedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if n != 1 {
            txn.rollback().await?;
            return Err(StoreError::Conflict(Clash::HoldSettled));
        }
        // The case's unit, not the hold's (a merged hold keeps its old
        // unit): the audit page shows an entry to the case's people only.
        let unit = crate::audit::case_unit(&txn, case_id).await?;
        append(
            &txn,
            AuditRecord {
                actor: format!("staff:{staff}"),
                action: "hold.confirm".into(),
                unit,
                case_id: row.case_id.to_string(),
                detail: String::new(),
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
