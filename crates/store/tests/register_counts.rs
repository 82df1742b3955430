//! The register's counts (`register_counts`, kept by triggers) equal a
//! count of the cases themselves after every kind of write — insert, a
//! stage or outcome change, a move to another unit, a delete — on both
//! engines; and the register's totals, which sum them, match its rows.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use sunlight_store::{RegisterFilter, Store};
use sunlight_testkit::{TestDb, query_text};

use crate::repository::{new_case, tree};

/// Every key's count from the counts and from the cases, as text rows.
async fn both_counts(store: &Store, db: &TestDb) -> (String, String) {
    let agg = match db.engine {
        sunlight_testkit::Engine::Postgres => "string_agg",
        sunlight_testkit::Engine::Sqlite => "group_concat",
    };
    let kept = query_text(
        store,
        &format!(
            "SELECT COALESCE({agg}(k, ';'), '') FROM (SELECT unit_id || '/' || stage || '/' || \
             category || '/' || channel || '/' || CAST(real_name AS TEXT) || '/' || outcome || \
             '=' || CAST(n AS TEXT) AS k FROM register_counts WHERE n <> 0 \
             ORDER BY 1) t"
        ),
    )
    .await
    .unwrap();
    let counted = query_text(
        store,
        &format!(
            "SELECT COALESCE({agg}(k, ';'), '') FROM (SELECT unit_id || '/' || stage || '/' || \
             category || '/' || channel || '/' || CAST(real_name AS TEXT) || '/' || \
             COALESCE(outcome, '') || '=' || CAST(COUNT(*) AS TEXT) AS k FROM cases \
             GROUP BY unit_id, stage, category, channel, real_name, COALESCE(outcome, '') \
             ORDER BY 1) t"
        ),
    )
    .await
    .unwrap();
    (kept, counted)
}

#[tokio::test]
async fn the_counts_follow_every_write_to_cases() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        for seq in 0..12 {
            let unit = ["p", "p-c", "p-c-x", "p-d"][seq % 4];
            s.insert_case(new_case(unit, seq % 3 == 0, seq as u64))
                .await
                .unwrap();
        }
        let (kept, counted) = both_counts(s, &db).await;
        assert!(!kept.is_empty());
        assert_eq!(kept, counted, "{:?} after inserts", db.engine);
        for sql in [
            "UPDATE cases SET stage = 'closed', outcome = 'substantiated' \
             WHERE unit_id = 'p-c'",
            "UPDATE cases SET unit_id = 'p-d' WHERE unit_id = 'p-c-x'",
            "UPDATE cases SET outcome = NULL, stage = 'handle' WHERE unit_id = 'p-c'",
            "UPDATE cases SET category = 'other', real_name = NOT real_name WHERE unit_id = 'p'",
            "UPDATE cases SET unread = unread + 1",
            "DELETE FROM queue_entries WHERE case_id IN \
             (SELECT id FROM cases WHERE unit_id = 'p-d' AND real_name)",
            "DELETE FROM cases WHERE unit_id = 'p-d' AND real_name",
        ] {
            db.raw(sql).await.unwrap();
            let (kept, counted) = both_counts(s, &db).await;
            assert_eq!(kept, counted, "{:?} after {sql}", db.engine);
        }
        // The register's total is the sum: the province sees every case.
        let j = s
            .jurisdiction(&sunlight_core::UnitId::parse("p").unwrap())
            .await
            .unwrap();
        let page = s.register(&j, &RegisterFilter::default()).await.unwrap();
        let rows = query_text(s, "SELECT COUNT(*) FROM cases").await.unwrap();
        assert_eq!(page.total.to_string(), rows, "{:?}", db.engine);
        let handling = RegisterFilter {
            stage: Some(sunlight_core::Stage::Handle),
            ..Default::default()
        };
        let page = s.register(&j, &handling).await.unwrap();
        assert_eq!(page.total, page.cases.len() as u64);
        assert_eq!(page.total, 3, "{:?}", db.engine);
    }
}
