//! Filings committed together (group commit), on SQLite and on
//! PostgreSQL: filings that arrive while a transaction is written share the
//! next one, each still gets its own outcome, one that fails does not fail
//! the others, and the transparency log and the audit chain stay whole.

#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseTransaction, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use sunlight_store::{AuditReport, Clash, LogCheck, NewCase, SealedTo, Store, StoreError};
use sunlight_testkit::{Engine, TestDb};

use crate::repository::{new_case, tree, uid};

/// Files every case at once, each from a task of its own (as requests do),
/// and gives back their outcomes in the order given.
async fn file_at_once(store: &Store, cases: Vec<NewCase>) -> Vec<Result<(), StoreError>> {
    let handles: Vec<_> = cases
        .into_iter()
        .map(|c| {
            let s = store.clone();
            tokio::spawn(async move { s.insert_case(c).await.map(|_| ()) })
        })
        .collect();
    let mut outcomes = Vec::new();
    for h in handles {
        outcomes.push(h.await.unwrap());
    }
    outcomes
}

#[tokio::test]
async fn filings_that_arrive_together_commit_together_and_fail_alone() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let first = new_case("p-c-x", false, 0);
        s.insert_case(first.clone()).await.unwrap();
        let before = s.filing_commits();

        // Forty at once: all filed, in fewer transactions than filings.
        let forty = (1..=40).map(|n| new_case("p-c-x", false, n)).collect();
        let outcomes = file_at_once(s, forty).await;
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
        let after = s.filing_commits();
        assert_eq!(after.filed - before.filed, 40, "{:?}", db.engine);
        assert!(
            after.commits - before.commits < 40,
            "{:?}: {} commits for 40 filings",
            db.engine,
            after.commits - before.commits
        );

        // Ten at once, one of them with the id of a case filed already:
        // that one is refused as a clash, the nine others are filed.
        let mut ten: Vec<NewCase> = (41..=50).map(|n| new_case("p-c-x", false, n)).collect();
        ten[4].id = first.id;
        let before = s.filing_commits();
        let outcomes = file_at_once(s, ten).await;
        assert_eq!(s.filing_commits().filed - before.filed, 9);
        for (n, outcome) in outcomes.iter().enumerate() {
            if n == 4 {
                assert!(
                    matches!(outcome, Err(StoreError::Conflict(Clash::Exists("case")))),
                    "{outcome:?}"
                );
            } else {
                assert!(outcome.is_ok(), "{n}: {outcome:?}");
            }
        }

        // 1 + 40 + 9 cases, each with its leaf and its audit entry.
        let cases = sunlight_testkit::query_text(s, "SELECT COUNT(*) FROM cases")
            .await
            .unwrap();
        assert_eq!(cases, "50", "{:?}", db.engine);
        let log = s.verify_log().await.unwrap();
        assert!(
            matches!(log, LogCheck::Intact { .. }),
            "{:?}: {log:?}",
            db.engine
        );
        let leaves = sunlight_testkit::query_text(s, "SELECT COUNT(*) FROM log_leaves")
            .await
            .unwrap();
        assert_eq!(leaves, "50", "{:?}", db.engine);
        let received = sunlight_testkit::query_text(
            s,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'case.received'",
        )
        .await
        .unwrap();
        assert_eq!(received, "50", "{:?}", db.engine);
        assert!(
            matches!(s.verify_audit().await.unwrap(), AuditReport::Intact { .. }),
            "{:?}",
            db.engine
        );
    }
}

