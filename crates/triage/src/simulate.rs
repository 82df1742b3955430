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
use sunlight_core::crypto::{SealContext, StretchParams, UnitKeyPair, UnitPublicKey, seal};
use sunlight_core::policy::{DeadlineKind, Policy};
use sunlight_core::report::item;
use sunlight_core::{
    AccusedRole, CaseId, Category, Channel, Level, Outcome, Role, SelectionStage, Stage, UnitId,
};
use sunlight_store::provision::{create_staff, create_unit};
use sunlight_store::{Jurisdiction, NewCase, NewQueueEntry, QueueFilter, Store, StoreError};
use uuid::Uuid;

use crate::TriageError;

mod tally;

use crate::mail::MailStyle;
use crate::service::{ActionRequest, Triage};
use crate::session::{NewSession, Session, Sessions};
use crate::sweeper::Sweeper;
use tally::tally;

/// The tree of the simulation: the demo's Guangdong chain, widened.
const UNITS: [(&str, &str, Level, Option<&str>); 10] = [
    ("gd", "广东省委组织部", Level::Province, None),
    ("gd-gz", "广州市委组织部", Level::City, Some("gd")),
    ("gd-sz", "深圳市委组织部", Level::City, Some("gd")),
    ("gd-fs", "佛山市委组织部", Level::City, Some("gd")),
    (
        "gd-gz-tianhe",
        "天河区委组织部",
        Level::County,
        Some("gd-gz"),
    ),
    (
        "gd-gz-yuexiu",
        "越秀区委组织部",
        Level::County,
        Some("gd-gz"),
    ),
    (
        "gd-sz-futian",
        "福田区委组织部",
        Level::County,
        Some("gd-sz"),
    ),
    (
        "gd-sz-nanshan",
        "南山区委组织部",
        Level::County,
        Some("gd-sz"),
    ),
    (
        "gd-fs-chancheng",
        "禅城区委组织部",
        Level::County,
        Some("gd-fs"),
    ),
    (
        "gd-fs-nanhai",
        "南海区委组织部",
        Level::County,
        Some("gd-fs"),
    ),
];

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
    pub sweeper_passes: u64,
    pub staff_actions: u64,
    pub elapsed_ms: u128,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Triage(#[from] TriageError),
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

/// How much work a report needs, drawn when it arrives.
#[derive(Debug, Clone)]
struct Plan {
    unit: usize,
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

struct SimUnit {
    id: UnitId,
    jurisdiction: Jurisdiction,
    verifier: std::sync::Arc<Session>,
    supervisor: std::sync::Arc<Session>,
    chain_keys: Vec<UnitPublicKey>,
    idle: Vec<(NaiveDate, NaiveDate)>,
}

struct Arrival {
    at: DateTime<Utc>,
    case: NewCase,
    plan: Plan,
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
    let triage = Triage::new(store.clone(), policy.clone(), calendar.clone(), stretcher);
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

async fn setup_units(
    store: &Store,
    cfg: &SimConfig,
    rng: &mut Rng,
    now: DateTime<Utc>,
) -> Result<Vec<SimUnit>, SimError> {
    let setup = |e: &dyn std::fmt::Display| SimError::Setup(e.to_string());
    let sessions = Sessions::new(Duration::days(10_000), Duration::days(10_000));
    let mut public: HashMap<String, UnitPublicKey> = HashMap::new();
    let mut out = Vec::new();
    for (id, name, level, parent) in UNITS {
        let unit = UnitId::parse(id).map_err(|e| setup(&e))?;
        let parent_id = parent
            .map(UnitId::parse)
            .transpose()
            .map_err(|e| setup(&e))?;
        let (row, recovery) = create_unit(
            store,
            unit.clone(),
            name.to_owned(),
            level,
            parent_id,
            "cli:simulate",
            now,
        )
        .await
        .map_err(|e| setup(&e))?;
        let secret = row
            .recovery_wrapped_key
            .unwrap_with_recovery(&recovery, id)
            .map_err(|e| setup(&e))?;
        public.insert(id.to_owned(), row.public_key);
        let mut chain_keys = vec![row.public_key];
        let mut up = parent;
        while let Some(p) = up {
            if let Some(k) = public.get(p) {
                chain_keys.push(*k);
            }
            up = UNITS.iter().find(|u| u.0 == p).and_then(|u| u.3);
        }
        let jurisdiction = store.jurisdiction(&unit).await?;
        let member = |role: Role| {
            let store = store.clone();
            let unit = unit.clone();
            let secret = secret.clone();
            let jurisdiction = jurisdiction.clone();
            async move {
                let email = format!("{role}@{unit}.demo");
                let created = create_staff(
                    &store,
                    &unit,
                    &secret,
                    &email,
                    role,
                    StretchParams::TEST,
                    "cli:simulate",
                    now,
                )
                .await
                .map_err(|e| SimError::Setup(e.to_string()))?;
                Ok::<_, SimError>((created.staff.id, email, jurisdiction, secret, role, unit))
            }
        };
        let mut opened = Vec::new();
        for role in Role::ALL {
            let (staff_id, email, jurisdiction, unit_key, role, unit) = member(*role).await?;
            let session = sessions
                .open(
                    NewSession {
                        staff_id,
                        email,
                        unit,
                        role,
                        jurisdiction,
                        unit_key,
                        must_change_password: false,
                        must_confirm_totp: false,
                        epoch: 0,
                    },
                    now,
                )
                .map_err(|e| setup(&e))?
                .session;
            opened.push((role, session));
        }
        let session_of = |role: Role| {
            opened
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, s)| s.clone())
                .ok_or_else(|| SimError::Setup(format!("no {role} in {id}")))
        };
        out.push(SimUnit {
            id: unit.clone(),
            jurisdiction,
            verifier: session_of(Role::Verifier)?,
            supervisor: session_of(Role::Supervisor)?,
            chain_keys,
            idle: Vec::new(),
        });
    }
    // Some units stop working for weeks: nobody there acts at all.
    for _ in 0..cfg.idle_units {
        let i = usize::try_from(rng.below(out.len() as u64)).unwrap_or(0);
        let from = cfg.start + Duration::days(rng.range(0, i64::from(cfg.days.max(1)) - 1));
        let to = from + Duration::weeks(i64::from(cfg.idle_weeks));
        if let Some(u) = out.get_mut(i) {
            u.idle.push((from, to));
        }
    }
    Ok(out)
}

fn arrivals(
    cfg: &SimConfig,
    policy: &Policy,
    calendar: &Calendar,
    units: &[SimUnit],
    rng: &mut Rng,
    start: DateTime<Utc>,
) -> Result<Vec<Arrival>, SimError> {
    let seconds = i64::from(cfg.days) * 86_400;
    let ids: Vec<UnitId> = units.iter().map(|u| u.id.clone()).collect();
    // One key for every simulated reporter: nobody opens their messages here.
    let reporter = UnitKeyPair::generate().map_err(|e| SimError::Setup(e.to_string()))?;
    let mut out = Vec::with_capacity(usize::try_from(cfg.reports).unwrap_or(0));
    for _ in 0..cfg.reports {
        let at = start + Duration::seconds(rng.range(1, seconds - 1));
        // Counties get most reports, the province fewest.
        let weights: Vec<u64> = UNITS
            .iter()
            .map(|u| match u.2 {
                Level::County => 4,
                Level::City => 2,
                Level::Province => 1,
            })
            .collect();
        let mut ticket = rng.below(weights.iter().sum());
        let mut chosen = 0;
        for (i, w) in weights.iter().enumerate() {
            if ticket < *w {
                chosen = i;
                break;
            }
            ticket -= w;
        }
        let role = if rng.chance(0.9) {
            AccusedRole::Ordinary
        } else {
            rng.pick(AccusedRole::ALL).unwrap_or(AccusedRole::Ordinary)
        };
        // The chain of the chosen unit, nearest first, for the key-person rule.
        let mut chain = Vec::new();
        let mut cur = UNITS.get(chosen).map(|u| u.0);
        while let Some(c) = cur {
            chain.push(UnitId::parse(c).map_err(|e| SimError::Setup(e.to_string()))?);
            cur = UNITS.iter().find(|u| u.0 == c).and_then(|u| u.3);
        }
        let addressed =
            address(&chain, role).ok_or_else(|| SimError::Setup("empty unit chain".into()))?;
        let unit_index = ids
            .iter()
            .position(|u| *u == addressed.responsible)
            .unwrap_or(chosen);
        let unit = units
            .get(unit_index)
            .ok_or_else(|| SimError::Setup("unit out of range".into()))?;
        let selection = if rng.chance(0.85) {
            SelectionStage::None
        } else {
            rng.pick(SelectionStage::ALL)
                .unwrap_or(SelectionStage::None)
        };
        let mut raw = [0u8; 16];
        raw[..8].copy_from_slice(&rng.next().to_le_bytes());
        raw[8..].copy_from_slice(&rng.next().to_le_bytes());
        let id = CaseId::from_uuid(uuid::Builder::from_random_bytes(raw).into_uuid());
        let mut lookup = [0u8; 32];
        for chunk in lookup.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next().to_le_bytes());
        }
        let sealed_report = seal(
            "模拟举报（仅用于演练）".as_bytes(),
            &SealContext {
                case_id: id,
                item: item::REPORT,
            },
            &unit.chain_keys,
        )
        .map_err(|e| SimError::Setup(e.to_string()))?;
        let case = NewCase {
            id,
            lookup_key: lookup,
            unit: addressed.responsible.clone(),
            addressed_unit: chain.first().cloned().unwrap_or_else(|| unit.id.clone()),
            category: rng.pick(Category::ALL).unwrap_or(Category::Other),
            accused_role: role,
            selection_stage: selection,
            channel: rng.pick(Channel::ALL).unwrap_or(Channel::Web),
            real_name: rng.chance(0.3),
            received_at: at,
            sealed_report,
            reporter_public_key: *reporter.public.as_bytes(),
            first_entry: NewQueueEntry {
                stage: Stage::Received,
                due_at: policy.due(DeadlineKind::Route, at, calendar),
            },
        };
        // Most verifications fit the 60 days; one in ten runs long.
        let verify_days = if rng.chance(0.1) {
            rng.range(55, 90)
        } else {
            rng.range(5, 40)
        };
        let ask = rng.chance(0.08);
        let plan = Plan {
            unit: unit_index,
            verify_days,
            handle_working_days: u32::try_from(rng.range(1, 14)).unwrap_or(5),
            notify_working_days: u32::try_from(rng.range(1, 12)).unwrap_or(5),
            transfer: rng.chance(0.05),
            ask_reporter: ask,
            answer_after_days: (ask && rng.chance(0.7)).then(|| rng.range(1, 25)),
            asked_at: None,
            answered: false,
            claimed_at: None,
            hold_pending: selection.triggers_hold(),
            hold: None,
        };
        out.push(Arrival { at, case, plan });
    }
    Ok(out)
}

