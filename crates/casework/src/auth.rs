//! Sign-in: password (Argon2id), then TOTP (or one recovery code) where the
//! member has a second factor (mandatory for verifiers, supervisors and
//! admins unless the deployment says otherwise: a member without one gets
//! a session that may only enrol one), then the unit key is opened with
//! the password-derived key and kept in the session.
//!
//! Against guessing: every attempt at a known account is counted as a
//! failure before its password is checked, in one locked write, so however
//! many guesses arrive at once at most four reach Argon2 before the account
//! locks (for a growing delay), and a locked account answers without any
//! Argon2 at all. Against telling accounts apart: every failed sign-in —
//! unknown email, disabled or locked account, wrong password or code —
//! gets the same answer at `sign_in_floor_ms` after it arrived (or the next
//! multiple of it under load), plus up to an eighth of it at random.
//! Against exhausting memory: Argon2 runs through `Gate`, at most one per
//! core in reused memory; the rest wait, and fail like a wrong password
//! after `GATE_WAIT`.

use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Utc};
use sunlight_core::crypto::recovery_hash;
use sunlight_core::crypto::{
    CryptoError, PasswordKeys, PasswordRecord, StretchMemory, StretchParams, UnitSecretKey,
};
use sunlight_core::{Role, UnitId};
use sunlight_store::provision::random_text;
use sunlight_store::{Attempt, Clash, Store};
use sunlight_store::{keyring, staff_auth};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::error::CaseworkError;
use crate::session::NewSession;

/// Every role that reads reports signs in with a second factor unless the
/// deployment says otherwise.
pub const DEFAULT_SECOND_FACTOR: &[Role] = &[Role::Verifier, Role::Supervisor, Role::Admin];

/// The longest password we feed to Argon2id (bytes).
const MAX_PASSWORD: usize = 1024;
/// How long a sign-in waits for an Argon2 permit before giving up.
const GATE_WAIT: StdDuration = StdDuration::from_secs(10);
/// Why a password check did not run: every permit stayed busy.
const GATE_FULL: &str = "sign-in queue full";

/// Staff-side Argon2 runs (sign-in, password change): a permit per core and
/// one working memory per permit, reused, as intake does for codes.
pub struct Gate {
    permits: Semaphore,
    memory: Mutex<Vec<StretchMemory>>,
    floor: StdDuration,
    checks: std::sync::atomic::AtomicU64,
    /// The roles that must sign in with a second factor (`[triage]
    /// second_factor_roles`); a member of one without it enrols one first.
    second_factor: Vec<Role>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("floor", &self.floor)
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// `permits` of 0 means one per core.
    pub fn new(permits: usize, floor: StdDuration) -> Self {
        let permits = if permits == 0 {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        } else {
            permits
        };
        Self {
            permits: Semaphore::new(permits),
            // Filled on first use: a process whose staff never sign in
            // (say, one that only serves intake) keeps no Argon2 memory.
            memory: Mutex::new(Vec::with_capacity(permits)),
            floor,
            checks: std::sync::atomic::AtomicU64::new(0),
            second_factor: DEFAULT_SECOND_FACTOR.to_vec(),
        }
    }

    /// The roles that must have a second factor.
    #[must_use]
    pub fn with_second_factor(mut self, roles: Vec<Role>) -> Self {
        self.second_factor = roles;
        self
    }

    pub fn needs_second_factor(&self, role: Role) -> bool {
        self.second_factor.contains(&role)
    }

