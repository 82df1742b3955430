//! A member's second factor: enrolling an authenticator (the secret, its
//! `otpauth://` URI), confirming it with one code, the recovery codes that
//! come with it, a new authenticator on request, and signing in (which
//! tells the member by mail when a recovery code was spent).

use chrono::{DateTime, Utc};
use sunlight_core::crypto::new_recovery_codes;
use sunlight_store::provision::random_text;
use zeroize::Zeroizing;

use super::Triage;
use crate::auth::{Gate, open_totp, seal_totp, totp_step};
use crate::error::CaseworkError;
use crate::mail::AccountChange;
use crate::session::{NewSession, Session};

/// The authenticator secret waiting for its first code, as an app takes it.
pub struct Enrolment {
    /// Base32, for typing into an app.
    pub secret: Zeroizing<String>,
    /// `otpauth://totp/…` (the Key Uri Format), for a QR code.
    pub uri: Zeroizing<String>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(<redacted>)")
    }
}

/// Percent-encodes a URI component (RFC 3986 unreserved characters kept).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The Key Uri Format of an RFC 6238 secret (SHA-1, 6 digits, 30 s).
pub fn otpauth_uri(issuer: &str, email: &str, secret: &str) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        escape(issuer),
        escape(email),
        escape(issuer)
    )
}

impl Triage {
    /// Signs a member in (`crate::auth::sign_in`); a spent recovery code is
    /// mailed to the member, who may not have been the one who spent it.
    pub async fn sign_in(
        &self,
        gate: &Gate,
        email: &str,
        password: &str,
        totp: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<NewSession, CaseworkError> {
        let new = crate::auth::sign_in(&self.store, gate, email, password, totp, now).await?;
        if new.recovery_code_used {
            // The code is spent and the session open: a mail that cannot be
            // queued now must not turn that into a failed sign-in.
            let mailed = match self.store.staff_by_id(new.staff_id).await {
                Ok(Some(member)) => self
                    .mail_account_change(&member, AccountChange::RecoveryCodeUsed, now)
                    .await
                    .map_err(|e| e.to_string()),
                Ok(None) => Ok(()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = mailed {
                tracing::warn!("the mail about a spent recovery code was not queued: {e}");
            }
        }
        Ok(new)
    }

    /// The pending authenticator secret of the signed-in member, opened
    /// with their session's key; `None` when none waits.
    pub async fn enrolment(&self, session: &Session) -> Result<Option<Enrolment>, CaseworkError> {
        let Some(sealed) = self.store.pending_totp(session.staff_id).await? else {
            return Ok(None);
        };
        let secret = open_totp(&sealed, &session.email, &session.unit, session.unit_key())?;
        let secret = Zeroizing::new(
            String::from_utf8(secret.to_vec())
                .map_err(|_| CaseworkError::Internal("a TOTP secret is not text".into()))?,
        );
        let uri = Zeroizing::new(otpauth_uri("Sunlight", &session.email, &secret));
        Ok(Some(Enrolment { secret, uri }))
    }

    /// A member asks for a new authenticator (a new phone): their password
    /// and a code of the current one prove it is them (a member who lost
    /// the device signs in with a recovery code and asks their admin to
    /// remove the old authenticator);
    /// the new secret waits for its first code, and until then the old one
    /// still signs in but the session may only confirm.
    pub async fn renew_second_factor(
        &self,
        gate: &Gate,
        session: &Session,
        current: &str,
        totp: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), CaseworkError> {
        self.check_current_credentials(gate, session, current, totp, now)
            .await?;
        let secret = random_text(20).map_err(|e| CaseworkError::Internal(e.to_string()))?;
        let sealed = seal_totp(&secret, &session.email, &session.unit, session.unit_key())?;
        self.store
            .set_pending_totp(session.staff_id, sealed)
            .await?;
        session.set_must_confirm_totp(true);
        Ok(())
    }

    /// The member enters a code of their pending secret: it becomes the
    /// one sign-in asks for, and 10 new recovery codes replace any earlier
    /// ones; they are returned to be shown once.
    pub async fn confirm_totp(
        &self,
        session: &Session,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Zeroizing<String>>, CaseworkError> {
        let sealed =
            self.store
                .pending_totp(session.staff_id)
                .await?
                .ok_or(CaseworkError::Conflict(
                    sunlight_store::Clash::NoPendingTotp,
                ))?;
        let secret = open_totp(&sealed, &session.email, &session.unit, session.unit_key())?;
        let step = totp_step(&secret, code, now).ok_or(CaseworkError::WrongCurrentCredentials)?;
        let (codes, hashes) = new_recovery_codes()?;
        let hashes = sunlight_store::staff_auth::tag_recovery_codes(
            &hashes,
            &session.email,
            session.unit_key(),
        )?;
        if !self
            .store
            .confirm_totp(session.staff_id, step, hashes, now)
            .await?
        {
            return Err(CaseworkError::Conflict(
                sunlight_store::Clash::NoPendingTotp,
            ));
        }
        session.set_must_confirm_totp(false);
        if let Some(member) = self.store.staff_by_id(session.staff_id).await? {
            self.mail_account_change(&member, AccountChange::SecondFactorEnrolled, now)
                .await?;
        }
        Ok(codes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uri_follows_the_key_uri_format() {
        assert_eq!(
            otpauth_uri("Sunlight", "li.ming+x@gd.example", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/Sunlight:li.ming%2Bx%40gd.example?secret=JBSWY3DPEHPK3PXP&issuer=Sunlight&algorithm=SHA1&digits=6&period=30"
        );
    }
}
