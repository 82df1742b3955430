//! Staff accounts. Passwords are kept only as Argon2id records. Each member
//! has a key pair of their own: its private half wrapped under their
//! password-derived key, and the unit key sealed to its public half (so a
//! rotated unit key reaches every member without their password).

use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect};
use sunlight_core::crypto::{PasswordRecord, UnitPublicKey, WrappedUnitKey};
use sunlight_core::{Role, UnitId};
use uuid::Uuid;

use crate::audit::{AuditRecord, append};
use crate::entity::staff;
use crate::error::Clash;
use crate::{Store, StoreError};

/// A member's keys as stored: their own private key wrapped under their
/// password, its public half, and the unit key sealed to it.
#[derive(Debug, Clone)]
pub struct MemberKeys {
    pub wrapped_member_key: WrappedUnitKey,
    pub member_public_key: UnitPublicKey,
    pub unit_key_sealed: Vec<u8>,
}

impl MemberKeys {
    /// `update` with the three columns that hold these keys set.
    pub(crate) fn set_on(
        &self,
        update: sea_orm::UpdateMany<staff::Entity>,
    ) -> sea_orm::UpdateMany<staff::Entity> {
        update
            .col_expr(
                staff::Column::WrappedUnitKey,
                Expr::value(self.wrapped_member_key.as_bytes().to_vec()),
            )
            .col_expr(
                staff::Column::MemberPublicKey,
                Expr::value(Some(self.member_public_key.as_bytes().to_vec())),
            )
            .col_expr(
                staff::Column::UnitKeySealed,
                Expr::value(Some(self.unit_key_sealed.clone())),
            )
    }
}

