//! `sunlight simulate`: the real triage engine — routing, queues, the state
//! machine, holds, the sweeper and the outbox — over a virtual year, with a
//! model of staff behaviour, to show that no report is forgotten. Reports
//! arrive over a province → city → county tree with one member of each role
//! per unit (as `sunlight demo`); each working day at 10:00 every verifier
//! and supervisor acts on a random share of the work that is due; some
//! units go idle for weeks. The sweeper runs every `sweep_minutes` of
//! virtual time. Deterministic for a given seed: every random choice comes
//! from one seeded generator and case ids are drawn from it.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use sunlight_core::addressing::address;
use sunlight_core::calendar::Calendar;
use sunlight_core::case::Action;
use sunlight_core::crypto::{SealContext, StretchParams, Suite, UnitKeyPair, UnitPublicKey, seal};
use sunlight_core::policy::{DeadlineKind, Policy};
use sunlight_core::report::item;
use sunlight_core::unit_tree::UnitSpec;
use sunlight_core::{
    AccusedRole, CaseId, Category, Channel, Level, Outcome, ReferralBody, Role, SelectionStage,
    Stage, UnitId,
};
use sunlight_store::provision::{create_staff, create_unit};
use sunlight_store::{Jurisdiction, NewCase, NewQueueEntry, QueueFilter, Store, StoreError};
use uuid::Uuid;

use crate::error::CaseworkError;

mod arrivals;
mod tally;
mod units;
mod work;
use arrivals::arrivals;
use units::{SimUnit, UNITS, setup_units};
use work::{answer_questions, work_day};

use crate::mail::MailStyle;
use crate::service::{ActionRequest, Triage};
use crate::session::{NewSession, Session, Sessions};
use crate::sweeper::Sweeper;
use tally::tally;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub reports: u32,
    pub start: NaiveDate,
    pub days: u32,
    /// Virtual minutes between sweeper passes.
    pub sweep_minutes: u32,
    /// Share of the due work each staff member acts on per working day.
    pub share: f64,
    /// How many units go idle for `idle_weeks` at some point.
    pub idle_units: u32,
    pub idle_weeks: u32,
    /// Nobody ever acts: every report must still be escalated in time.
    pub all_idle: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            reports: 10_000,
            start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            days: 365,
            sweep_minutes: 60,
            share: 0.7,
            idle_units: 3,
            idle_weeks: 6,
            all_idle: false,
        }
    }
}

/// One point of the chart: at local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimDay {
    pub date: NaiveDate,
    pub open_stages: u64,
    pub overdue_stages: u64,
}

/// The printed summary.
#[derive(Debug, Clone, Default)]
pub struct SimSummary {
    pub received: u64,
    pub closed_in_time: u64,
    pub closed_late: u64,
    pub still_open: u64,
    /// Stages whose deadline passed while they were open.
    pub overdue_stages: u64,
    /// …of which escalated exactly at the deadline instant,
    pub escalated_at_deadline: u64,
    /// …within one sweep interval after it,
    pub escalated_within_interval: u64,
    /// …later than that,
    pub escalated_late: u64,
    /// …or never (must be 0).
    pub never_escalated: u64,
    /// Overdue stages whose people had a reminder before the deadline.
    pub reminded_before_deadline: u64,
    /// Reports with at least one overdue stage.
    pub reports_overdue: u64,
    /// Reports that went overdue without an escalation by the deadline
    /// plus one sweep interval (must be 0).
    pub reports_without_escalation: u64,
    pub reminders_expected: u64,
    pub reminders_mailed: u64,
    pub reminders_superseded: u64,
    /// The same (stage, kind) recorded twice, or the same mail written
    /// twice (must be 0).
    pub duplicates: u64,
    pub mails_by_kind: BTreeMap<String, u64>,
    pub holds_expired: u64,
    /// Cases by disposition at the end of the year.
    pub dispositions: BTreeMap<&'static str, u64>,
    /// Per stage: (completed, of which on time, past their deadline).
    pub stages: BTreeMap<&'static str, (u64, u64, u64)>,
    /// Referred or filed cases that ever entered verification (must be 0).
    pub short_disposals_verified: u64,
    pub sweeper_passes: u64,
    pub staff_actions: u64,
    pub elapsed_ms: u128,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Triage(#[from] CaseworkError),
    #[error("setting up the simulation: {0}")]
    Setup(String),
}

/// SplitMix64: tiny, fast, and the same on every machine for one seed.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + i64::try_from(self.below(u64::try_from(hi - lo + 1).unwrap_or(1))).unwrap_or(0)
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        let i = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        items.get(i).copied()
    }
}

