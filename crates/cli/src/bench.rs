//! `sunlight bench`: measures what the deployment's speed rests on and prints
//! a table (median and spread over `runs`). Figures go to docs/performance.md.

mod http;
mod log;
mod register;
mod sealed_http;
mod search;
mod stats;
mod suites;

use std::time::{Duration, Instant};

pub use http::run as http;
pub use search::run as search;
pub use stats::run as stats;

use sunlight_core::crypto::{
    CodeStretcher, DeploymentSecrets, PasswordKeys, StretchParams, Suite, UnitKeyPair,
    UnitPublicKey,
};
use sunlight_core::{CaseId, TrackingCode};

fn median(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let min = samples.first().copied().unwrap_or_default();
    let max = samples.last().copied().unwrap_or_default();
    let mid = samples.get(samples.len() / 2).copied().unwrap_or_default();
    (mid, min, max)
}

fn time<E>(
    runs: usize,
    mut f: impl FnMut() -> Result<(), E>,
) -> Result<(Duration, Duration, Duration), E> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed());
    }
    Ok(median(samples))
}

/// The crypto figures, the suites side by side, and the transparency log
/// at `log_leaves` leaves.
pub fn run(runs: usize, log_leaves: u64) -> Result<Vec<String>, String> {
    let runs = runs.max(1);
    let e = |err: sunlight_core::crypto::CryptoError| err.to_string();
    let mut lines = vec![format!(
        "{:<44} {:>10} {:>10} {:>10}",
        "operation", "median", "min", "max"
    )];
    let mut row = |name: &str, (mid, min, max): (Duration, Duration, Duration)| {
        lines.push(format!(
            "{name:<44} {:>8.2}ms {:>8.2}ms {:>8.2}ms",
            ms(mid),
            ms(min),
            ms(max)
        ));
    };

    let p = StretchParams::CODE;
    let stretcher = CodeStretcher::new(DeploymentSecrets::generate().map_err(e)?, p);
    let code = TrackingCode::generate().map_err(|err| err.to_string())?;
    row(
        &format!(
            "code stretch Argon2id m={}MiB t={} p={}",
            p.m_kib / 1024,
            p.t,
            p.p
        ),
        time(runs, || stretcher.stretch(&code).map(|_| ())).map_err(e)?,
    );

    let p = StretchParams::PASSWORD;
    let (record, _) =
        PasswordKeys::enroll(b"correct horse battery staple", p, Suite::Modern).map_err(e)?;
    row(
        &format!(
            "password check Argon2id m={}MiB t={} p={}",
            p.m_kib / 1024,
            p.t,
            p.p
        ),
        time(runs, || {
            record.verify(b"correct horse battery staple").map(|_| ())
        })
        .map_err(e)?,
    );

    lines.push(String::new());
    lines.extend(suites::rows(runs)?);
    lines.push(String::new());
    lines.extend(log::rows(log_leaves, runs)?);
    Ok(lines)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `q` quantile (0..=1) of sorted samples, nearest rank.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(idx).copied().unwrap_or_default()
}

