//! The language of the request being answered, for errors rendered deep
//! inside the call. (Security headers and the request log are
//! `sunlight_web::wrap`.)

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

/// Runs the request with its language in `REQUEST_LANG`.
pub async fn lang_scope(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let lang = crate::i18n::lang_of(req.request());
    crate::error::REQUEST_LANG.scope(lang, next.call(req)).await
}
