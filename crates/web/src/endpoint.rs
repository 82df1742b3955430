//! A path and the methods it takes, from one list: a request with any other
//! method gets the app's 405 answer, and that answer names the methods in an
//! `Allow` header (RFC 9110 §15.5.6), which `wrap` adds to whatever the
//! app's answer finally is.

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, HttpMessage, HttpRequest, Resource, Responder, web};

/// The methods a path takes, left in the request's extensions by the 405
/// answer for `wrap` to send as `Allow`.
#[derive(Debug, Clone)]
pub struct Allowed(pub String);

/// A resource being built: its routes and the methods they take.
pub struct Endpoint {
    resource: Resource,
    allow: Vec<&'static str>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    pub fn new(path: &str) -> Self {
        Self {
            resource: web::resource(path),
            allow: Vec::new(),
        }
    }

    pub fn get<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::GET, "GET", handler)
    }

    pub fn post<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::POST, "POST", handler)
    }

    pub fn delete<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.on(Method::DELETE, "DELETE", handler)
    }

    fn on<F, Args>(mut self, method: Method, name: &'static str, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource = self.resource.route(web::route().method(method).to(handler));
        self.allow.push(name);
        self
    }

    /// The resource, answering every other method with `not_allowed` (the
    /// app's 405, a page or JSON) plus the `Allow` header.
    pub fn refusing_others<F, Fut, R>(self, not_allowed: F) -> Resource
    where
        F: Fn(HttpRequest) -> Fut + Clone + 'static,
        Fut: std::future::Future<Output = R> + 'static,
        R: Responder + 'static,
    {
        let allow = Allowed(self.allow.join(", "));
        self.resource
            .default_service(web::to(move |req: HttpRequest| {
                req.extensions_mut().insert(allow.clone());
                not_allowed(req)
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, HttpResponse, middleware, test};

    async fn ok() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    async fn refused(_: HttpRequest) -> HttpResponse {
        HttpResponse::MethodNotAllowed().finish()
    }

    #[actix_web::test]
    async fn another_method_is_refused_with_the_methods_the_path_takes() {
        let app = test::init_service(
            App::new().wrap(middleware::from_fn(crate::wrap)).service(
                Endpoint::new("/x")
                    .get(ok)
                    .delete(ok)
                    .refusing_others(refused),
            ),
        )
        .await;
        for method in [Method::PUT, Method::POST, Method::PATCH, Method::TRACE] {
            let res = test::call_service(
                &app,
                test::TestRequest::default()
                    .method(method)
                    .uri("/x")
                    .to_request(),
            )
            .await;
            assert_eq!(res.status(), 405);
            assert_eq!(res.headers().get("allow").unwrap(), "GET, DELETE");
        }
        let res = test::call_service(&app, test::TestRequest::get().uri("/x").to_request()).await;
        assert_eq!(res.status(), 200);
        assert!(!res.headers().contains_key("allow"));
    }
}
