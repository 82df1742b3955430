//! Routing follows a report's arrival within seconds: what it writes must
//! not give the arrival's moment either (ids, times of the routing step,
//! the queue entry and the hold).

use sunlight_core::CaseId;
use sunlight_core::policy::Policy;

use crate::common::{ENGINES, Harness, email};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_records_carry_the_arrival_day_only() {
    let policy = Policy::cn_12380();
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        // Filed during a running selection: routing also opens a hold.
        let (_, case) = desk
            .file_unaccepted("gd-gz-tianhe", "ordinary", "inspection", "电话举报")
            .await;
        let id = CaseId::parse(&case).unwrap();
        let store = &h.db.store;
        let j = store
            .jurisdiction(&sunlight_core::UnitId::parse("gd").unwrap())
            .await
            .unwrap();
        let (row, entry) = store.case_with_entry(&j, id).await.unwrap().unwrap();
        let day = row.received_at;
        assert_eq!(day, policy.start_of_local_day(day), "{engine:?}");
        assert!(
            row.routed_at.is_some_and(|t| t == day),
            "{:?}",
            row.routed_at
        );
        let entry = entry.unwrap();
        assert_eq!(entry.opened_at, day);
        assert_eq!(entry.entry_id.get_version_num(), 4, "queue entry id");
        let steps = store.transitions_of(id).await.unwrap();
        let routed = steps.iter().find(|t| t.action == "routed").unwrap();
        assert_eq!(routed.at, day);
        assert_eq!(routed.id.get_version_num(), 4, "routing step id");
        let holds = store.holds_of(id).await.unwrap();
        assert_eq!(holds.len(), 1);
        assert_eq!(holds[0].opened_at, day);
        assert_eq!(holds[0].id.get_version_num(), 4, "hold id");
        for (action, at) in sunlight_testkit::audit_of_case(store, id)
            .await
            .unwrap()
            .iter()
            .filter(|(a, _)| a == "case.received" || a == "case.route")
        {
            assert_eq!(*at, day, "{action}");
        }
        h.stop().await;
    }
}
