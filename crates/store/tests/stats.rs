//! The statistics query layer against a brute-force count: generated case
//! histories are written to SQLite and PostgreSQL, the stored cells are
//! refreshed, and every roll-up (each unit's jurisdiction × month × measure,
//! with on-time counts, categories and medians) must equal counting the
//! generated cases one by one.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::unwrap_in_result,
    reason = "test helpers fail loudly"
)]

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use proptest::prelude::*;
use sunlight_core::stats::{Figures, Month, Tree, TreeUnit, whole_days};
use sunlight_core::{
    CaseId, Category, Channel, Disposition, Level, Measure, Outcome, Stage, UnitId,
};
use sunlight_store::Store;
use sunlight_store::provision::create_unit;
use sunlight_testkit::{Engine, SeedCase, SeedStage, TestDb, seed_cases};

const UNITS: [(&str, Level, Option<&str>); 5] = [
    ("p", Level::Province, None),
    ("p-a", Level::City, Some("p")),
    ("p-b", Level::City, Some("p")),
    ("p-a-x", Level::County, Some("p-a")),
    ("p-a-y", Level::County, Some("p-a")),
];

fn uid(s: &str) -> UnitId {
    UnitId::parse(s).unwrap()
}

fn cn() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 10, 0, 0, 0).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 20, 0, 0, 0).unwrap()
}

fn tree() -> Tree {
    Tree::new(UNITS.iter().map(|(id, level, parent)| TreeUnit {
        id: uid(id),
        name: (*id).to_owned(),
        level: *level,
        parent: parent.map(uid),
    }))
}

async fn store_with_units(engine: Engine) -> TestDb {
    let db = TestDb::new(engine).await.unwrap();
    for (id, level, parent) in UNITS {
        create_unit(
            &db.store,
            sunlight_core::unit_tree::UnitSpec::new(uid(id), id, level, parent.map(uid)),
            false,
            "test",
            t0(),
        )
        .await
        .unwrap();
    }
    db
}

/// One generated report: where, what, and how far it got.
#[derive(Debug, Clone)]
struct Gen {
    unit: usize,
    category: usize,
    channel: usize,
    /// Minutes after t0.
    arrival: i64,
    /// Hours each stage took (verify, handle, notify); the stage after the
    /// last one listed is still open.
    hours: Vec<i64>,
    close: bool,
    outcome: usize,
    merged: bool,
    hold: bool,
}

fn gen_strategy() -> impl Strategy<Value = Gen> {
    (
        0usize..5,
        0usize..Category::ALL.len(),
        0usize..Channel::ALL.len(),
        0i64..150 * 24 * 60,
        proptest::collection::vec(0i64..40 * 24, 0..=3),
        any::<bool>(),
        0usize..3,
        proptest::bool::weighted(0.1),
        proptest::bool::weighted(0.2),
    )
        .prop_map(
            |(unit, category, channel, arrival, hours, close, outcome, merged, hold)| Gen {
                unit,
                category,
                channel,
                arrival,
                hours,
                close,
                outcome,
                merged,
                hold,
            },
        )
}

const FLOW: [Stage; 3] = [Stage::Verify, Stage::Handle, Stage::Notify];
const OUTCOMES: [Outcome; 3] = [
    Outcome::Substantiated,
    Outcome::Partly,
    Outcome::Unsubstantiated,
];