    /// How many password checks ran (for tests and metrics).
    pub fn checks(&self) -> u64 {
        self.checks.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Checks `password` against `record` on a blocking thread, holding a
    /// permit and a reused memory block.
    pub async fn verify(
        &self,
        record: &PasswordRecord,
        password: &[u8],
    ) -> Result<Option<PasswordKeys>, CaseworkError> {
        let _permit = tokio::time::timeout(GATE_WAIT, self.permits.acquire())
            .await
            .map_err(|_| CaseworkError::Unavailable(GATE_FULL.into()))?
            .map_err(|_| CaseworkError::Internal("argon2 gate closed".into()))?;
        self.checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let memory = self.memory.lock().ok().and_then(|mut pool| pool.pop());
        let mut memory = match memory {
            Some(m) => m,
            None => StretchMemory::new(StretchParams::PASSWORD)?,
        };
        let record = record.clone();
        let pw = Zeroizing::new(password.to_vec());
        let (result, memory) = tokio::task::spawn_blocking(move || {
            let result = record.verify_in(&pw, &mut memory);
            (result, memory)
        })
        .await
        .map_err(|e| CaseworkError::Internal(format!("argon2 task: {e}")))?;
        if let Ok(mut pool) = self.memory.lock() {
            pool.push(memory);
        }
        Ok(result.ok())
    }
}

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

/// Verifies email, password and TOTP; returns what the session holds. A
/// failure of any kind answers `BadCredentials` no sooner than the gate's
/// floor after the call began.
pub async fn sign_in(
    store: &Store,
    gate: &Gate,
    email: &str,
    password: &str,
    totp: Option<&str>,
    now: DateTime<Utc>,
) -> Result<NewSession, CaseworkError> {
    let started = Instant::now();
    let result = match check(store, gate, email, password, totp, now).await {
        // A full queue must not tell a known account (which waits for
        // Argon2) from an unknown one: it fails like a wrong password.
        Err(CaseworkError::Unavailable(why)) if why == GATE_FULL => {
            Err(CaseworkError::BadCredentials)
        }
        other => other,
    };
    if matches!(result, Err(CaseworkError::BadCredentials)) {
        // At the floor, or under load at the next multiple of it, so a
        // check that ran long still answers at a time unknown and locked
        // accounts share.
        let floor = gate.floor.max(StdDuration::from_millis(1));
        let spent = started.elapsed().as_nanos();
        let steps = spent.div_ceil(floor.as_nanos()).max(1);
        let wait = floor.saturating_mul(u32::try_from(steps).unwrap_or(u32::MAX));
        // Plus up to an eighth of the floor at random: what is left of the
        // paths' difference (tenths of a millisecond, in scheduling and
        // the database) drowns in it.
        let mut r = [0u8; 4];
        let jitter = match getrandom::fill(&mut r) {
            Ok(()) => floor.mul_f64(f64::from(u32::from_le_bytes(r)) / f64::from(u32::MAX) / 8.0),
            Err(_) => StdDuration::ZERO,
        };
        tokio::time::sleep_until((started + wait + jitter).into()).await;
    }
    result
}

async fn check(
    store: &Store,
    gate: &Gate,
    email: &str,
    password: &str,
    totp: Option<&str>,
    now: DateTime<Utc>,
) -> Result<NewSession, CaseworkError> {
    if password.len() > MAX_PASSWORD || email.len() > 320 {
        return Err(CaseworkError::BadCredentials);
    }
    let Some(staff) = store.staff_by_email(email).await? else {
        return Err(CaseworkError::BadCredentials);
    };
    if staff.disabled {
        return Err(CaseworkError::BadCredentials);
    }
    let failures = match store.begin_sign_in(staff.id, now).await? {
        Attempt::Locked => return Err(CaseworkError::BadCredentials),
        Attempt::Counted { failures } => failures,
    };
    let Some(keys) = gate.verify(&staff.password, password.as_bytes()).await? else {
        store
            .record_failed_login(staff.id, &staff.unit, failures, now)
            .await?;
        return Err(CaseworkError::BadCredentials);
    };
    let unit_key = match unit_key_of(store, &staff, &keys).await {
        Ok(key) => key,
        Err(e) => {
            // The account needs an admin (a rotation left it out, or its
            // stored key is damaged). Which account is not logged: a log
            // reader would learn that a password was right.
            tracing::warn!(
                "a sign-in found a member's unit key unusable; their admin resets them: {e}"
            );
            return Err(CaseworkError::BadCredentials);
        }
    };
    let (recovery_code_used, enrol) =
        second_factor(store, gate, &staff, &unit_key, totp, failures, now).await?;
    // An account from before member keys gets its own key pair, now that
    // both factors are proven.
    if !staff.wrapped_unit_key.is_member_key() {
        let upgraded =
            keyring::member_keys(&unit_key.current_only(), &staff.unit, &staff.email, &keys)?;
        store.upgrade_member_keys(staff.id, &upgraded).await?;
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
        must_confirm_totp: staff.has_pending_totp || enrol,
        epoch: staff.session_epoch,
        recovery_code_used,
    })
}

