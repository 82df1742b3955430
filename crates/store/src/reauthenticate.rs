//! `sunlight staff reauthenticate`: gives the staff rows written before
//! tags existed (#24) their unit's tag, once, after an upgrade. An
//! operator with a recovery key vouches for the database as it stands.
//! Nothing tags legacy rows on its own, because a member's session that
//! did so would also vouch for whatever a database writer had slipped in
//! before; and a second run is refused unless forced, for the same reason.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use sunlight_core::UnitId;
use sunlight_core::crypto::UnitSecretKey;

use crate::audit::AuditRecord;
use crate::entity::audit_entry;
use crate::keyring::{ProvisionError, key_below};
pub use crate::retag::Reauthenticated;
use crate::retag::{Pass, pass};
use crate::{Store, StoreError};

/// Tags every untagged staff row of `top` and the units below it, with
/// each unit's key reached from `top_key` down the escrow chain. Audited.
/// Refused when it ran before, unless `force`: each run vouches for
/// whatever untagged rows the database holds by then.
pub async fn reauthenticate(
    store: &Store,
    top: &UnitId,
    top_key: &UnitSecretKey,
    force: bool,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Reauthenticated, ProvisionError> {
    // Refused where a run covered this subtree already (this unit, one
    // above it or one below it); a sibling's own run does not count.
    let earlier: Vec<String> = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("staff.reauthenticate"))
        .all(store.conn())
        .await
        .map_err(StoreError::from)?
        .into_iter()
        .map(|e| e.unit_id)
        .collect();
    let above: Vec<String> = store
        .unit_with_ancestors(top)
        .await?
        .into_iter()
        .map(|u| u.id.to_string())
        .collect();
    let mut covered = false;
    for unit in &earlier {
        let below = match UnitId::parse(unit) {
            Ok(id) => store
                .unit_with_ancestors(&id)
                .await?
                .iter()
                .any(|u| &u.id == top),
            Err(_) => false,
        };
        covered |= below || above.contains(unit);
    }
    if covered && !force {
        return Err(ProvisionError::Store(StoreError::Invalid(
            "staff material of this unit was reauthenticated before (see the audit log); a second run would vouch for whatever was written since: give --force only if you have checked it",
        )));
    }
    let mut done = Reauthenticated::default();
    for unit in store.units().await? {
        let chain = store.unit_with_ancestors(&unit.id).await?;
        if !chain.iter().any(|u| &u.id == top) {
            continue;
        }
        let key = key_below(store, top, top_key, &unit.id).await?;
        pass(store, &unit.id, &key, Pass::Reauthenticate, &mut done).await?;
        done.units += 1;
    }
    store
        .audit(
            AuditRecord {
                actor: actor.to_owned(),
                action: "staff.reauthenticate".into(),
                unit: top.to_string(),
                detail: done.to_string(),
                ..Default::default()
            },
            now,
        )
        .await?;
    Ok(done)
}
