//! Who a new report goes to: the chosen unit's chain, the key-person
//! rule, and the unit keys it is sealed to.

use sunlight_core::UnitId;
use sunlight_core::addressing::{Addressing, address};
use sunlight_core::crypto::UnitPublicKey;
use sunlight_store::{SealedTo, StoreError};

use crate::{Field, FieldError, Filing, FilingError, Problem, unit_keys};

impl Filing {
    /// Who handles a report to `unit` about someone in `role`, the unit
    /// keys it is sealed to (nearest first), and their generations for
    /// the store's check. The unit must exist.
    pub async fn addressed(
        &self,
        unit: &UnitId,
        role: sunlight_core::AccusedRole,
    ) -> Result<(Addressing, Vec<UnitPublicKey>, SealedTo), FilingError> {
        addressed_in(self.store.public_unit_with_ancestors(unit).await, role)
    }

    /// [`Self::addressed`] from units read at most a second ago
    /// (`Store::public_units_recent`). Safe for sealing and checking: the
    /// filing's transaction refuses it if a key it was sealed to has been
    /// replaced, and that refusal drops the copy.
    pub async fn addressed_recently(
        &self,
        unit: &UnitId,
        role: sunlight_core::AccusedRole,
    ) -> Result<(Addressing, Vec<UnitPublicKey>, SealedTo), FilingError> {
        addressed_in(
            self.store.public_unit_with_ancestors_recent(unit).await,
            role,
        )
    }
}

/// Who receives a report on `role` among `chain` (a unit and those above
/// it, nearest first), and their keys.
fn addressed_in(
    chain: Result<Vec<sunlight_store::UnitRow>, StoreError>,
    role: sunlight_core::AccusedRole,
) -> Result<(Addressing, Vec<UnitPublicKey>, SealedTo), FilingError> {
    let chain = match chain {
        Ok(chain) => chain,
        Err(StoreError::NotFound(_)) => {
            return Err(FilingError::Invalid(vec![FieldError {
                field: Field::Unit,
                problem: Problem::NoSuchUnit,
            }]));
        }
        Err(e) => return Err(e.into()),
    };
    let ids: Vec<_> = chain.iter().map(|u| u.id.clone()).collect();
    let addressing =
        address(&ids, role).ok_or_else(|| FilingError::Internal("empty unit chain".into()))?;
    let units: Vec<_> = chain
        .into_iter()
        .filter(|u| addressing.recipients.contains(&u.id))
        .collect();
    Ok((addressing, unit_keys(&units), SealedTo::of(&units)))
}