/// What the acceptance decision (受理) will find in a report: in one
/// city's published half-year, 19.3 % were outside the remit and 7.3 %
/// had no substance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Remit {
    Within,
    /// Referred to the body in charge (转交).
    Outside(ReferralBody),
    /// The reporter is asked for specifics; answers after this many days,
    /// if ever (otherwise the case is filed for reference).
    NoSubstance(Option<i64>),
}

/// How much work a report needs, drawn when it arrives.
#[derive(Debug, Clone)]
struct Plan {
    unit: usize,
    remit: Remit,
    /// Working days the desk takes to decide on acceptance.
    accept_working_days: u32,
    specifics_asked_at: Option<DateTime<Utc>>,
    verify_days: i64,
    handle_working_days: u32,
    notify_working_days: u32,
    transfer: bool,
    ask_reporter: bool,
    /// Days after the question that the reporter answers, if ever.
    answer_after_days: Option<i64>,
    asked_at: Option<DateTime<Utc>>,
    answered: bool,
    claimed_at: Option<DateTime<Utc>>,
    /// The report points at a running selection: routing opens a hold.
    hold_pending: bool,
    hold: Option<Uuid>,
}

/// Runs the simulation on an empty, migrated store.
pub async fn simulate(
    store: Store,
    policy: Policy,
    calendar: Calendar,
    cfg: &SimConfig,
) -> Result<(SimSummary, Vec<SimDay>), SimError> {
    let clock = Instant::now();
    let mut rng = Rng(cfg.seed);
    let start = policy.end_of_local_day(cfg.start.pred_opt().unwrap_or(cfg.start));
    let end = start + Duration::days(i64::from(cfg.days));
    let units = setup_units(&store, cfg, &mut rng, start).await?;
    let stretcher = sunlight_core::crypto::CodeStretcher::new(
        sunlight_core::crypto::DeploymentSecrets::generate()
            .map_err(|e| SimError::Setup(e.to_string()))?,
        StretchParams::TEST,
    );
    let triage = Triage::new(
        store.clone(),
        policy.clone(),
        calendar.clone(),
        stretcher,
        sunlight_metrics::Metrics::default(),
    );
    let sweeper = Sweeper::new(
        store.clone(),
        triage.policy.clone(),
        triage.calendar.clone(),
        MailStyle {
            lang: sunlight_core::i18n::Lang::ZhCn,
            link_base: "https://triage.example.org".into(),
        },
    );
    let mut arrivals = arrivals(cfg, &policy, &calendar, &units, &mut rng, start)?;
    arrivals.sort_by_key(|a| a.at);
    let mut plans: HashMap<CaseId, Plan> = HashMap::new();
    // Cases whose hold id is read once routing has opened the hold.
    let mut holds_to_read: Vec<CaseId> = Vec::new();
    let mut pending = arrivals.into_iter().peekable();
    let step = Duration::minutes(i64::from(cfg.sweep_minutes.max(1)));
    let mut summary = SimSummary::default();
    let mut days = Vec::new();
    let mut now = start;
    while now <= end {
        while let Some(a) = pending.next_if(|a| a.at <= now) {
            if a.plan.hold_pending {
                holds_to_read.push(a.case.id);
            }
            plans.insert(a.case.id, a.plan);
            store.insert_case(a.case).await?;
            summary.received += 1;
        }
        if triage.route_pending(now).await? > 0 {
            for id in holds_to_read.drain(..) {
                let hold = store
                    .holds_of(id)
                    .await?
                    .into_iter()
                    .find(|h| h.confirmed_at.is_none() && h.lifted_at.is_none())
                    .map(|h| h.id);
                if let Some(plan) = plans.get_mut(&id) {
                    plan.hold_pending = false;
                    plan.hold = hold;
                }
            }
        }
        answer_questions(&store, &units, &mut plans, now).await?;
        sweeper.pass(now).await?;
        summary.sweeper_passes += 1;
        let local = now.with_timezone(&policy.utc_offset());
        if local.time() == NaiveTime::MIN {
            let (open_stages, overdue_stages) = store.open_stage_counts(now).await?;
            days.push(SimDay {
                date: local.date_naive(),
                open_stages,
                overdue_stages,
            });
        }
        if local.hour() == 10
            && local.minute() == 0
            && calendar.is_working_day(local.date_naive())
            && !cfg.all_idle
        {
            for (i, unit) in units.iter().enumerate() {
                let today = local.date_naive();
                if unit.idle.iter().any(|(a, b)| *a <= today && today <= *b) {
                    continue;
                }
                summary.staff_actions +=
                    work_day(&triage, &calendar, i, unit, &mut plans, &mut rng, cfg, now).await?;
            }
        }
        now += step;
    }
    tally(&store, &policy, cfg, end, &mut summary).await?;
    summary.elapsed_ms = clock.elapsed().as_millis();
    Ok((summary, days))
}