/// `sunlight bench --queue-cases N`: seeds N open cases over a province with
/// 20 cities of 5 counties each into a fresh database (a temporary SQLite
/// file, or `database_url`), then measures queue listings (p50/p99 over
/// `runs`, 200 lines a page, as the staff app asks) and claim throughput.
pub async fn queue(
    cases: u64,
    database_url: Option<String>,
    runs: usize,
) -> Result<Vec<String>, String> {
    use chrono::{Duration as ChronoDuration, Utc};
    use sunlight_core::case::{Action, Actor, Limits, StaffId, apply};
    use sunlight_core::{
        AccusedRole, Category, Channel, Level, Role, SelectionStage, Stage, UnitId,
    };
    use sunlight_store::{NewCase, NewQueueEntry, NewUnit, QueueFilter, Store, TransitionWrite};

    let e = |err: sunlight_store::StoreError| err.to_string();
    let dir = tempfile::tempdir().map_err(|err| err.to_string())?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.path().display()));
    let store = Store::connect(&url).await.map_err(e)?;
    store.migrate().await.map_err(e)?;
    let now = Utc::now();
    let key = || UnitKeyPair::generate(Suite::Modern).map_err(|err| err.to_string());
    let add = |id: String, level: Level, parent: Option<String>| {
        let store = store.clone();
        async move {
            let pair = key()?;
            let recovery =
                sunlight_core::crypto::RecoveryKey::generate().map_err(|err| err.to_string())?;
            let wrapped = pair
                .secret
                .wrap_with_recovery(&recovery, &id)
                .map_err(|err| err.to_string())?;
            let secret = pair.secret.clone();
            let unit_id = UnitId::parse(&id).map_err(|err| err.to_string())?;
            let escrow = match &parent {
                Some(p) => {
                    let above = store
                        .unit(&UnitId::parse(p).map_err(|err| err.to_string())?)
                        .await
                        .map_err(|err| err.to_string())?
                        .ok_or("bench: parent unit missing")?;
                    Some(
                        pair.secret
                            .seal_to(
                                &above.public_key,
                                &sunlight_core::crypto::SealContext {
                                    case_id: sunlight_store::provision::no_case(),
                                    item: &sunlight_store::escrow_context(&unit_id, 1),
                                },
                            )
                            .map_err(|err| err.to_string())?,
                    )
                }
                None => None,
            };
            store
                .add_unit(
                    NewUnit {
                        id: unit_id,
                        name: id.clone(),
                        level,
                        parent: parent
                            .map(|p| UnitId::parse(&p))
                            .transpose()
                            .map_err(|err| err.to_string())?,
                        public_key: pair.public,
                        recovery_wrapped_key: wrapped,
                        name_en: None,
                        escrow_sealed_key: escrow,
                    },
                    "bench",
                    now,
                )
                .await
                .map_err(|err| err.to_string())?;
            Ok::<_, String>(secret)
        }
    };
    // The province and the staff who claim: real rows, since history
    // entries refer to them.
    let (province, secret, _) = sunlight_store::provision::create_unit(
        &store,
        sunlight_core::unit_tree::UnitSpec::new(
            UnitId::parse("p").map_err(|err| err.to_string())?,
            "p",
            Level::Province,
            None,
        ),
        true,
        "bench",
        now,
    )
    .await
    .map_err(|err| err.to_string())?;
    let mut claimers = Vec::new();
    for n in 0..9 {
        let s = sunlight_store::provision::create_staff(
            &store,
            &province.id,
            &secret,
            &format!("verifier{n}@p.bench"),
            Role::Verifier,
            StretchParams::TEST,
            "bench",
            now,
        )
        .await
        .map_err(|err| err.to_string())?;
        claimers.push(s.staff.id);
    }
    let mut counties = Vec::new();
    for c in 0..20 {
        let city = format!("p-c{c:02}");
        add(city.clone(), Level::City, Some("p".into())).await?;
        for x in 0..5 {
            let county = format!("{city}-x{x}");
            let secret = add(county.clone(), Level::County, Some(city.clone())).await?;
            let county = UnitId::parse(&county).map_err(|err| err.to_string())?;
            // The people the sweeper mails: who may take a verify case.
            for role in [Role::Verifier, Role::Supervisor] {
                sunlight_store::provision::create_staff(
                    &store,
                    &county,
                    &secret,
                    &format!("{role}@{county}.bench"),
                    role,
                    StretchParams::TEST,
                    "bench",
                    now,
                )
                .await
                .map_err(|err| err.to_string())?;
            }
            counties.push(county);
        }
    }
    // A sealed report is about 1.3 KiB (1 KiB padded payload, slots for
    // three units and the reporter).
    let sealed = vec![0xA5u8; 1400];
    let started = Instant::now();
    let mut seq: u64 = 0;
    while seq < cases {
        let batch: Vec<NewCase> = (seq..cases.min(seq + 500))
            .filter_map(|i| {
                let unit = counties
                    .get(usize::try_from(i % 100).unwrap_or_default())?
                    .clone();
                // Not correlated with real_name (every tenth case), as in life.
                let category =
                    *Category::ALL.get(usize::try_from((i / 10) % 5).unwrap_or_default())?;
                let mut lookup_key = [0u8; 32];
                lookup_key[..8].copy_from_slice(&i.to_be_bytes());
                let received = now - ChronoDuration::minutes(i64::try_from(i).unwrap_or_default());
                Some(NewCase {
                    id: CaseId::new_v7(
                        u64::try_from(received.timestamp_millis()).unwrap_or_default(),
                    ),
                    lookup_key,
                    unit: unit.clone(),
                    addressed_unit: unit,
                    category,
                    accused_role: AccusedRole::Ordinary,
                    selection_stage: SelectionStage::None,
                    channel: Channel::Web,
                    real_name: i % 10 == 0,
                    received_at: received,
                    sealed_report: sealed.clone(),
                    reporter_public_key: UnitPublicKey::from_bytes([7u8; 32]),
                    first_entry: NewQueueEntry {
                        stage: Stage::Verify,
                        due_at: received + ChronoDuration::days(60),
                    },
                    sealed_to: Default::default(),
                })
            })
            .collect();
        store.bulk_seed_cases(&batch).await.map_err(e)?;
        seq += 500;
    }
    let seeded = started.elapsed();
    // Planner statistics, as autovacuum keeps them on a running PostgreSQL.
    // Sunlight never runs ANALYZE on SQLite, so none are gathered there
    // (with them, SQLite's planner picks worse plans for these listings).
    if !url.starts_with("sqlite:") {
        store.analyze().await.map_err(e)?;
    }
    let mut lines = vec![
        format!(
            "seeded {cases} open cases into {} in {:.1}s ({:.0} cases/s)",
            if url.starts_with("sqlite:") {
                "SQLite"
            } else {
                "PostgreSQL"
            },
            seeded.as_secs_f64(),
            cases as f64 / seeded.as_secs_f64().max(1e-9)
        ),
        format!(
            "{:<44} {:>10} {:>10} {:>8}",
            "queue listing (200 lines)", "p50", "p99", "lines"
        ),
    ];
    let runs = runs.max(20);
    for (label, root, category) in [
        ("one county (1% of cases)", "p-c00-x0", None),
        ("one city (5%)", "p-c00", None),
        ("whole province (100%)", "p", None),
        (
            "whole province, one category",
            "p",
            Some(Category::OfficeTrading),
        ),
    ] {
        let j = store
            .jurisdiction(&UnitId::parse(root).map_err(|err| err.to_string())?)
            .await
            .map_err(e)?;
        // As the staff app asks: the member's own unread cases first.
        let filter = QueueFilter {
            category,
            limit: 200,
            unread_first_for: claimers.first().copied(),
            ..QueueFilter::default()
        };
        let mut samples = Vec::with_capacity(runs);
        let mut n = 0;
        for _ in 0..runs {
            let t = Instant::now();
            n = store
                .queue_items(&j, Stage::Verify, &filter)
                .await
                .map_err(e)?
                .len();
            samples.push(t.elapsed());
        }
        samples.sort();
        let p = |q: f64| percentile(&samples, q);
        lines.push(format!(
            "{label:<44} {:>8.2}ms {:>8.2}ms {n:>8}",
            ms(p(0.5)),
            ms(p(0.99))
        ));
    }

    // Fewer runs: the province's total counts every case each time.
    lines.extend(register::listings(&store, runs.min(30)).await?);

    // Claims: the newest cases of the province, one after another, then
    // from 8 tasks at once.
    let j = store
        .jurisdiction(&UnitId::parse("p").map_err(|err| err.to_string())?)
        .await
        .map_err(e)?;
    let ids = store.recent_case_ids(2000.min(cases)).await.map_err(e)?;
    let claim = |store: Store, j: sunlight_store::Jurisdiction, id: CaseId, who: uuid::Uuid| async move {
        let Some((case, entry)) = store
            .case_with_entry(&j, id)
            .await
            .map_err(|err| err.to_string())?
        else {
            return Ok::<bool, String>(false);
        };
        let state = sunlight_casework::state_of(&case, entry.as_ref());
        let actor = Actor {
            id: StaffId::from_uuid(who),
            role: Role::Verifier,
        };
        let at = Utc::now();
        let Ok(t) = apply(
            &state,
            Action::Claim,
            &actor,
            at,
            &Limits {
                extension_max_days: 30,
                pause_ends: at,
            },
        ) else {
            return Ok(false);
        };
        Ok(store
            .record_transition(
                &j,
                TransitionWrite {
                    transition: &t,
                    expected_version: case.version,
                    expected_owner: state.owner,
                    next_due: None,
                    entry_change: sunlight_store::EntryChange::default(),
                    row_ids: vec![uuid::Uuid::now_v7()],
                    sealed_notes: vec![None],
                    reporter_messages: Vec::new(),
                },
            )
            .await
            .inspect_err(|err| tracing::warn!(error = %err, "bench claim failed"))
            .is_ok())
    };
    let (first, rest) = ids.split_at(ids.len() / 2);
    let first_claimer = claimers.first().copied().unwrap_or_default();
    let t = Instant::now();
    let mut won = 0;
    for id in first {
        if claim(store.clone(), j.clone(), *id, first_claimer).await? {
            won += 1;
        }
    }
    let sequential = t.elapsed();
    lines.push(format!(
        "claims, one at a time: {won} in {:.2}s = {:.0}/s",
        sequential.as_secs_f64(),
        f64::from(won) / sequential.as_secs_f64().max(1e-9)
    ));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (n, chunk) in rest.chunks(rest.len().div_ceil(8).max(1)).enumerate() {
        let (store, j, chunk) = (store.clone(), j.clone(), chunk.to_vec());
        let who = claimers.get(n + 1).copied().unwrap_or_default();
        tasks.push(tokio::spawn(async move {
            let mut won = 0u32;
            for id in chunk {
                if claim(store.clone(), j.clone(), id, who).await? {
                    won += 1;
                }
            }
            Ok::<u32, String>(won)
        }));
    }
    let mut won = 0;
    for task in tasks {
        won += task.await.map_err(|err| err.to_string())??;
    }
    let parallel = t.elapsed();
    lines.push(format!(
        "claims, 8 tasks at once: {won} in {:.2}s = {:.0}/s",
        parallel.as_secs_f64(),
        f64::from(won) / parallel.as_secs_f64().max(1e-9)
    ));
    lines.extend(sweep(&store, cases, runs).await?);
    Ok(lines)
}

