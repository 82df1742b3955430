//! The repository suite: every test body runs on SQLite and on PostgreSQL.

#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use chrono::{Duration, TimeZone, Utc};
use sunlight_core::crypto::{
    RecoveryKey, SealContext, StretchParams, Suite, UnitKeyPair, open, seal,
};
use sunlight_core::unit_tree::UnitSpec;
use sunlight_core::{
    AccusedRole, CaseId, Category, Channel, Level, Role, SelectionStage, Stage, UnitId,
};
use sunlight_store::provision::{create_staff, create_unit};
use sunlight_store::{AuditReport, NewCase, NewQueueEntry, Store, StoreError};
use sunlight_testkit::{TestDb, query_text};

pub(crate) fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

pub(crate) fn uid(s: &str) -> UnitId {
    UnitId::parse(s).unwrap()
}

/// province `p` → city `p-c` → county `p-c-x`, plus a second city `p-d`.
pub(crate) async fn tree(store: &Store) -> Vec<(UnitId, RecoveryKey)> {
    let mut out = Vec::new();
    for (id, level, parent) in [
        ("p", Level::Province, None),
        ("p-c", Level::City, Some("p")),
        ("p-c-x", Level::County, Some("p-c")),
        ("p-d", Level::City, Some("p")),
    ] {
        let (row, _, rk) = create_unit(
            store,
            UnitSpec::new(uid(id), format!("unit {id}"), level, parent.map(uid)),
            true,
            "test",
            t0(),
        )
        .await
        .unwrap();
        out.push((row.id, rk.unwrap()));
    }
    out
}

pub(crate) fn new_case(unit: &str, real_name: bool, seq: u64) -> NewCase {
    let mut lookup_key = [0u8; 32];
    lookup_key[..8].copy_from_slice(&seq.to_be_bytes());
    NewCase {
        id: CaseId::new_v7(1_772_000_000_000 + seq),
        lookup_key,
        unit: uid(unit),
        addressed_unit: uid(unit),
        category: Category::CanvassingBribery,
        accused_role: AccusedRole::Ordinary,
        selection_stage: SelectionStage::None,
        channel: Channel::Web,
        real_name,
        received_at: t0() + Duration::minutes(seq as i64),
        sealed_report: vec![1, 2, 3],
        reporter_public_key: sunlight_core::crypto::UnitPublicKey::from_bytes([9u8; 32]),
        first_entry: NewQueueEntry {
            stage: Stage::Verify,
            due_at: t0() + Duration::days(60 - seq as i64),
        },
        sealed_to: sunlight_store::SealedTo::default(),
    }
}

#[tokio::test]
async fn units_form_a_tree_and_refuse_bad_parents() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let units = s.units().await.unwrap();
        assert_eq!(units.len(), 4, "{:?}", db.engine);
        assert_eq!(units[0].id.as_str(), "p");
        let chain = s.unit_with_ancestors(&uid("p-c-x")).await.unwrap();
        let ids: Vec<_> = chain.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, ["p-c-x", "p-c", "p"]);

        // A county directly under a province is refused, and so is a duplicate id.
        let err = create_unit(
            s,
            UnitSpec::new(uid("bad"), "x", Level::County, Some(uid("p"))),
            true,
            "t",
            t0(),
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("not allowed: the parent unit must be exactly one level up"),
            "{err}"
        );
        let err = create_unit(
            s,
            UnitSpec::new(uid("p"), "x", Level::Province, None),
            true,
            "t",
            t0(),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        let err = create_unit(
            s,
            UnitSpec::new(uid("orphan"), "x", Level::City, Some(uid("nope"))),
            true,
            "t",
            t0(),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("not found"), "{err}");
        assert_eq!(
            s.units().await.unwrap().len(),
            4,
            "refused units change nothing"
        );
    }
}