fn seed(gens: &[Gen]) -> Vec<SeedCase> {
    gens.iter()
        .enumerate()
        .map(|(i, g)| {
            let received = t0() + Duration::minutes(g.arrival) + Duration::milliseconds(i as i64);
            let unit = uid(UNITS[g.unit].0);
            let mut at = received + Duration::hours(1);
            let mut stages = Vec::new();
            let mut steps = Vec::new();
            for (n, stage) in FLOW.iter().enumerate() {
                let due = at + Duration::days(20);
                match g.hours.get(n) {
                    Some(h) => {
                        let end = at + Duration::hours(*h);
                        stages.push(SeedStage {
                            stage: *stage,
                            unit: unit.clone(),
                            opened_at: at,
                            due_at: due,
                            closed_at: Some(end),
                        });
                        match stage {
                            Stage::Verify => steps.push(("verified".to_owned(), end)),
                            Stage::Notify => steps.push(("feedback_given".to_owned(), end)),
                            _ => steps.push(("decided".to_owned(), end)),
                        }
                        at = end;
                    }
                    None => {
                        stages.push(SeedStage {
                            stage: *stage,
                            unit: unit.clone(),
                            opened_at: at,
                            due_at: due,
                            closed_at: None,
                        });
                        break;
                    }
                }
            }
            let closed = (g.hours.len() == 3 && g.close).then_some(at + Duration::hours(2));
            let merged = g.merged && i > 0 && closed.is_some();
            let outcome = (!g.hours.is_empty()).then_some(OUTCOMES[g.outcome]);
            SeedCase {
                id: CaseId::new_v7(u64::try_from(received.timestamp_millis()).unwrap()),
                unit: unit.clone(),
                category: Category::ALL[g.category],
                channel: Channel::ALL[g.channel],
                received_at: received,
                routed_at: Some(received + Duration::hours(1)),
                closed_at: closed,
                outcome,
                merged,
                disposition: match (merged, closed, outcome) {
                    (true, _, _) => Disposition::Merged,
                    // Some unsubstantiated ones were knowingly false.
                    (false, Some(_), Some(Outcome::Unsubstantiated)) if g.hold => {
                        Disposition::KnowinglyFalse
                    }
                    (false, Some(_), Some(_)) => Disposition::Concluded,
                    (false, Some(_), None) => Disposition::Referred,
                    (false, None, _) => Disposition::Accepted,
                },
                stages,
                steps,
                holds: if g.hold {
                    vec![(unit, received + Duration::hours(3))]
                } else {
                    vec![]
                },
            }
        })
        .collect()
}

/// The events of one case, counted the slow way: (unit, month, measure,
/// category, on time, days from arrival).
fn events(c: &SeedCase) -> Vec<(UnitId, Month, Measure, Category, bool, Option<u32>)> {
    let m = |at| Month::of(at, cn());
    let mut out = vec![(
        c.unit.clone(),
        m(c.received_at),
        Measure::Received,
        c.category,
        false,
        None,
    )];
    if let Some(r) = c.routed_at {
        out.push((
            c.unit.clone(),
            m(r),
            Measure::Routed,
            c.category,
            false,
            None,
        ));
    }
    if let (Some(closed), false) = (c.closed_at, c.merged) {
        let days = Some(whole_days(c.received_at, closed));
        out.push((
            c.unit.clone(),
            m(closed),
            Measure::Closed,
            c.category,
            false,
            days,
        ));
        let by_disposition: &[Measure] = match c.disposition {
            Disposition::Referred => &[Measure::Referred],
            Disposition::FiledForReference => &[Measure::FiledForReference],
            Disposition::Concluded => &[Measure::Concluded],
            Disposition::KnowinglyFalse => &[Measure::Concluded, Measure::KnowinglyFalse],
            _ => &[],
        };
        for measure in by_disposition {
            out.push((c.unit.clone(), m(closed), *measure, c.category, false, None));
        }
        // Over the cases accepted and verified only.
        if c.disposition.was_verified()
            && matches!(c.outcome, Some(Outcome::Substantiated | Outcome::Partly))
        {
            out.push((
                c.unit.clone(),
                m(closed),
                Measure::Substantiated,
                c.category,
                false,
                None,
            ));
        }
    }
    for (action, at) in &c.steps {
        let measure = match action.as_str() {
            "verified" => Measure::Verified,
            "feedback_given" => Measure::Feedback,
            _ => continue,
        };
        let days = Some(whole_days(c.received_at, *at));
        out.push((c.unit.clone(), m(*at), measure, c.category, false, days));
    }
    for (unit, at) in &c.holds {
        out.push((unit.clone(), m(*at), Measure::Hold, c.category, false, None));
    }
    for s in &c.stages {
        if let Some(done) = s.closed_at {
            let measure = Measure::stage_done(s.stage).unwrap();
            let days = Some(whole_days(c.received_at, done));
            out.push((
                s.unit.clone(),
                m(done),
                measure,
                c.category,
                done <= s.due_at,
                days,
            ));
        }
    }
    out
}

