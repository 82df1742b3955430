//! `sunlight-metrics`: what an operator graphs and alerts on, in Prometheus
//! text format on a private listener (off by default, loopback when on).
//!
//! Counted in the process: requests by app, route pattern, method and status
//! class; request and submission latency; the Argon2id queue in front of code
//! stretching. Read from the database at scrape time: open and overdue
//! stages per queue, and the mail outbox (backlog, retrying, failed).
//!
//! Every label comes from a fixed vocabulary — the route *pattern* the
//! router matched (`/cases/{id}`, never the path), `2xx`…`5xx`, stage and
//! outbox state names — so no tracking code, address, or word of a report
//! can reach a metric (tests/tests/metrics.rs plants canaries to prove it).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{App, HttpResponse, HttpServer, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sunlight_core::domain::Stage;
use sunlight_store::Store;

/// The content type of the OpenMetrics text format that `encode` writes.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    app: &'static str,
    route: String,
    method: &'static str,
    class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    app: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboxLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    submissions: Histogram,
    argon_waiting: Gauge,
    argon_running: Gauge,
    queue_open: Family<StageLabels, Gauge>,
    queue_overdue: Family<StageLabels, Gauge>,
    outbox: Family<OutboxLabels, Gauge>,
    audit_head_mails: Family<OutboxLabels, Gauge>,
    scrape_failures: Counter,
}

/// A labelled gauge family, registered.
fn gauge_family<L>(registry: &mut Registry, name: &str, help: &str) -> Family<L, Gauge>
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
{
    let family = Family::<L, Gauge>::default();
    registry.register(name, help, family.clone());
    family
}

