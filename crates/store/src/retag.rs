//! Bringing staff rows' tags (#24) to a unit's current key: after a key
//! rotation ([`carry_tags`], readers trust only the current key's tags),
//! and for `sunlight staff reauthenticate` (`crate::reauthenticate`).

use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use sunlight_core::crypto::{SealContext, Sealed, TagBy, UnitSecretKey, authenticate, open};
use sunlight_core::{CaseId, UnitId};

use crate::entity::{case, hold, log_leaf, message, staff, transition};
use crate::staff_auth::{no_case, recovery_hashes_by, tag_recovery_codes, totp_context};
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

/// `units=N second_factors=N … left=N`: the CLI's line and the audit
/// entry's detail.
impl std::fmt::Display for Reauthenticated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "units={} second_factors={} recovery_codes={} notes={} messages={} hold_notices={} left={}",
            self.units,
            self.second_factors,
            self.recovery_codes,
            self.notes,
            self.messages,
            self.hold_notices,
            self.left
        )
    }
}

impl Reauthenticated {
    /// How many rows got a new tag.
    pub fn tagged(&self) -> usize {
        self.second_factors + self.recovery_codes + self.notes + self.messages + self.hold_notices
    }
}

/// What a pass over a unit's rows does with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// After an upgrade: untagged rows that open with the unit's key, and
    /// rows tagged by a retired key, get the current key's tag.
    Reauthenticate,
    /// After a rotation: only rows tagged by the previous key.
    Rotation,
}

/// After a rotation of `unit` from `old` to `new`: every row the old key
/// tagged gets the new key's tag (readers trust only the current key's).
/// Untagged rows are left as they are.
pub async fn carry_tags(
    store: &Store,
    unit: &UnitId,
    old: &UnitSecretKey,
    new: &UnitSecretKey,
) -> Result<Reauthenticated, StoreError> {
    let ring = new.current_only().with_retired(old.current_only());
    let mut done = Reauthenticated::default();
    pass(store, unit, &ring, Pass::Rotation, &mut done).await?;
    done.units = 1;
    Ok(done)
}

pub(crate) async fn pass(
    store: &Store,
    unit: &UnitId,
    key: &UnitSecretKey,
    how: Pass,
    done: &mut Reauthenticated,
) -> Result<(), StoreError> {
    staff_of(store, unit, key, how, done).await?;
    cases_of(store, unit, key, how, done).await
}

/// The blob with the current key's tag, when it needs one: `None` when
/// it has it already (or, after a rotation, has no tag to carry);
/// `Err(())` for one that is not the unit's to vouch for.
fn retag(
    blob: &[u8],
    ctx: &SealContext<'_>,
    unit: &UnitId,
    author: &[u8],
    key: &UnitSecretKey,
    how: Pass,
) -> Result<Option<Vec<u8>>, ()> {
    let envelope = match Sealed::parse(blob) {
        Ok(Sealed::Legacy(_)) if how == Pass::Rotation => return Ok(None),
        Ok(Sealed::Legacy(envelope)) if open(envelope, ctx, key).is_ok() => envelope,
        Ok(Sealed::Authenticated(t)) if t.signer == unit.as_str() => {
            match t.verify(ctx, author, key) {
                Ok(TagBy::Current) => return Ok(None),
                // Only a rotation carries a retired key's tag over: it
                // holds the key it retires. Anywhere else a retired key
                // may be one a database writer planted in the history.
                Ok(TagBy::Retired) if how == Pass::Rotation => t.envelope,
                _ => return Err(()),
            }
        }
        _ => return Err(()),
    };
    authenticate(envelope, ctx, unit.as_str(), author, key)
        .map(Some)
        .map_err(|_| ())
}

