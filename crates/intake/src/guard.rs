//! What wraps every request: security headers, a request log that records
//! only method, route pattern, status and duration of requests that are not
//! a reporter's POST (never a path with data,
//! a query, an address, a user agent or a referrer — docs/LOGGING.md), and
//! global rate limits that work behind Tor, where every client shares one
//! exit address and per-IP limits would mean nothing.

use std::num::NonZeroU32;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
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

const CSP: &str = "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";
const PERMISSIONS: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), \
                           microphone=(), payment=(), usb=(), interest-cohort=()";

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

/// Onion-Location, if configured: the `.onion` origin to advertise.
#[derive(Debug, Clone)]
pub struct OnionLocation(pub Option<String>);

/// Security headers and the request log.
pub async fn wrap(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let onion = req
        .app_data::<web::Data<OnionLocation>>()
        .and_then(|o| o.0.clone());
    let refused = match req.app_data::<web::Data<crate::flood::Flood>>().cloned() {
        Some(flood) if method == actix_web::http::Method::POST => {
            let refused = flood_check(&flood, &req);
            flood.time_body(&mut req);
            refused
        }
        _ => None,
    };
    let mut res = match refused {
        Some(error) => {
            let failure = crate::error::Failure {
                error,
                lang: crate::i18n::lang_of(req.request()),
                format: if path.starts_with("/api/") {
                    crate::error::Format::Json
                } else {
                    crate::error::Format::Html
                },
            };
            let answer = actix_web::ResponseError::error_response(&failure);
            req.into_response(answer).map_into_boxed_body()
        }
        None => next.call(req).await?.map_into_boxed_body(),
    };
    let status = res.status();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "<unmatched>".to_owned());
    let headers = res.headers_mut();
    let fixed: [(HeaderName, &str); 7] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (HeaderName::from_static("permissions-policy"), PERMISSIONS),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if let (true, Some(origin)) = (is_html, onion) {
        // Only the route's own path: it never carries data (no code is ever
        // in a URL), and the query (language) is the visitor's business.
        if let Ok(v) = HeaderValue::from_str(&format!("{}{path}", origin.trim_end_matches('/'))) {
            headers.insert(HeaderName::from_static("onion-location"), v);
        }
    }
    // A reporter's POST (a report, a status lookup, a message, a rating)
    // gets no line: the line's timestamp would be the moment they filed or
    // came back, which the network logs of the accused's unit could match
    // to a person. The metrics middleware counts them instead.
    if method != actix_web::http::Method::POST {
        tracing::info!(
            target: "sunlight::http",
            method = %method,
            route = %route,
            status = status.as_u16(),
            ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "request"
        );
    }
    Ok(res)
}
