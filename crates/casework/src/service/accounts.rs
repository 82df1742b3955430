//! A member's own account (password change, TOTP renewal) and what an
//! admin may do to the members of their unit (disable, enable, reset).
//! Each change that takes an account from someone moves its session epoch,
//! so their live sessions end in every process.

use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;
use sunlight_core::Role;
use sunlight_core::crypto::StretchParams;
use sunlight_store::provision::random_text;
use sunlight_store::{Attempt, StaffRow, keyring};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::Triage;
use crate::auth::{Gate, open_totp, totp_step};
use crate::error::{CaseworkError, Invalid};
use crate::mail::AccountChange;
use crate::session::Session;

/// What a password change hands back once: the new TOTP secret, which
/// replaces the old one only after a code from it is confirmed.
#[derive(Default)]
pub struct PasswordChange {
    pub totp_pending: Option<Zeroizing<String>>,
    /// The session epoch the changing session now lives under.
    pub epoch: i64,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange(<redacted>)")
    }
}

/// A one-time password an admin handed out, shown once.
pub struct Reset {
    pub staff: StaffRow,
    pub one_time_password: Zeroizing<String>,
}

impl std::fmt::Debug for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reset")
            .field("staff", &self.staff.id)
            .finish_non_exhaustive()
    }
}

fn new_password_ok(new_password: &str) -> Result<(), CaseworkError> {
    let chars = new_password.chars().count();
    if (12..=256).contains(&chars) {
        Ok(())
    } else {
        Err(CaseworkError::Invalid(Invalid::PasswordLength))
    }
}

impl Triage {
    /// Replaces the member's password. A session alone is not enough: the
    /// current password (the one-time one, on first sign-in) and, for
    /// members with a second factor, a TOTP code not used before must come
    /// with it; otherwise 403 and nothing changes. A wrong current password
    /// counts towards the account's lock like a failed sign-in, so a stolen
    /// session cannot guess it faster than the sign-in form. Members with a
    /// second factor get a new TOTP secret that counts from its first
    /// confirmed code (`confirm_totp`).
    pub async fn change_password(
        &self,
        gate: &Gate,
        session: &Session,
        current: &str,
        totp: Option<&str>,
        new_password: &str,
        now: DateTime<Utc>,
    ) -> Result<PasswordChange, CaseworkError> {
        new_password_ok(new_password)?;
        let staff = self
            .check_current_credentials(gate, session, current, totp, now)
            .await?;
        if bool::from(current.as_bytes().ct_eq(new_password.as_bytes())) {
            return Err(CaseworkError::Invalid(Invalid::PasswordUnchanged));
        }
        let pw = Zeroizing::new(new_password.as_bytes().to_vec());
        let policy = self.store.password_policy(StretchParams::PASSWORD).await?;
        let (record, keys) = tokio::task::spawn_blocking(move || policy.enroll(&pw))
            .await
            .map_err(|e| CaseworkError::Internal(e.to_string()))??;
        let member = keyring::member_keys(session.unit_key(), &session.unit, &staff.email, &keys)?;
        let (secret, pending) = if staff.totp_sealed.is_some() {
            let secret = random_text(20).map_err(|e| CaseworkError::Internal(e.to_string()))?;
            let sealed =
                crate::auth::seal_totp(&secret, &staff.email, &session.unit, session.unit_key())?;
            (Some(secret), Some(sealed))
        } else {
            (None, None)
        };
        let epoch = self
            .store
            .change_password(staff.id, &record, &member, pending, now)
            .await?;
        session.password_changed(epoch);
        // A renewed secret waits for its code; a member who still has to
        // enrol one keeps having to (a password change is no second factor).
        if secret.is_some() {
            session.set_must_confirm_totp(true);
        }
        self.mail_account_change(&staff, AccountChange::PasswordChanged, now)
            .await?;
        Ok(PasswordChange {
            totp_pending: secret,
            epoch,
        })
    }