/// The second factor of a sign-in whose password was right: a fresh TOTP
/// code or an unused recovery code where the member has one; where they
/// have none but their role needs one, a secret waits for enrolment.
/// Returns (a recovery code was spent, the session may only enrol).
async fn second_factor(
    store: &Store,
    gate: &Gate,
    staff: &sunlight_store::StaffRow,
    unit_key: &UnitSecretKey,
    totp: Option<&str>,
    failures: i32,
    now: DateTime<Utc>,
) -> Result<(bool, bool), CaseworkError> {
    let mut recovery_code_used = false;
    let mut enrol = false;
    match &staff.totp_sealed {
        Some(sealed) => {
            let code = totp.unwrap_or_default();
            // A recovery code stands in for a lost authenticator, once.
            let fresh = if let Some(hash) = recovery_hash(code) {
                recovery_code_used = match store
                    .use_recovery_code(staff.id, &staff.unit, &hash, unit_key, now)
                    .await
                {
                    Err(sunlight_store::StoreError::Conflict(
                        Clash::SecondFactorUnauthenticated,
                    )) => {
                        return Err(unauthenticated_factor(store, staff, failures, now).await);
                    }
                    other => other?,
                };
                recovery_code_used
            } else {
                let secret = match open_totp(sealed, &staff.email, &staff.unit, unit_key) {
                    Ok(secret) => secret,
                    Err(CaseworkError::Conflict(Clash::SecondFactorUnauthenticated)) => {
                        return Err(unauthenticated_factor(store, staff, failures, now).await);
                    }
                    Err(e) => return Err(e),
                };
                // A replayed code fails like a wrong one: whoever replays
                // it learns nothing more than with a guess.
                match totp_step(&secret, code, now) {
                    Some(step) => store.accept_totp_step(staff.id, step).await?,
                    None => false,
                }
            };
            if !fresh {
                store
                    .record_failed_login(staff.id, &staff.unit, failures, now)
                    .await?;
                return Err(CaseworkError::BadCredentials);
            }
        }
        None if gate.needs_second_factor(staff.role) => {
            // No second factor yet (a new rule, or an admin removed it):
            // the session may do nothing but enrol one.
            // A fresh secret at every such sign-in: one shown to an earlier
            // session (someone else with the password) is void.
            enrol = true;
            let secret = random_text(20).map_err(|e| CaseworkError::Internal(e.to_string()))?;
            let sealed = seal_totp(&secret, &staff.email, &staff.unit, unit_key)?;
            store.set_pending_totp(staff.id, sealed).await?;
        }
        None => {}
    }
    Ok((recovery_code_used, enrol))
}

/// A second factor without its unit's tag at sign-in: answered like a
/// wrong code, under the same floor (the answer must not tell a guesser
/// that the password was right), counted as a failure, and audited with
/// the reason.
async fn unauthenticated_factor(
    store: &Store,
    staff: &sunlight_store::StaffRow,
    failures: i32,
    now: DateTime<Utc>,
) -> CaseworkError {
    let audited = store
        .audit(
            sunlight_store::AuditRecord {
                actor: format!("staff:{}", staff.id),
                action: "session.second_factor_unauthenticated".into(),
                unit: staff.unit.to_string(),
                ..Default::default()
            },
            now,
        )
        .await;
    let counted = store
        .record_failed_login(staff.id, &staff.unit, failures, now)
        .await;
    match audited.and(counted.map(|_| 0)) {
        Ok(_) => CaseworkError::BadCredentials,
        Err(e) => e.into(),
    }
}

/// The unit key a member's password opens, with the unit's retired keys.
/// A key that is not the unit's current one (the unit rotated and left
/// this member out) opens nothing new and is refused.
async fn unit_key_of(
    store: &Store,
    staff: &sunlight_store::StaffRow,
    keys: &PasswordKeys,
) -> Result<UnitSecretKey, CaseworkError> {
    let current = keyring::open_member(staff, keys)?;
    let unit = store
        .unit(&staff.unit)
        .await?
        .ok_or(CaseworkError::NotFound)?;
    if current.public() != unit.public_key {
        return Err(CaseworkError::Internal("the unit key was rotated".into()));
    }
    keyring::with_history(store, &staff.unit, current)
        .await
        .map_err(|e| CaseworkError::Internal(e.to_string()))
}

/// Seals a TOTP secret to the unit key, bound to the member and tagged
/// by the unit (`sunlight_store::staff_auth`).
pub fn seal_totp(
    secret: &str,
    email: &str,
    unit: &UnitId,
    unit_key: &UnitSecretKey,
) -> Result<Vec<u8>, CaseworkError> {
    Ok(staff_auth::seal_totp(secret, email, unit, unit_key)?)
}

/// A member's TOTP secret (current or pending), sealed to their unit key.
/// One the unit key's current generation did not tag is refused with a
/// clear error: it may be a database writer's. (Sign-in answers it like a
/// wrong code and audits why.)
pub fn open_totp(
    sealed: &[u8],
    email: &str,
    unit: &UnitId,
    unit_key: &UnitSecretKey,
) -> Result<Zeroizing<Vec<u8>>, CaseworkError> {
    staff_auth::open_totp(sealed, email, unit, unit_key).map_err(|e| match e {
        CryptoError::Forged => CaseworkError::Conflict(Clash::SecondFactorUnauthenticated),
        e => e.into(),
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
