//! Staff sessions, in this process's memory only: each holds the unit
//! private key unwrapped at sign-in, which must never be written anywhere.
//! A session ends at logout, after `idle` without a request, or `absolute`
//! after sign-in; the key is zeroized when the last reference goes (x25519
//! `StaticSecret` zeroizes on drop).
//!
//! Several triage processes do not share sessions: behind a load balancer,
//! route a staff member to one process (sticky sessions) — see
//! docs/triage.md. What they do share is the member's standing in the
//! database: a session carries the member's session epoch from sign-in,
//! and a request whose member was disabled, reset or changed password since
//! (the epoch moved) ends the session, in whichever process holds it
//! (`Sessions::live`, checked at most `STANDING_TTL` apart).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use subtle::ConstantTimeEq;
use sunlight_core::crypto::UnitSecretKey;
use sunlight_core::{Role, UnitId};
use sunlight_store::{Jurisdiction, Store};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::CaseworkError;

/// How long a session trusts its last look at the member's standing: a
/// disabled or reset member's session in another process ends within this.
pub const STANDING_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// A signed-in staff member.
pub struct Session {
    pub staff_id: Uuid,
    pub email: String,
    pub unit: UnitId,
    pub role: Role,
    pub jurisdiction: Jurisdiction,
    unit_key: UnitSecretKey,
    csrf: Zeroizing<String>,
    pub created: DateTime<Utc>,
    last_seen: Mutex<DateTime<Utc>>,
    /// Set while the member still signs in with a password someone else
    /// saw (a one-time password): only changing it is allowed.
    must_change_password: std::sync::atomic::AtomicBool,
    /// Set while a new TOTP secret waits for its first code: until then
    /// the old secret (which someone else saw) still signs in, so nothing
    /// but confirming it is allowed.
    must_confirm_totp: std::sync::atomic::AtomicBool,
    /// The member's session epoch this session belongs to.
    epoch: AtomicI64,
    /// When the member's standing was last read from the database.
    checked: Mutex<Instant>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("staff_id", &self.staff_id)
            .field("unit", &self.unit)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub fn unit_key(&self) -> &UnitSecretKey {
        &self.unit_key
    }

    pub fn must_change_password(&self) -> bool {
        self.must_change_password
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The member replaced their password from this session: it lives on
    /// under the new epoch (every other session of theirs ends).
    pub fn password_changed(&self, epoch: i64) {
        self.must_change_password
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.epoch.store(epoch, Ordering::SeqCst);
    }

    pub fn must_confirm_totp(&self) -> bool {
        self.must_confirm_totp.load(Ordering::SeqCst)
    }

    pub fn set_must_confirm_totp(&self, waiting: bool) {
        self.must_confirm_totp.store(waiting, Ordering::SeqCst);
    }

    fn standing_is_fresh(&self, now: Instant) -> bool {
        self.checked
            .lock()
            .is_ok_and(|at| now.saturating_duration_since(*at) < STANDING_TTL)
    }

    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Constant-time check of a CSRF token sent with a state change.
    pub fn csrf_matches(&self, sent: Option<&str>) -> bool {
        sent.is_some_and(|s| bool::from(s.as_bytes().ct_eq(self.csrf.as_bytes())))
    }

    pub fn actor(&self) -> sunlight_core::case::Actor {
        sunlight_core::case::Actor {
            id: sunlight_core::case::StaffId::from_uuid(self.staff_id),
            role: self.role,
        }
    }
}

fn random_token() -> Result<Zeroizing<String>, getrandom::Error> {
    let mut raw = Zeroizing::new([0u8; 32]);
    getrandom::fill(raw.as_mut())?;
    Ok(Zeroizing::new(
        data_encoding::BASE32_NOPAD.encode(raw.as_ref()),
    ))
}

/// Whether a session created at `created` and last used at `last_seen` is
/// still open at `now`: used within `idle`, and younger than `absolute` however
/// busy it was (a stolen cookie kept warm still dies).
fn open_at(
    created: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    now: DateTime<Utc>,
    idle: Duration,
    absolute: Duration,
) -> bool {
    now - last_seen < idle && now - created < absolute
}

/// All sessions of this process.
pub struct Sessions {
    map: Mutex<HashMap<String, Arc<Session>>>,
    idle: Duration,
    absolute: Duration,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("idle", &self.idle)
            .field("absolute", &self.absolute)
            .finish_non_exhaustive()
    }
}

/// What a sign-in produced: the cookie value and the CSRF token, each shown
/// once to the client.
pub struct Opened {
    pub token: Zeroizing<String>,
    pub session: Arc<Session>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Opened(<redacted>)")
    }
}

/// Who is signing in, as checked by `auth`.
pub struct NewSession {
    pub staff_id: Uuid,
    pub email: String,
    pub unit: UnitId,
    pub role: Role,
    pub jurisdiction: Jurisdiction,
    pub unit_key: UnitSecretKey,
    pub must_change_password: bool,
    pub must_confirm_totp: bool,
    pub epoch: i64,
    /// The second factor was a recovery code (the member is told by mail).
    pub recovery_code_used: bool,
}

