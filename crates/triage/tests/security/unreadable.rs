//! Sealed material that does not open although it is addressed to the
//! unit (#24: "a wrongly labelled envelope answers 500"): a report and a
//! file sealed under another item's label, as a faulty browser or a
//! database writer could store them, spoil only themselves. The case page,
//! the API and the export still answer, saying which part does not open;
//! the file's download is a clear 409 (`conflict`, saying why), never a
//! 500. On SQLite and
//! PostgreSQL.

use sunlight_core::crypto::{SealContext, seal};
use sunlight_core::report::{encode_padded, item};
use sunlight_core::{CaseId, UnitId};
use sunlight_testkit::{blob_literal, execute, uuid_literal};

use crate::common::{ENGINES, Harness, email};

const UNIT: &str = "gd-gz-tianhe";

/// Files a report with one file at the desk; the case id.
async fn filed_with_a_file(h: &Harness) -> String {
    let desk = h.sign_in_page(&email("intake", UNIT)).await;
    let fields = [
        ("channel", "phone"),
        ("unit", UNIT),
        ("category", "office_trading"),
        ("accused_name", "钱某"),
        ("accused_position", ""),
        ("accused_role", "ordinary"),
        ("selection_stage", "none"),
        ("narrative", "来电反映，附录音。"),
    ];
    let files = [("call.wav", b"RIFF....WAVE a recording".to_vec())];
    let a = desk
        .post_multipart("/intake?lang=en", &fields, &files)
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    a.body
        .split("href=\"/cases/")
        .nth(1)
        .unwrap()
        .split(['?', '"'])
        .next()
        .unwrap()
        .to_owned()
}

/// `plain` sealed to the unit's key under `label`: a well-formed envelope
/// that opens for the unit, but not as what its column holds.
async fn mislabelled(h: &Harness, case: CaseId, label: &[u8], plain: &[u8]) -> Vec<u8> {
    let unit =
        h.db.store
            .unit(&UnitId::parse(UNIT).unwrap())
            .await
            .unwrap()
            .unwrap();
    seal(
        plain,
        &SealContext {
            case_id: case,
            item: label,
        },
        &[unit.public_key],
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_or_file_that_does_not_open_spoils_only_itself() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let id = filed_with_a_file(&h).await;
        let case = CaseId::parse(&id).unwrap();
        let verifier = h.sign_in(&email("verifier", UNIT)).await;
        let (s, v) = verifier.get(&format!("/api/v1/cases/{id}")).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["report"]["unreadable"], false, "{v}");
        let file = v["attachments"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(v["attachments"][0]["unreadable"], false);
        let download = format!("/api/v1/cases/{id}/attachments/{file}");
        assert!(
            !verifier.get_bytes(&download).await.is_empty(),
            "the control"
        );

        // The report and the file's description, each sealed under a
        // message's label and written over the stored ones.
        let other = item::message(uuid::Uuid::new_v4());
        let report = mislabelled(&h, case, &other, &encode_padded(&"x").unwrap()).await;
        let meta = mislabelled(&h, case, &other, &encode_padded(&"y").unwrap()).await;
        let case_lit = uuid_literal(engine, case.as_uuid());
        for sql in [
            format!(
                "UPDATE cases SET sealed_report = {} WHERE id = {case_lit}",
                blob_literal(engine, &report)
            ),
            format!(
                "UPDATE attachments SET sealed_meta = {} WHERE case_id = {case_lit}",
                blob_literal(engine, &meta)
            ),
        ] {
            assert_eq!(execute(&h.db.store, &sql).await.unwrap(), 1, "{sql}");
        }

        let (s, v) = verifier.get(&format!("/api/v1/cases/{id}")).await;
        assert_eq!(s, 200, "{engine:?}: {v}");
        assert_eq!(v["report"]["unreadable"], true, "{v}");
        assert_eq!(v["report"]["narrative"], "", "{v}");
        assert_eq!(v["attachments"][0]["unreadable"], true, "{v}");
        assert_eq!(v["attachments"][0]["file_name"], "", "{v}");
        let (s, body) = verifier.get(&download).await;
        assert_eq!(s, 409, "{engine:?}: {body}");
        let said = body["error"]["message"].as_str().unwrap();
        assert!(
            said.contains("cannot be opened with the unit's key"),
            "{body}"
        );

        let page = h.sign_in_page(&email("verifier", UNIT)).await;
        let a = page.get(&format!("/cases/{id}?lang=en")).await;
        assert_eq!(a.status, 200, "{engine:?}: {}", a.body);
        assert!(a.body.contains("id=\"report-unreadable\""), "{}", a.body);
        assert!(a.body.contains("<li class=\"unreadable\">"), "{}", a.body);
        assert!(
            !a.body.contains(&download),
            "no link to a file that does not open"
        );
        let supervisor = h.sign_in_page(&email("supervisor", UNIT)).await;
        let export = supervisor
            .get(&format!("/cases/{id}/export.zip?lang=en"))
            .await;
        assert_eq!(export.status, 200, "{engine:?}: the export answers");
        h.stop().await;
    }
}
