//! The copy of the public units new reports are addressed from: at most
//! a second old, read again once forgotten, and dropped by a rotation.

use sunlight_core::Level;
use sunlight_core::unit_tree::UnitSpec;
use sunlight_store::provision::create_unit;
use sunlight_testkit::TestDb;

use crate::repository::{t0, tree, uid};

#[tokio::test]
async fn the_recent_copy_of_the_units_is_at_most_a_second_old_and_forgotten_on_demand() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let count = |units: Vec<sunlight_store::UnitRow>| units.len();
        s.forget_recent_units();
        assert_eq!(count(s.public_units_recent().await.unwrap()), 4);
        let add = |id: &'static str| {
            create_unit(
                s,
                UnitSpec::new(uid(id), id, Level::City, Some(uid("p"))),
                true,
                "t",
                t0(),
            )
        };
        let read_at = std::time::Instant::now();
        add("p-e").await.unwrap();
        // Fresh reads see it at once; the copy lags up to a second (checked
        // only while it is surely within it: a slow machine skips it).
        assert_eq!(count(s.public_units().await.unwrap()), 5, "{:?}", db.engine);
        let lagging = count(s.public_units_recent().await.unwrap());
        if read_at.elapsed() < sunlight_store::RECENT_UNITS / 2 {
            assert_eq!(lagging, 4, "{:?}: no copy was kept", db.engine);
        }
        // A unit the copy lacks is looked for again: a unit just created
        // takes reports at once. That read renews the copy.
        let chain = s
            .public_unit_with_ancestors_recent(&uid("p-e"))
            .await
            .unwrap();
        assert_eq!(chain.len(), 2, "{:?}", db.engine);
        assert_eq!(
            count(s.public_units_recent().await.unwrap()),
            5,
            "{:?}",
            db.engine
        );
        assert!(matches!(
            s.public_unit_with_ancestors_recent(&uid("p-zz")).await,
            Err(sunlight_store::StoreError::NotFound(_))
        ));
        s.forget_recent_units();
        assert_eq!(
            count(s.public_units_recent().await.unwrap()),
            5,
            "{:?}",
            db.engine
        );
        add("p-f").await.unwrap();
        tokio::time::sleep(sunlight_store::RECENT_UNITS + std::time::Duration::from_millis(50))
            .await;
        assert_eq!(
            count(s.public_units_recent().await.unwrap()),
            6,
            "{:?}",
            db.engine
        );
        let chain = s
            .public_unit_with_ancestors_recent(&uid("p-f"))
            .await
            .unwrap();
        assert_eq!(chain.len(), 2, "{:?}", db.engine);
    }
}

/// A rotation drops its own process's copy when it commits: what that
/// process addresses next (a report entered at the desk, say, with
/// scanned files that cannot be sealed again) names the new key at once,
/// instead of being refused for the retired one the copy still held.
#[tokio::test]
async fn a_rotation_drops_the_copy_of_the_units_it_changed() {
    use sunlight_core::crypto::{UnitKeyPair, WrappedUnitKey};
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let generation_of = |units: Vec<sunlight_store::UnitRow>| {
            units
                .into_iter()
                .find(|u| u.id == uid("p-c-x"))
                .map(|u| u.key_generation)
        };
        s.forget_recent_units();
        let county = s.unit(&uid("p-c-x")).await.unwrap().unwrap();
        assert_eq!(
            generation_of(s.public_units_recent().await.unwrap()),
            Some(1)
        );
        let suite = sunlight_testkit::suite_under_test();
        let generation = s
            .rotate_unit_key(
                sunlight_store::Rotation {
                    unit: uid("p-c-x"),
                    retiring: 1,
                    retired_public: county.public_key,
                    retired_sealed: vec![1; 64],
                    public_key: UnitKeyPair::generate(suite).unwrap().public,
                    recovery_wrapped_key: WrappedUnitKey::from_bytes(Vec::new()),
                    escrow_sealed_key: Some(vec![2; 64]),
                    members: Vec::new(),
                    children: Vec::new(),
                },
                "test",
                t0(),
            )
            .await
            .unwrap();
        assert_eq!(generation, 2, "{:?}", db.engine);
        assert_eq!(
            generation_of(s.public_units_recent().await.unwrap()),
            Some(2),
            "{:?}: the copy still names the retired key",
            db.engine
        );
    }
}
