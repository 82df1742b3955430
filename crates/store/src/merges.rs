//! Merged cases (并案): the merge itself (never widening who reads a case), the cases merged into one, and the reporter keys that may read its replies.

use crate::cases::Jurisdiction;
use crate::entity::{case, hold};
use crate::error::Clash;
use crate::units::unit_chain_in;
use crate::{Store, StoreError};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use sunlight_core::CaseId;
use sunlight_core::Stage;
use uuid::Uuid;

impl Store {
    /// The reporter key of `merged`, when that case was merged into `case`:
    /// a staff message on the surviving case addressed to that reporter is
    /// sealed to it (and to no other reporter).
    pub async fn merged_reporter_key(
        &self,
        case: CaseId,
        merged: CaseId,
    ) -> Result<Option<sunlight_core::crypto::UnitPublicKey>, StoreError> {
        let key = case::Entity::find_by_id(merged.as_uuid())
            .select_only()
            .column(case::Column::ReporterPublicKey)
            .filter(case::Column::MergedInto.eq(case.as_uuid()))
            .into_tuple::<Option<Vec<u8>>>()
            .one(self.conn())
            .await?
            .flatten();
        key.map(|k| {
            sunlight_core::crypto::UnitPublicKey::from_slice(&k).map_err(|_| {
                StoreError::Corrupt(format!("case merged into {case}: bad reporter key"))
            })
        })
        .transpose()
    }

    /// Reporter keys of the cases merged into `case`: their reporters read
    /// how the surviving case goes on (extensions, the feedback), never
    /// what is asked of or written to another reporter.
    pub async fn merged_reporter_keys(
        &self,
        case: CaseId,
    ) -> Result<Vec<sunlight_core::crypto::UnitPublicKey>, StoreError> {
        case::Entity::find()
            .select_only()
            .column(case::Column::ReporterPublicKey)
            .filter(case::Column::MergedInto.eq(case.as_uuid()))
            .into_tuple::<Option<Vec<u8>>>()
            .all(self.conn())
            .await?
            .into_iter()
            .flatten()
            .map(|k| {
                sunlight_core::crypto::UnitPublicKey::from_slice(&k).map_err(|_| {
                    StoreError::Corrupt(format!("case merged into {case}: bad reporter key"))
                })
            })
            .collect()
    }

    /// The cases merged into `case` (their ids), oldest first: the other
    /// reporters a staff message may be addressed to.
    pub async fn merged_cases(&self, case: CaseId) -> Result<Vec<CaseId>, StoreError> {
        Ok(case::Entity::find()
            .select_only()
            .column(case::Column::Id)
            .filter(case::Column::MergedInto.eq(case.as_uuid()))
            .order_by_asc(case::Column::Id)
            .into_tuple::<Uuid>()
            .all(self.conn())
            .await?
            .into_iter()
            .map(CaseId::from_uuid)
            .collect())
    }
}

/// Points the merged case `row` at `into`, which must be open and in the
/// member's units.
pub(crate) async fn merge_into(
    txn: &DatabaseTransaction,
    j: &Jurisdiction,
    row: &case::Model,
    into: CaseId,
    carry_hold: bool,
) -> Result<(), StoreError> {
    let id = row.id;
    // Whoever reads the surviving case reads what the merged
    // reporter sends from now on, so its readers (its unit
    // and the units above) must all be readers of the merged
    // case already: the target's unit lies on the merged
    // case's own chain. Anything else would, say, hand a
    // key-person report to the accused's own unit.
    let readers = unit_chain_in(txn, &row.unit_id).await?;
    let target = case::Entity::update_many()
        .col_expr(
            case::Column::Hold,
            if carry_hold {
                Expr::value(true)
            } else {
                Expr::col(case::Column::Hold)
            },
        )
        .col_expr(
            case::Column::Version,
            sea_orm::sea_query::ExprTrait::add(Expr::col(case::Column::Version), 1),
        )
        .filter(case::Column::Id.eq(into.as_uuid()))
        .filter(case::Column::Stage.ne(Stage::Closed.as_str()))
        .filter(case::Column::UnitId.is_in(j.ids()))
        .filter(case::Column::UnitId.is_in(readers.clone()))
        .exec(txn)
        .await?
        .rows_affected;
    if target != 1 {
        let open_in_reach = case::Entity::find_by_id(into.as_uuid())
            .filter(case::Column::Stage.ne(Stage::Closed.as_str()))
            .filter(case::Column::UnitId.is_in(j.ids()))
            .one(txn)
            .await?
            .is_some();
        return Err(if open_in_reach {
            StoreError::Conflict(Clash::MergeWouldWiden)
        } else {
            StoreError::Invalid("the case to merge into is not an open case of your units")
        });
    }
    if carry_hold {
        hold::Entity::update_many()
            .col_expr(hold::Column::CaseId, Expr::value(into.as_uuid()))
            .filter(hold::Column::CaseId.eq(id))
            .filter(hold::Column::LiftedAt.is_null())
            .exec(txn)
            .await?;
    }
    Ok(())
}
