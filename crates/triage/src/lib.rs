//! `sunlight-triage`: the staff web app — server-rendered HTML pages without JavaScript and a JSON API for the same actions — over the casework engine (`sunlight-casework`), whose workers it runs beside the server. Depends on sunlight-core, sunlight-store, sunlight-casework, sunlight-web, sunlight-charts and sunlight-metrics; never on sunlight-intake.

mod api;
mod cookie;
mod error;
mod i18n;
mod pages;
mod state;

use std::net::TcpListener;
use std::time::Duration as StdDuration;

use actix_web::{App, HttpRequest, HttpResponse, middleware, web};
use chrono::{Duration, Utc};
use sunlight_casework::auth::Gate;
use sunlight_casework::session::Sessions;
use sunlight_casework::{MailStyle, Stats, StatsSettings, Sweeper, Triage, Workers};
use sunlight_core::calendar::Calendar;
use sunlight_core::crypto::CodeStretcher;
use sunlight_core::policy::Policy;
use sunlight_store::Store;
use sunlight_web::{Endpoint, Served};

pub use api::ApiDoc;
pub use error::TriageError;
pub use state::TriageSettings;
pub use sunlight_metrics::Metrics;

/// What the triage app is built from.
#[derive(Debug)]
pub struct TriageParts {
    pub store: Store,
    /// For codes of staff-entered reports.
    pub stretcher: CodeStretcher,
    pub policy: Policy,
    pub calendar: Calendar,
    pub settings: TriageSettings,
    /// Language and link of the mails the sweeper writes.
    pub mail: MailStyle,
    /// `[stats]`: refresh, bulletin and hotspot rules.
    pub stats: StatsSettings,
    /// The intake's onion address (`http://….onion`), for the admin page.
    pub onion: Option<String>,
    /// Request counts by route and status class.
    pub metrics: sunlight_metrics::Metrics,
    /// Where the desk's uploads are spooled, sealed, until their report is
    /// stored (the intake's spool folder).
    pub spool_dir: std::path::PathBuf,
}

/// The staff web application and the casework workers it runs.
pub struct Application {
    served: Served,
    state: web::Data<state::AppState>,
    workers: Workers,
    /// How often timed-out sessions are ended (the routing period).
    session_every: StdDuration,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("served", &self.served)
            .finish_non_exhaustive()
    }
}

