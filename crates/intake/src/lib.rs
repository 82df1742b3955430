//! `sunlight-intake`: the public intake app: report form, receipt, status by tracking code, reporter messages and evidence, bulletin. It holds public keys only and must never load a unit private key, store or log a tracking code, an IP address or any report text. Depends on sunlight-core, sunlight-store, sunlight-filing (the one filing path), sunlight-web (what both apps share), sunlight-charts and sunlight-metrics; never on sunlight-triage.
//!
//! HTML pages and the JSON API share one port and one service (`Filing`);
//! see docs/intake.md for the routes and docs/LOGGING.md for what is never
//! logged.

mod api;
mod bulletin;
mod error;
mod flood;
#[doc(hidden)]
pub mod fuzzing;
mod guard;
mod i18n;
mod input;
mod log;
mod pages;
mod spool;
mod state;

use std::net::TcpListener;
use std::path::PathBuf;

use actix_web::{App, HttpResponse, middleware, web};
use sunlight_core::calendar::Calendar;
use sunlight_core::crypto::CodeStretcher;
use sunlight_core::policy::Policy;
use sunlight_core::report::Limits;
use sunlight_store::Store;
use sunlight_web::{Endpoint, Served};

pub use api::ApiDoc;
pub use guard::RateLimits;
pub use sunlight_metrics::Metrics;

/// Intake settings from the configuration file (`[intake]`).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeSettings {
    pub limits: Limits,
    pub rate_limits: RateLimits,
    /// `http://….onion` origin announced in `Onion-Location` on every page.
    pub onion_location: Option<String>,
    /// Argon2id stretches at once; 0 = one per core.
    pub argon_parallelism: usize,
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    /// Proxies whose `X-Forwarded-For` names the client (for per-client
    /// fairness only; never stored or logged). Empty: the socket's peer.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Peers that stand for many people and whose headers are never
    /// believed (the Tor daemon: a client could name any address in
    /// `X-Forwarded-For` through it): the global buckets only.
    pub shared_peers: Vec<std::net::IpAddr>,
    /// A request body that sends nothing for this long is dropped.
    pub body_read_timeout_seconds: u32,
}

/// What the intake app is built from. Public keys only: nothing here can
/// open a sealed report.
#[derive(Debug)]
pub struct IntakeParts {
    pub store: Store,
    pub stretcher: CodeStretcher,
    pub policy: Policy,
    pub calendar: Calendar,
    pub settings: IntakeSettings,
    /// Where sealed uploads are spooled before their transaction (a folder
    /// on the data disk; the files have no names and hold ciphertext only).
    pub spool_dir: PathBuf,
    /// Request counts, submission latency and the Argon2id queue.
    pub metrics: sunlight_metrics::Metrics,
}

/// The intake web application, built from its parts and bound to a listener
/// (port 0 in tests).
#[derive(Debug)]
pub struct Application {
    served: Served,
}

/// The limits in force, once at start, so an operator can see what the
/// configuration came to; no request is ever logged against them.
fn log_limits(settings: &IntakeSettings) {
    let r = &settings.rate_limits;
    tracing::info!(
        submissions_per_minute = r.submissions_per_minute,
        submission_burst = r.submission_burst,
        lookups_per_minute = r.lookups_per_minute,
        lookup_burst = r.lookup_burst,
        per_client_per_minute = r.per_client_per_minute,
        per_client_burst = r.per_client_burst,
        upload_mib_per_minute = r.upload_mib_per_minute,
        attachments = settings.limits.attachments,
        attachment_bytes = settings.limits.attachment_bytes,
        "intake limits in force"
    );
}

