//! What a reporter's lookup reads: the case with its open entry and its
//! report's leaf (one query), the surviving case after a merge, and the
//! units from the copy new reports are addressed from — read again when
//! the copy lacks the case's unit, and dropped by any filing refused for
//! a rotated key.

use std::time::Instant;

use sunlight_core::Level;
use sunlight_core::unit_tree::UnitSpec;
use sunlight_store::provision::create_unit;
use sunlight_store::{Clash, RECENT_UNITS, SealedTo, Store, StoreError, UnitRow, unit_chain};
use sunlight_testkit::{TestDb, uuid_literal};

use crate::repository::{new_case, t0, tree, uid};

#[tokio::test]
async fn a_reporters_view_names_the_survivors_open_entry_and_their_own_reports_leaf() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let (first, second) = (new_case("p-c-x", false, 1), new_case("p-c-x", false, 2));
        let (first_id, second_id, key) = (first.id, second.id, first.lookup_key);
        let first_leaf = s.insert_case(first).await.unwrap();
        s.insert_case(second).await.unwrap();
        let leaf_hash = first_leaf.hash(s.log_suite().await.unwrap());

        let view = s.reporter_view(&key).await.unwrap().unwrap();
        assert_eq!(view.case.id, first_id, "{:?}", db.engine);
        let entry = view.open_entry.as_ref().map(|e| e.case_id);
        assert_eq!(entry, Some(first_id), "{:?}", db.engine);
        assert_eq!(
            view.own_leaf.map(|l| l.0),
            Some(leaf_hash),
            "{:?}",
            db.engine
        );

        // Merged into the second case: the first's entry closed.
        let (a, b) = (
            uuid_literal(db.engine, first_id.as_uuid()),
            uuid_literal(db.engine, second_id.as_uuid()),
        );
        db.raw(&format!(
            "UPDATE queue_entries SET open_case_id = NULL, closed_at = opened_at WHERE case_id = {a}"
        ))
        .await
        .unwrap();
        db.raw(&format!(
            "UPDATE cases SET merged_into = {b} WHERE id = {a}"
        ))
        .await
        .unwrap();
        let view = s.reporter_view(&key).await.unwrap().unwrap();
        assert_eq!((view.own_case, view.case.id), (first_id, second_id));
        let entry = view.open_entry.as_ref().map(|e| e.case_id);
        assert_eq!(
            entry,
            Some(second_id),
            "{:?}: the survivor's deadline",
            db.engine
        );
        let own = view.own_leaf.map(|l| l.0);
        assert_eq!(
            own,
            Some(leaf_hash),
            "{:?}: their own report's leaf",
            db.engine
        );

        // A report filed before the log has no leaf; a message its
        // reporter sent since has one, which is not the report's.
        let older = new_case("p-c-x", false, 3);
        let (older_id, older_key) = (older.id, older.lookup_key);
        s.insert_case(older).await.unwrap();
        let at = t0() + chrono::Duration::days(1);
        let id = uuid::Uuid::now_v7();
        let none = SealedTo::default();
        s.add_message_at(older_id, id, None, vec![7; 48], Vec::new(), &none, at, at)
            .await
            .unwrap();
        let c = uuid_literal(db.engine, older_id.as_uuid());
        db.raw(&format!(
            "DELETE FROM log_leaves WHERE case_id = {c} AND message_id IS NULL"
        ))
        .await
        .unwrap();
        let view = s.reporter_view(&older_key).await.unwrap().unwrap();
        assert_eq!(view.case.id, older_id, "{:?}", db.engine);
        assert!(view.own_leaf.is_none(), "{:?}: a message's leaf", db.engine);
    }
}

/// The generation the units name for the county, as `units` hold them.
fn county_generation(units: &[UnitRow]) -> Option<i32> {
    units
        .iter()
        .find(|u| u.id == uid("p-c-x"))
        .map(|u| u.key_generation)
}

#[tokio::test]
async fn a_view_of_a_case_in_a_unit_newer_than_the_copy_reads_the_units_again() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        s.forget_recent_units();
        assert_eq!(s.public_units_recent().await.unwrap().len(), 4);
        let read_at = Instant::now();
        let spec = UnitSpec::new(uid("p-g"), "p-g", Level::City, Some(uid("p")));
        create_unit(s, spec, true, "t", t0()).await.unwrap();
        let filed = new_case("p-g", false, 1);
        let key = filed.lookup_key;
        s.insert_case(filed).await.unwrap();
        let view = s.reporter_view(&key).await.unwrap().unwrap();
        // Within the copy's second (a slow machine skips it) the copy
        // lacked the unit: without the fresh read a follow-up could not
        // be addressed.
        if read_at.elapsed() < RECENT_UNITS / 2 {
            let chain = unit_chain(&view.units, &uid("p-g"));
            assert_eq!(chain.map(|c| c.len()).ok(), Some(2), "{:?}", db.engine);
        }
    }
}

/// A rotation made by another process (a raw update here) leaves this
/// process's copy naming the retired key. The first filing sealed from
/// the copy is refused; the refusal drops the copy, so the next is
/// sealed to the new key — for a follow-up as for a report.
#[tokio::test]
async fn a_filing_refused_for_a_rotated_key_drops_the_copy_of_the_units() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let filed = new_case("p-c-x", false, 1);
        let on = filed.id;
        s.insert_case(filed).await.unwrap();
        let stale = || SealedTo(vec![(uid("p-c-x"), 1)]);
        let mut generation = 1;
        for refused in [Refused::Report, Refused::Message] {
            s.forget_recent_units();
            let copy = s.public_units_recent().await.unwrap();
            assert_eq!(county_generation(&copy), Some(generation));
            let read_at = Instant::now();
            generation += 1;
            db.raw(&format!(
                "UPDATE units SET key_generation = {generation} WHERE id = 'p-c-x'"
            ))
            .await
            .unwrap();
            let outcome = refused.file(s, on, stale()).await;
            assert!(
                matches!(outcome, Err(StoreError::Conflict(Clash::KeyChanged))),
                "{:?} {refused:?}: {outcome:?}",
                db.engine
            );
            let copy = s.public_units_recent().await.unwrap();
            if read_at.elapsed() < RECENT_UNITS / 2 {
                assert_eq!(
                    county_generation(&copy),
                    Some(generation),
                    "{:?} {refused:?}: the copy still names the retired key",
                    db.engine
                );
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Refused {
    Report,
    Message,
}

impl Refused {
    async fn file(
        self,
        s: &Store,
        on: sunlight_core::CaseId,
        to: SealedTo,
    ) -> Result<(), StoreError> {
        match self {
            Self::Report => {
                let report = sunlight_store::NewCase {
                    sealed_to: to,
                    ..new_case("p-c-x", false, 2)
                };
                s.insert_case(report).await.map(drop)
            }
            Self::Message => {
                let at = t0() + chrono::Duration::days(1);
                let id = uuid::Uuid::now_v7();
                s.add_message_at(on, id, None, vec![7; 48], Vec::new(), &to, at, at)
                    .await
                    .map(drop)
            }
        }
    }
}
