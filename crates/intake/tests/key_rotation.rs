//! A unit's key replaced (a member left) while the server is filing what
//! it sealed: a report or message without files is sealed again to the
//! new key, one with files is refused and nothing stored; never is either
//! stored sealed to the retired key. The page without JavaScript and the
//! JSON API take this path, in both cipher suites.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use chrono::Utc;
use sunlight_core::crypto::{UnitKeyPair, UnitPublicKey, addressed_to};
use sunlight_core::report::{Limits, ReportDraft};
use sunlight_core::{Channel, policy::Policy};
use sunlight_filing::{Filing, FilingError};
use sunlight_store::{Clash, NewAttachment, StoreError};
use sunlight_testkit::{blob_literal, query_text, suite_under_test};

use crate::common::{ENGINES, Harness};

const UNIT: &str = "gd-gz-tianhe";

fn draft() -> ReportDraft {
    ReportDraft {
        unit: UNIT.into(),
        category: "canvassing_bribery".into(),
        accused_name: "赵六".into(),
        accused_position: "镇长".into(),
        accused_role: "ordinary".into(),
        selection_stage: "recommendation".into(),
        narrative: "换届前夜送红包".into(),
        real_name: false,
        reporter_name: String::new(),
        reporter_phone: String::new(),
    }
}

/// What the rotation writes that filing reads: a new public key and the
/// next generation (the rest of a rotation is the key holders' business).
async fn rotate(h: &Harness) -> UnitPublicKey {
    let engine = h.db.engine;
    let new_key = UnitKeyPair::generate(suite_under_test()).unwrap().public;
    h.db.raw(&format!(
        "UPDATE units SET public_key = {}, key_generation = key_generation + 1 WHERE id = '{UNIT}'",
        blob_literal(engine, new_key.as_bytes())
    ))
    .await
    .unwrap();
    new_key
}

async fn cases(h: &Harness) -> String {
    query_text(&h.db.store, "SELECT COUNT(*) FROM cases")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_server_sealed_before_a_rotation_is_sealed_again_or_refused_never_stored_to_the_old_key()
 {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let filing = Filing::new(
            h.db.store.clone(),
            h.stretcher.clone(),
            Policy::cn_12380(),
            sunlight_core::calendar::Calendar::cn(),
            Limits::default(),
            1,
            sunlight_intake::Metrics::default(),
        );
        let first_key = h.key(UNIT).public();
        let report = filing
            .validate(&draft(), Channel::Web)
            .await
            .unwrap()
            .unwrap();

        // Prepared (keys read), then the key replaced, then filed: sealed
        // again to the new key.
        let prepared = filing.prepare(&report, Utc::now()).await.unwrap();
        let second_key = rotate(&h).await;
        let (code, _) = filing
            .file(prepared, report.clone(), Vec::new())
            .await
            .unwrap();
        let case = h.case_of(&code).await;
        assert!(
            addressed_to(&case.sealed_report, &second_key),
            "{engine:?}: not sealed to the new key"
        );
        assert!(
            !addressed_to(&case.sealed_report, &first_key),
            "{engine:?}: stored sealed to the retired key"
        );

        // With a file, sealed as it streamed in: refused, nothing stored.
        let prepared = filing.prepare(&report, Utc::now()).await.unwrap();
        let third_key = rotate(&h).await;
        let file = || NewAttachment {
            id: uuid::Uuid::new_v4(),
            sealed_meta: vec![1; 64],
            stream_header: vec![2; 64],
            sealed_chunks: Box::new(std::io::Cursor::new(vec![3; 64])),
        };
        let refused = filing.file(prepared, report.clone(), vec![file()]).await;
        assert!(
            matches!(
                refused,
                Err(FilingError::Store(StoreError::Conflict(Clash::KeyChanged)))
            ),
            "{engine:?}: {refused:?}"
        );
        assert_eq!(cases(&h).await, "1", "{engine:?}");
        // Sent again at once: that refusal dropped the copy of the units
        // the report was addressed from (at most a second old), so this
        // one is sealed to the key that replaced it.
        let prepared = filing.prepare(&report, Utc::now()).await.unwrap();
        let (again, _) = filing
            .file(prepared, report.clone(), vec![file()])
            .await
            .unwrap();
        let case = h.case_of(&again).await;
        assert!(
            addressed_to(&case.sealed_report, &third_key),
            "{engine:?}: sent again, still sealed to the replaced key"
        );

        // A follow-up: the status read (keys with it), the key replaced,
        // the message sealed again to the new key.
        let (found, _) = filing.find(&code).await.unwrap();
        let fourth_key = rotate(&h).await;
        let id = filing.message_id(Utc::now());
        filing
            .add_message(&found, id, "又想起一件事", Vec::new(), Utc::now())
            .await
            .unwrap();
        let (_, view) = filing.find(&code).await.unwrap();
        let sealed = &view.messages.last().unwrap().sealed_body;
        assert!(addressed_to(sealed, &fourth_key), "{engine:?}");
        assert!(!addressed_to(sealed, &second_key), "{engine:?}");
        h.stop().await;
    }
}