impl Application {
    pub fn build(parts: IntakeParts, listener: TcpListener) -> std::io::Result<Self> {
        i18n::check().map_err(std::io::Error::other)?;
        std::fs::create_dir_all(&parts.spool_dir)?;
        let settings = parts.settings;
        log_limits(&settings);
        // For error answers, which see the request and not the state.
        let limits = web::Data::new(settings.limits);
        let state = web::Data::new(state::AppState {
            filing: sunlight_filing::Filing::new(
                parts.store.clone(),
                parts.stretcher,
                parts.policy,
                parts.calendar,
                settings.limits,
                settings.argon_parallelism,
                parts.metrics.clone(),
            ),
            limiters: guard::Limiters::new(settings.rate_limits),
            spool_dir: parts.spool_dir,
            onion: settings.onion_location.clone(),
        });
        let store = web::Data::new(parts.store);
        let headers = web::Data::new(sunlight_web::HeaderPolicy {
            hsts: false,
            onion_location: settings.onion_location,
            quiet_posts: true,
        });
        let flood = web::Data::new(flood::Flood::new(
            &settings.rate_limits,
            settings.trusted_proxies,
            settings.shared_peers,
            if settings.body_read_timeout_seconds == 0 {
                30
            } else {
                settings.body_read_timeout_seconds
            },
        ));
        let counted = web::Data::new(parts.metrics.for_app(
            "intake",
            &["/report", "/api/v1/reports", "/api/v1/sealed/reports"],
        ));
        let served = Served::start(listener, settings.workers, move || {
            App::new()
                .app_data(state.clone())
                .app_data(store.clone())
                .app_data(headers.clone())
                .app_data(flood.clone())
                .app_data(counted.clone())
                .app_data(limits.clone())
                .wrap(middleware::from_fn(flood::flood_guard))
                .wrap(middleware::from_fn(
                    sunlight_web::answer_problems::<error::Failure>,
                ))
                .wrap(middleware::from_fn(sunlight_web::wrap))
                // Outermost: counts the answer the client finally gets.
                .wrap(middleware::from_fn(sunlight_metrics::count_requests))
                .configure(routes)
                .default_service(web::to(pages::not_found))
        })?;
        Ok(Self { served })
    }

    pub fn port(&self) -> u16 {
        self.served.port()
    }

    /// Runs until `shutdown` resolves, then stops gracefully.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        self.served.run_until_stopped(shutdown).await
    }
}

/// Every route; any other method on a known path is a 405 page or object.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        Endpoint::new("/")
            .get(pages::landing)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/report")
            .get(pages::report_form)
            .post(pages::report_submit)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/status")
            .get(pages::status_form)
            .post(pages::status_lookup)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/status/messages")
            .post(pages::message_submit)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/status/rating")
            .post(pages::rating_submit)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/bulletin")
            .get(bulletin::bulletin)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/bulletin/charts/{name}")
            .get(bulletin::bulletin_chart)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/static/style.css")
            .get(pages::stylesheet)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/static/sealing.js")
            .get(pages::sealing_script)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/log/heads")
            .get(log::heads)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/verify")
            .get(log::verify_form)
            .post(log::verify_submit)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/healthz")
            .get(healthz)
            .refusing_others(pages::method_not_allowed),
    )
    .configure(api_routes);
}

/// The JSON routes.
fn api_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        Endpoint::new("/api/v1/reports")
            .post(api::create_report)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/status")
            .post(api::status)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/status/messages")
            .post(api::add_message)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/status/rating")
            .post(api::rate)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/sealed/params")
            .get(api::sealed::params)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/sealed/prepare")
            .post(api::sealed::prepare)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/sealed/reports")
            .post(api::sealed::create)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/sealed/status")
            .post(api::sealed::status)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/sealed/messages")
            .post(api::sealed::add_message)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/sealed/rating")
            .post(api::sealed::rate)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/log/proof")
            .get(log::proof)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/log/consistency")
            .get(log::consistency)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/units")
            .get(api::units)
            .refusing_others(pages::method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/openapi.json")
            .get(api::openapi)
            .refusing_others(pages::method_not_allowed),
    );
}

/// 200 when the database answers, 503 otherwise.
async fn healthz(store: web::Data<Store>) -> HttpResponse {
    sunlight_web::health_answer(store.ping().await)
}
