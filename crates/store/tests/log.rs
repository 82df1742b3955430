//! The transparency log's rows, on SQLite and on PostgreSQL: a leaf with
//! every filing, heads over whole buckets, places without gap or double
//! under concurrency from two processes, and the tampering `verify_log`
//! and the receipt checks name.

#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use chrono::NaiveDate;
use sunlight_core::crypto::Suite;
use sunlight_core::log::{
    InclusionProof, LeafRecord, LogKey, Outcome, Receipt, SignedHead, check_heads, check_receipt,
};
use sunlight_store::{LogCheck, Store};
use sunlight_testkit::TestDb;

use crate::repository::{new_case, t0, tree};

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, n).unwrap()
}

/// The test database's log key, in its log's suite (modern, or shangmi in
/// CI's second pass).
async fn key_of(store: &Store) -> (LogKey, Suite) {
    let suite = store.log_suite().await.unwrap();
    (LogKey::derive(suite, &[7u8; 32]).unwrap(), suite)
}

/// Whether the placed leaves hold every place from 0 to `size` - 1, each
/// once.
async fn places_are_whole(db: &TestDb, size: u64) -> bool {
    let q = |sql: &str| {
        let store = db.store.clone();
        let sql = sql.to_owned();
        async move {
            sunlight_testkit::query_text(&store, &sql)
                .await
                .unwrap()
                .parse::<i64>()
                .unwrap()
        }
    };
    let n = q("SELECT COUNT(idx) FROM log_leaves").await;
    let distinct = q("SELECT COUNT(DISTINCT idx) FROM log_leaves").await;
    let max = q("SELECT COALESCE(MAX(idx), -1) FROM log_leaves").await;
    let size = i64::try_from(size).unwrap();
    n == size && distinct == size && max == size - 1
}

/// The receipt of `leaf` checked against what the store holds now.
async fn check(store: &Store, receipt: &Receipt) -> Vec<sunlight_core::log::Check> {
    let heads = store.log_heads().await.unwrap();
    let tree = store.log_tree().await;
    let index = store
        .log_index_of(&receipt.leaf_hash().unwrap())
        .await
        .unwrap();
    let tree = match tree {
        Ok(t) => t,
        // A gap: proofs cannot be made, so none is given.
        Err(_) => sunlight_core::log::Tree::new(sunlight_core::log::TreeHasher(receipt.suite)),
    };
    check_receipt(
        receipt,
        &heads,
        None,
        |_, size| InclusionProof::from_tree(&tree, index?, size),
        |a, b| tree.consistency_proof(a, b),
    )
}

fn receipt(leaf: &LeafRecord, k: &LogKey) -> Receipt {
    Receipt::new(
        leaf,
        &k.public(),
        k.promise(&leaf.hash(k.suite()), leaf.day).unwrap(),
    )
}

#[tokio::test]
async fn every_filing_gets_a_leaf_and_heads_cover_whole_buckets() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let (key, suite) = key_of(s).await;
        let mut leaves = Vec::new();
        let case = new_case("p-c-x", false, 0);
        let case_id = case.id;
        leaves.push(s.insert_case(case).await.unwrap());
        for n in 1..3 {
            leaves.push(s.insert_case(new_case("p-c-x", false, n)).await.unwrap());
        }
        s.add_message_at(
            case_id,
            uuid::Uuid::now_v7(),
            None,
            vec![4, 5, 6],
            Vec::new(),
            &sunlight_store::SealedTo::default(),
            t0(),
            t0(),
        )
        .await
        .unwrap();
        // Not placed before a head is published.
        assert_eq!(s.log_index_of(&leaves[0].hash(suite)).await.unwrap(), None);
        let head = s.publish_log_head(&key, day(2), false).await.unwrap();
        assert_eq!(head.size, 16, "{:?}", db.engine);
        assert!(head.verify(&key.public()));
        assert!(places_are_whole(&db, 16).await);
        // A day without filings still grows the log by a bucket; the same
        // day again adds no head.
        let again = s.publish_log_head(&key, day(3), false).await.unwrap();
        assert_eq!(again.size, 32);
        assert_eq!(
            s.publish_log_head(&key, day(3), false).await.unwrap(),
            again
        );
        assert_eq!(s.log_heads().await.unwrap().len(), 2);
        // 17 more filings, stamped with day 2 but stored after day 3's
        // head: promised to the heads after day 3, which hold them.
        let mut late = Vec::new();
        for n in 3..20 {
            late.push(s.insert_case(new_case("p-c-x", false, n)).await.unwrap());
        }
        assert!(late.iter().all(|l| l.day == day(3)));
        let later = s.publish_log_head(&key, day(4), false).await.unwrap();
        assert_eq!(later.size, 64);
        assert_eq!(
            s.verify_log().await.unwrap(),
            LogCheck::Intact {
                leaves: 64,
                heads: 3,
                purged: 0
            }
        );
        let checks = check(s, &receipt(&late[0], &key)).await;
        assert!(
            checks.iter().all(|c| c.outcome == Outcome::Passed),
            "{checks:?}"
        );
        // The first receipt holds: promised on day 2 (the filings' day is
        // t0's), included in the head of day 4... and of day 2's head too.
        let checks = check(s, &receipt(&leaves[1], &key)).await;
        assert!(
            checks.iter().all(|c| c.outcome == Outcome::Passed),
            "{checks:?}"
        );
    }
}