async fn check(store: &Store, cases: &[SeedCase]) -> Result<(), TestCaseError> {
    let tree = tree();
    let first = Month::new(2026, 1).unwrap();
    let last = Month::of(now(), cn());
    let tally = store.stat_tally(first, last).await.unwrap();
    let months: Vec<Month> = last.last(12);
    let all: Vec<_> = cases.iter().flat_map(events).collect();
    for (root, _, _) in UNITS {
        let root = uid(root);
        let fig = Figures::compute(&tally.cells, &tally.days, &tree, &root, &months);
        let mine: Vec<_> = all.iter().filter(|e| tree.within(&e.0, &root)).collect();
        for measure in Measure::ALL {
            for month in &months {
                let here: Vec<_> = mine
                    .iter()
                    .filter(|e| e.2 == *measure && e.1 == *month)
                    .collect();
                let got = fig.by_month[month].get(*measure);
                prop_assert_eq!(got.n, here.len() as u64, "{} {} {}", root, month, measure);
                let on_time = here.iter().filter(|e| e.4).count() as u64;
                prop_assert_eq!(
                    got.on_time,
                    on_time,
                    "on time {} {} {}",
                    root,
                    month,
                    measure
                );
            }
            for category in Category::ALL {
                let n = mine
                    .iter()
                    .filter(|e| e.2 == *measure && e.3 == *category)
                    .count() as u64;
                let got = fig
                    .by_category
                    .get(category)
                    .map_or(0, |r| r.get(*measure).n);
                prop_assert_eq!(got, n, "{} {} {}", root, category, measure);
            }
            let mut days: Vec<u32> = mine
                .iter()
                .filter(|e| e.2 == *measure)
                .filter_map(|e| e.5)
                .collect();
            days.sort_unstable();
            let median = (!days.is_empty()).then(|| days[(days.len() - 1) / 2]);
            prop_assert_eq!(
                fig.median_days.get(measure).copied(),
                median,
                "median {} {}",
                root,
                measure
            );
        }
    }
    Ok(())
}

fn run(engine: Engine, gens: Vec<Gen>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = store_with_units(engine).await;
        let cases = seed(&gens);
        seed_cases(&db.store, &cases).await.unwrap();
        let done = db
            .store
            .refresh_stats(Month::new(2026, 1).unwrap(), now(), cn())
            .await
            .unwrap();
        prop_assert_eq!(done.months, 12);
        check(&db.store, &cases).await?;
        // A second refresh of recent months only changes nothing.
        db.store
            .refresh_stats(Month::of(now(), cn()).prev(), now(), cn())
            .await
            .unwrap();
        check(&db.store, &cases).await
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_cells_match_a_brute_force_count(gens in proptest::collection::vec(gen_strategy(), 0..80)) {
        run(Engine::Sqlite, gens)?;
    }

    #[test]
    fn postgres_cells_match_a_brute_force_count(gens in proptest::collection::vec(gen_strategy(), 0..80)) {
        run(Engine::Postgres, gens)?;
    }
}

/// Refreshing only the latest month after new events there gives what a
/// full rebuild gives: older months are left as they were, and they are
/// still right.
#[tokio::test]
async fn refreshing_recent_months_equals_a_full_rebuild() {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let db = store_with_units(engine).await;
        let old = seed(
            &(0..40)
                .map(|i| Gen {
                    unit: i % 5,
                    category: i % 5,
                    channel: i % 4,
                    arrival: (i as i64) * 3 * 24 * 60,
                    hours: vec![30, 200, 10][..i % 4].to_vec(),
                    close: true,
                    outcome: i % 3,
                    merged: false,
                    hold: i % 7 == 0,
                })
                .collect::<Vec<_>>(),
        );
        seed_cases(&db.store, &old).await.unwrap();
        let first = Month::new(2026, 1).unwrap();
        db.store.refresh_stats(first, now(), cn()).await.unwrap();
        // New reports in the last month.
        let mut new = old.clone();
        for (i, c) in new.iter_mut().enumerate() {
            let shift = now() - Duration::days(5) - c.received_at + Duration::minutes(i as i64);
            c.id =
                CaseId::new_v7(u64::try_from((c.received_at + shift).timestamp_millis()).unwrap());
            c.received_at += shift;
            c.routed_at = c.routed_at.map(|t| t + shift);
            c.closed_at = None;
            c.stages.clear();
            c.steps.clear();
            c.holds.clear();
        }
        seed_cases(&db.store, &new).await.unwrap();
        let last = Month::of(now(), cn());
        let done = db.store.refresh_stats(last, now(), cn()).await.unwrap();
        assert_eq!(done.months, 1, "{engine:?}");
        let incremental = db.store.stat_tally(first, last).await.unwrap();
        db.store.refresh_stats(first, now(), cn()).await.unwrap();
        let full = db.store.stat_tally(first, last).await.unwrap();
        assert_eq!(incremental, full, "{engine:?}");
        let all: Vec<SeedCase> = old.into_iter().chain(new).collect();
        check(&db.store, &all).await.unwrap();
        let received: u64 = full
            .cells
            .iter()
            .filter(|(k, _)| k.measure == Measure::Received)
            .map(|(_, c)| c.n)
            .sum();
        assert_eq!(received, 80, "{engine:?}");
    }
}
