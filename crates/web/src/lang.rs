//! The language of a request and the message catalogs compiled into an app.

use actix_web::HttpRequest;
pub use sunlight_core::i18n::Catalogs;
use sunlight_core::i18n::Lang;

/// `?lang=` wins over `Accept-Language`; Chinese by default.
pub fn lang_of(req: &HttpRequest) -> Lang {
    let explicit = req
        .query_string()
        .split('&')
        .find_map(|pair| pair.strip_prefix("lang="));
    let accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Lang::negotiate(explicit, accept)
}
