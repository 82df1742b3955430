//! What wraps every triage request: security headers, and a request log
//! that records only method, route pattern, status and duration — never a
//! path with a case id, a query, an address, a user agent, a cookie or a
//! referrer (docs/LOGGING.md).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// No scripts at all; forms post only to this origin; never framed.
const CSP: &str = "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";
const PERMISSIONS: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), \
                           microphone=(), payment=(), usb=(), interest-cohort=()";

/// Security headers and the request log.
pub async fn wrap(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    // Errors are turned into answers deep inside the call; they read the
    // request's language from here.
    let lang = crate::i18n::lang_of(req.request());
    let secure = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .is_some_and(|s| s.secure);
    let mut res = crate::error::REQUEST_LANG
        .scope(lang, next.call(req))
        .await?;
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
    // Served over TLS: browsers must never come back over plain HTTP,
    // where the session cookie and decrypted reports would cross in clear.
    if secure {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    // Decrypted case data must not linger in a browser or proxy cache.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    tracing::info!(
        target: "sunlight::http",
        method = %method,
        route = %route,
        status = status.as_u16(),
        ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "request"
    );
    Ok(res)
}