#[tokio::test]
async fn places_have_no_gap_or_double_under_filings_and_publishers_of_two_processes() {
    for db in TestDb::both().await.unwrap() {
        tree(&db.store).await;
        let (key, _) = key_of(&db.store).await;
        let second = Store::connect(&db.url).await.unwrap();
        let mut handles = Vec::new();
        for (p, s) in [db.store.clone(), second.clone()].into_iter().enumerate() {
            let filer = s.clone();
            handles.push(tokio::spawn(async move {
                for n in 0..25u64 {
                    filer
                        .insert_case(new_case("p-c-x", false, 100 * (p as u64 + 1) + n))
                        .await
                        .unwrap();
                }
            }));
            handles.push(tokio::spawn(async move {
                let (key, _) = key_of(&s).await;
                for d in 0..6 {
                    s.publish_log_head(&key, day(2 + d), false).await.unwrap();
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        let last = second.publish_log_head(&key, day(20), false).await.unwrap();
        assert!(places_are_whole(&db, last.size).await, "{:?}", db.engine);
        assert!(last.size >= 50 && last.size % 16 == 0);
        // Every head extends the ones before it.
        let heads = second.log_heads().await.unwrap();
        let tree = second.log_tree().await.unwrap();
        let checks = check_heads(&key.public(), &heads, |a, b| tree.consistency_proof(a, b));
        assert!(
            checks.iter().all(|c| c.outcome == Outcome::Passed),
            "{checks:?}"
        );
        assert!(
            matches!(second.verify_log().await.unwrap(), LogCheck::Intact { leaves, .. } if leaves == last.size)
        );
    }
}

#[tokio::test]
async fn a_deleted_leaf_an_altered_envelope_and_an_older_backup_are_caught() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let (key, suite) = key_of(s).await;
        let case = new_case("p-c-x", false, 1).id;
        let mut filed = new_case("p-c-x", false, 1);
        filed.id = case;
        let first = s.insert_case(filed).await.unwrap();
        s.publish_log_head(&key, day(2), false).await.unwrap();
        let first_place = s.log_index_of(&first.hash(suite)).await.unwrap().unwrap();
        let later = s.insert_case(new_case("p-c-x", false, 2)).await.unwrap();
        let later_receipt = receipt(&later, &key);
        s.publish_log_head(&key, day(3), false).await.unwrap();
        let ok = check(s, &later_receipt).await;
        assert!(ok.iter().all(|c| c.outcome == Outcome::Passed), "{ok:?}");

        // An altered envelope: `log verify` names the case.
        db.raw(&format!(
            "UPDATE cases SET sealed_report = {} WHERE id = {}",
            sunlight_testkit::blob_literal(db.engine, &[9, 9, 9]),
            sunlight_testkit::uuid_literal(db.engine, case.as_uuid()),
        ))
        .await
        .unwrap();
        match s.verify_log().await.unwrap() {
            LogCheck::Broken(what) => assert!(what.contains(&case.to_string()), "{what}"),
            other => panic!("altered envelope not caught: {other:?}"),
        }
        // A deleted leaf: the tree has a gap, and a head published over
        // what is left does not extend the earlier heads.
        db.raw(&format!(
            "DELETE FROM log_leaves WHERE leaf_hash = {}",
            sunlight_testkit::blob_literal(db.engine, &first.hash(suite)),
        ))
        .await
        .unwrap();
        assert!(
            matches!(s.verify_log().await.unwrap(), LogCheck::Broken(w) if w.contains("no leaf"))
        );
        // The publisher will not sign over a gap.
        assert!(s.publish_log_head(&key, day(4), false).await.is_err());
        // An insider closing the gap makes a tree whose heads do not
        // extend the published ones.
        let gap = first_place;
        db.raw(&format!(
            "UPDATE log_leaves SET idx = -idx WHERE idx > {gap}"
        ))
        .await
        .unwrap();
        db.raw("UPDATE log_leaves SET idx = -idx - 1 WHERE idx < 0")
            .await
            .unwrap();
        // The publisher will not sign that history either...
        let refused = s.publish_log_head(&key, day(4), false).await;
        assert!(
            matches!(&refused, Err(e) if e.to_string().contains("no longer give the newest head")),
            "{refused:?}"
        );
        // ...and the proofs it would serve do not match what it published.
        let checks = check(s, &later_receipt).await;
        assert!(
            checks.iter().any(|c| c.outcome == Outcome::Failed
                && (c.detail.contains("forked") || c.detail.contains("shrank"))),
            "{:?}: {checks:?}",
            db.engine
        );
    }
}

#[tokio::test]
async fn a_restore_of_an_older_backup_breaks_a_later_receipts_promise() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let (key, suite) = key_of(s).await;
        s.insert_case(new_case("p-c-x", false, 1)).await.unwrap();
        s.publish_log_head(&key, day(2), false).await.unwrap();
        // The "backup": this moment's heads. A later filing and its head...
        let later = s.insert_case(new_case("p-c-x", false, 2)).await.unwrap();
        let later_receipt = receipt(&later, &key);
        // ...are lost when the older backup comes back: its rows go.
        db.raw(&format!(
            "DELETE FROM log_leaves WHERE leaf_hash = {}",
            sunlight_testkit::blob_literal(db.engine, &later.hash(suite)),
        ))
        .await
        .unwrap();
        s.insert_case(new_case("p-c-x", false, 3)).await.unwrap();
        let next: SignedHead = s
            .publish_log_head(&key, later.day.succ_opt().unwrap(), false)
            .await
            .unwrap();
        assert!(next.size >= 16);
        let checks = check(s, &later_receipt).await;
        assert!(
            checks
                .iter()
                .any(|c| c.outcome == Outcome::Failed && c.detail.contains("promise broken")),
            "{:?}: {checks:?}",
            db.engine
        );
    }
}

#[tokio::test]
async fn a_purged_cases_leaf_stays_in_the_log_but_names_no_case() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let (key, suite) = key_of(s).await;
        let filed = new_case("p-c-x", false, 1);
        let id = filed.id;
        let leaf = s.insert_case(filed).await.unwrap();
        let head = s.publish_log_head(&key, day(2), false).await.unwrap();
        let named = format!(
            "SELECT COUNT(*) FROM log_leaves WHERE case_id = {}",
            sunlight_testkit::uuid_literal(db.engine, id.as_uuid())
        );
        assert_eq!(sunlight_testkit::query_text(s, &named).await.unwrap(), "1");
        db.raw(&format!(
            "UPDATE cases SET stage = 'closed', closed_at = {} WHERE id = {}",
            if db.engine == sunlight_testkit::Engine::Postgres {
                "'2026-01-01T00:00:00Z'::timestamptz"
            } else {
                "'2026-01-01 00:00:00+00:00'"
            },
            sunlight_testkit::uuid_literal(db.engine, id.as_uuid())
        ))
        .await
        .unwrap();
        let now = t0() + chrono::Duration::days(3650);
        assert!(s.purge_case(id, now, now).await.unwrap(), "{:?}", db.engine);
        // A receipt found later (on a seized device) leads to no case...
        assert_eq!(sunlight_testkit::query_text(s, &named).await.unwrap(), "0");
        assert!(s.log_index_of(&leaf.hash(suite)).await.unwrap().is_some());
        // ...while the log is whole and its head unchanged.
        assert_eq!(s.log_heads().await.unwrap(), vec![head]);
        assert!(matches!(
            s.verify_log().await.unwrap(),
            LogCheck::Intact { purged: 1, .. }
        ));
    }
}

