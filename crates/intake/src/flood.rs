//! What keeps a flood from shutting reporters out or filling the disk:
//! per-client fairness in front of the global buckets, a byte budget for
//! request bodies, and an idle timeout on reading them.
//!
//! Per-client buckets are keyed by a keyed hash of the client's address
//! (SipHash with this process's random key), kept in memory only and
//! forgotten within minutes; the address itself is never stored or logged.
//! The address is the socket's peer, or — when the peer is a configured
//! trusted proxy — the last `X-Forwarded-For` entry that proxy set. A
//! configured shared peer (the Tor daemon: every onion client arrives as
//! it, and a client could put any address in the header through it), a
//! loopback peer that is not a trusted proxy, and a trusted proxy that sent
//! no address stand for many people: they get the global buckets only, and
//! Tor's own proof-of-work defence guards the onion service
//! (docs/threat-model.md).

use std::hash::BuildHasher;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web;
use actix_web::web::Bytes;
use futures_util::StreamExt;
use governor::clock::DefaultClock;
use governor::state::keyed::HashMapStateStore;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::guard::RateLimits;

type Keyed = RateLimiter<u64, HashMapStateStore<u64>, DefaultClock>;

/// Body budgets are counted in KiB so a minute's worth fits a `u32`.
const KIB: u64 = 1024;

/// The flood defences of one intake process.
pub struct Flood {
    per_client: Keyed,
    body_kib: DefaultDirectRateLimiter,
    hasher: std::collections::hash_map::RandomState,
    trusted: Vec<IpAddr>,
    shared: Vec<IpAddr>,
    body_idle: Duration,
    checks: AtomicU64,
}

impl std::fmt::Debug for Flood {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flood")
            .field("trusted_proxies", &self.trusted.len())
            .field("body_idle", &self.body_idle)
            .finish_non_exhaustive()
    }
}

/// Who a request comes from, as far as fairness goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// One address: its own bucket.
    One(IpAddr),
    /// An address many people share (Tor, a local proxy that does not say
    /// who it forwards): the global buckets only.
    Shared,
}

fn nonzero(n: u64) -> NonZeroU32 {
    NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN)
}

impl Flood {
    pub fn new(
        limits: &RateLimits,
        trusted: Vec<IpAddr>,
        shared: Vec<IpAddr>,
        body_idle_seconds: u32,
    ) -> Self {
        let per_client = Quota::per_minute(nonzero(u64::from(limits.per_client_per_minute)))
            .allow_burst(nonzero(u64::from(limits.per_client_burst)));
        let kib = u64::from(limits.upload_mib_per_minute).saturating_mul(1024);
        Self {
            per_client: RateLimiter::hashmap(per_client),
            body_kib: RateLimiter::direct(
                Quota::per_minute(nonzero(kib)).allow_burst(nonzero(kib)),
            ),
            hasher: std::collections::hash_map::RandomState::new(),
            trusted,
            shared,
            body_idle: Duration::from_secs(u64::from(body_idle_seconds.max(1))),
            checks: AtomicU64::new(0),
        }
    }

    /// Who `req` comes from (see the module text).
    pub fn client(&self, req: &ServiceRequest) -> Client {
        let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
            return Client::Shared;
        };
        if self.shared.contains(&peer) {
            return Client::Shared;
        }
        if self.trusted.contains(&peer) {
            // The proxy appends the address it saw; anything before it is
            // whatever the client claimed.
            return req
                .headers()
                .get_all("x-forwarded-for")
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
                .and_then(|last| last.trim().parse::<IpAddr>().ok())
                .map_or(Client::Shared, Client::One);
        }
        if peer.is_loopback() {
            Client::Shared
        } else {
            Client::One(peer)
        }
    }

    /// Takes a token from the client's own bucket; false when spent. A
    /// shared address always passes here (the global buckets still apply).
    pub fn client_may(&self, client: Client) -> bool {
        let Client::One(ip) = client else {
            return true;
        };
        // Forget idle clients now and then: their state is all that could
        // say who came, and it must not outlive a few minutes.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.per_client.retain_recent();
            self.per_client.shrink_to_fit();
        }
        self.per_client.check_key(&self.hasher.hash_one(ip)).is_ok()
    }

    /// Takes `bytes` from the minute's body budget (before any of it is
    /// read); false when the budget cannot cover it.
    pub fn body_may(&self, bytes: u64) -> bool {
        let kib = nonzero(bytes.div_ceil(KIB).max(1));
        matches!(self.body_kib.check_n(kib), Ok(Ok(())))
    }

    /// Wraps the request body so that a client who stops sending for
    /// `body_idle` loses the request (a slow upload cannot hold a worker
    /// and a spool file open for ever).
    pub fn time_body(&self, req: &mut ServiceRequest) {
        let idle = self.body_idle;
        let payload = actix_web::HttpMessage::take_payload(req);
        let timed = futures_util::stream::unfold(Some(payload), move |state| async move {
            let mut payload = state?;
            match tokio::time::timeout(idle, payload.next()).await {
                Ok(Some(item)) => Some((item, Some(payload))),
                Ok(None) => None,
                Err(_) => Some((
                    Err(actix_web::error::PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "request body stalled",
                    ))),
                    None,
                )),
            }
        });
        let boxed: std::pin::Pin<
            Box<dyn futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>>>,
        > = Box::pin(timed);
        req.set_payload(actix_web::dev::Payload::from(boxed));
    }
}