#[derive(Debug, Clone)]
pub struct NewStaff {
    pub unit: UnitId,
    pub email: String,
    pub role: Role,
    pub password: PasswordRecord,
    pub keys: MemberKeys,
    pub totp_sealed: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct StaffRow {
    pub id: Uuid,
    pub unit: UnitId,
    pub email: String,
    pub role: Role,
    pub password: PasswordRecord,
    /// The member's own private key wrapped under their password (an
    /// account not yet upgraded: the unit key itself).
    pub wrapped_unit_key: WrappedUnitKey,
    pub member_public_key: Option<UnitPublicKey>,
    /// The unit key sealed to the member's key; empty after a rotation
    /// that left this (disabled) member out.
    pub unit_key_sealed: Option<Vec<u8>>,
    pub totp_sealed: Option<Vec<u8>>,
    /// Hashes of unused second-factor recovery codes, 32 bytes each.
    pub recovery_codes: Vec<u8>,
    pub must_change_password: bool,
    pub disabled: bool,
    /// Sessions opened under another epoch are over (`accounts.rs`).
    pub session_epoch: i64,
    /// A new TOTP secret waits for its first code.
    pub has_pending_totp: bool,
}

impl TryFrom<staff::Model> for StaffRow {
    type Error = StoreError;
    fn try_from(m: staff::Model) -> Result<Self, StoreError> {
        let bad = |what: &str| StoreError::Corrupt(format!("staff {}: bad {what}", m.id));
        Ok(Self {
            id: m.id,
            unit: UnitId::parse(&m.unit_id).map_err(|_| bad("unit"))?,
            role: m.role.parse().map_err(|_| bad("role"))?,
            password: PasswordRecord::from_bytes(&m.password_record)
                .map_err(|_| bad("password record"))?,
            wrapped_unit_key: WrappedUnitKey::from_bytes(m.wrapped_unit_key),
            member_public_key: m
                .member_public_key
                .as_deref()
                .map(UnitPublicKey::from_slice)
                .transpose()
                .map_err(|_| bad("member key"))?,
            unit_key_sealed: m.unit_key_sealed,
            recovery_codes: m.recovery_codes.unwrap_or_default(),
            totp_sealed: m.totp_sealed,
            must_change_password: m.must_change_password,
            disabled: m.disabled,
            session_epoch: m.session_epoch,
            has_pending_totp: m.totp_pending.is_some(),
            email: m.email,
        })
    }
}

/// Emails compare case-insensitively; stored lower-case.
fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Store {
    pub async fn add_staff(
        &self,
        new: NewStaff,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<StaffRow, StoreError> {
        let id = Uuid::new_v4();
        let email = normalize_email(&new.email);
        let txn = self.write_txn().await?;
        staff::Entity::insert(staff::ActiveModel {
            id: Set(id),
            unit_id: Set(new.unit.as_str().to_owned()),
            email: Set(email.clone()),
            role: Set(new.role.as_str().to_owned()),
            password_record: Set(new.password.to_bytes()),
            wrapped_unit_key: Set(new.keys.wrapped_member_key.as_bytes().to_vec()),
            member_public_key: Set(Some(new.keys.member_public_key.as_bytes().to_vec())),
            unit_key_sealed: Set(Some(new.keys.unit_key_sealed.clone())),
            recovery_codes: Set(None),
            totp_sealed: Set(new.totp_sealed.clone()),
            must_change_password: Set(true),
            failed_logins: Set(0),
            locked_until: Set(None),
            disabled: Set(false),
            created_at: Set(now),
            totp_last_step: Set(None),
            session_epoch: Set(0),
            totp_pending: Set(None),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(sea_orm::SqlErr::ForeignKeyConstraintViolation(_)) => StoreError::NotFound("unit"),
            _ => StoreError::unique(e, Clash::EmailTaken),
        })?;
        append(
            &txn,
            AuditRecord {
                actor: actor.to_owned(),
                action: "staff.add".into(),
                unit: new.unit.to_string(),
                detail: format!("staff={id} role={}", new.role),
                ..Default::default()
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(StaffRow {
            id,
            unit: new.unit,
            email,
            role: new.role,
            password: new.password,
            wrapped_unit_key: new.keys.wrapped_member_key,
            member_public_key: Some(new.keys.member_public_key),
            unit_key_sealed: Some(new.keys.unit_key_sealed),
            recovery_codes: Vec::new(),
            totp_sealed: new.totp_sealed,
            must_change_password: true,
            disabled: false,
            session_epoch: 0,
            has_pending_totp: false,
        })
    }

    /// Rotates a member out: they can no longer sign in (the same answer
    /// as a wrong password), are no longer mailed, and stay in the audit
    /// trail and on the admin page as disabled. Audited; refuses twice.
    pub async fn disable_staff(
        &self,
        email: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<StaffRow, StoreError> {
        // The admin's disable by email: the same change, session end and
        // audit entry (`set_staff_disabled`).
        let found = self
            .staff_by_email(email)
            .await?
            .ok_or(StoreError::NotFound("staff member with this email"))?;
        self.set_staff_disabled(found.id, &found.unit, true, actor, now)
            .await
    }

    pub async fn staff_by_id(&self, id: Uuid) -> Result<Option<StaffRow>, StoreError> {
        staff::Entity::find_by_id(id)
            .one(self.conn())
            .await?
            .map(StaffRow::try_from)
            .transpose()
    }

    pub async fn staff_by_email(&self, email: &str) -> Result<Option<StaffRow>, StoreError> {
        staff::Entity::find()
            .filter(staff::Column::Email.eq(normalize_email(email)))
            .one(self.conn())
            .await?
            .map(StaffRow::try_from)
            .transpose()
    }

    /// A member replaces their one-time (or old) password: the new record,
    /// a new member key pair (wrapped under the new password, the unit key
    /// sealed to it), and for members with a
    /// second factor a new TOTP secret that waits (`totp_pending`) until
    /// they enter one code from it (`confirm_totp`); the old one works till
    /// then. The session epoch moves, so every other session of theirs
    /// ends; returns the new epoch for the session that made the change.
    /// Audited.
    pub async fn change_password(
        &self,
        staff_id: Uuid,
        password: &PasswordRecord,
        keys: &MemberKeys,
        totp_pending: Option<Vec<u8>>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let txn = self.write_txn().await?;
        let row = staff::Entity::find_by_id(staff_id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound("staff"))?;
        let renew = row.totp_sealed.is_some() && totp_pending.is_some();
        let epoch = row.session_epoch.saturating_add(1);
        staff::Entity::update(staff::ActiveModel {
            id: Set(staff_id),
            password_record: Set(password.to_bytes()),
            wrapped_unit_key: Set(keys.wrapped_member_key.as_bytes().to_vec()),
            member_public_key: Set(Some(keys.member_public_key.as_bytes().to_vec())),
            unit_key_sealed: Set(Some(keys.unit_key_sealed.clone())),
            totp_pending: if renew { Set(totp_pending) } else { NotSet },
            must_change_password: Set(false),
            session_epoch: Set(epoch),
            // The change proved the password: the attempt it counted is void.
            failed_logins: Set(0),
            locked_until: Set(None),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        append(
            &txn,
            AuditRecord {
                actor: format!("staff:{staff_id}"),
                action: "staff.password".into(),
                unit: row.unit_id,
                detail: if renew {
                    "totp=pending".into()
                } else {
                    String::new()
                },
                ..Default::default()
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(epoch)
    }

    /// Gives an account made before member keys its own key pair (at its
    /// first sign-in since, when the password is at hand). Only an account
    /// still in the old form is changed.
    pub async fn upgrade_member_keys(
        &self,
        staff_id: Uuid,
        keys: &MemberKeys,
    ) -> Result<(), StoreError> {
        keys.set_on(staff::Entity::update_many())
            .filter(staff::Column::Id.eq(staff_id))
            .filter(staff::Column::MemberPublicKey.is_null())
            .exec(self.conn())
            .await?;
        Ok(())
    }

    /// Demo and test accounts keep the password they were printed with.
    pub async fn keep_first_password(&self, staff_id: Uuid) -> Result<(), StoreError> {
        staff::Entity::update(staff::ActiveModel {
            id: Set(staff_id),
            must_change_password: Set(false),
            ..Default::default()
        })
        .exec(self.conn())
        .await?;
        Ok(())
    }

    /// Every staff member, disabled ones included.
    pub async fn all_staff(&self) -> Result<Vec<StaffRow>, StoreError> {
        staff::Entity::find()
            .all(self.conn())
            .await?
            .into_iter()
            .map(StaffRow::try_from)
            .collect()
    }

    /// The emails of the members `ids` that exist, by id: who a history
    /// step or an audit entry names, for an export or the audit page.
    pub async fn staff_emails(
        &self,
        ids: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, String>, StoreError> {
        if ids.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        Ok(staff::Entity::find()
            .select_only()
            .column(staff::Column::Id)
            .column(staff::Column::Email)
            .filter(staff::Column::Id.is_in(ids.to_vec()))
            .into_tuple::<(Uuid, String)>()
            .all(self.conn())
            .await?
            .into_iter()
            .collect())
    }

    /// Members of one unit (not of the units below).
    pub async fn staff_of_unit(&self, unit: &UnitId) -> Result<Vec<StaffRow>, StoreError> {
        staff::Entity::find()
            .filter(staff::Column::UnitId.eq(unit.as_str()))
            .all(self.conn())
            .await?
            .into_iter()
            .map(StaffRow::try_from)
            .collect()
    }

    /// Accepts TOTP time step `step` (Unix time / 30) for a staff member
    /// once: true when it is later than every step accepted before, false
    /// for a replay of the same code or an older one (RFC 6238 §5.2). One
    /// compare-and-set, so two sign-ins racing with one code get one
    /// session between them, across processes.
    pub async fn accept_totp_step(&self, staff_id: Uuid, step: u64) -> Result<bool, StoreError> {
        let step = i64::try_from(step).map_err(|_| StoreError::Invalid("TOTP step"))?;
        let done = staff::Entity::update_many()
            .col_expr(staff::Column::TotpLastStep, Expr::value(step))
            .filter(staff::Column::Id.eq(staff_id))
            .filter(
                Condition::any()
                    .add(staff::Column::TotpLastStep.is_null())
                    .add(staff::Column::TotpLastStep.lt(step)),
            )
            .exec(self.conn())
            .await?;
        Ok(done.rows_affected == 1)
    }

    /// Audits a sign-in that reached the password check and failed there
    /// or at the second factor (`begin_sign_in` counted it already).
    pub async fn record_failed_login(
        &self,
        staff_id: Uuid,
        unit: &UnitId,
        failures: i32,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.write_txn().await?;
        append(
            &txn,
            AuditRecord {
                actor: format!("staff:{staff_id}"),
                action: "session.failed".into(),
                unit: unit.to_string(),
                case_id: String::new(),
                detail: format!("failures={failures}"),
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// A successful sign-in: the failure count resets; audited.
    pub async fn record_login(
        &self,
        staff_id: Uuid,
        unit: &UnitId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.write_txn().await?;
        staff::Entity::update(staff::ActiveModel {
            id: Set(staff_id),
            failed_logins: Set(0),
            locked_until: Set(None),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        append(
            &txn,
            AuditRecord {
                actor: format!("staff:{staff_id}"),
                action: "session.open".into(),
                unit: unit.to_string(),
                ..Default::default()
            },
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }
}
