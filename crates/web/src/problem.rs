//! An app's error answered with the request in hand. `ResponseError`
//! renders an error without the request, so it cannot know the reader's
//! language or the app's settings; instead of process-wide state for those
//! (a global of limits, a task-local language), `answer_problems` finds the
//! app's error in a failed response and lets it answer again from the
//! request: its language, its app data.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

/// An app's error that knows how to answer a request: a page or JSON, in
/// the request's language, with whatever the app's settings add.
pub trait Problem: ResponseError + 'static {
    fn answer(&self, req: &HttpRequest) -> HttpResponse;
}

/// Middleware (`from_fn(answer_problems::<E>)`): a response that failed with
/// an `E` is answered by `E::answer` for its request. Wrap it inside the
/// header middleware, so the new answer gets the headers too.
pub async fn answer_problems<E: Problem>(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let res = next.call(req).await?;
    let answer = res
        .response()
        .error()
        .and_then(|e| e.as_error::<E>())
        .map(|e| e.answer(res.request()));
    Ok(match answer {
        Some(answer) => res.into_response(answer).map_into_right_body(),
        None => res.map_into_left_body(),
    })
}
