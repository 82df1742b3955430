//! Sign-in: password (Argon2id), then TOTP where the member has one
//! (mandatory for supervisors and admins), then the unit key is unwrapped
//! with the password-derived key and kept in the session. Unknown emails
//! cost the same Argon2id run as known ones, and every failure gives the
//! same answer; failures lock the account for a growing delay.

use chrono::{DateTime, Utc};
use sunlight_core::Role;
use sunlight_core::crypto::{PasswordRecord, SealContext, open};
use sunlight_store::Store;
use sunlight_store::provision::{no_case, totp_context};
use zeroize::Zeroizing;

use crate::error::TriageError;
use crate::session::NewSession;

/// The longest password we feed to Argon2id (bytes).
const MAX_PASSWORD: usize = 1024;

/// Checks a 6-digit RFC 6238 code (SHA-1, 30 s) against the base32 secret,
/// allowing one step of clock drift either way; returns the time step it
/// matched, which the caller must accept only once (`accept_totp_step`).
pub fn totp_step(secret_base32: &[u8], code: &str, now: DateTime<Utc>) -> Option<u64> {
    let secret = data_encoding::BASE32_NOPAD.decode(secret_base32).ok()?;
    let secret = Zeroizing::new(secret);
    let totp = totp_rs::Builder::new()
        .with_secret(secret.as_slice())
        .with_skew(1)
        .build()
        .ok()?;
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    totp.check(&code, u64::try_from(now.timestamp()).unwrap_or_default())
}

/// Verifies email, password and TOTP; returns what the session holds.
pub async fn sign_in(
    store: &Store,
    email: &str,
    password: &str,
    totp: Option<&str>,
    now: DateTime<Utc>,
) -> Result<NewSession, TriageError> {
    if password.len() > MAX_PASSWORD || email.len() > 320 {
        return Err(TriageError::BadCredentials);
    }
    // Unknown, locked and disabled accounts cost the same Argon2id run and
    // get the same answer as a wrong password, so neither timing nor the
    // answer tells an outsider which emails exist or are locked.
    let burn = || async {
        let pw = Zeroizing::new(password.as_bytes().to_vec());
        tokio::task::spawn_blocking(move || PasswordRecord::burn(&pw))
            .await
            .map_err(|e| TriageError::Internal(e.to_string()))
    };
    let Some(staff) = store.staff_by_email(email).await? else {
        burn().await?;
        return Err(TriageError::BadCredentials);
    };
    let locked = store
        .locked_until(staff.id)
        .await?
        .is_some_and(|until| until > now);
    if locked || staff.disabled {
        burn().await?;
        return Err(TriageError::BadCredentials);
    }
    let record = staff.password.clone();
    let pw = Zeroizing::new(password.as_bytes().to_vec());
    let keys = tokio::task::spawn_blocking(move || record.verify(&pw))
        .await
        .map_err(|e| TriageError::Internal(e.to_string()))?;
    let Ok(keys) = keys else {
        store.record_failed_login(staff.id, now).await?;
        return Err(TriageError::BadCredentials);
    };
    let Ok(unit_key) = staff
        .wrapped_unit_key
        .unwrap_with_password(&keys, staff.unit.as_str())
    else {
        return Err(TriageError::Internal(format!(
            "staff {}: wrapped unit key does not open",
            staff.id
        )));
    };
    let needs_totp = matches!(staff.role, Role::Supervisor | Role::Admin);
    match &staff.totp_sealed {
        Some(sealed) => {
            let item = totp_context(&staff.email);
            let secret = open(
                sealed,
                &SealContext {
                    case_id: no_case(),
                    item: &item,
                },
                &unit_key,
            )?;
            let step = totp.and_then(|code| totp_step(&secret, code, now));
            // A replayed code fails like a wrong one: whoever replays it
            // learns nothing more than with a guess.
            let fresh = match step {
                Some(step) => store.accept_totp_step(staff.id, step).await?,
                None => false,
            };
            if !fresh {
                store.record_failed_login(staff.id, now).await?;
                return Err(TriageError::BadCredentials);
            }
        }
        None if needs_totp => {
            return Err(TriageError::Internal(format!(
                "staff {}: {} without a second factor",
                staff.id, staff.role
            )));
        }
        None => {}
    }
    let jurisdiction = store.jurisdiction(&staff.unit).await?;
    store.record_login(staff.id, &staff.unit, now).await?;
    Ok(NewSession {
        staff_id: staff.id,
        email: staff.email,
        unit: staff.unit,
        role: staff.role,
        jurisdiction,
        unit_key,
        must_change_password: staff.must_change_password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_accepts_the_current_and_neighbouring_steps_and_names_the_step() {
        // RFC 6238 test secret "12345678901234567890", base32.
        let secret = b"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        let at = |s: i64| DateTime::<Utc>::from_timestamp(s, 0).unwrap();
        // RFC 6238 Appendix B, SHA-1, T = 59 s: 94287082 (8 digits) → 287082,
        // time step 1.
        assert_eq!(totp_step(secret, "287082", at(59)), Some(1));
        assert_eq!(
            totp_step(secret, "287 082", at(59 + 30)),
            Some(1),
            "one step late"
        );
        assert_eq!(totp_step(secret, "287082", at(59 + 90)), None);
        assert_eq!(totp_step(secret, "287083", at(59)), None);
        assert_eq!(totp_step(secret, "28708", at(59)), None);
        assert_eq!(totp_step(b"not base32!", "287082", at(59)), None);
    }
}