#[tokio::test]
async fn staff_password_unlocks_the_unit_key_and_emails_are_unique() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        let units = tree(s).await;
        let (unit, rk) = &units[1];
        let row = s.unit(unit).await.unwrap().unwrap();
        let secret = row
            .recovery_wrapped_key
            .unwrap_with_recovery(rk, unit.as_str())
            .unwrap();
        let created = create_staff(
            s,
            unit,
            &secret,
            "V@Example.org",
            Role::Supervisor,
            StretchParams::TEST,
            "t",
            t0(),
        )
        .await
        .unwrap();
        assert!(
            created.totp.is_some(),
            "supervisors always get a second factor"
        );

        let found = s.staff_by_email("v@example.ORG").await.unwrap().unwrap();
        assert_eq!(found.role, Role::Supervisor);
        let keys = found.password.verify(created.password.as_bytes()).unwrap();
        let unlocked = sunlight_store::keyring::open_member(&found, &keys).unwrap();
        // The password alone opens the member's own key, not the unit key.
        assert!(
            found
                .wrapped_unit_key
                .unwrap_with_password(&keys, unit.as_str())
                .is_err()
        );
        assert_eq!(unlocked.public(), row.public_key);
        assert!(found.password.verify(b"not the password").is_err());

        let dup = create_staff(
            s,
            unit,
            &secret,
            "v@example.org",
            Role::Verifier,
            StretchParams::TEST,
            "t",
            t0(),
        )
        .await;
        assert!(matches!(
            dup,
            Err(sunlight_store::provision::ProvisionError::Store(
                StoreError::Conflict(_)
            ))
        ));
        assert!(
            s.staff_by_email("nobody@example.org")
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn cases_are_found_by_lookup_key_and_scoped_by_jurisdiction() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let in_county = new_case("p-c-x", false, 1);
        let in_other_city = new_case("p-d", true, 2);
        s.insert_case(in_county.clone()).await.unwrap();
        s.insert_case(in_other_city.clone()).await.unwrap();

        let got = s
            .case_by_lookup_key(&in_county.lookup_key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.id, in_county.id);
        assert_eq!(got.stage, Stage::Verify);
        assert!(s.case_by_lookup_key(&[9u8; 32]).await.unwrap().is_none());

        let city = s.jurisdiction(&uid("p-c")).await.unwrap();
        assert!(
            city.contains(&uid("p-c-x"))
                && !city.contains(&uid("p-d"))
                && !city.contains(&uid("p"))
        );
        assert!(s.case_in(&city, in_county.id).await.unwrap().is_some());
        assert!(
            s.case_in(&city, in_other_city.id).await.unwrap().is_none(),
            "another city's case is invisible"
        );

        assert!(matches!(
            s.jurisdiction(&uid("nowhere")).await,
            Err(StoreError::NotFound(_))
        ));
        let province = s.jurisdiction(&uid("p")).await.unwrap();
        let queue = s.queue(&province, Stage::Verify).await.unwrap();
        assert_eq!(queue.len(), 2);
        assert!(queue[0].real_name, "real-name reports come first");
        assert!(
            s.queue(&city, Stage::Verify)
                .await
                .unwrap()
                .iter()
                .all(|q| q.unit.as_str() == "p-c-x")
        );
        assert!(s.queue(&province, Stage::Handle).await.unwrap().is_empty());

        // The same lookup key twice is a conflict and writes nothing.
        let mut again = new_case("p-d", false, 3);
        again.lookup_key = in_county.lookup_key;
        assert!(matches!(
            s.insert_case(again).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.counts().await.unwrap(), (2, 2));
    }
}

#[tokio::test]
async fn only_one_of_many_concurrent_claims_wins() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        let units = tree(s).await;
        let case = new_case("p-c", false, 1);
        s.insert_case(case.clone()).await.unwrap();
        let row = s.unit(&units[1].0).await.unwrap().unwrap();
        let secret = row
            .recovery_wrapped_key
            .unwrap_with_recovery(&units[1].1, "p-c")
            .unwrap();
        let mut staff = Vec::new();
        for i in 0..8 {
            let m = create_staff(
                s,
                &uid("p-c"),
                &secret,
                &format!("v{i}@x.org"),
                Role::Verifier,
                StretchParams::TEST,
                "t",
                t0(),
            )
            .await
            .unwrap();
            staff.push(m.staff.id);
        }
        let j = s.jurisdiction(&uid("p-c")).await.unwrap();
        let mut handles = Vec::new();
        for id in staff.clone() {
            let (s, j) = (s.clone(), j.clone());
            handles.push(tokio::spawn(async move {
                s.claim(&j, case.id, id, t0()).await.unwrap()
            }));
        }
        let mut wins = 0;
        for h in handles {
            wins += usize::from(h.await.unwrap());
        }
        assert_eq!(wins, 1, "{:?}", db.engine);
        let owner = s.queue(&j, Stage::Verify).await.unwrap()[0].owner.unwrap();
        assert!(staff.contains(&owner));

        // Outside the jurisdiction a claim cannot even see the case.
        let other = s.jurisdiction(&uid("p-d")).await.unwrap();
        let fresh = new_case("p-c", false, 2);
        s.insert_case(fresh.clone()).await.unwrap();
        assert!(!s.claim(&other, fresh.id, staff[0], t0()).await.unwrap());
    }
}

