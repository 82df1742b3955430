//! What keeps a staff account in its owner's hands: the session epoch that
//! ends every live session when it moves, admin disable/enable/reset, the
//! sign-in attempt counted before the password is checked, and a new TOTP
//! secret that counts only once its first code came back.

use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};
use sunlight_core::UnitId;
use sunlight_core::crypto::{PasswordRecord, UnitSecretKey};
use uuid::Uuid;

use crate::audit::{AuditRecord, append};
use crate::entity::staff;
use crate::error::Clash;
use crate::staff::MemberKeys;
use crate::{StaffRow, Store, StoreError};

/// Whether a member's sessions may go on: checked on every request (cached
/// for a few seconds by the web layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub epoch: i64,
    pub disabled: bool,
}

/// The first step of a sign-in, taken before any password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Counted as a failure until it succeeds; the password may be checked.
    Counted { failures: i32 },
    /// Locked after earlier failures: answer without checking anything.
    Locked,
}

/// How long an account stays locked after `failures` consecutive failed
/// attempts: from the fourth on, 2^(n-3) seconds, at most an hour.
fn lock_for(failures: i32) -> Option<Duration> {
    (failures > 3).then(|| {
        let exp = u32::try_from(failures.saturating_sub(3).min(12)).unwrap_or(12);
        Duration::seconds(2i64.pow(exp).min(3600))
    })
}

/// The row of member `id` of `unit`, locked for the rest of `txn` (FOR
/// UPDATE on PostgreSQL; SQLite's write transaction is exclusive already).
async fn member_for_update(
    txn: &DatabaseTransaction,
    id: Uuid,
    unit: Option<&UnitId>,
) -> Result<staff::Model, StoreError> {
    let mut q = staff::Entity::find_by_id(id);
    if let Some(unit) = unit {
        q = q.filter(staff::Column::UnitId.eq(unit.as_str()));
    }
    q.lock_exclusive()
        .one(txn)
        .await?
        .ok_or(StoreError::NotFound("staff member of your unit"))
}

fn next_epoch() -> sea_orm::sea_query::SimpleExpr {
    sea_orm::sea_query::ExprTrait::add(Expr::col(staff::Column::SessionEpoch), 1)
}

impl Store {
    /// A member's session epoch and whether they are disabled; `None` for
    /// an unknown member.
    pub async fn staff_standing(&self, id: Uuid) -> Result<Option<Standing>, StoreError> {
        Ok(staff::Entity::find_by_id(id)
            .select_only()
            .column(staff::Column::SessionEpoch)
            .column(staff::Column::Disabled)
            .into_tuple::<(i64, bool)>()
            .one(self.conn())
            .await?
            .map(|(epoch, disabled)| Standing { epoch, disabled }))
    }