impl Application {
    pub fn build(parts: TriageParts, listener: TcpListener) -> std::io::Result<Self> {
        i18n::check().map_err(std::io::Error::other)?;
        std::fs::create_dir_all(&parts.spool_dir)?;
        let local = listener.local_addr()?;
        // TLS unless told otherwise, except on a loopback-only listener
        // (where a proxy on the same machine, or nothing, sits in front).
        let secure = parts
            .settings
            .secure_cookies
            .unwrap_or(!local.ip().is_loopback());
        let settings = parts.settings;
        let triage = Triage::new(
            parts.store.clone(),
            parts.policy,
            parts.calendar,
            parts.stretcher.clone(),
            parts.metrics.clone(),
        )
        .with_mail_style(parts.mail.clone());
        let route_every = StdDuration::from_secs(u64::from(settings.route_every_seconds.max(1)));
        let sweep_every = (settings.sweep_every_seconds > 0)
            .then(|| StdDuration::from_secs(u64::from(settings.sweep_every_seconds)));
        let sweeper = Sweeper::new(
            parts.store.clone(),
            triage.policy.clone(),
            triage.calendar.clone(),
            parts.mail.clone(),
        )
        .with_log_key_from(parts.stretcher);
        let stats = Stats::new(
            parts.store.clone(),
            triage.policy.clone(),
            parts.stats,
            parts.mail,
        );
        let state = web::Data::new(state::AppState {
            triage: triage.clone(),
            sessions: Sessions::new(
                Duration::minutes(i64::from(settings.session_idle_minutes.max(1))),
                Duration::hours(i64::from(settings.session_absolute_hours.max(1))),
            ),
            secure,
            gate: Gate::new(
                0,
                StdDuration::from_millis(u64::from(settings.sign_in_floor_ms)),
            )
            .with_second_factor(settings.second_factor_roles.clone()),
            stats: stats.clone(),
            onion: parts.onion,
            spool_dir: parts.spool_dir,
        });
        let counted = web::Data::new(
            parts
                .metrics
                .for_app("triage", &["/intake", "/api/v1/intake"]),
        );
        let store = web::Data::new(parts.store);
        // Staff requests are logged (route, status, time); none is a
        // reporter's.
        let headers = web::Data::new(sunlight_web::HeaderPolicy {
            hsts: secure,
            onion_location: None,
            quiet_posts: false,
        });
        let app_state = state.clone();
        let served = Served::start(listener, settings.workers, move || {
            App::new()
                .app_data(state.clone())
                .app_data(store.clone())
                .app_data(
                    web::JsonConfig::default().limit(256 * 1024).error_handler(
                        |err, _| match err {
                            actix_web::error::JsonPayloadError::ContentType => {
                                TriageError::UnsupportedMediaType.into()
                            }
                            actix_web::error::JsonPayloadError::Overflow { .. }
                            | actix_web::error::JsonPayloadError::OverflowKnownLength { .. } => {
                                TriageError::TooLarge.into()
                            }
                            other => TriageError::Malformed(other.to_string()).into(),
                        },
                    ),
                )
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|err, _| TriageError::Malformed(err.to_string()).into()),
                )
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| TriageError::NotFound.into()),
                )
                // Only the HTML pages take forms; a staff-entered report's
                // narrative may be long, and percent-encoding triples it.
                .app_data(
                    web::FormConfig::default()
                        .limit(1024 * 1024)
                        .error_handler(pages::form_error),
                )
                .app_data(counted.clone())
                .app_data(headers.clone())
                .wrap(middleware::from_fn(
                    sunlight_web::answer_problems::<TriageError>,
                ))
                .wrap(middleware::from_fn(sunlight_web::wrap))
                // Outermost: counts the answer the client finally gets.
                .wrap(middleware::from_fn(sunlight_metrics::count_requests))
                .configure(routes)
                .default_service(web::to(not_found))
        })?;
        Ok(Self {
            served,
            state: app_state,
            workers: Workers::new(triage, sweeper, stats, route_every, sweep_every),
            session_every: route_every,
        })
    }

    pub fn port(&self) -> u16 {
        self.served.port()
    }

    /// Runs the server and the casework workers until `shutdown`
    /// resolves; the workers end when the server does.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        // The workers run in this task, beside the server: a panic in one
        // of them fails the app instead of silently ending its routing.
        let stop = tokio::sync::Notify::new();
        let workers = self.workers.run(stop.notified());
        let sessions = session_loop(self.state, self.session_every);
        let server = async {
            let result = self
                .served
                .run_until_stopped(async {
                    tokio::select! {
                        () = sessions => {}
                        () = shutdown => {}
                    }
                    // No new sweep or refresh while the server winds down.
                    stop.notify_one();
                })
                .await;
            stop.notify_one();
            result
        };
        let (result, ()) = tokio::join!(server, workers);
        result
    }
}

/// Ends sessions that timed out, so their unit keys leave memory even when
/// no request comes to notice.
async fn session_loop(state: web::Data<state::AppState>, every: StdDuration) {
    loop {
        let ended = state.sessions.sweep(Utc::now());
        if ended > 0 {
            tracing::info!(ended, "expired staff sessions closed");
        }
        tokio::time::sleep(every).await;
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    case_routes(cfg);
    account_routes(cfg);
    office_routes(cfg);
    api_routes(cfg);
    api_case_routes(cfg);
}

/// A member's own account: the password and the authenticator pages.
fn account_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        Endpoint::new("/password")
            .get(pages::password_form)
            .post(pages::password_submit)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/password/totp")
            .post(pages::totp_confirm)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/account/totp")
            .get(pages::totp_show)
            .post(pages::totp_renew)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/account/totp/confirm")
            .post(pages::totp_enrol_confirm)
            .refusing_others(method_not_allowed),
    );
}