#[tokio::test]
async fn sealed_messages_round_trip_and_only_ciphertext_is_stored() {
    for (db, suite) in TestDb::both()
        .await
        .unwrap()
        .into_iter()
        .zip(Suite::ALL.into_iter().cycle())
    {
        // SQLite with one suite, PostgreSQL with the other: the stored
        // envelope is opaque bytes either way.
        let s = &db.store;
        tree(s).await;
        let case = new_case("p-c", false, 1);
        s.insert_case(case.clone()).await.unwrap();
        let unit = UnitKeyPair::generate(suite).unwrap();
        let text = "请补充材料 — please add evidence";
        let ctx = SealContext {
            case_id: case.id,
            item: b"message",
        };
        let sealed = seal(text.as_bytes(), &ctx, &[unit.public]).unwrap();
        s.add_message(case.id, None, sealed, t0()).await.unwrap();
        let msgs = s.messages(case.id).await.unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].author, "reporter");
        assert!(
            !msgs[0]
                .sealed_body
                .windows(6)
                .any(|w| w == &text.as_bytes()[..6])
        );
        assert_eq!(
            open(&msgs[0].sealed_body, &ctx, &unit.secret)
                .unwrap()
                .as_slice(),
            text.as_bytes()
        );
    }
}

#[tokio::test]
async fn audit_chain_is_intact_and_names_an_altered_entry() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await; // 4 audit entries
        for i in 1..=3 {
            s.insert_case(new_case("p-c", false, i)).await.unwrap();
        }
        assert_eq!(
            s.verify_audit().await.unwrap(),
            AuditReport::Intact { entries: 7 }
        );

        // The application's connection cannot rewrite or remove an entry…
        for sql in [
            "UPDATE audit_log SET detail = 'forged' WHERE seq = 5",
            "DELETE FROM audit_log WHERE seq = 7",
        ] {
            let refused = db.raw(sql).await;
            assert!(
                refused
                    .as_ref()
                    .is_err_and(|e| e.to_string().contains("append-only")),
                "{:?}: {sql}: {refused:?}",
                db.engine
            );
        }
        if db.engine == sunlight_testkit::Engine::Postgres {
            assert!(db.raw("TRUNCATE audit_log").await.is_err());
        }
        assert_eq!(
            s.verify_audit().await.unwrap(),
            AuditReport::Intact { entries: 7 }
        );
        // …the owner of the schema can (dropping the triggers); the chain
        // still names what was changed.
        sunlight_testkit::drop_audit_guards(s).await.unwrap();
        db.raw("UPDATE audit_log SET detail = 'forged' WHERE seq = 5")
            .await
            .unwrap();
        match s.verify_audit().await.unwrap() {
            AuditReport::Broken(e) => assert!(e.to_string().contains("entry 5"), "{e}"),
            other => panic!("tampering not detected: {other:?}"),
        }
    }
}

#[tokio::test]
async fn concurrent_audit_appends_keep_one_chain() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        let mut handles = Vec::new();
        for i in 0..32 {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                s.audit(
                    sunlight_store::AuditRecord {
                        actor: format!("t{i}"),
                        action: "test".into(),
                        ..Default::default()
                    },
                    t0(),
                )
                .await
                .unwrap()
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(
            s.verify_audit().await.unwrap(),
            AuditReport::Intact { entries: 32 },
            "{:?}",
            db.engine
        );
    }
}

#[tokio::test]
async fn migrations_are_idempotent_and_health_checks_pass() {
    for db in TestDb::both().await.unwrap() {
        assert_eq!(db.store.pending_migrations().await.unwrap(), 0);
        assert_eq!(db.store.migrate().await.unwrap(), 0);
        db.store.ping().await.unwrap();
        db.store.integrity_check().await.unwrap();
        assert!(db.store.put_setting_once("k", vec![1]).await.unwrap());
        assert!(!db.store.put_setting_once("k", vec![2]).await.unwrap());
        assert_eq!(db.store.setting("k").await.unwrap(), Some(vec![1]));
    }
}