/// A POST's flood checks, before its body is read: the client's own bucket
/// (a refused client never touches the shared ones), then the body budget
/// by the size the request declares (the most a form may carry when it
/// declares none).
fn flood_check(flood: &Flood, req: &ServiceRequest) -> Option<crate::error::IntakeError> {
    if !flood.client_may(flood.client(req)) {
        return Some(crate::error::IntakeError::RateLimited);
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let most = req
        .app_data::<web::Data<crate::state::AppState>>()
        .map_or(u64::MAX, |s| s.max_body_bytes());
    if flood.body_may(declared.unwrap_or(most).min(most)) {
        None
    } else {
        Some(crate::error::IntakeError::RateLimited)
    }
}

/// Refuses a POST over its client's or the body budget before its body is
/// read (inside the shared headers and log, so the refusal carries both).
pub async fn flood_guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let refused = match req.app_data::<web::Data<Flood>>().cloned() {
        Some(flood) if req.method() == actix_web::http::Method::POST => {
            let refused = flood_check(&flood, &req);
            flood.time_body(&mut req);
            refused
        }
        _ => None,
    };
    Ok(match refused {
        Some(error) => {
            let failure = crate::error::Failure {
                error,
                lang: crate::i18n::lang_of(req.request()),
                format: if req.path().starts_with("/api/") {
                    crate::error::Format::Json
                } else {
                    crate::error::Format::Html
                },
            };
            // Attached as an error, so `answer_problems` answers it from
            // the request like any other.
            req.error_response(failure).map_into_boxed_body()
        }
        None => next.call(req).await?.map_into_boxed_body(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_budget_refuses_what_it_cannot_cover() {
        let limits = RateLimits {
            upload_mib_per_minute: 10,
            ..RateLimits::default()
        };
        let f = Flood::new(&limits, Vec::new(), Vec::new(), 30);
        assert!(f.body_may(6 * 1024 * 1024));
        assert!(!f.body_may(6 * 1024 * 1024), "4 MiB left");
        assert!(f.body_may(3 * 1024 * 1024));
        assert!(!f.body_may(11 * 1024 * 1024), "more than a minute's budget");
    }

    #[test]
    fn only_a_trusted_proxy_names_the_client_and_never_through_a_shared_peer() {
        let (caddy, tor): (IpAddr, IpAddr) = (
            "172.30.80.2".parse().unwrap(),
            "172.30.80.20".parse().unwrap(),
        );
        let f = Flood::new(&RateLimits::default(), vec![caddy], vec![tor], 30);
        let from = |peer: IpAddr, xff: Option<&str>| {
            let mut r = actix_web::test::TestRequest::default()
                .peer_addr(std::net::SocketAddr::new(peer, 40000));
            if let Some(v) = xff {
                r = r.insert_header(("X-Forwarded-For", v));
            }
            f.client(&r.to_srv_request())
        };
        let victim = "198.51.100.1".parse().unwrap();
        // Through the proxy: the address it appended, not what came before.
        assert_eq!(
            from(caddy, Some("10.0.0.9, 198.51.100.1")),
            Client::One(victim)
        );
        // Through Tor the header is the client's own claim: ignored.
        assert_eq!(from(tor, Some("198.51.100.1")), Client::Shared);
        assert_eq!(from(tor, None), Client::Shared);
        // Anyone else is their own socket address, whatever they claim.
        let direct: IpAddr = "203.0.113.5".parse().unwrap();
        assert_eq!(from(direct, Some("198.51.100.1")), Client::One(direct));
        assert_eq!(from("127.0.0.1".parse().unwrap(), None), Client::Shared);
    }

    #[test]
    fn one_client_spends_its_own_bucket_only() {
        let limits = RateLimits {
            per_client_per_minute: 60,
            per_client_burst: 3,
            ..RateLimits::default()
        };
        let f = Flood::new(&limits, Vec::new(), Vec::new(), 30);
        let a = Client::One("203.0.113.7".parse().unwrap());
        let b = Client::One("198.51.100.9".parse().unwrap());
        assert!((0..3).all(|_| f.client_may(a)));
        assert!(!f.client_may(a));
        assert!(f.client_may(b), "another client is not held back");
        assert!((0..100).all(|_| f.client_may(Client::Shared)));
    }
}