/// The sweeper over the seeded open stages: a pass when nothing is due
/// (what every minute costs), then a pass with 10,000 stages due at once.
async fn sweep(
    store: &sunlight_store::Store,
    cases: u64,
    runs: usize,
) -> Result<Vec<String>, String> {
    use std::sync::Arc;

    use chrono::{Duration as ChronoDuration, Utc};
    use sunlight_core::calendar::Calendar;
    use sunlight_core::policy::Policy;

    let e = |err: sunlight_store::StoreError| err.to_string();
    let sweeper = sunlight_casework::Sweeper::new(
        store.clone(),
        Arc::new(Policy::cn_12380()),
        Arc::new(Calendar::cn()),
        sunlight_casework::MailStyle {
            lang: sunlight_core::i18n::Lang::ZhCn,
            link_base: "https://triage.example.org".into(),
        },
    );
    let now = Utc::now();
    let later = now + ChronoDuration::days(30);
    store
        .bench_schedule_sweeps(0, now, later)
        .await
        .map_err(e)?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs.max(20) {
        let t = Instant::now();
        sweeper.pass(Utc::now()).await.map_err(e)?;
        samples.push(t.elapsed());
    }
    samples.sort();
    let median = samples.get(samples.len() / 2).copied().unwrap_or_default();
    let due = 10_000.min(cases);
    store
        .bench_schedule_sweeps(due, now - ChronoDuration::minutes(1), later)
        .await
        .map_err(e)?;
    let t = Instant::now();
    let report = sweeper.pass(Utc::now()).await.map_err(e)?;
    let busy = t.elapsed();
    Ok(vec![
        format!(
            "sweeper pass, nothing due ({cases} open stages): p50 {:.2}ms",
            ms(median)
        ),
        format!(
            "sweeper pass, {due} stages due: {:.2}s = {:.0} stages/s ({} notices, {} mails, {} overdue)",
            busy.as_secs_f64(),
            report.looked_at as f64 / busy.as_secs_f64().max(1e-9),
            report.written.notices,
            report.written.mails,
            report.written.overdue
        ),
    ])
}