#[tokio::test]
async fn sqlite_runs_with_wal_full_sync_and_foreign_keys() {
    let db = TestDb::new(sunlight_testkit::Engine::Sqlite).await.unwrap();
    let q = |sql: &'static str| sunlight_testkit::query_text(&db.store, sql);
    assert_eq!(q("PRAGMA journal_mode").await.unwrap(), "wal");
    assert_eq!(q("PRAGMA synchronous").await.unwrap(), "2", "2 = FULL");
    assert_eq!(q("PRAGMA foreign_keys").await.unwrap(), "1");
    assert_eq!(q("PRAGMA busy_timeout").await.unwrap(), "10000");
}

#[tokio::test]
async fn a_case_with_history_cannot_be_deleted_on_either_database() {
    for db in TestDb::both().await.unwrap() {
        tree(&db.store).await;
        db.store
            .insert_case(new_case("p-c", false, 1))
            .await
            .unwrap();
        // Foreign keys restrict deletion: the queue entry keeps its case.
        assert!(
            db.raw("DELETE FROM cases").await.is_err(),
            "{:?}",
            db.engine
        );
        assert_eq!(db.store.counts().await.unwrap(), (1, 1));
    }
}

/// Two `Store`s on one database stand for two processes (a CLI command beside
/// `serve`, or two triage replicas): their appends interleave into one chain.
#[tokio::test]
async fn audit_appends_from_two_processes_keep_one_chain() {
    for db in TestDb::both().await.unwrap() {
        let second = Store::connect(&db.url).await.unwrap();
        let mut handles = Vec::new();
        for (i, s) in [db.store.clone(), second.clone()].into_iter().enumerate() {
            handles.push(tokio::spawn(async move {
                for n in 0..20 {
                    s.audit(
                        sunlight_store::AuditRecord {
                            actor: format!("p{i}-{n}"),
                            action: "test".into(),
                            ..Default::default()
                        },
                        t0(),
                    )
                    .await
                    .unwrap();
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        assert_eq!(
            second.verify_audit().await.unwrap(),
            AuditReport::Intact { entries: 40 },
            "{:?}",
            db.engine
        );
    }
}

/// A test's PostgreSQL database goes when the test does: a suite of
/// hundreds of tests must not leave hundreds of databases on the server.
#[tokio::test]
async fn a_postgresql_test_database_is_dropped_when_the_test_ends() {
    let db = TestDb::new(sunlight_testkit::Engine::Postgres)
        .await
        .unwrap();
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    let admin = TestDb::new(sunlight_testkit::Engine::Postgres)
        .await
        .unwrap();
    let count = format!("SELECT COUNT(*) FROM pg_database WHERE datname = '{name}'");
    assert_eq!(query_text(&admin.store, &count).await.unwrap(), "1");
    drop(db);
    assert_eq!(query_text(&admin.store, &count).await.unwrap(), "0");
}

#[tokio::test]
async fn a_comment_adds_a_staff_only_row_and_leaves_the_case_alone() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        tree(s).await;
        let case = new_case("p-c", false, 1);
        s.insert_case(case.clone()).await.unwrap();
        let city = s.jurisdiction(&uid("p-c")).await.unwrap();
        let before = s.case_in(&city, case.id).await.unwrap().unwrap();
        let row = uuid::Uuid::now_v7();
        s.add_comment(
            &city,
            case.id,
            row,
            uuid::Uuid::now_v7(),
            vec![1, 2, 3],
            t0(),
        )
        .await
        .unwrap();
        let after = s.case_in(&city, case.id).await.unwrap().unwrap();
        // No version bump: a comment never makes a concurrent action fail.
        assert_eq!(after.version, before.version, "{:?}", db.engine);
        assert_eq!(after.stage, before.stage);
        let history = s.transitions_of(case.id).await.unwrap();
        let noted = history.iter().find(|t| t.id == row).unwrap();
        assert_eq!(noted.action, "noted");
        assert!(!noted.reporter_visible);
        assert_eq!((noted.from, noted.to), (before.stage, before.stage));
        // Another city's member cannot comment; nothing is written.
        let other = s.jurisdiction(&uid("p-d")).await.unwrap();
        let refused = s
            .add_comment(
                &other,
                case.id,
                uuid::Uuid::now_v7(),
                uuid::Uuid::now_v7(),
                vec![1],
                t0(),
            )
            .await;
        assert!(matches!(refused, Err(StoreError::NotFound(_))));
        assert_eq!(
            s.transitions_of(case.id).await.unwrap().len(),
            history.len()
        );
    }
}