#[tokio::test]
async fn tampered_rows_stop_the_publisher_by_name() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let (key, _) = key_of(s).await;
        s.insert_case(new_case("p-c-x", false, 1)).await.unwrap();
        s.publish_log_head(&key, day(2), false).await.unwrap();
        // A report replaced before its leaf is placed: no head, the case named.
        let filed = new_case("p-c-x", false, 2);
        let id = filed.id;
        s.insert_case(filed).await.unwrap();
        db.raw(&format!(
            "UPDATE cases SET sealed_report = {} WHERE id = {}",
            sunlight_testkit::blob_literal(db.engine, &[7, 7]),
            sunlight_testkit::uuid_literal(db.engine, id.as_uuid()),
        ))
        .await
        .unwrap();
        let refused = s.publish_log_head(&key, day(3), false).await;
        assert!(
            matches!(&refused, Err(e) if e.to_string().contains(&id.to_string())),
            "{:?}: {refused:?}",
            db.engine
        );
        assert_eq!(s.log_heads().await.unwrap().len(), 1);
        // A head row dated far ahead does not push a promise out of reach:
        // a filing's day moves at most to the day after its own.
        db.raw(&format!(
            "INSERT INTO log_heads (size, root, day, signature) VALUES (1, {}, '9999-12-31', {})",
            sunlight_testkit::blob_literal(db.engine, &[0; 32]),
            sunlight_testkit::blob_literal(db.engine, &[0; 64]),
        ))
        .await
        .unwrap();
        let later = s.insert_case(new_case("p-c-x", false, 3)).await.unwrap();
        assert_eq!(later.day, day(3), "{:?}", db.engine);
        // A deleted head row: `log verify` names it.
        db.raw("DELETE FROM log_heads").await.unwrap();
        assert!(
            matches!(s.verify_log().await.unwrap(), LogCheck::Broken(w) if w.contains("a head is missing")),
            "{:?}",
            db.engine
        );
    }
}

