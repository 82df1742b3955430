//! The intake's rate limits: global buckets that work behind Tor, where
//! every client shares one exit address and per-IP limits would mean
//! nothing, and the flood check every POST passes before its body is read.
//! (Security headers and the request log are `sunlight_web::wrap`.)

use std::num::NonZeroU32;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

/// Per-minute budgets shared by all clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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

/// A POST's flood checks, before its body is read: the client's own bucket
/// (a refused client never touches the shared ones), then the body budget
/// by the size the request declares (the most a form may carry when it
/// declares none).
fn flood_check(
    flood: &crate::flood::Flood,
    req: &ServiceRequest,
) -> Option<crate::error::IntakeError> {
    if !flood.client_may(flood.client(req)) {
        return Some(crate::error::IntakeError::RateLimited);
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let most = req
        .app_data::<web::Data<crate::state::AppState>>()
        .map_or(u64::MAX, |s| s.max_body_bytes());
    if flood.body_may(declared.unwrap_or(most).min(most)) {
        None
    } else {
        Some(crate::error::IntakeError::RateLimited)
    }
}

/// Refuses a POST over its client's or the body budget before its body is
/// read (inside the shared headers and log, so the refusal carries both).
pub async fn flood_guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let refused = match req.app_data::<web::Data<crate::flood::Flood>>().cloned() {
        Some(flood) if req.method() == actix_web::http::Method::POST => {
            let refused = flood_check(&flood, &req);
            flood.time_body(&mut req);
            refused
        }
        _ => None,
    };
    Ok(match refused {
        Some(error) => {
            let failure = crate::error::Failure {
                error,
                lang: crate::i18n::lang_of(req.request()),
                format: if req.path().starts_with("/api/") {
                    crate::error::Format::Json
                } else {
                    crate::error::Format::Html
                },
            };
            let answer = actix_web::ResponseError::error_response(&failure);
            req.into_response(answer).map_into_boxed_body()
        }
        None => next.call(req).await?.map_into_boxed_body(),
    })
}
