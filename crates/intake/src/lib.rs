//! `sunlight-intake`: the public intake app: report form, receipt, status by tracking code, reporter messages and evidence, bulletin. It holds public keys only and must never load a unit private key, store or log a tracking code, an IP address or any report text. Depends on sunlight-core and sunlight-store; never on sunlight-triage.
//!
//! This crate currently serves `GET /healthz`; its pages and API arrive
//! with their own issue.

use std::net::TcpListener;

use actix_web::{App, HttpResponse, HttpServer, dev::Server, web};
use sunlight_store::Store;

/// The intake web application, built from its parts and bound to a listener
/// (port 0 in tests).
pub struct Application {
    port: u16,
    server: Server,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    pub fn build(store: Store, listener: TcpListener) -> std::io::Result<Self> {
        let port = listener.local_addr()?.port();
        let data = web::Data::new(store);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/healthz", web::get().to(healthz))
        })
        .disable_signals()
        .listen(listener)?
        .run();
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
        let server = self.server;
        tokio::select! {
            res = server => res,
            () = shutdown => {
                handle.stop(true).await;
                Ok(())
            }
        }
    }
}

/// 200 when the database answers, 503 otherwise.
async fn healthz(store: web::Data<Store>) -> HttpResponse {
    match store.ping().await {
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
