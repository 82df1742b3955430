//! The staff session cookie: the web app's handle on a session the
//! casework engine holds in memory.

/// The cookie that carries the session token over plain loopback HTTP.
pub const COOKIE: &str = "sunlight_staff";
/// …and over TLS: the `__Host-` prefix makes browsers refuse it unless it
/// is Secure, path `/` and without a domain, so no sibling host can plant
/// or shadow it.
pub const SECURE_COOKIE: &str = "__Host-sunlight_staff";

/// The session cookie's name: `__Host-` prefixed when served over TLS.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_COOKIE } else { COOKIE }
}