/// Never prints the unit key.
impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("staff_id", &self.staff_id)
            .field("unit", &self.unit)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    pub fn new(idle: Duration, absolute: Duration) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            idle,
            absolute,
        }
    }

    pub fn open(&self, new: NewSession, now: DateTime<Utc>) -> Result<Opened, getrandom::Error> {
        let token = random_token()?;
        let csrf = random_token()?;
        let session = Arc::new(Session {
            staff_id: new.staff_id,
            email: new.email,
            unit: new.unit,
            role: new.role,
            jurisdiction: new.jurisdiction,
            unit_key: new.unit_key,
            csrf,
            created: now,
            last_seen: Mutex::new(now),
            must_change_password: std::sync::atomic::AtomicBool::new(new.must_change_password),
            must_confirm_totp: std::sync::atomic::AtomicBool::new(new.must_confirm_totp),
            epoch: AtomicI64::new(new.epoch),
            checked: Mutex::new(Instant::now()),
        });
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, s| self.alive(s, now));
            map.insert(token.to_string(), Arc::clone(&session));
        }
        Ok(Opened { token, session })
    }

    fn alive(&self, s: &Session, now: DateTime<Utc>) -> bool {
        let last = s.last_seen.lock().map_or(s.created, |l| *l);
        open_at(s.created, last, now, self.idle, self.absolute)
    }

    /// The live session of `token`, touched; an expired one is removed.
    pub fn get(&self, token: &str, now: DateTime<Utc>) -> Option<Arc<Session>> {
        let mut map = self.map.lock().ok()?;
        let session = map.get(token).cloned()?;
        if self.alive(&session, now) {
            if let Ok(mut last) = session.last_seen.lock() {
                *last = now;
            }
            Some(session)
        } else {
            map.remove(token);
            None
        }
    }

    /// The live session of `token` whose member may still work: disabled,
    /// reset or re-passworded since it opened (their session epoch moved,
    /// here or in another process), it ends now. The member's standing is
    /// read at most every `STANDING_TTL`.
    pub async fn live(
        &self,
        token: &str,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<Arc<Session>, CaseworkError> {
        let session = self.get(token, now).ok_or(CaseworkError::NoSession)?;
        let clock = Instant::now();
        if session.standing_is_fresh(clock) {
            return Ok(session);
        }
        match store.staff_standing(session.staff_id).await? {
            Some(s) if !s.disabled && s.epoch == session.epoch.load(Ordering::SeqCst) => {
                if let Ok(mut at) = session.checked.lock() {
                    *at = clock;
                }
                Ok(session)
            }
            _ => {
                self.close(token);
                Err(CaseworkError::NoSession)
            }
        }
    }

    /// Ends every session of a member in this process but `keep` (the one
    /// that changed its own password); other processes follow through the
    /// epoch. Returns how many ended.
    pub fn end_member(&self, staff_id: uuid::Uuid, keep: Option<&Arc<Session>>) -> usize {
        self.map.lock().map_or(0, |mut map| {
            let before = map.len();
            map.retain(|_, s| s.staff_id != staff_id || keep.is_some_and(|k| Arc::ptr_eq(k, s)));
            before - map.len()
        })
    }

    /// Ends every session of a member of `unit` in this process (its key
    /// was replaced: they hold one that opens nothing new). Other processes
    /// end theirs at the next look at the members' standing.
    pub fn end_unit(&self, unit: &UnitId) -> usize {
        self.map.lock().map_or(0, |mut map| {
            let before = map.len();
            map.retain(|_, s| &s.unit != unit);
            before - map.len()
        })
    }

    /// Drops every expired session, so its unit key leaves memory within a
    /// routing tick of expiring rather than at the next sign-in or request
    /// with its cookie. Returns how many ended.
    pub fn sweep(&self, now: DateTime<Utc>) -> usize {
        self.map.lock().map_or(0, |mut map| {
            let before = map.len();
            map.retain(|_, s| self.alive(s, now));
            before - map.len()
        })
    }

    /// Ends a session; its unit key leaves memory with the last reference.
    pub fn close(&self, token: &str) -> bool {
        self.map
            .lock()
            .ok()
            .and_then(|mut m| m.remove(token))
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_when_idle_and_at_their_absolute_age_however_busy() {
        let (idle, absolute) = (Duration::minutes(30), Duration::hours(10));
        let t0 = DateTime::from_timestamp(1_764_000_000, 0).unwrap();
        let open = |last: Duration, now: Duration| open_at(t0, t0 + last, t0 + now, idle, absolute);
        assert!(open(Duration::zero(), Duration::minutes(29)));
        assert!(
            !open(Duration::zero(), Duration::minutes(30)),
            "idle for 30 minutes"
        );
        assert!(open(
            Duration::hours(9),
            Duration::hours(9) + Duration::minutes(29)
        ));
        // Used a minute ago, but ten hours old: over.
        assert!(!open(
            Duration::hours(10) - Duration::minutes(1),
            Duration::hours(10)
        ));
    }
}
