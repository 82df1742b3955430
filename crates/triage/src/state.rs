//! The application state shared by all workers.

use std::sync::Arc;

use chrono::Utc;

use crate::cookie::cookie_name;
use crate::error::TriageError;
use sunlight_casework::Stats;
use sunlight_casework::Triage;
use sunlight_casework::session::{Session, Sessions};

/// Triage settings from the configuration file (`[triage]`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriageSettings {
    /// A session ends after this long without a request.
    pub session_idle_minutes: u32,
    /// …and this long after sign-in, whatever happens.
    pub session_absolute_hours: u32,
    /// Mark the session cookie `Secure` (named `__Host-sunlight_staff`) and
    /// send HSTS. Unset: on unless triage listens on a loopback address
    /// only (plain HTTP on one machine); set `false` only for that case.
    pub secure_cookies: Option<bool>,
    /// A failed sign-in answers no sooner than this after it arrived
    /// (milliseconds), whether the account is unknown, locked or the
    /// password wrong, so the answer's timing tells none of them apart.
    /// Keep it above the slowest password check under load.
    pub sign_in_floor_ms: u32,
    /// How often new reports are routed (seconds).
    pub route_every_seconds: u32,
    /// How often the sweeper looks for reminders and escalations (seconds);
    /// 0 turns it off in this process (tests drive it on a virtual clock).
    pub sweep_every_seconds: u32,
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    /// The roles that must sign in with a second factor (TOTP). Every role
    /// that reads reports by default; add `intake` to require it of
    /// intake officers too. A member of a listed role without one enrols
    /// one at their next sign-in before doing anything else.
    pub second_factor_roles: Vec<sunlight_core::Role>,
}

impl Default for TriageSettings {
    fn default() -> Self {
        Self {
            session_idle_minutes: 30,
            session_absolute_hours: 10,
            secure_cookies: None,
            sign_in_floor_ms: 400,
            route_every_seconds: 5,
            sweep_every_seconds: 60,
            workers: 0,
            second_factor_roles: sunlight_casework::auth::DEFAULT_SECOND_FACTOR.to_vec(),
        }
    }
}

#[derive(Debug)]
pub struct AppState {
    pub triage: Triage,
    pub sessions: Sessions,
    /// `[triage] secure_cookies` resolved against the listening address.
    pub secure: bool,
    /// Staff-side Argon2 runs: at most one per core, in reused memory.
    pub gate: sunlight_casework::auth::Gate,
    pub stats: Stats,
    /// Shown on the admin page: where Tor users reach intake.
    pub onion: Option<String>,
    /// Where the desk's uploads are spooled, sealed.
    pub spool_dir: std::path::PathBuf,
}

/// The session of a request (by its cookie) if it is live and its member
/// still in good standing.
pub async fn current(req: &actix_web::HttpRequest) -> Result<Arc<Session>, TriageError> {
    let state = req
        .app_data::<actix_web::web::Data<AppState>>()
        .ok_or_else(|| TriageError::Internal("state missing".into()))?;
    let token = req
        .cookie(cookie_name(state.secure))
        .ok_or(TriageError::NoSession)?;
    state
        .sessions
        .live(token.value(), &state.triage.store, Utc::now())
        .await
        .map_err(TriageError::from)
}