/// Mail delivery to an SMTP server (e.g. `python3 -m aiosmtpd -n -l
/// 127.0.0.1:2525`): `count` mails queued, then delivered one after another.
pub async fn mail(smtp_url: &str, count: u64) -> Result<Vec<String>, String> {
    use chrono::Utc;
    use sunlight_store::{NewMail, Store};

    let e = |err: sunlight_store::StoreError| err.to_string();
    let dir = tempfile::tempdir().map_err(|err| err.to_string())?;
    let store = Store::connect(&format!("sqlite://{}/mail.db", dir.path().display()))
        .await
        .map_err(e)?;
    store.migrate().await.map_err(e)?;
    let now = Utc::now();
    let mails: Vec<NewMail> = (0..count)
        .map(|i| NewMail {
            dedupe_key: format!("bench/{i}"),
            recipient: format!("verifier{}@bench.example.org", i % 50),
            subject: "【阳光】催办：案件 1234abcd 已用去 50% 的办理时限".into(),
            body: "本案件查核环节的办理时限已用去 50%，请在期限前办理。\n\n案件：…\n".repeat(3),
            case_id: None,
            kind: "reminder-500".into(),
        })
        .collect();
    store.bench_enqueue_mails(&mails, now).await.map_err(e)?;
    let transport = sunlight_notify::Transport::new(Some(smtp_url), &dir.path().join("mail"))
        .map_err(|err| err.to_string())?;
    let delivery = sunlight_notify::Delivery::new(
        store.clone(),
        transport,
        sunlight_notify::MailSettings::default(),
    )
    .map_err(|err| err.to_string())?;
    let t = Instant::now();
    let report = delivery.deliver_due(Utc::now()).await.map_err(e)?;
    let took = t.elapsed();
    Ok(vec![format!(
        "mail delivery to {smtp_url}: {} sent, {} deferred, {} failed in {:.2}s = {:.0} mails/s",
        report.sent,
        report.deferred,
        report.failed,
        took.as_secs_f64(),
        report.sent as f64 / took.as_secs_f64().max(1e-9)
    )])
}
