//! Server setup both apps share: an actix server on a given listener, run
//! until a shutdown future resolves; the health answer; the stylesheet.

use std::net::TcpListener;

use actix_web::dev::{AppConfig, Server, ServiceFactory};
use actix_web::{HttpResponse, HttpServer};

/// A started server and the port it listens on (port 0 in tests).
pub struct Served {
    port: u16,
    server: Server,
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Served {
    /// Serves the apps `factory` builds on `listener`, with `workers`
    /// threads (0: one per core). Signals are the caller's business.
    pub fn start<F, I, S, B>(
        listener: TcpListener,
        workers: usize,
        factory: F,
    ) -> std::io::Result<Self>
    where
        F: Fn() -> I + Send + Clone + 'static,
        I: actix_service::IntoServiceFactory<S, actix_http::Request>,
        S: ServiceFactory<actix_http::Request, Config = AppConfig> + 'static,
        S::Error: Into<actix_web::Error> + 'static,
        S::InitError: std::fmt::Debug,
        S::Response: Into<actix_http::Response<B>> + 'static,
        B: actix_web::body::MessageBody + 'static,
    {
        let port = listener.local_addr()?.port();
        let mut server = HttpServer::new(factory).disable_signals();
        if workers > 0 {
            server = server.workers(workers);
        }
        let server = server.listen(listener)?.run();
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until `shutdown` resolves, then stops gracefully.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        let handle = self.server.handle();
        tokio::select! {
            res = self.server => res,
            () = shutdown => {
                handle.stop(true).await;
                Ok(())
            }
        }
    }
}

/// `/healthz`: 200 when the database answered, 503 otherwise (the reason
/// logged, never sent).
pub fn health_answer(database: Result<(), impl std::fmt::Display>) -> HttpResponse {
    match database {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body("ok\n"),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("database unavailable\n")
        }
    }
}

/// An app's one stylesheet, compiled into the binary.
pub fn stylesheet(css: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(css)
}
