//! `sunlight staff reauthenticate`: gives the staff material written before
//! tags existed (#24) its unit's tag, once, after an upgrade. An operator
//! with a recovery key vouches for the database as it stands; nothing
//! tags legacy rows on its own, because a member's session that did so
//! would also vouch for whatever a database writer had slipped in before.

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use sunlight_core::crypto::{SealContext, Sealed, UnitSecretKey, authenticate, open};
use sunlight_core::{CaseId, UnitId};

use crate::audit::AuditRecord;
use crate::entity::{case, hold, message, staff, transition};
use crate::keyring::{ProvisionError, key_below, no_case};
use crate::staff_auth::{tag_recovery_codes, totp_context};
use crate::{Store, StoreError};

/// What one run tagged, and what it left (rows that do not open with
/// their unit's key: damaged, or not what they claim to be).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reauthenticated {
    pub units: usize,
    pub second_factors: usize,
    pub recovery_codes: usize,
    pub notes: usize,
    pub messages: usize,
    pub hold_notices: usize,
    pub left: usize,
}

/// Tags every untagged staff row of `top` and the units below it, with
/// each unit's key reached from `top_key` down the escrow chain. Audited.
pub async fn reauthenticate(
    store: &Store,
    top: &UnitId,
    top_key: &UnitSecretKey,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Reauthenticated, ProvisionError> {
    let mut done = Reauthenticated::default();
    for unit in store.units().await? {
        let chain = store.unit_with_ancestors(&unit.id).await?;
        if !chain.iter().any(|u| &u.id == top) {
            continue;
        }
        let key = key_below(store, top, top_key, &unit.id).await?;
        staff_of(store, &unit.id, &key, &mut done).await?;
        cases_of(store, &unit.id, &key, &mut done).await?;
        done.units += 1;
    }
    store
        .audit(
            AuditRecord {
                actor: actor.to_owned(),
                action: "staff.reauthenticate".into(),
                unit: top.to_string(),
                detail: format!(
                    "units={} second_factors={} recovery_codes={} notes={} messages={} hold_notices={} left={}",
                    done.units,
                    done.second_factors,
                    done.recovery_codes,
                    done.notes,
                    done.messages,
                    done.hold_notices,
                    done.left
                ),
                ..Default::default()
            },
            now,
        )
        .await?;
    Ok(done)
}

/// The tagged form of a legacy blob that opens with `key` in `ctx`;
/// `None` for a tagged one; `Err(())` for one that does not open.
fn retag(
    blob: &[u8],
    ctx: &SealContext<'_>,
    unit: &UnitId,
    key: &UnitSecretKey,
) -> Result<Option<Vec<u8>>, ()> {
    match Sealed::parse(blob) {
        Ok(Sealed::Legacy(envelope)) if open(envelope, ctx, key).is_ok() => {
            authenticate(envelope, ctx, unit.as_str(), key)
                .map(Some)
                .map_err(|_| ())
        }
        Ok(Sealed::Authenticated(_)) => Ok(None),
        _ => Err(()),
    }
}

/// Counts one row: tagged now (`Some`), already tagged, or left.
fn count(outcome: &Result<Option<Vec<u8>>, ()>, tagged: &mut usize, left: &mut usize) {
    match outcome {
        Ok(Some(_)) => *tagged += 1,
        Ok(None) => {}
        Err(()) => *left += 1,
    }
}

async fn staff_of(
    store: &Store,
    unit: &UnitId,
    key: &UnitSecretKey,
    done: &mut Reauthenticated,
) -> Result<(), StoreError> {
    let members = staff::Entity::find()
        .filter(staff::Column::UnitId.eq(unit.as_str()))
        .all(store.conn())
        .await?;
    for m in members {
        let item = totp_context(&m.email);
        let ctx = SealContext {
            case_id: no_case(),
            item: &item,
        };
        let mut row = staff::ActiveModel {
            id: Set(m.id),
            ..Default::default()
        };
        let mut changed = false;
        for (blob, pending) in [(&m.totp_sealed, false), (&m.totp_pending, true)] {
            let Some(blob) = blob else { continue };
            let outcome = retag(blob, &ctx, unit, key);
            count(&outcome, &mut done.second_factors, &mut done.left);
            if let Ok(Some(tagged)) = outcome {
                changed = true;
                if pending {
                    row.totp_pending = Set(Some(tagged));
                } else {
                    row.totp_sealed = Set(Some(tagged));
                }
            }
        }
        // Untagged hashes are whole multiples of 32 bytes; tagged ones
        // carry 33 more.
        if let Some(codes) = m
            .recovery_codes
            .as_ref()
            .filter(|c| !c.is_empty() && c.len() % 32 == 0)
        {
            let tagged = tag_recovery_codes(codes, &m.email, key)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            row.recovery_codes = Set(Some(tagged));
            done.recovery_codes += 1;
            changed = true;
        }
        if changed {
            staff::Entity::update(row).exec(store.conn()).await?;
        }
    }
    Ok(())
}

async fn cases_of(
    store: &Store,
    unit: &UnitId,
    key: &UnitSecretKey,
    done: &mut Reauthenticated,
) -> Result<(), StoreError> {
    let cases: Vec<uuid::Uuid> = case::Entity::find()
        .filter(case::Column::UnitId.eq(unit.as_str()))
        .all(store.conn())
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    for id in cases {
        notes_of(store, id, unit, key, done).await?;
        messages_of(store, id, unit, key, done).await?;
        holds_of(store, id, unit, key, done).await?;
    }
    Ok(())
}

async fn notes_of(
    store: &Store,
    case_id: uuid::Uuid,
    unit: &UnitId,
    key: &UnitSecretKey,
    done: &mut Reauthenticated,
) -> Result<(), StoreError> {
    let steps = transition::Entity::find()
        .filter(transition::Column::CaseId.eq(case_id))
        .filter(transition::Column::SealedNote.is_not_null())
        .all(store.conn())
        .await?;
    for t in steps {
        let Some(blob) = &t.sealed_note else { continue };
        let item = [b"note/".as_slice(), t.id.as_bytes()].concat();
        let ctx = SealContext {
            case_id: CaseId::from_uuid(case_id),
            item: &item,
        };
        let outcome = retag(blob, &ctx, unit, key);
        count(&outcome, &mut done.notes, &mut done.left);
        if let Ok(Some(tagged)) = outcome {
            transition::Entity::update(transition::ActiveModel {
                id: Set(t.id),
                sealed_note: Set(Some(tagged)),
                ..Default::default()
            })
            .exec(store.conn())
            .await?;
        }
    }
    Ok(())
}

async fn messages_of(
    store: &Store,
    case_id: uuid::Uuid,
    unit: &UnitId,
    key: &UnitSecretKey,
    done: &mut Reauthenticated,
) -> Result<(), StoreError> {
    let messages = message::Entity::find()
        .filter(message::Column::CaseId.eq(case_id))
        .filter(message::Column::Author.eq("staff"))
        .all(store.conn())
        .await?;
    for m in messages {
        let item = sunlight_core::report::item::message(m.id);
        let ctx = SealContext {
            case_id: CaseId::from_uuid(case_id),
            item: &item,
        };
        let outcome = retag(&m.sealed_body, &ctx, unit, key);
        count(&outcome, &mut done.messages, &mut done.left);
        if let Ok(Some(tagged)) = outcome {
            message::Entity::update(message::ActiveModel {
                id: Set(m.id),
                sealed_body: Set(tagged),
                ..Default::default()
            })
            .exec(store.conn())
            .await?;
        }
    }
    Ok(())
}

async fn holds_of(
    store: &Store,
    case_id: uuid::Uuid,
    unit: &UnitId,
    key: &UnitSecretKey,
    done: &mut Reauthenticated,
) -> Result<(), StoreError> {
    let holds = hold::Entity::find()
        .filter(hold::Column::CaseId.eq(case_id))
        .filter(hold::Column::SealedNoticeTo.is_not_null())
        .all(store.conn())
        .await?;
    for h in holds {
        let Some(blob) = &h.sealed_notice_to else {
            continue;
        };
        let item = [b"hold-notice/".as_slice(), h.id.as_bytes()].concat();
        let ctx = SealContext {
            case_id: CaseId::from_uuid(case_id),
            item: &item,
        };
        let outcome = retag(blob, &ctx, unit, key);
        count(&outcome, &mut done.hold_notices, &mut done.left);
        if let Ok(Some(tagged)) = outcome {
            hold::Entity::update(hold::ActiveModel {
                id: Set(h.id),
                sealed_notice_to: Set(Some(tagged)),
                ..Default::default()
            })
            .exec(store.conn())
            .await?;
        }
    }
    Ok(())
}