/// [`retag`] for a row of a case: its item, and the member the row names
/// as its writer.
fn row(
    blob: &[u8],
    case_id: uuid::Uuid,
    item: &[u8],
    author: Option<uuid::Uuid>,
    unit: &UnitId,
    key: &UnitSecretKey,
    how: Pass,
) -> Result<Option<Vec<u8>>, ()> {
    let ctx = SealContext {
        case_id: CaseId::from_uuid(case_id),
        item,
    };
    let author = author.map(|a| a.as_bytes().to_vec()).unwrap_or_default();
    retag(blob, &ctx, unit, &author, key, how)
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
    how: Pass,
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
        // The recovery codes are vouched for only with a second factor
        // that is: a member whose secret is not the unit's keeps none.
        let mut factor_ok = m.totp_sealed.is_some();
        for (blob, pending) in [(&m.totp_sealed, false), (&m.totp_pending, true)] {
            let Some(blob) = blob else { continue };
            let outcome = retag(blob, &ctx, unit, b"", key, how);
            if !pending && outcome.is_err() {
                factor_ok = false;
            }
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
        if let Some(codes) = m.recovery_codes.as_ref().filter(|c| !c.is_empty()) {
            match recovery_retag(codes, &m.email, key, how, factor_ok) {
                Ok(Some(tagged)) => {
                    row.recovery_codes = Set(Some(tagged));
                    done.recovery_codes += 1;
                    changed = true;
                }
                Ok(None) => {}
                Err(()) => done.left += 1,
            }
        }
        if changed {
            staff::Entity::update(row).exec(store.conn()).await?;
        }
    }
    Ok(())
}

/// A recovery list with the current key's tag, when it needs one.
/// Untagged hashes are whole multiples of 32 bytes; tagged ones carry 33
/// more.
fn recovery_retag(
    codes: &[u8],
    email: &str,
    key: &UnitSecretKey,
    how: Pass,
    factor_ok: bool,
) -> Result<Option<Vec<u8>>, ()> {
    let hashes = if codes.len().is_multiple_of(32) {
        if how == Pass::Rotation {
            return Ok(None);
        }
        codes
    } else {
        match recovery_hashes_by(codes, email, key) {
            Some(TagBy::Current) => return Ok(None),
            Some(TagBy::Retired) if how == Pass::Rotation => codes.get(33..).ok_or(())?,
            _ => return Err(()),
        }
    };
    if !factor_ok {
        return Err(());
    }
    tag_recovery_codes(hashes, email, key)
        .map(Some)
        .map_err(|_| ())
}

async fn cases_of(
    store: &Store,
    unit: &UnitId,
    key: &UnitSecretKey,
    how: Pass,
    done: &mut Reauthenticated,
) -> Result<(), StoreError> {
    let cases: Vec<uuid::Uuid> = case::Entity::find()
        .select_only()
        .column(case::Column::Id)
        .filter(case::Column::UnitId.eq(unit.as_str()))
        .into_tuple()
        .all(store.conn())
        .await?;
    for id in cases {
        notes_of(store, id, unit, key, how, done).await?;
        messages_of(store, id, unit, key, how, done).await?;
        holds_of(store, id, unit, key, how, done).await?;
    }
    Ok(())
}

async fn notes_of(
    store: &Store,
    case_id: uuid::Uuid,
    unit: &UnitId,
    key: &UnitSecretKey,
    how: Pass,
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
        let outcome = row(blob, case_id, &item, t.actor_id, unit, key, how);
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
    how: Pass,
    done: &mut Reauthenticated,
) -> Result<(), StoreError> {
    let messages = message::Entity::find()
        .filter(message::Column::CaseId.eq(case_id))
        .filter(message::Column::Author.eq("staff"))
        .all(store.conn())
        .await?;
    // A reporter's message has a leaf in the log; one marked as staff's
    // with a leaf was relabelled, and is not the unit's to vouch for.
    let logged: std::collections::HashSet<uuid::Uuid> = log_leaf::Entity::find()
        .filter(log_leaf::Column::CaseId.eq(case_id))
        .filter(log_leaf::Column::MessageId.is_not_null())
        .all(store.conn())
        .await?
        .into_iter()
        .filter_map(|l| l.message_id)
        .collect();
    for m in messages {
        if logged.contains(&m.id) {
            done.left += 1;
            continue;
        }
        let item = sunlight_core::report::item::message(m.id);
        let outcome = row(&m.sealed_body, case_id, &item, m.staff_id, unit, key, how);
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
    how: Pass,
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
        let outcome = row(blob, case_id, &item, h.confirmed_by, unit, key, how);
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