/// Two `Store`s on one database stand for two processes filing at once,
/// sealed to their units' current keys, beside a third appending to the
/// audit chain alone and a publisher signing log heads: every batch takes
/// the log's and the chain's locks before it reads their heads and the
/// key generations, so all are filed, in shared transactions, and the
/// chain and the log stay one. (With the locks taken out, one run of this
/// test failed: two batches had read the same head of the chain.)
#[tokio::test]
async fn batches_from_two_processes_keep_one_chain_and_one_log() {
    for db in TestDb::both().await.unwrap() {
        tree(&db.store).await;
        let before: i64 = sunlight_testkit::query_text(&db.store, "SELECT COUNT(*) FROM audit_log")
            .await
            .unwrap()
            .parse()
            .unwrap();
        let second = Store::connect(&db.url).await.unwrap();
        let appender = {
            let s = db.store.clone();
            tokio::spawn(async move {
                for n in 0..30 {
                    let record = sunlight_store::AuditRecord {
                        actor: format!("cli-{n}"),
                        action: "test".into(),
                        ..Default::default()
                    };
                    s.audit(record, crate::repository::t0()).await.unwrap();
                }
            })
        };
        let publisher = {
            let s = second.clone();
            tokio::spawn(async move {
                let key = sunlight_core::log::LogKey::derive(
                    sunlight_core::crypto::Suite::Modern,
                    &[7u8; 32],
                )
                .unwrap();
                for _ in 0..5 {
                    s.publish_log_head(&key, crate::repository::t0().date_naive(), true)
                        .await
                        .unwrap();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        let sealed = SealedTo(vec![(uid("p-c-x"), 1), (uid("p-c"), 1)]);
        let mut rounds = Vec::new();
        for (p, s) in [(1u64, db.store.clone()), (2, second.clone())] {
            let sealed = sealed.clone();
            rounds.push(tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for round in 0..5u64 {
                    let cases = (0..12u64)
                        .map(|n| NewCase {
                            sealed_to: sealed.clone(),
                            ..new_case("p-c-x", false, 1_000 * p + 20 * round + n)
                        })
                        .collect();
                    outcomes.extend(file_at_once(&s, cases).await);
                }
                (outcomes, s.filing_commits())
            }));
        }
        for r in rounds {
            let (outcomes, commits) = r.await.unwrap();
            assert!(
                outcomes.iter().all(Result::is_ok),
                "{:?}: {outcomes:?}",
                db.engine
            );
            assert!(
                commits.commits < commits.filed,
                "{:?}: {commits:?} (no filings shared a transaction)",
                db.engine
            );
        }
        appender.await.unwrap();
        publisher.await.unwrap();
        assert_eq!(
            second.verify_audit().await.unwrap(),
            AuditReport::Intact {
                entries: before + 30 + 120
            },
            "{:?}",
            db.engine
        );
        let log = second.verify_log().await.unwrap();
        assert!(
            matches!(log, LogCheck::Intact { .. }),
            "{:?}: {log:?}",
            db.engine
        );
        let leaves = sunlight_testkit::query_text(
            &second,
            "SELECT COUNT(*) FROM log_leaves WHERE case_id IS NOT NULL",
        )
        .await
        .unwrap();
        assert_eq!(leaves, "120", "{:?}", db.engine);
    }
}

/// Holds what every filing's transaction needs (SQLite's write lock, the
/// audit chain's lock on PostgreSQL) from a second connection, until the
/// transaction returned is ended.
pub(crate) async fn hold_the_writer(db: &TestDb) -> DatabaseTransaction {
    let other = Store::connect(&db.url).await.unwrap();
    match db.engine {
        Engine::Sqlite => {
            let options = TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            };
            other
                .connection()
                .begin_with_options(options)
                .await
                .unwrap()
        }
        Engine::Postgres => {
            let txn = other.connection().begin().await.unwrap();
            // The audit chain's lock (crates/store/src/audit.rs).
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(6013834289327073281)")
                .await
                .unwrap();
            txn
        }
    }
}

#[tokio::test]
async fn a_filing_whose_reporter_went_away_before_its_turn_is_never_written() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let held = hold_the_writer(&db).await;
        let file = |n: u64| {
            let s = s.clone();
            tokio::spawn(async move { s.insert_case(new_case("p-c-x", false, n)).await })
        };
        // The first leads a transaction that waits for the lock; the
        // second queues behind it and its request is dropped; the third
        // queues and stays.
        let leading = file(1);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let gone = file(2);
        let staying = file(3);
        tokio::time::sleep(Duration::from_millis(300)).await;
        gone.abort();
        tokio::time::sleep(Duration::from_millis(100)).await;
        held.rollback().await.unwrap();
        leading.await.unwrap().unwrap();
        staying.await.unwrap().unwrap();
        let ids = |n: u64| {
            sunlight_testkit::uuid_literal(db.engine, new_case("p-c-x", false, n).id.as_uuid())
        };
        let count = |sql: String| {
            let s = s.clone();
            async move { sunlight_testkit::query_text(&s, &sql).await.unwrap() }
        };
        assert_eq!(
            count("SELECT COUNT(*) FROM cases".into()).await,
            "2",
            "{:?}",
            db.engine
        );
        let gone_rows = count(format!("SELECT COUNT(*) FROM cases WHERE id = {}", ids(2))).await;
        assert_eq!(gone_rows, "0", "{:?}", db.engine);
    }
}

/// CPU time (user and system) of the calling thread so far.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    // Fields after the command name (which is in parentheses): the 12th
    // and 13th of them are utime and stime, in clock ticks of 10 ms.
    let (_, rest) = stat.rsplit_once(')').unwrap();
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|f| f.parse::<u64>().unwrap())
        .sum();
    Duration::from_millis(ticks * 10)
}

#[tokio::test]
async fn a_filing_taken_by_a_stuck_transaction_waits_without_spinning() {
    // PostgreSQL only: a filing's patience there is 5 s (SQLite's 30 s
    // would make the test long), and it is the same code on both.
    let db = TestDb::new(Engine::Postgres).await.unwrap();
    let s = &db.store;
    tree(s).await;
    let held = hold_the_writer(&db).await;
    // The filing is taken into a transaction at once, which then waits
    // for the lock past the filing's deadline. Everything here runs on
    // this thread (a current-thread runtime), so its CPU time is theirs.
    let filer = s.clone();
    let filing = tokio::spawn(async move { filer.insert_case(new_case("p-c-x", false, 1)).await });
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    let before = thread_cpu();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let spent = thread_cpu() - before;
    held.rollback().await.unwrap();
    filing.await.unwrap().unwrap();
    assert!(
        spent < Duration::from_millis(300),
        "{spent:?} of CPU in 1.5 s of waiting for a lock"
    );
}
