//! The application state shared by all workers.

use crate::service::Triage;
use crate::session::Sessions;
use crate::stats::Stats;

/// Triage settings from the configuration file (`[triage]`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriageSettings {
    /// A session ends after this long without a request.
    pub session_idle_minutes: u32,
    /// …and this long after sign-in, whatever happens.
    pub session_absolute_hours: u32,
    /// Mark the session cookie `Secure`. On when triage is served over TLS
    /// (behind a proxy); off for plain loopback HTTP.
    pub secure_cookies: bool,
    /// How often new reports are routed (seconds).
    pub route_every_seconds: u32,
    /// How often the sweeper looks for reminders and escalations (seconds);
    /// 0 turns it off in this process (tests drive it on a virtual clock).
    pub sweep_every_seconds: u32,
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
}

impl Default for TriageSettings {
    fn default() -> Self {
        Self {
            session_idle_minutes: 30,
            session_absolute_hours: 10,
            secure_cookies: false,
            route_every_seconds: 5,
            sweep_every_seconds: 60,
            workers: 0,
        }
    }
}

#[derive(Debug)]
pub struct AppState {
    pub triage: Triage,
    pub sessions: Sessions,
    pub settings: TriageSettings,
    pub stats: Stats,
    /// Shown on the admin page: where Tor users reach intake.
    pub onion: Option<String>,
}
