//! The cipher suite a deployment records: read back, refused when unknown,
//! and followed by the audit chain's hash, on SQLite and PostgreSQL.

use chrono::{TimeZone, Utc};
use sunlight_core::crypto::Suite;
use sunlight_store::AuditReport;
use sunlight_testkit::TestDb;

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

#[tokio::test]
async fn after_a_move_to_shangmi_entries_are_hashed_with_sm3_and_the_chain_verifies() {
    use sunlight_core::audit::{AuditFields, entry_hash_in};
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        let record = |i: u32| sunlight_store::AuditRecord {
            actor: format!("t{i}"),
            action: "test".into(),
            ..Default::default()
        };
        let at = t0();
        s.audit(record(1), at).await.unwrap();
        let (_, modern) = s.audit_head().await.unwrap().unwrap();
        s.put_setting(sunlight_store::setting_keys::SUITE, b"shangmi".to_vec())
            .await
            .unwrap();
        assert_eq!(s.suite().await.unwrap(), Suite::ShangMi);
        let seq = s.audit(record(2), at).await.unwrap();
        let (_, stored) = s.audit_head().await.unwrap().unwrap();
        let fields = AuditFields {
            seq,
            at_unix_micros: at.timestamp_micros(),
            actor: "t2",
            action: "test",
            unit: "",
            case_id: "",
            detail: "",
        };
        let prev: [u8; 32] = modern.as_slice().try_into().unwrap();
        assert_eq!(
            stored,
            entry_hash_in(Suite::ShangMi, &prev, &fields).to_vec(),
            "{:?}: the new entry is SM3",
            db.engine
        );
        assert_eq!(
            s.verify_audit().await.unwrap(),
            AuditReport::Intact { entries: 2 }
        );
        s.put_setting(sunlight_store::setting_keys::SUITE, b"sm9".to_vec())
            .await
            .unwrap();
        assert!(s.suite().await.is_err(), "an unknown suite is not modern");
        assert!(s.audit(record(3), at).await.is_err());
    }
}

#[tokio::test]
async fn with_pbkdf2_sm3_chosen_a_new_members_password_is_a_version_3_record_that_opens_their_keys()
{
    use sunlight_core::Role;
    use sunlight_core::crypto::{PasswordRecord, StretchParams};
    use sunlight_store::provision::create_staff;
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        s.record_suite(Suite::ShangMi, "test", t0()).await.unwrap();
        let units = sunlight_testkit::create_test_units(s, t0()).await.unwrap();
        let (unit, secret) = &units[0];
        assert!(s.record_password_kdf("scrypt", "test", t0()).await.is_err());
        s.record_password_kdf("pbkdf2-sm3", "test", t0())
            .await
            .unwrap();
        assert_eq!(s.password_kdf().await.unwrap(), "pbkdf2-sm3");
        let made = create_staff(
            s,
            &unit.id,
            secret,
            "v@gd.test",
            Role::Verifier,
            StretchParams::TEST,
            "test",
            t0(),
        )
        .await
        .unwrap();
        let row = s.staff_by_email("v@gd.test").await.unwrap().unwrap();
        let stored = row.password.to_bytes();
        assert_eq!(stored[0], 3, "{:?}: PBKDF2-HMAC-SM3", db.engine);
        assert_eq!(
            u32::from_be_bytes(stored[1..5].try_into().unwrap()),
            600_000
        );
        let keys = PasswordRecord::from_bytes(&stored)
            .unwrap()
            .verify(made.password.as_bytes())
            .unwrap();
        // The member key it opens is SM2 and opens the unit's key.
        let member = row
            .wrapped_unit_key
            .unwrap_as_member(&keys, "v@gd.test")
            .unwrap();
        assert_eq!(member.public().as_bytes().len(), 65);
        let unit_key = sunlight_store::keyring::open_member(&row, &keys).unwrap();
        assert_eq!(unit_key.public(), secret.public());
        assert!(matches!(
            s.verify_audit().await.unwrap(),
            AuditReport::Intact { .. }
        ));
        // Moving back to modern ends the fallback, and moving to shangmi
        // again does not bring it back unasked.
        assert!(s.shangmi_used().await.unwrap());
        s.record_suite(Suite::Modern, "test", t0()).await.unwrap();
        assert_eq!(s.password_kdf().await.unwrap(), "argon2id");
        assert!(matches!(
            s.password_policy(StretchParams::TEST).await.unwrap(),
            sunlight_core::crypto::PasswordPolicy::Argon2id {
                suite: Suite::Modern,
                ..
            }
        ));
        s.record_suite(Suite::ShangMi, "test", t0()).await.unwrap();
        assert_eq!(s.password_kdf().await.unwrap(), "argon2id");
        assert!(s.shangmi_used().await.unwrap());
    }
}

#[tokio::test]
async fn shangmi_material_counts_as_shangmi_used_without_the_row() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        s.put_setting(sunlight_store::setting_keys::SUITE, b"modern".to_vec())
            .await
            .unwrap();
        assert!(!s.shangmi_used().await.unwrap(), "{:?}", db.engine);
        // A unit key made in shangmi (the row deleted, or written before it
        // existed) still tells.
        s.put_setting(sunlight_store::setting_keys::SUITE, b"shangmi".to_vec())
            .await
            .unwrap();
        sunlight_testkit::create_test_units(s, t0()).await.unwrap();
        s.put_setting(sunlight_store::setting_keys::SUITE, b"modern".to_vec())
            .await
            .unwrap();
        assert!(s.shangmi_used().await.unwrap(), "{:?}", db.engine);
    }
}