/// Reporters who were asked answer after their delay (some never do).
async fn answer_questions(
    store: &Store,
    units: &[SimUnit],
    plans: &mut HashMap<CaseId, Plan>,
    now: DateTime<Utc>,
) -> Result<(), SimError> {
    let mut due: Vec<CaseId> = plans
        .iter()
        .filter(|(_, p)| {
            !p.answered
                && matches!((p.asked_at, p.answer_after_days), (Some(at), Some(d)) if at + Duration::days(d) <= now)
        })
        .map(|(id, _)| *id)
        .collect();
    due.sort_by_key(|id| id.as_uuid());
    for id in due {
        let Some(plan) = plans.get_mut(&id) else {
            continue;
        };
        plan.answered = true;
        let Some(unit) = units.get(plan.unit) else {
            continue;
        };
        let mid = Uuid::now_v7();
        let sealed = seal(
            "模拟答复".as_bytes(),
            &SealContext {
                case_id: id,
                item: &item::message(mid),
            },
            &unit.chain_keys,
        )
        .map_err(|e| SimError::Setup(e.to_string()))?;
        store
            .add_message_with(id, mid, None, sealed, Vec::new(), now)
            .await?;
    }
    Ok(())
}

/// One working day of one unit's verifier and supervisor.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site, all state of the loop"
)]
async fn work_day(
    triage: &Triage,
    calendar: &Calendar,
    unit_index: usize,
    unit: &SimUnit,
    plans: &mut HashMap<CaseId, Plan>,
    rng: &mut Rng,
    cfg: &SimConfig,
    now: DateTime<Utc>,
) -> Result<u64, SimError> {
    let policy = &triage.policy;
    let mut actions = 0;
    let worked_days = |from: DateTime<Utc>| {
        calendar.working_days_between(policy.local_date(from), policy.local_date(now))
    };
    for stage in [Stage::Verify, Stage::Recheck, Stage::Handle, Stage::Notify] {
        let filter = QueueFilter {
            unit: Some(unit.id.clone()),
            limit: 1000,
            ..QueueFilter::default()
        };
        let mut items = triage
            .store
            .queue_items(&unit.jurisdiction, stage, &filter)
            .await?;
        items.sort_by_key(|i| i.entry.case_id.as_uuid());
        for item in items {
            if !rng.chance(cfg.share) {
                continue;
            }
            let id = item.entry.case_id;
            let Some(plan) = plans.get_mut(&id) else {
                continue;
            };
            let worker = match stage {
                Stage::Verify | Stage::Notify => &unit.verifier,
                _ => &unit.supervisor,
            };
            if item.entry.paused_until.is_some_and(|p| p > now) {
                continue;
            }
            let action = if item.entry.owner.is_none() {
                plan.claimed_at = Some(now);
                Some(Action::Claim)
            } else {
                let since = plan.claimed_at.unwrap_or(now);
                match stage {
                    Stage::Verify if plan.ask_reporter && plan.asked_at.is_none() => {
                        plan.asked_at = Some(now);
                        Some(Action::AskReporter {
                            question: "请补充具体时间和地点。".into(),
                        })
                    }
                    Stage::Verify if (now - since).num_days() >= plan.verify_days => {
                        plan.claimed_at = None;
                        if plan.transfer {
                            Some(Action::Transfer {
                                to: "市纪委监委".into(),
                            })
                        } else {
                            Some(Action::Verified {
                                outcome: rng.pick(Outcome::ALL).unwrap_or(Outcome::Partly),
                            })
                        }
                    }
                    Stage::Recheck if worked_days(since) >= 5 => {
                        plan.claimed_at = None;
                        Some(Action::Rechecked {
                            outcome: rng.pick(Outcome::ALL).unwrap_or(Outcome::Partly),
                        })
                    }
                    Stage::Handle if worked_days(since) >= plan.handle_working_days => {
                        plan.claimed_at = None;
                        Some(Action::Decided {
                            decision: "按规定处理。".into(),
                        })
                    }
                    Stage::Notify if worked_days(since) >= plan.notify_working_days => {
                        let feedback = ActionRequest {
                            action: Action::Feedback {
                                message: "您反映的问题已核查处理。".into(),
                            },
                            note: None,
                        };
                        triage.act(worker, id, feedback, now).await?;
                        actions += 1;
                        plan.claimed_at = None;
                        Some(Action::Close)
                    }
                    _ => None,
                }
            };
            if let Some(action) = action {
                triage
                    .act(worker, id, ActionRequest { action, note: None }, now)
                    .await?;
                actions += 1;
            }
        }
    }
    // Holds: the supervisor confirms the notice to the selection body.
    let mut holds: Vec<(CaseId, Uuid)> = plans
        .iter()
        .filter(|(_, p)| p.unit == unit_index)
        .filter_map(|(id, p)| p.hold.map(|h| (*id, h)))
        .collect();
    holds.sort();
    for (id, hold) in holds {
        if rng.chance(cfg.share) {
            match triage
                .confirm_hold(&unit.supervisor, id, hold, "选拔工作领导小组", now)
                .await
            {
                Ok(()) => actions += 1,
                // Lifted by the verification meanwhile: nothing to confirm.
                Err(TriageError::Conflict(_) | TriageError::Invalid(_) | TriageError::NotFound) => {
                }
                Err(e) => return Err(e.into()),
            }
            if let Some(p) = plans.get_mut(&id) {
                p.hold = None;
            }
        }
    }
    Ok(actions)
}
