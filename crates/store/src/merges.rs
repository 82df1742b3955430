//! Merged cases (并案): the cases merged into one, and the reporter keys that may read its replies.

use crate::entity::case;
use crate::{Store, StoreError};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sunlight_core::CaseId;
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
