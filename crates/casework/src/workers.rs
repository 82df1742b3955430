//! The background work of the staff side, run by every triage process:
//! routing new reports, the sweeper (reminders, escalations, the daily
//! audit-head mail) and the statistics refresh. The sweeper and the refresh
//! run in one process at a time, the one that holds their lease.

use std::future::Future;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use sunlight_store::Store;

use crate::service::Triage;
use crate::stats::{LEASE as STATS_LEASE, Stats};
use crate::sweeper::{LEASE as SWEEPER_LEASE, Sweeper};

/// The workers of one process.
#[derive(Debug)]
pub struct Workers {
    triage: Triage,
    sweeper: Sweeper,
    stats: Stats,
    route_every: StdDuration,
    /// `None`: no sweeping in this process (tests drive it by hand).
    sweep_every: Option<StdDuration>,
}

impl Workers {
    pub fn new(
        triage: Triage,
        sweeper: Sweeper,
        stats: Stats,
        route_every: StdDuration,
        sweep_every: Option<StdDuration>,
    ) -> Self {
        Self {
            triage,
            sweeper,
            stats,
            route_every,
            sweep_every,
        }
    }

    /// Runs until `shutdown` resolves, then gives up the leases so another
    /// process takes over at once instead of when they run out.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let store = self.triage.store.clone();
        let holder = uuid::Uuid::new_v4().to_string();
        let router = route_loop(self.triage, self.route_every);
        let sweeper = sweep_loop(
            self.sweeper,
            store.clone(),
            holder.clone(),
            self.sweep_every,
        );
        let stats = stats_loop(self.stats, store.clone(), holder.clone());
        tokio::select! {
            () = router => {}
            () = sweeper => {}
            () = stats => {}
            () = shutdown => {}
        }
        for lease in [SWEEPER_LEASE, STATS_LEASE] {
            if let Err(e) = store.release_lease(lease, &holder).await {
                tracing::warn!(error = %e, lease, "could not release a lease");
            }
        }
    }
}

/// Routes what has arrived, every `every`, in every process: routing takes
/// each report in a transaction of its own, so processes do not collide.
async fn route_loop(triage: Triage, every: StdDuration) {
    loop {
        // No line per routed report: its time would be the report's
        // arrival to within a routing period.
        if let Err(e) = triage.route_pending(Utc::now()).await {
            tracing::warn!(error = %e, "routing pass failed");
        }
        if let Err(e) = triage.number_pending(Utc::now()).await {
            tracing::warn!(error = %e, "numbering pass failed");
        }
        tokio::time::sleep(every).await;
    }
}

/// Sweeps while this process holds the lease; one process at a time does.
async fn sweep_loop(sweeper: Sweeper, store: Store, holder: String, every: Option<StdDuration>) {
    let Some(every) = every else {
        return std::future::pending().await;
    };
    // Held for three periods: a process that dies is replaced that soon.
    let hold_for = Duration::from_std(every * 3).unwrap_or(Duration::minutes(3));
    loop {
        let now = Utc::now();
        match store
            .take_lease(SWEEPER_LEASE, &holder, now, now + hold_for)
            .await
        {
            Ok(true) => {
                if let Err(e) = sweeper.publish_log_head(now).await {
                    tracing::warn!(error = %e, "transparency log head not published");
                }
                if let Err(e) = sweeper.mail_audit_head(now).await {
                    tracing::warn!(error = %e, "audit-head mail not queued");
                }
                if let Err(e) = sweeper.notify_replies(now).await {
                    tracing::warn!(error = %e, "reply notices not queued");
                }
                match sweeper.retention_daily(now).await {
                    Ok(Some((mailed, r))) if mailed > 0 || r.purged > 0 => {
                        tracing::info!(mailed, purged = r.purged, "retention rule applied");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "retention rule not applied"),
                }
                match sweeper.pass(now).await {
                    Ok(r) if r.written.notices > 0 || r.written.skipped > 0 => tracing::info!(
                        looked_at = r.looked_at,
                        notices = r.written.notices,
                        mails = r.written.mails,
                        overdue = r.written.overdue,
                        skipped = r.written.skipped,
                        "sweeper pass"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "sweeper pass failed"),
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "sweeper lease unavailable"),
        }
        tokio::time::sleep(every).await;
    }
}

/// Refreshes statistics while this process holds the lease: at start, then
/// every `refresh_minutes`.
async fn stats_loop(stats: Stats, store: Store, holder: String) {
    let minutes = stats.settings.refresh_minutes;
    if minutes == 0 {
        return std::future::pending().await;
    }
    let every = StdDuration::from_secs(u64::from(minutes) * 60);
    let hold_for = Duration::minutes(i64::from(minutes) * 3);
    loop {
        let now = Utc::now();
        match store
            .take_lease(STATS_LEASE, &holder, now, now + hold_for)
            .await
        {
            Ok(true) => match stats.refresh(now).await {
                Ok(p) => tracing::info!(
                    months = p.refreshed.months,
                    events = p.refreshed.facts,
                    cells = p.refreshed.cells,
                    hotspots_raised = p.raised.len(),
                    hotspots_cleared = p.cleared.len(),
                    mails = p.mails,
                    "statistics refreshed"
                ),
                Err(e) => tracing::warn!(error = %e, "statistics refresh failed"),
            },
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "statistics lease unavailable"),
        }
        tokio::time::sleep(every).await;
    }
}
