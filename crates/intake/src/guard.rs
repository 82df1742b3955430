//! The intake's rate limits: global buckets that work behind Tor, where
//! every client shares one exit address and per-IP limits would mean
//! nothing, and the flood check every POST passes before its body is read.
//! (Security headers and the request log are `sunlight_web::wrap`.)

use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

/// Per-minute budgets shared by all clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    pub submissions_per_minute: u32,
    pub submission_burst: u32,
    pub lookups_per_minute: u32,
    pub lookup_burst: u32,
    /// Each client's own budget of POSTs (reports, look-ups, messages),
    /// taken before the shared buckets, so one client cannot drain them.
    /// Clients behind a shared address (Tor) are not counted here.
    pub per_client_per_minute: u32,
    pub per_client_burst: u32,
    /// Request bodies (uploads above all) of every client together, by the
    /// size they declare, before any byte is read.
    pub upload_mib_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        // Argon2id bounds the service near 100 stretches a second on two
        // cores; these leave most of it to genuine reporters under a flood.
        Self {
            submissions_per_minute: 600,
            submission_burst: 60,
            lookups_per_minute: 1200,
            lookup_burst: 120,
            // A reporter files once and comes back a few times.
            per_client_per_minute: 30,
            per_client_burst: 10,
            // Six uploads of the largest size a minute.
            upload_mib_per_minute: 600,
        }
    }
}

/// The token buckets.
pub struct Limiters {
    submissions: DefaultDirectRateLimiter,
    lookups: DefaultDirectRateLimiter,
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiters")
    }
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

impl Limiters {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            submissions: RateLimiter::direct(quota(
                limits.submissions_per_minute,
                limits.submission_burst,
            )),
            lookups: RateLimiter::direct(quota(limits.lookups_per_minute, limits.lookup_burst)),
        }
    }

    /// Takes a token for a new report or message; false when spent.
    pub fn submission(&self) -> bool {
        self.submissions.check().is_ok()
    }

    /// Takes a token for a code lookup; false when spent.
    pub fn lookup(&self) -> bool {
        self.lookups.check().is_ok()
    }

    /// A reporter's message names a code, so it is a lookup as well as a
    /// write: it spends a token of each bucket. Charged to submissions
    /// alone, posting messages would be a second, separately budgeted way
    /// to guess codes.
    pub fn message(&self) -> bool {
        self.lookup() && self.submission()
    }
}