    /// The signed-in member proves it is them again before changing their
    /// own credentials: the current password and, with a second factor, a
    /// TOTP code not used before. A wrong one counts towards the account's
    /// lock like a failed sign-in.
    pub(crate) async fn check_current_credentials(
        &self,
        gate: &Gate,
        session: &Session,
        current: &str,
        totp: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<StaffRow, CaseworkError> {
        let staff = self
            .store
            .staff_by_email(&session.email)
            .await?
            .filter(|s| s.id == session.staff_id && !s.disabled)
            .ok_or(CaseworkError::NoSession)?;
        let failures = match self.store.begin_sign_in(staff.id, now).await? {
            Attempt::Locked => return Err(CaseworkError::WrongCurrentCredentials),
            Attempt::Counted { failures } => failures,
        };
        if gate
            .verify(&staff.password, current.as_bytes())
            .await?
            .is_none()
        {
            self.store
                .record_failed_login(staff.id, &staff.unit, failures, now)
                .await?;
            return Err(CaseworkError::WrongCurrentCredentials);
        }
        if let Some(sealed) = &staff.totp_sealed {
            let secret = open_totp(sealed, &staff.email, &session.unit, session.unit_key())?;
            let fresh = match totp.and_then(|code| totp_step(&secret, code, now)) {
                Some(step) => self.store.accept_totp_step(staff.id, step).await?,
                None => false,
            };
            if !fresh {
                self.store
                    .record_failed_login(staff.id, &staff.unit, failures, now)
                    .await?;
                return Err(CaseworkError::WrongCurrentCredentials);
            }
        }
        Ok(staff)
    }

    /// A member an admin may act on: someone else, in the admin's unit or
    /// a unit below it (whose key the admin reaches through the escrow).
    async fn member_in_reach(
        &self,
        admin: &Session,
        member: Uuid,
    ) -> Result<StaffRow, CaseworkError> {
        admin_only(admin, member)?;
        self.store
            .staff_by_id(member)
            .await?
            .filter(|m| admin.jurisdiction.contains(&m.unit))
            .ok_or(CaseworkError::NotFound)
    }

    /// An admin disables (or enables again) a member of their unit or a
    /// unit below. Disabling ends every live session of the member (this
    /// process at once, the others at their next look at the member's
    /// standing).
    pub async fn set_disabled(
        &self,
        admin: &Session,
        member: Uuid,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<StaffRow, CaseworkError> {
        let row = self.member_in_reach(admin, member).await?;
        let row = self
            .store
            .set_staff_disabled(
                member,
                &row.unit,
                disabled,
                &format!("staff:{}", admin.staff_id),
                now,
            )
            .await?;
        let what = if disabled {
            AccountChange::Disabled
        } else {
            AccountChange::Enabled
        };
        self.mail_account_change(&row, what, now).await?;
        Ok(row)
    }

    /// An admin gives a member of their unit or a unit below a new
    /// one-time password (the member's unit key, reached from the admin's
    /// session, sealed to a fresh member key under it); the member's
    /// sessions end and they must replace it at the next sign-in.
    pub async fn reset(
        &self,
        admin: &Session,
        member: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Reset, CaseworkError> {
        let row = self.member_in_reach(admin, member).await?;
        let unit_key = self.unit_key_for(admin, &row.unit).await?;
        let password = random_text(10).map_err(|e| CaseworkError::Internal(e.to_string()))?;
        let pw = Zeroizing::new(password.as_bytes().to_vec());
        let policy = self.store.password_policy(StretchParams::PASSWORD).await?;
        let (record, keys) = tokio::task::spawn_blocking(move || policy.enroll(&pw))
            .await
            .map_err(|e| CaseworkError::Internal(e.to_string()))??;
        let member_keys = keyring::member_keys(&unit_key, &row.unit, &row.email, &keys)?;
        let staff = self
            .store
            .reset_staff_password(
                member,
                &row.unit,
                &record,
                &member_keys,
                &format!("staff:{}", admin.staff_id),
                now,
            )
            .await?;
        self.mail_account_change(&staff, AccountChange::PasswordReset, now)
            .await?;
        Ok(Reset {
            staff,
            one_time_password: password,
        })
    }

    /// An admin removes the second factor of a member of their unit or a
    /// unit below; the member enrols a new one at the next sign-in.
    pub async fn reset_second_factor(
        &self,
        admin: &Session,
        member: Uuid,
        now: DateTime<Utc>,
    ) -> Result<StaffRow, CaseworkError> {
        let row = self.member_in_reach(admin, member).await?;
        let row = self
            .store
            .reset_staff_totp(member, &row.unit, &format!("staff:{}", admin.staff_id), now)
            .await?;
        self.mail_account_change(&row, AccountChange::SecondFactorReset, now)
            .await?;
        Ok(row)
    }

    /// Tells a member by mail that their account changed (no secret in it).
    pub(crate) async fn mail_account_change(
        &self,
        member: &StaffRow,
        change: AccountChange,
        now: DateTime<Utc>,
    ) -> Result<(), CaseworkError> {
        let day = self.policy.local_date(now).to_string();
        let (subject, body) = crate::mail::render_account(&self.mail, change, &day);
        self.store
            .enqueue_mails(
                &[sunlight_store::NewMail {
                    dedupe_key: format!("account/{}/{}", member.id, Uuid::new_v4()),
                    recipient: member.email.clone(),
                    subject,
                    body,
                    case_id: None,
                    kind: change.kind(),
                }],
                now,
            )
            .await?;
        Ok(())
    }

    /// The key of `unit` for a member of `session.unit`: their own, or a
    /// unit below's through the escrow chain.
    pub async fn unit_key_for(
        &self,
        session: &Session,
        unit: &sunlight_core::UnitId,
    ) -> Result<sunlight_core::crypto::UnitSecretKey, CaseworkError> {
        if unit == &session.unit {
            return Ok(session.unit_key().clone());
        }
        if !session.jurisdiction.contains(unit) {
            return Err(CaseworkError::NotFound);
        }
        Ok(keyring::key_below(&self.store, &session.unit, session.unit_key(), unit).await?)
    }
}

/// Admins act on other members; no one disables or resets themselves
/// (which would lock the unit out of its own admin).
fn admin_only(admin: &Session, member: Uuid) -> Result<(), CaseworkError> {
    if admin.role != Role::Admin || admin.staff_id == member {
        Err(CaseworkError::Forbidden)
    } else {
        Ok(())
    }
}