    /// Counts a sign-in attempt as failed before its password is checked,
    /// in one locked read-modify-write, so parallel guesses cannot all pass
    /// the lock check before the first failure is written: of any number of
    /// simultaneous attempts at one account, at most four reach the
    /// password check. A success resets the count (`record_login`).
    pub async fn begin_sign_in(&self, id: Uuid, now: DateTime<Utc>) -> Result<Attempt, StoreError> {
        // A locked account is answered from a plain read: a flood of
        // guesses at it takes no write lock. (A lock only ends by expiring
        // or by a success, so a stale "locked" costs nothing but a retry.)
        let locked = staff::Entity::find_by_id(id)
            .select_only()
            .column(staff::Column::LockedUntil)
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(self.conn())
            .await?
            .flatten()
            .is_some_and(|until| until > now);
        if locked {
            return Ok(Attempt::Locked);
        }
        let txn = self.write_txn().await?;
        let row = member_for_update(&txn, id, None).await?;
        if row.locked_until.is_some_and(|until| until > now) {
            txn.commit().await?;
            return Ok(Attempt::Locked);
        }
        let failures = row.failed_logins.saturating_add(1);
        staff::Entity::update(staff::ActiveModel {
            id: Set(id),
            failed_logins: Set(failures),
            locked_until: Set(lock_for(failures).map(|d| now + d)),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        txn.commit().await?;
        Ok(Attempt::Counted { failures })
    }

    /// A member of `unit` can no longer sign in, and every live session of
    /// theirs ends (in every process, at its next request) — or, with
    /// `disabled = false`, may sign in again. Audited; refuses a no-op.
    pub async fn set_staff_disabled(
        &self,
        id: Uuid,
        unit: &UnitId,
        disabled: bool,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<StaffRow, StoreError> {
        let txn = self.write_txn().await?;
        let row = member_for_update(&txn, id, Some(unit)).await?;
        if row.disabled == disabled {
            txn.rollback().await?;
            return Err(StoreError::Conflict(if disabled {
                Clash::AlreadyDisabled
            } else {
                Clash::NotDisabled
            }));
        }
        staff::Entity::update_many()
            .col_expr(staff::Column::Disabled, Expr::value(disabled))
            .col_expr(staff::Column::SessionEpoch, next_epoch())
            .filter(staff::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        append(
            &txn,
            AuditRecord {
                actor: actor.to_owned(),
                action: if disabled {
                    "staff.disable"
                } else {
                    "staff.enable"
                }
                .into(),
                unit: row.unit_id.clone(),
                detail: format!("staff={id}"),
                ..Default::default()
            },
            now,
        )
        .await?;
        txn.commit().await?;
        let mut out = StaffRow::try_from(row)?;
        out.disabled = disabled;
        Ok(out)
    }

    /// An admin gives a member who forgot their password a one-time one:
    /// the unit key is wrapped under it, the member must replace it at the
    /// next sign-in, failures and locks are cleared, and every live session
    /// of theirs ends. Audited. The TOTP secret stays (the device did not
    /// change hands).
    pub async fn reset_staff_password(
        &self,
        id: Uuid,
        unit: &UnitId,
        password: &PasswordRecord,
        keys: &MemberKeys,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<StaffRow, StoreError> {
        let txn = self.write_txn().await?;
        let row = member_for_update(&txn, id, Some(unit)).await?;
        keys.set_on(staff::Entity::update_many())
            .col_expr(
                staff::Column::PasswordRecord,
                Expr::value(password.to_bytes()),
            )
            .col_expr(staff::Column::MustChangePassword, Expr::value(true))
            .col_expr(staff::Column::FailedLogins, Expr::value(0))
            .col_expr(
                staff::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(staff::Column::SessionEpoch, next_epoch())
            .filter(staff::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        append(
            &txn,
            AuditRecord {
                actor: actor.to_owned(),
                action: "staff.reset".into(),
                unit: row.unit_id.clone(),
                detail: format!("staff={id}"),
                ..Default::default()
            },
            now,
        )
        .await?;
        txn.commit().await?;
        let mut out = StaffRow::try_from(row)?;
        out.password = password.clone();
        out.wrapped_unit_key = keys.wrapped_member_key.clone();
        out.member_public_key = Some(keys.member_public_key);
        out.unit_key_sealed = Some(keys.unit_key_sealed.clone());
        out.must_change_password = true;
        Ok(out)
    }

    /// An admin removes a member's second factor (their authenticator was
    /// lost): secret, pending secret and recovery codes go, every live
    /// session ends, and at the next sign-in the member enrols a new one
    /// before anything else. Audited.
    pub async fn reset_staff_totp(
        &self,
        id: Uuid,
        unit: &UnitId,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<StaffRow, StoreError> {
        let txn = self.write_txn().await?;
        let row = member_for_update(&txn, id, Some(unit)).await?;
        staff::Entity::update_many()
            .col_expr(
                staff::Column::TotpSealed,
                Expr::value(Option::<Vec<u8>>::None),
            )
            .col_expr(
                staff::Column::TotpPending,
                Expr::value(Option::<Vec<u8>>::None),
            )
            .col_expr(
                staff::Column::RecoveryCodes,
                Expr::value(Option::<Vec<u8>>::None),
            )
            .col_expr(staff::Column::SessionEpoch, next_epoch())
            .filter(staff::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        append(
            &txn,
            AuditRecord {
                actor: actor.to_owned(),
                action: "staff.totp".into(),
                unit: row.unit_id.clone(),
                detail: format!("staff={id} reset"),
                ..Default::default()
            },
            now,
        )
        .await?;
        txn.commit().await?;
        let mut out = StaffRow::try_from(row)?;
        out.totp_sealed = None;
        out.has_pending_totp = false;
        out.recovery_codes = Vec::new();
        Ok(out)
    }

    /// The member entered a code of their pending TOTP secret (time step
    /// `step`): it replaces the old secret, codes up to `step` are spent,
    /// and `recovery_codes` (hashes) replace any earlier ones. False when
    /// there is no pending secret. Audited.
    pub async fn confirm_totp(
        &self,
        id: Uuid,
        step: u64,
        recovery_codes: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let step = i64::try_from(step).map_err(|_| StoreError::Invalid("TOTP step"))?;
        let txn = self.write_txn().await?;
        let row = member_for_update(&txn, id, None).await?;
        let Some(pending) = row.totp_pending else {
            txn.rollback().await?;
            return Ok(false);
        };
        staff::Entity::update(staff::ActiveModel {
            id: Set(id),
            totp_sealed: Set(Some(pending)),
            totp_pending: Set(None),
            totp_last_step: Set(Some(step)),
            recovery_codes: Set(Some(recovery_codes)),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        append(
            &txn,
            AuditRecord {
                actor: format!("staff:{id}"),
                action: "staff.totp".into(),
                unit: row.unit_id,
                detail: "confirmed".into(),
                ..Default::default()
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Replaces the member's pending TOTP secret (they asked for a new
    /// authenticator, having proved password and current code).
    pub async fn set_pending_totp(&self, id: Uuid, sealed: Vec<u8>) -> Result<(), StoreError> {
        staff::Entity::update(staff::ActiveModel {
            id: Set(id),
            totp_pending: Set(Some(sealed)),
            ..Default::default()
        })
        .exec(self.conn())
        .await?;
        Ok(())
    }

    /// Spends one recovery code (its hash): true when it was unused. One
    /// compare-and-set on the stored list, so a code signs in once however
    /// many sign-ins race with it. Audited. A list the unit key did not
    /// tag is `Clash::SecondFactorUnauthenticated`.
    pub async fn use_recovery_code(
        &self,
        id: Uuid,
        unit: &UnitId,
        hash: &[u8; sunlight_core::crypto::RECOVERY_HASH],
        key: &UnitSecretKey,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.write_txn().await?;
        let row = member_for_update(&txn, id, None).await?;
        let stored = row.recovery_codes.clone().unwrap_or_default();
        // A list the unit key did not tag spends nothing: a database
        // writer's own codes must not stand in for the member's.
        let Ok(hashes) = crate::staff_auth::recovery_hashes(&stored, &row.email, key) else {
            txn.rollback().await?;
            return Err(StoreError::Conflict(Clash::SecondFactorUnauthenticated));
        };
        let Some(rest) = sunlight_core::crypto::spend_recovery_code(hashes, hash) else {
            txn.rollback().await?;
            return Ok(false);
        };
        let left = rest.len() / sunlight_core::crypto::RECOVERY_HASH;
        let rest = crate::staff_auth::tag_recovery_codes(&rest, &row.email, key)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        staff::Entity::update(staff::ActiveModel {
            id: Set(id),
            recovery_codes: Set(Some(rest)),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        append(
            &txn,
            AuditRecord {
                actor: format!("staff:{id}"),
                action: "staff.totp".into(),
                unit: unit.to_string(),
                detail: format!("recovery_code_used left={left}"),
                ..Default::default()
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// The sealed TOTP secret waiting for its first code, if any.
    pub async fn pending_totp(&self, id: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(staff::Entity::find_by_id(id)
            .select_only()
            .column(staff::Column::TotpPending)
            .into_tuple::<Option<Vec<u8>>>()
            .one(self.conn())
            .await?
            .flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_starts_at_the_fourth_failure_and_grows_to_an_hour() {
        assert_eq!(lock_for(3), None);
        assert_eq!(lock_for(4), Some(Duration::seconds(2)));
        assert_eq!(lock_for(5), Some(Duration::seconds(4)));
        assert_eq!(lock_for(14), Some(Duration::seconds(2048)));
        assert_eq!(lock_for(15), Some(Duration::seconds(3600)));
        assert_eq!(lock_for(i32::MAX), Some(Duration::seconds(3600)));
    }
}