/// The process's metrics; cheap to clone, shared by both apps.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Latency buckets from 1 ms to about 16 s: a submission waits for an
/// Argon2id stretch (tens of ms) and an fsync; the tail matters.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("sunlight");
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("build_info", "The running version (always 1).", build);
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by app, matched route pattern, method and status class.",
            requests.clone(),
        );
        let latency =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by app and matched route pattern.",
            latency.clone(),
        );
        let submissions = latency_histogram();
        registry.register(
            "submission_duration_seconds",
            "Time from a report's arrival to its acknowledgement (sealed and committed), successful submissions only.",
            submissions.clone(),
        );
        let argon_waiting = Gauge::default();
        registry.register(
            "argon2_waiting",
            "Code stretches (Argon2id) waiting for a permit.",
            argon_waiting.clone(),
        );
        let argon_running = Gauge::default();
        registry.register(
            "argon2_running",
            "Code stretches (Argon2id) running now.",
            argon_running.clone(),
        );
        let queue_open = gauge_family(
            &mut registry,
            "queue_open",
            "Open stages per queue (read from the database at scrape time).",
        );
        let queue_overdue = gauge_family(
            &mut registry,
            "queue_overdue",
            "Open stages past their deadline per queue (read at scrape time).",
        );
        let outbox = gauge_family(
            &mut registry,
            "outbox_mails",
            "Staff mails not yet sent (pending; retrying: failed at least once) and refused for good (failed).",
        );
        let audit_head_mails = gauge_family(
            &mut registry,
            "audit_head_mails",
            "The daily audit-head mails among outbox_mails: pending, retrying, failed for good.",
        );
        let scrape_failures = Counter::default();
        registry.register(
            "scrape_database_failures",
            "Scrapes whose database gauges could not be read (the gauges keep their last values).",
            scrape_failures.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            requests,
            latency,
            submissions,
            argon_waiting,
            argon_running,
            queue_open,
            queue_overdue,
            outbox,
            audit_head_mails,
            scrape_failures,
        }))
    }

    /// What one app registers as `app_data` for [`count_requests`].
    /// `submissions` are the route patterns whose successful POSTs are
    /// report submissions.
    pub fn for_app(&self, app: &'static str, submissions: &'static [&'static str]) -> AppMetrics {
        AppMetrics {
            metrics: self.clone(),
            app,
            submissions,
        }
    }

    /// Marks one code stretch as waiting for a permit until
    /// [`ArgonTicket::running`] or drop.
    pub fn argon_ticket(&self) -> ArgonTicket {
        self.0.argon_waiting.inc();
        ArgonTicket {
            metrics: self.clone(),
            running: false,
        }
    }

    fn record(&self, labels: RequestLabels, elapsed: Duration, submission: bool) {
        let secs = elapsed.as_secs_f64();
        self.0
            .latency
            .get_or_create(&RouteLabels {
                app: labels.app,
                route: labels.route.clone(),
            })
            .observe(secs);
        if submission {
            self.0.submissions.observe(secs);
        }
        self.0.requests.get_or_create(&labels).inc();
    }

    /// Reads the database gauges (when a store is given) and encodes
    /// everything. A database failure is counted and the last values kept,
    /// so a scrape never fails because the database is slow.
    pub async fn render(&self, store: Option<&Store>) -> String {
        if let Some(store) = store
            && let Err(e) = self.read_database(store).await
        {
            tracing::warn!(error = %e, "metrics: database gauges not read");
            self.0.scrape_failures.inc();
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.0.registry).is_err() {
            // Writing into a String cannot fail; keep what was written.
            tracing::warn!("metrics: encoding failed");
        }
        out
    }

    async fn read_database(&self, store: &Store) -> Result<(), sunlight_store::StoreError> {
        let counts = store.stage_counts(chrono::Utc::now()).await?;
        for stage in Stage::ALL.iter().filter(|s| **s != Stage::Closed) {
            let (open, overdue) = counts
                .iter()
                .find(|(s, _, _)| s == stage)
                .map_or((0, 0), |(_, o, d)| (*o, *d));
            let labels = StageLabels {
                stage: stage.as_str(),
            };
            self.0
                .queue_open
                .get_or_create(&labels)
                .set(i64::try_from(open).unwrap_or(i64::MAX));
            self.0
                .queue_overdue
                .get_or_create(&labels)
                .set(i64::try_from(overdue).unwrap_or(i64::MAX));
        }
        let mail = store.outbox_status().await?;
        let head = store.outbox_status_of("audit_head").await?;
        for (family, counts) in [(&self.0.outbox, mail), (&self.0.audit_head_mails, head)] {
            for (state, n) in [
                ("pending", counts.pending),
                ("retrying", counts.retrying),
                ("failed", counts.failed),
            ] {
                family
                    .get_or_create(&OutboxLabels { state })
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
        Ok(())
    }

    /// The private listener: `GET /metrics` and nothing else, one worker.
    /// `store` is given where triage runs, so the database gauges appear
    /// once per deployment shape rather than once per intake replica.
    pub fn serve(self, store: Option<Store>, listener: TcpListener) -> std::io::Result<Server> {
        let data = web::Data::new(Exposition {
            metrics: self,
            store,
        });
        Ok(HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/metrics", web::get().to(scrape))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run())
    }
}

struct Exposition {
    metrics: Metrics,
    store: Option<Store>,
}

async fn scrape(exposition: web::Data<Exposition>) -> HttpResponse {
    let body = exposition.metrics.render(exposition.store.as_ref()).await;
    HttpResponse::Ok().content_type(CONTENT_TYPE).body(body)
}

/// One code stretch in the Argon2id queue.
#[derive(Debug)]
pub struct ArgonTicket {
    metrics: Metrics,
    running: bool,
}

impl ArgonTicket {
    /// The stretch got its permit and runs.
    pub fn running(&mut self) {
        if !self.running {
            self.running = true;
            self.metrics.0.argon_waiting.dec();
            self.metrics.0.argon_running.inc();
        }
    }
}

impl Drop for ArgonTicket {
    fn drop(&mut self) {
        if self.running {
            self.metrics.0.argon_running.dec();
        } else {
            self.metrics.0.argon_waiting.dec();
        }
    }
}

/// An app's handle for [`count_requests`], registered as `app_data`.
#[derive(Debug, Clone)]
pub struct AppMetrics {
    metrics: Metrics,
    app: &'static str,
    submissions: &'static [&'static str],
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn class_label(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Middleware (`middleware::from_fn`): counts every answer by the route
/// pattern the router matched — `unmatched` when none did, so a probed path
/// never becomes a label.
pub async fn count_requests<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let Some(app) = req.app_data::<web::Data<AppMetrics>>().cloned() else {
        return next.call(req).await;
    };
    let method = req.method().clone();
    let started = Instant::now();
    let res = next.call(req).await;
    let (route, status) = match &res {
        Ok(r) => (r.request().match_pattern(), r.status()),
        Err(e) => (None, e.as_response_error().status_code()),
    };
    let route = route.unwrap_or_else(|| "unmatched".to_owned());
    let submission =
        method == Method::POST && status.is_success() && app.submissions.contains(&route.as_str());
    app.metrics.record(
        RequestLabels {
            app: app.app,
            route,
            method: method_label(&method),
            class: class_label(status),
        },
        started.elapsed(),
        submission,
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::{TestRequest, call_service, init_service};

    #[actix_web::test]
    async fn requests_are_counted_by_pattern_never_by_path() {
        let metrics = Metrics::new();
        let app = init_service(
            App::new()
                .app_data(web::Data::new(metrics.for_app("intake", &["/report"])))
                .wrap(actix_web::middleware::from_fn(count_requests))
                .route("/cases/{id}", web::get().to(HttpResponse::Ok))
                .route("/report", web::post().to(HttpResponse::Ok)),
        )
        .await;
        for uri in [
            "/cases/4821-0937-5561",
            "/cases/secret-canary",
            "/nope/canary",
        ] {
            let _res = call_service(&app, TestRequest::get().uri(uri).to_request()).await;
        }
        let _res = call_service(&app, TestRequest::post().uri("/report").to_request()).await;
        let text = metrics.render(None).await;
        assert!(
            text.contains(
                r#"sunlight_http_requests_total{app="intake",route="/cases/{id}",method="GET",class="2xx"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"sunlight_http_requests_total{app="intake",route="unmatched",method="GET",class="4xx"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("sunlight_submission_duration_seconds_count 1"),
            "{text}"
        );
        assert!(!text.contains("canary") && !text.contains("4821"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn argon_tickets_move_from_waiting_to_running_and_leave() {
        let metrics = Metrics::new();
        let gauges = |m: &Metrics| (m.0.argon_waiting.get(), m.0.argon_running.get());
        let mut a = metrics.argon_ticket();
        let b = metrics.argon_ticket();
        assert_eq!(gauges(&metrics), (2, 0));
        a.running();
        a.running();
        assert_eq!(gauges(&metrics), (1, 1));
        drop(b);
        assert_eq!(gauges(&metrics), (0, 1));
        drop(a);
        assert_eq!(gauges(&metrics), (0, 0));
    }

    #[test]
    fn status_classes() {
        assert_eq!(class_label(StatusCode::OK), "2xx");
        assert_eq!(class_label(StatusCode::SEE_OTHER), "3xx");
        assert_eq!(class_label(StatusCode::TOO_MANY_REQUESTS), "4xx");
        assert_eq!(class_label(StatusCode::SERVICE_UNAVAILABLE), "5xx");
    }
}
