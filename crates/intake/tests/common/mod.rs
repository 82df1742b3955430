//! A running intake app on port 0 over a fresh database, with a small unit
//! tree whose private keys the test keeps (playing the staff side).

#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

use std::collections::HashMap;
use std::net::TcpListener;

use chrono::Utc;
use sunlight_core::calendar::Calendar;
use sunlight_core::crypto::{
    CodeStretcher, DeploymentSecrets, SealContext, StretchParams, UnitSecretKey, open,
};
use sunlight_core::policy::Policy;
use sunlight_core::report::{ReportContent, decode_padded, item};
use sunlight_core::{CaseId, TrackingCode};
use sunlight_intake::{Application, IntakeParts, IntakeSettings};
use sunlight_testkit::{Engine, Running, TestDb, create_test_units, query_text};

pub use sunlight_testkit::{ENGINES, UNITS};

pub struct Harness {
    pub db: TestDb,
    pub base: String,
    pub client: reqwest::Client,
    pub keys: HashMap<&'static str, UnitSecretKey>,
    pub stretcher: CodeStretcher,
    pub spool: tempfile::TempDir,
    app: Running,
}

impl Harness {
    pub async fn start(engine: Engine) -> Self {
        Self::start_with(engine, IntakeSettings::default()).await
    }

    pub async fn start_with(engine: Engine, mut settings: IntakeSettings) -> Self {
        let db = TestDb::new(engine).await.unwrap();
        let units = create_test_units(&db.store, Utc::now()).await.unwrap();
        let keys = UNITS
            .iter()
            .zip(units)
            .map(|((id, ..), (_, secret))| (*id, secret))
            .collect();
        let stretcher =
            CodeStretcher::new(DeploymentSecrets::generate().unwrap(), StretchParams::TEST)
                .with_suite(sunlight_testkit::suite_under_test());
        if settings.workers == 0 {
            settings.workers = 2;
        }
        let spool = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let app = Application::build(
            IntakeParts {
                store: db.store.clone(),
                stretcher: stretcher.clone(),
                policy: Policy::cn_12380(),
                calendar: Calendar::cn(),
                settings,
                spool_dir: spool.path().to_owned(),
                metrics: sunlight_intake::Metrics::default(),
            },
            listener,
        )
        .unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let app = Running::spawn(|stopped| {
            app.run_until_stopped(async move {
                let _stopped = stopped.await;
            })
        });
        Self {
            db,
            base,
            client: reqwest::Client::new(),
            keys,
            stretcher,
            spool,
            app,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn key(&self, unit: &str) -> &UnitSecretKey {
        self.keys.get(unit).unwrap()
    }

    pub async fn stop(mut self) {
        self.app.stop().await.unwrap();
    }

    /// Files a report through the JSON API; returns the code.
    pub async fn file_json(&self, body: serde_json::Value) -> TrackingCode {
        let res = self
            .client
            .post(self.url("/api/v1/reports"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let v: serde_json::Value = res.json().await.unwrap();
        TrackingCode::parse(v["tracking_code"].as_str().unwrap()).unwrap()
    }

    /// The case behind a code: (id, unit, addressed unit, sealed report).
    pub async fn case_of(&self, code: &TrackingCode) -> sunlight_store::CaseRow {
        let stretched = self.stretcher.stretch(code).unwrap();
        self.db
            .store
            .case_by_lookup_key(&stretched.lookup_key)
            .await
            .unwrap()
            .unwrap()
    }

    /// Opens a case's report with a unit's key, as staff would.
    pub fn open_report(
        &self,
        case: &sunlight_store::CaseRow,
        unit: &str,
    ) -> Result<ReportContent, sunlight_core::crypto::CryptoError> {
        let plain = open(
            &case.sealed_report,
            &SealContext {
                case_id: case.id,
                item: item::REPORT,
            },
            self.key(unit),
        )?;
        Ok(decode_padded(&plain).unwrap())
    }

    /// The plain bytes of a stored attachment, opened chunk by chunk with
    /// `unit`'s key.
    pub async fn open_attachment(
        &self,
        case: &sunlight_store::CaseRow,
        a: &sunlight_store::AttachmentRow,
        unit: &str,
    ) -> Vec<u8> {
        use sunlight_core::crypto::{AttachmentOpener, SEALED_CHUNK_SIZE};
        let ctx_item = item::attachment(a.id);
        let ctx = SealContext {
            case_id: case.id,
            item: &ctx_item,
        };
        let mut opener = AttachmentOpener::start(&a.stream_header, &ctx, self.key(unit)).unwrap();
        let mut back = Vec::new();
        for seq in 0..a.chunk_count {
            let chunk = self.db.store.attachment_chunk(a.id, seq).await.unwrap();
            if seq + 1 == a.chunk_count {
                back.extend(opener.finish(&chunk).unwrap());
                break;
            }
            assert_eq!(chunk.len(), SEALED_CHUNK_SIZE);
            back.extend(opener.open_chunk(&chunk).unwrap());
        }
        back
    }

    /// Row counts of every table a request could write.
    pub async fn row_counts(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for table in [
            "cases",
            "messages",
            "attachments",
            "attachment_chunks",
            "queue_entries",
            "transitions",
            "audit_log",
            "outbox",
        ] {
            let n = query_text(&self.db.store, &format!("SELECT COUNT(*) FROM {table}"))
                .await
                .unwrap();
            out.push((table.to_owned(), n));
        }
        out
    }
}

pub fn case_id(case: &sunlight_store::CaseRow) -> CaseId {
    case.id
}

/// A complete, valid report (JSON API shape).
pub fn report_json(unit: &str, role: &str, narrative: &str) -> serde_json::Value {
    serde_json::json!({
        "unit": unit,
        "category": "office_trading",
        "accused": {"name": "王五", "position": "副局长", "role": role},
        "selection_stage": "inspection",
        "narrative": narrative,
        "real_name": false,
        "reporter": {"name": "", "phone": ""}
    })
}

/// A complete, valid report (form fields).
pub fn report_form(unit: &str, narrative: &str) -> Vec<(&'static str, String)> {
    vec![
        ("unit", unit.to_owned()),
        ("category", "canvassing_bribery".to_owned()),
        ("accused_name", "赵六".to_owned()),
        ("accused_position", "镇长".to_owned()),
        ("accused_role", "ordinary".to_owned()),
        ("selection_stage", "recommendation".to_owned()),
        ("narrative", narrative.to_owned()),
        ("reporter_name", String::new()),
        ("reporter_phone", String::new()),
    ]
}

/// The text of the element with `id="tracking-code"`.
pub fn code_in_page(html: &str) -> TrackingCode {
    let start = html.find("id=\"tracking-code\"").unwrap();
    let rest = &html[start..];
    let open_end = rest.find('>').unwrap();
    let close = rest.find("</").unwrap();
    TrackingCode::parse(&rest[open_end + 1..close]).unwrap()
}
