//! What wraps every request of both apps: security headers, and a request
//! log that records only method, route pattern, status and duration —
//! never a path with data, a query, an address, a user agent, a cookie or a
//! referrer (docs/LOGGING.md).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

/// No scripts at all; forms post only to this origin; never framed.
const CSP: &str = "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";
/// The pages of intake that load its one script (the report form and the
/// status lookup, which seal in the browser, and `/verify`): scripts from this origin only, which the page loads
/// with subresource integrity, and Trusted Types so that no script can
/// write HTML. A handler opts in by setting exactly this value; any other
/// CSP a handler sets is replaced by [`CSP`].
pub const CSP_SEALING: &str = "default-src 'self'; script-src 'self'; object-src 'none'; \
                               base-uri 'none'; form-action 'self'; frame-ancestors 'none'; \
                               require-trusted-types-for 'script'; trusted-types 'none'";
const PERMISSIONS: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), \
                           microphone=(), payment=(), usb=(), interest-cohort=()";

/// What differs between the apps' headers and logs (app data of each app).
/// An app that sets none gets the default, which fails closed: no line for
/// any POST (HSTS needs TLS, which only the app knows it has).
#[derive(Debug, Clone)]
pub struct HeaderPolicy {
    /// Served over TLS: browsers must never come back over plain HTTP,
    /// where a session cookie and decrypted reports would cross in clear.
    pub hsts: bool,
    /// `http://….onion` origin announced in `Onion-Location` on HTML pages.
    pub onion_location: Option<String>,
    /// A reporter's POST (a report, a status lookup, a message) gets no log
    /// line: the line's timestamp would be the moment they filed or came
    /// back, which the network logs of the accused's unit could match to a
    /// person. The metrics middleware counts them instead.
    pub quiet_posts: bool,
}

impl Default for HeaderPolicy {
    fn default() -> Self {
        Self {
            hsts: false,
            onion_location: None,
            quiet_posts: true,
        }
    }
}

/// Security headers and the request log.
pub async fn wrap(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let policy = req
        .app_data::<web::Data<HeaderPolicy>>()
        .map(|p| HeaderPolicy::clone(p))
        .unwrap_or_default();
    let mut res = next.call(req).await?;
    let status = res.status();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "<unmatched>".to_owned());
    secure(res.headers_mut(), &policy, &path);
    if status == actix_web::http::StatusCode::METHOD_NOT_ALLOWED {
        let allowed = res.request().extensions().get::<crate::Allowed>().cloned();
        if let Some(crate::Allowed(methods)) = allowed
            && let Ok(value) = header::HeaderValue::from_str(&methods)
        {
            res.headers_mut().insert(header::ALLOW, value);
        }
    }
    if !(policy.quiet_posts && method == Method::POST) {
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

fn secure(headers: &mut header::HeaderMap, policy: &HeaderPolicy, path: &str) {
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
    let sealing = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .is_some_and(|v| v.as_bytes() == CSP_SEALING.as_bytes());
    for (name, value) in fixed {
        if sealing && name == header::CONTENT_SECURITY_POLICY {
            continue;
        }
        headers.insert(name, HeaderValue::from_static(value));
    }
    if policy.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    // Case data and receipts must not linger in a browser or proxy cache.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if let (true, Some(origin)) = (is_html, &policy.onion_location) {
        // Only the route's own path: it never carries data (no code is ever
        // in a URL), and the query (language) is the visitor's business.
        if let Ok(v) = HeaderValue::from_str(&format!("{}{path}", origin.trim_end_matches('/'))) {
            headers.insert(HeaderName::from_static("onion-location"), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csp_after(set: Option<&'static str>) -> String {
        let mut headers = header::HeaderMap::new();
        if let Some(value) = set {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(value),
            );
        }
        secure(&mut headers, &HeaderPolicy::default(), "/");
        headers
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn only_the_sealing_policy_may_replace_the_scriptless_one() {
        assert_eq!(csp_after(None), CSP);
        assert_eq!(csp_after(Some(CSP_SEALING)), CSP_SEALING);
        // A handler that loosens the policy any other way is overruled.
        assert_eq!(csp_after(Some("script-src *")), CSP);
        assert!(CSP_SEALING.contains("script-src 'self';"));
        assert!(!CSP_SEALING.contains("unsafe"));
    }
}
