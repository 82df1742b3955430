//! Nothing that arrives after a unit's key rotation is stored sealed to
//! the retired key: a report or a reporter's message names the key
//! generations it was sealed to, and its own transaction refuses it if a
//! unit rotated since — also when the rotation commits while the filing
//! waits for its turn (the rows are read under the filing's locks).

#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::time::Duration;

use sea_orm::ConnectionTrait;
use sunlight_store::{Clash, NewCase, NewRating, Objection, SealedTo, Store, StoreError};
use sunlight_testkit::{TestDb, query_text};

use crate::filing_batch::hold_the_writer;
use crate::repository::{new_case, tree, uid};

fn sealed_to(county: i32, city: i32) -> SealedTo {
    SealedTo(vec![(uid("p-c-x"), county), (uid("p-c"), city)])
}

fn case(seq: u64, to: SealedTo) -> NewCase {
    NewCase {
        sealed_to: to,
        ..new_case("p-c-x", false, seq)
    }
}

async fn count(s: &Store, table: &str) -> String {
    query_text(s, &format!("SELECT COUNT(*) FROM {table}"))
        .await
        .unwrap()
}

fn key_changed<T: std::fmt::Debug>(outcome: &Result<T, StoreError>) -> bool {
    matches!(outcome, Err(StoreError::Conflict(Clash::KeyChanged)))
}

