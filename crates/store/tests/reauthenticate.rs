//! `sunlight staff reauthenticate` on SQLite and PostgreSQL: staff rows
//! written before tags existed open only once a recovery key's holder has
//! vouched for them, and a row that does not open with its unit's key is
//! left as it is, counted.

use chrono::Utc;
use sunlight_core::UnitId;
use sunlight_core::crypto::{
    CryptoError, SealContext, Sealed, StretchParams, Suite, UnitKeyPair, seal,
};
use sunlight_store::provision::{create_staff, no_case, totp_context};
use sunlight_store::reauthenticate::reauthenticate;
use sunlight_store::staff_auth::{open_totp, recovery_hashes};
use sunlight_testkit::{TestDb, blob_literal, create_test_units, execute};

use crate::repository::new_case;

#[tokio::test]
async fn reauthentication_tags_what_opens_with_the_units_key_and_leaves_the_rest() {
    for db in TestDb::both().await.unwrap() {
        let s = &db.store;
        let now = Utc::now();
        let units = create_test_units(s, now).await.unwrap();
        let key_of = |id: &str| {
            units
                .iter()
                .find(|(row, _)| row.id.as_str() == id)
                .map(|(_, k)| k.clone())
                .unwrap()
        };
        let county = UnitId::parse("gd-gz-tianhe").unwrap();
        let county_key = key_of("gd-gz-tianhe");
        let mut members = Vec::new();
        for who in ["a@tianhe.test", "b@tianhe.test"] {
            let m = create_staff(
                s,
                &county,
                &county_key,
                who,
                sunlight_core::Role::Verifier,
                StretchParams::TEST,
                "t",
                now,
            )
            .await
            .unwrap();
            members.push(m.staff);
        }
        // As an older version wrote them: a's secret sealed to the unit
        // key without a tag, and its recovery codes' bare hashes; b's
        // "secret" sealed to some other key, which no unit key opens.
        let legacy = |email: &str, to: &sunlight_core::crypto::UnitPublicKey| {
            let item = totp_context(email);
            seal(
                b"LEGACYSECRET",
                &SealContext {
                    case_id: no_case(),
                    item: &item,
                },
                std::slice::from_ref(to),
            )
            .unwrap()
        };
        let stranger = UnitKeyPair::generate(Suite::Modern).unwrap();
        for (email, sealed) in [
            (
                "a@tianhe.test",
                legacy("a@tianhe.test", &county_key.public()),
            ),
            ("b@tianhe.test", legacy("b@tianhe.test", &stranger.public)),
        ] {
            execute(
                s,
                &format!(
                    "UPDATE staff SET totp_sealed = {}, recovery_codes = {} WHERE email = '{email}'",
                    blob_literal(db.engine, &sealed),
                    blob_literal(db.engine, &[5u8; 64]),
                ),
            )
            .await
            .unwrap();
        }
        // A staff message of an older version, on a case of the county.
        let case = new_case("gd-gz-tianhe", false, 1);
        s.insert_case(case.clone()).await.unwrap();
        let mid = uuid::Uuid::now_v7();
        let item = sunlight_core::report::item::message(mid);
        let ctx = SealContext {
            case_id: case.id,
            item: &item,
        };
        let old_message = seal(b"{}", &ctx, &[county_key.public()]).unwrap();
        s.add_message_with(
            case.id,
            mid,
            Some(members[0].id),
            old_message,
            Vec::new(),
            now,
        )
        .await
        .unwrap();

        let staff_row =
            |email: &'static str| async move { s.staff_by_email(email).await.unwrap().unwrap() };
        let a = staff_row("a@tianhe.test").await;
        assert_eq!(
            open_totp(
                a.totp_sealed.as_ref().unwrap(),
                &a.email,
                &county,
                &county_key
            )
            .unwrap_err(),
            CryptoError::Forged,
            "{:?}: an untagged secret signs nobody in before reauthentication",
            db.engine
        );

        // The operator holds the province's recovery key: its key reaches
        // every unit below.
        // The city's operator runs it for the city and the county below.
        let done = reauthenticate(
            s,
            &UnitId::parse("gd-gz").unwrap(),
            &key_of("gd-gz"),
            false,
            "t",
            now,
        )
        .await
        .unwrap();
        assert_eq!(done.units, 2, "{:?}", db.engine);
        assert_eq!(done.second_factors, 1, "{:?}: a's secret", db.engine);
        assert_eq!(
            done.recovery_codes, 1,
            "{:?}: b's list stays untagged",
            db.engine
        );
        assert_eq!(done.messages, 1, "{:?}", db.engine);
        assert_eq!(
            done.left, 2,
            "{:?}: b's secret opens with no unit key, so its codes are not vouched for",
            db.engine
        );

        let a = staff_row("a@tianhe.test").await;
        assert_eq!(
            open_totp(
                a.totp_sealed.as_ref().unwrap(),
                &a.email,
                &county,
                &county_key
            )
            .unwrap()
            .as_slice(),
            b"LEGACYSECRET"
        );
        assert_eq!(
            recovery_hashes(&a.recovery_codes, &a.email, &county_key).unwrap(),
            &[5u8; 64]
        );
        let b = staff_row("b@tianhe.test").await;
        assert!(
            open_totp(
                b.totp_sealed.as_ref().unwrap(),
                &b.email,
                &county,
                &county_key
            )
            .is_err()
        );
        let stored = s.messages(case.id).await.unwrap();
        let Sealed::Authenticated(t) = Sealed::parse(&stored[0].sealed_body).unwrap() else {
            panic!("{:?}: the message is not tagged", db.engine)
        };
        assert_eq!(t.signer, "gd-gz-tianhe");
        assert_eq!(
            t.verify(&ctx, members[0].id.as_bytes(), &county_key)
                .unwrap(),
            sunlight_core::crypto::TagBy::Current
        );

        // A second run is refused: it would vouch for whatever was
        // written since. Forced, it finds nothing left to tag but what
        // cannot be.
        assert!(
            reauthenticate(
                s,
                &UnitId::parse("gd").unwrap(),
                &key_of("gd"),
                false,
                "t",
                now
            )
            .await
            .is_err()
        );
        // A sibling city's own first run is not one.
        assert!(
            reauthenticate(
                s,
                &UnitId::parse("gd-sz").unwrap(),
                &key_of("gd-sz"),
                false,
                "t",
                now
            )
            .await
            .is_ok()
        );
        let again = reauthenticate(
            s,
            &UnitId::parse("gd").unwrap(),
            &key_of("gd"),
            true,
            "t",
            now,
        )
        .await
        .unwrap();
        assert_eq!(
            (
                again.second_factors,
                again.recovery_codes,
                again.messages,
                again.left
            ),
            (0, 0, 0, 2),
            "{:?}",
            db.engine
        );
    }
}
