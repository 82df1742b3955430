//! Sealed material that does not open although it is addressed to the
//! unit (#24: "a wrongly labelled envelope answers 500"): a report that
//! opens but holds no report, a file description sealed under another
//! item's label, a file whose chunk is garbage — as a faulty browser or a
//! database writer could store them — spoil only themselves. The case
//! page, the API and the export still answer and say which part does not
//! open; a file's download is a clear 409 (`conflict`, saying why), never
//! a 500. A case whose report is not sealed to the unit at all (its unit
//! changed in the database) shows that unit none of its content, and the
//! refusal is audited. On SQLite and PostgreSQL.

use sunlight_core::crypto::{SealContext, seal};
use sunlight_core::report::{encode_padded, item};
use sunlight_core::{CaseId, UnitId};
use sunlight_testkit::{blob_literal, execute, uuid_literal};

use crate::common::{ENGINES, Harness, email};
use crate::export::{download, unzip};

const UNIT: &str = "gd-gz-tianhe";

/// Files a report with two files at the desk; the case id.
async fn filed_with_files(h: &Harness) -> String {
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
    let files = [
        ("call.wav", b"RIFF....WAVE a recording".to_vec()),
        ("scan.pdf", vec![7u8; 150_000]),
    ];
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
/// that opens for the unit.
async fn sealed_to_unit(h: &Harness, case: CaseId, label: &[u8], plain: &[u8]) -> Vec<u8> {
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
        let id = filed_with_files(&h).await;
        let case = CaseId::parse(&id).unwrap();
        let verifier = h.sign_in(&email("verifier", UNIT)).await;
        let (s, v) = verifier.get(&format!("/api/v1/cases/{id}")).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["report"]["unreadable"], false, "{v}");
        let files = v["attachments"].as_array().unwrap().clone();
        let id_of = |name: &str| {
            let f = files.iter().find(|f| f["file_name"] == name).unwrap();
            assert_eq!(f["unreadable"], false);
            f["id"].as_str().unwrap().to_owned()
        };
        let (wav, pdf) = (id_of("call.wav"), id_of("scan.pdf"));
        let download_wav = format!("/api/v1/cases/{id}/attachments/{wav}");
        assert!(
            !verifier.get_bytes(&download_wav).await.is_empty(),
            "the control"
        );

        // The report: sealed under its own label, but no report inside.
        // The wav's description: sealed under a message's label. The
        // pdf's first chunk: garbage of its length.
        let report = sealed_to_unit(&h, case, item::REPORT, &encode_padded(&"x").unwrap()).await;
        let other = item::message(uuid::Uuid::new_v4());
        let meta = sealed_to_unit(&h, case, &other, &encode_padded(&"y").unwrap()).await;
        let (case_lit, wav_lit, pdf_lit) = (
            uuid_literal(engine, case.as_uuid()),
            uuid_literal(engine, wav.parse().unwrap()),
            uuid_literal(engine, pdf.parse().unwrap()),
        );
        let garbage = blob_literal(engine, &vec![9u8; 65_536 + 16]);
        for sql in [
            format!(
                "UPDATE cases SET sealed_report = {} WHERE id = {case_lit}",
                blob_literal(engine, &report)
            ),
            format!(
                "UPDATE attachments SET sealed_meta = {} WHERE id = {wav_lit}",
                blob_literal(engine, &meta)
            ),
            format!(
                "UPDATE attachment_chunks SET data = {garbage} WHERE attachment_id = {pdf_lit} AND seq = 0"
            ),
        ] {
            assert_eq!(execute(&h.db.store, &sql).await.unwrap(), 1, "{sql}");
        }

        let (s, v) = verifier.get(&format!("/api/v1/cases/{id}")).await;
        assert_eq!(s, 200, "{engine:?}: {v}");
        assert_eq!(v["report"]["unreadable"], true, "{v}");
        assert_eq!(v["report"]["narrative"], "", "{v}");
        let wav_out = v["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == wav)
            .unwrap()
            .clone();
        assert_eq!(
            (&wav_out["unreadable"], &wav_out["file_name"]),
            (&true.into(), &"".into()),
            "{v}"
        );
        let (s, body) = verifier.get(&download_wav).await;
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
            !a.body.contains(&download_wav),
            "no link to a file that does not open"
        );

        // The export: the report and the wav said to be unreadable, the
        // pdf cut where it stopped opening, and named so.
        let supervisor = h.sign_in_page(&email("supervisor", UNIT)).await;
        let (s, zip, _) = download(&supervisor, &format!("/cases/{id}/export.zip?lang=en")).await;
        assert_eq!(s, 200, "{engine:?}");
        let entries = unzip(&zip);
        let text = |name: &str| {
            let (_, bytes) = entries.iter().find(|(n, _)| n == name).unwrap();
            String::from_utf8(bytes.clone()).unwrap()
        };
        let report_txt = text("report.txt");
        assert!(
            report_txt.contains("This report cannot be opened"),
            "{report_txt}"
        );
        assert!(
            report_txt.contains("Not in this export: 1 file(s)"),
            "{report_txt}"
        );
        assert!(
            !entries.iter().any(|(n, _)| n.ends_with("call.wav")),
            "the wav is left out"
        );
        let pdf_entry = entries
            .iter()
            .find(|(n, _)| n.ends_with("scan.pdf"))
            .unwrap();
        assert!(pdf_entry.1.is_empty(), "nothing of the pdf opened");
        assert!(
            text("damaged.txt").contains(&pdf_entry.0),
            "{}",
            text("damaged.txt")
        );
        assert!(text("manifest.sha256").contains("damaged.txt"));
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_moved_to_a_unit_its_report_is_not_sealed_to_shows_that_unit_no_content() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let other = h.sign_in(&email("intake", "gd-sz")).await;
        let (_, id) = other.file("gd-sz", "ordinary", "none", "深圳的举报").await;
        let verifier = h.sign_in(&email("verifier", UNIT)).await;
        assert_eq!(
            verifier.get(&format!("/api/v1/cases/{id}")).await.0,
            404,
            "the control"
        );
        let case = CaseId::parse(&id).unwrap();
        let sql = format!(
            "UPDATE cases SET unit_id = '{UNIT}', addressed_unit_id = '{UNIT}' WHERE id = {}",
            uuid_literal(engine, case.as_uuid())
        );
        assert_eq!(execute(&h.db.store, &sql).await.unwrap(), 1);
        let (s, v) = verifier.get(&format!("/api/v1/cases/{id}")).await;
        assert_eq!(s, 409, "{engine:?}: {v}");
        let said = v["error"]["message"].as_str().unwrap();
        assert!(said.contains("not sealed to your unit"), "{v}");
        assert!(!v.to_string().contains("深圳"), "{v}");
        assert_eq!(
            sunlight_testkit::count_audit(&h.db.store, "case.not_sealed_to_unit")
                .await
                .unwrap(),
            1,
            "{engine:?}: the refusal is audited"
        );
        // Bytes that are no envelope at all are damage, not another
        // unit's report: shown as unreadable.
        let sql = format!(
            "UPDATE cases SET sealed_report = {} WHERE id = {}",
            blob_literal(engine, &[0xA5; 64]),
            uuid_literal(engine, case.as_uuid())
        );
        assert_eq!(execute(&h.db.store, &sql).await.unwrap(), 1);
        let (s, v) = verifier.get(&format!("/api/v1/cases/{id}")).await;
        assert_eq!(
            (s, &v["report"]["unreadable"]),
            (200, &true.into()),
            "{engine:?}: {v}"
        );
        h.stop().await;
    }
}