#[tokio::test]
async fn a_leaf_that_does_not_read_hides_the_entry_not_the_case() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let filed = new_case("p-c-x", false, 1);
        let (id, lookup_key) = (filed.id, filed.lookup_key);
        let leaf = s.insert_case(filed).await.unwrap();
        let view = s.reporter_view(&lookup_key).await.unwrap().unwrap();
        assert_eq!(
            view.own_leaf.map(|(hash, _, day)| (hash, day)),
            Some((leaf.hash(s.log_suite().await.unwrap()), leaf.day)),
            "{:?}",
            db.engine
        );
        assert!(!view.units.is_empty(), "the units come with the view");
        db.raw(&format!(
            "UPDATE log_leaves SET day = 'not a day' WHERE case_id = {}",
            sunlight_testkit::uuid_literal(db.engine, id.as_uuid())
        ))
        .await
        .unwrap();
        // The reporter still reaches their case; only the entry is gone.
        let view = s.reporter_view(&lookup_key).await.unwrap().unwrap();
        assert_eq!(view.own_case, id, "{:?}", db.engine);
        assert!(view.own_leaf.is_none(), "{:?}", db.engine);
        // And the next view reads as well (on SQLite, on the read-only
        // connection the first ended its transaction on).
        assert!(s.reporter_view(&lookup_key).await.unwrap().is_some());
    }
}

/// The plan each database makes for `sql`, one line per step. On
/// PostgreSQL with sequential scans priced out, so that a table scan in
/// the plan means no index could serve the query (the test tables are too
/// small for the planner to prefer an index on its own).
async fn plan(db: &TestDb, sql: &str) -> String {
    use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
    let backend = db.store.backend();
    let txn = db.store.connection().begin().await.unwrap();
    let explain = match db.engine {
        sunlight_testkit::Engine::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
        sunlight_testkit::Engine::Postgres => {
            txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await
                .unwrap();
            format!("EXPLAIN {sql}")
        }
    };
    let rows = txn
        .query_all_raw(Statement::from_string(backend, explain))
        .await
        .unwrap();
    let column = match db.engine {
        sunlight_testkit::Engine::Sqlite => "detail",
        sunlight_testkit::Engine::Postgres => "QUERY PLAN",
    };
    let lines: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", column).unwrap())
        .collect();
    txn.rollback().await.unwrap();
    lines.join("\n")
}

#[tokio::test]
async fn a_cases_leaves_and_files_are_found_by_index_not_by_reading_every_row() {
    for db in TestDb::both().await.unwrap() {
        let case = sunlight_testkit::uuid_literal(db.engine, uuid::Uuid::now_v7());
        // A reporter's lookup and a case page (the report's leaf, the
        // files), and `log verify` (a message's files).
        for sql in [
            format!("SELECT * FROM log_leaves WHERE case_id = {case} AND message_id IS NULL"),
            format!("SELECT * FROM attachments WHERE case_id = {case} ORDER BY created_at, id"),
            format!("SELECT * FROM attachments WHERE case_id = {case} AND message_id = {case}"),
        ] {
            let plan = plan(&db, &sql).await;
            assert!(
                !plan.contains("SCAN log_leaves")
                    && !plan.contains("SCAN attachments")
                    && !plan.contains("Seq Scan"),
                "{:?}: {sql}\n{plan}",
                db.engine
            );
        }
    }
}