/// Sign-in, the queues, the cases and the desk's report form.
fn case_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        Endpoint::new("/healthz")
            .get(healthz)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/")
            .get(pages::root)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/login")
            .get(pages::login_form)
            .post(pages::login_submit)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/logout")
            .post(pages::logout)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/queues/{stage}")
            .get(pages::queue)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/cases")
            .get(pages::register_show)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/cases/{id}")
            .get(pages::case_show)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/cases/{id}/export.zip")
            .get(pages::case_export)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/cases/{id}/actions")
            .post(pages::case_action)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/cases/{id}/messages")
            .post(pages::case_message)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/cases/{id}/legal-hold")
            .post(pages::case_legal_hold)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/cases/{id}/comments")
            .post(pages::case_comment)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/cases/{id}/holds/{hold}/confirm")
            .post(pages::hold_confirm)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/intake")
            .get(pages::intake_form)
            .post(pages::intake_submit)
            .refusing_others(method_not_allowed),
    );
}

/// Search, statistics, administration and the stylesheet.
fn office_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        Endpoint::new("/search")
            .get(pages::search_form)
            .post(pages::search_submit)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/audit")
            .get(pages::audit_show)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/stats")
            .get(pages::stats_show)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/stats.csv")
            .get(pages::stats_csv)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/stats.xlsx")
            .get(pages::stats_xlsx)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/stats/charts/{name}")
            .get(pages::stats_chart)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/admin")
            .get(pages::admin_show)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/admin/staff")
            .post(pages::admin_add_staff)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/admin/staff/{id}/{action}")
            .post(pages::admin_staff_action)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/admin/units/{id}/rotate-key")
            .post(pages::admin_rotate_key)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/admin/mail/{id}/retry")
            .post(pages::admin_retry_mail)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/static/style.css")
            .get(pages::stylesheet)
            .refusing_others(method_not_allowed),
    );
}

/// The JSON API of sessions and accounts (api.rs).
fn api_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        Endpoint::new("/api/v1/session")
            .post(api::sign_in)
            .delete(api::sign_out)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/password")
            .post(api::change_password)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/totp/confirm")
            .post(api::confirm_totp)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/staff/{id}/disable")
            .post(api::staff_disable)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/staff/{id}/enable")
            .post(api::staff_enable)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/staff/{id}/reset")
            .post(api::staff_reset)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/staff/{id}/totp-reset")
            .post(api::staff_totp_reset)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/units/{id}/rotate-key")
            .post(api::rotate_key)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/cases/{id}/legal-hold")
            .post(api::legal_hold)
            .refusing_others(method_not_allowed),
    );
}

/// The JSON API of queues, cases, desk reports, statistics and the staff
/// list, and the OpenAPI document.
fn api_case_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        Endpoint::new("/api/v1/queues/{stage}")
            .get(api::queue)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/cases")
            .get(api::register)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/search")
            .post(api::search)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/tasks")
            .get(api::tasks)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/cases/{id}")
            .get(api::case)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/cases/{id}/claim")
            .post(api::claim)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/cases/{id}/transitions")
            .post(api::transition)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/cases/{id}/messages")
            .post(api::message)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/cases/{id}/comments")
            .post(api::comment)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/cases/{id}/attachments/{attachment}")
            .get(api::attachment)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/cases/{id}/holds/{hold}/confirm")
            .post(api::confirm_hold)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/intake")
            .post(api::intake)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/stats")
            .get(api::stats)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/staff")
            .get(api::staff_list)
            .post(api::staff_add)
            .refusing_others(method_not_allowed),
    )
    .service(
        Endpoint::new("/api/v1/openapi.json")
            .get(api::openapi)
            .refusing_others(method_not_allowed),
    );
}

/// 404: a JSON error under `/api/`, a page elsewhere.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, actix_web::Error> {
    Err(if req.path().starts_with("/api/") {
        TriageError::NotFound.into()
    } else {
        pages::not_found_page(&req).into()
    })
}

async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, actix_web::Error> {
    Err(if req.path().starts_with("/api/") {
        TriageError::MethodNotAllowed.into()
    } else {
        pages::method_not_allowed_page(&req).into()
    })
}

/// 200 when the database answers, 503 otherwise.
async fn healthz(store: web::Data<Store>) -> HttpResponse {
    sunlight_web::health_answer(store.ping().await)
}