#[tokio::test]
async fn a_report_or_message_sealed_to_a_retired_key_is_refused_and_the_others_are_filed() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        // The county's key rotated once since the units were made.
        s.connection()
            .execute_unprepared("UPDATE units SET key_generation = 2 WHERE id = 'p-c-x'")
            .await
            .unwrap();

        // Ten at once, one sealed to the county's first key: that one is
        // refused, the nine others are filed. They queue behind a held
        // writer, so they share one transaction, which the stale one fails:
        // then each is written alone.
        let writer = hold_the_writer(&db).await;
        let ten: Vec<NewCase> = (1..=10)
            .map(|n| case(n, sealed_to(if n == 5 { 1 } else { 2 }, 1)))
            .collect();
        let on = ten[0].id;
        let handles: Vec<_> = ten
            .into_iter()
            .map(|c| {
                let s = s.clone();
                tokio::spawn(async move { s.insert_case(c).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        writer.rollback().await.unwrap();
        for (n, h) in (1..=10).zip(handles) {
            let outcome = h.await.unwrap();
            if n == 5 {
                assert!(key_changed(&outcome), "{:?}: {outcome:?}", db.engine);
            } else {
                assert!(outcome.is_ok(), "{:?} {n}: {outcome:?}", db.engine);
            }
        }
        assert_eq!(count(s, "cases").await, "9", "{:?}", db.engine);

        // A unit that does not exist (deleted meanwhile) is no current key.
        let gone = SealedTo(vec![(uid("p-z"), 1)]);
        assert!(key_changed(&s.insert_case(case(11, gone)).await));

        // A reporter's message sealed to the first key: refused, and
        // nothing of it stored; sealed to the current one, stored.
        let at = repository_now();
        let stale = s
            .add_message_at(
                on,
                uuid::Uuid::now_v7(),
                None,
                vec![7; 48],
                Vec::new(),
                &sealed_to(1, 1),
                at,
                at,
            )
            .await;
        assert!(key_changed(&stale), "{:?}: {stale:?}", db.engine);
        assert_eq!(count(s, "messages").await, "0", "{:?}", db.engine);
        s.add_message_at(
            on,
            uuid::Uuid::now_v7(),
            None,
            vec![7; 48],
            Vec::new(),
            &sealed_to(2, 1),
            at,
            at,
        )
        .await
        .unwrap();
        assert_eq!(count(s, "messages").await, "1", "{:?}", db.engine);

        // An objection to the feedback on that case, sealed to the first
        // key: refused, no rating, message or task stored; sealed to the
        // current key, stored.
        let id = sunlight_testkit::uuid_literal(db.engine, on.as_uuid());
        s.connection()
            .execute_unprepared(&format!(
                "UPDATE cases SET stage = 'closed', feedback_given = TRUE WHERE id = {id}"
            ))
            .await
            .unwrap();
        let round: i32 = query_text(s, &format!("SELECT round FROM cases WHERE id = {id}"))
            .await
            .unwrap()
            .parse()
            .unwrap();
        let rating = |to: SealedTo| NewRating {
            case: on,
            reporter_case: on,
            round,
            rating: sunlight_core::Rating::Dissatisfied,
            day: at,
            objection: Some(Objection {
                message_id: uuid::Uuid::now_v7(),
                sealed_body: vec![8; 48],
                day: at,
                unit: uid("p"),
                due_at: at + chrono::Duration::days(30),
                sealed_to: to,
            }),
        };
        let stale = s.rate(&rating(sealed_to(1, 1))).await;
        assert!(key_changed(&stale), "{:?}: {stale:?}", db.engine);
        assert_eq!(count(s, "ratings").await, "0", "{:?}", db.engine);
        assert_eq!(count(s, "messages").await, "1", "{:?}", db.engine);
        s.rate(&rating(sealed_to(2, 1))).await.unwrap();
        assert_eq!(count(s, "ratings").await, "1", "{:?}", db.engine);
        assert_eq!(count(s, "messages").await, "2", "{:?}", db.engine);
    }
}

fn repository_now() -> chrono::DateTime<chrono::Utc> {
    crate::repository::t0() + chrono::Duration::days(1)
}

/// A rotation about to commit (the unit above changed, its audit entry
/// written) when a report sealed to the key it retires is filed: the
/// filing waits for the rotation and is then refused. The unit is the
/// county's parent, which the report's own row does not reference, so no
/// foreign-key lock makes the filing wait: only the order the audit
/// chain's lock gives. Read at the start of the filing's transaction,
/// PostgreSQL would show it the old generation and it would be stored.
#[tokio::test]
async fn a_report_filed_while_a_rotation_commits_is_refused_once_the_rotation_lands() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        // What every filing's transaction needs (the audit chain's lock,
        // which `rotate_unit_key` takes for its own entry; SQLite's write
        // lock), then the unit above's new generation, uncommitted.
        let rotation = hold_the_writer(&db).await;
        rotation
            .execute_unprepared("UPDATE units SET key_generation = 2 WHERE id = 'p-c'")
            .await
            .unwrap();

        let filing = {
            let s = s.clone();
            tokio::spawn(async move { s.insert_case(case(1, sealed_to(1, 1))).await })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !filing.is_finished(),
            "{:?}: the filing did not wait",
            db.engine
        );
        rotation.commit().await.unwrap();
        let outcome = filing.await.unwrap();
        assert!(key_changed(&outcome), "{:?}: {outcome:?}", db.engine);
        assert_eq!(count(s, "cases").await, "0", "{:?}", db.engine);
    }
}

/// The check reads after the audit chain's lock, and so must see what
/// committed while the filing waited: every transaction of the store runs
/// READ COMMITTED, even on a server whose default is REPEATABLE READ
/// (where a rotation committed after the filing's first INSERT would go
/// unseen).
#[tokio::test]
async fn the_stores_transactions_read_committed_whatever_the_servers_default() {
    let url = sunlight_testkit::fresh_pg_url().await.unwrap();
    let name = url.rsplit_once('/').unwrap().1.to_owned();
    let first = Store::connect(&url).await.unwrap();
    sunlight_testkit::execute(
        &first,
        &format!("ALTER DATABASE {name} SET default_transaction_isolation = 'repeatable read'"),
    )
    .await
    .unwrap();
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(
        query_text(&store, "SHOW transaction_isolation")
            .await
            .unwrap(),
        "read committed"
    );
    // The database's default did change: a connection of another kind
    // gets it.
    let other = sea_orm::Database::connect(&url).await.unwrap();
    let row = other
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SHOW transaction_isolation",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get_by_index::<String>(0).unwrap(),
        "repeatable read"
    );
}
