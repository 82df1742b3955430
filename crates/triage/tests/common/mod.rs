//! A running triage app on port 0 over a fresh database with a unit tree
//! (gd → gd-gz → gd-gz-tianhe, and gd-sz) and one staff member of each role
//! per unit, signed in over HTTP like a browser would.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

use std::collections::HashMap;
use std::net::TcpListener;

use chrono::Utc;
use sunlight_casework::MailStyle;
use sunlight_core::calendar::Calendar;
use sunlight_core::crypto::{CodeStretcher, DeploymentSecrets, StretchParams, UnitSecretKey};
use sunlight_core::policy::Policy;
use sunlight_core::{Role, UnitId};
use sunlight_store::provision::{NewStaffSecrets, create_staff};
use sunlight_testkit::{Engine, Running, TestDb, create_test_units};
use sunlight_triage::{Application, TriageParts, TriageSettings};
mod receipt;
mod totp;
pub use totp::{totp_at_step, totp_now};

pub use sunlight_testkit::{ENGINES, UNITS};

pub struct Login {
    pub email: String,
    pub password: String,
    pub totp: Option<String>,
}

pub struct Harness {
    pub db: TestDb,
    pub base: String,
    pub keys: HashMap<&'static str, UnitSecretKey>,
    pub logins: HashMap<String, Login>,
    pub stretcher: CodeStretcher,
    /// The last TOTP step each member signed in with: the app accepts a
    /// step once, so a second sign-in in the same 30 s uses the next one.
    totp_steps: std::sync::Mutex<HashMap<String, u64>>,
    app: Running,
}

/// A signed-in staff member's HTTP client.
pub struct StaffClient {
    pub client: reqwest::Client,
    /// The session cookie as `name=value`, to replay it from elsewhere.
    pub cookie: String,
    pub csrf: String,
    pub base: String,
    pub staff_id: String,
}

pub fn email(role: &str, unit: &str) -> String {
    format!("{role}@{unit}.test")
}

/// What a test's triage process is built from.
fn parts(db: &TestDb, stretcher: &CodeStretcher) -> TriageParts {
    TriageParts {
        store: db.store.clone(),
        stretcher: stretcher.clone(),
        policy: Policy::cn_12380(),
        calendar: Calendar::cn(),
        settings: TriageSettings {
            workers: 2,
            route_every_seconds: 1,
            // Tests drive the sweeper on a virtual clock.
            sweep_every_seconds: 0,
            // Every failed sign-in answers after this; tests fail many.
            sign_in_floor_ms: 50,
            ..TriageSettings::default()
        },
        mail: MailStyle {
            lang: sunlight_core::i18n::Lang::En,
            link_base: "http://127.0.0.1".into(),
        },
        // Tests refresh statistics themselves.
        stats: sunlight_casework::StatsSettings {
            refresh_minutes: 0,
            ..Default::default()
        },
        onion: None,
        metrics: sunlight_triage::Metrics::default(),
        spool_dir: std::env::temp_dir(),
    }
}

impl Harness {
    fn parts(&self) -> TriageParts {
        parts(&self.db, &self.stretcher)
    }

    /// Lets `email` (and its `#new` secret) use TOTP codes again, for tests
    /// whose subject is not replay: the server and the helper forget which
    /// steps were spent.
    pub async fn forget_totp_steps(&self, email: &str) {
        sunlight_testkit::execute(
            &self.db.store,
            &format!("UPDATE staff SET totp_last_step = NULL WHERE email = '{email}'"),
        )
        .await
        .unwrap();
        let mut used = self.totp_steps.lock().unwrap();
        used.remove(email);
        used.remove(&format!("{email}#new"));
    }

    /// A code `email` has not signed in with yet: the current step's, or
    /// the next step's (accepted as one step of clock drift) when the
    /// current one was used; waits for a new step only after that.
    pub async fn fresh_totp(&self, email: &str, secret: &str) -> String {
        loop {
            let now = u64::try_from(Utc::now().timestamp()).unwrap() / 30;
            let step = {
                let mut used = self.totp_steps.lock().unwrap();
                let step = used.get(email).map_or(now, |last| now.max(last + 1));
                if step <= now + 1 {
                    used.insert(email.to_owned(), step);
                    Some(step)
                } else {
                    None
                }
            };
            match step {
                Some(step) => return totp_at_step(secret, step),
                None => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
            }
        }
    }

    pub async fn start(engine: Engine) -> Self {
        let db = TestDb::new(engine).await.unwrap();
        let mut keys = HashMap::new();
        let mut logins = HashMap::new();
        let now = Utc::now();
        let units = create_test_units(&db.store, now).await.unwrap();
        for ((id, ..), (row, secret)) in UNITS.iter().zip(units) {
            let id = *id;
            for role in [Role::Intake, Role::Verifier, Role::Supervisor, Role::Admin] {
                let e = email(role.as_str(), id);
                let NewStaffSecrets {
                    staff,
                    password,
                    totp,
                    ..
                } = create_staff(
                    &db.store,
                    &row.id,
                    &secret,
                    &e,
                    role,
                    StretchParams::TEST,
                    "test",
                    now,
                )
                .await
                .unwrap();
                // Test logins keep their first password (like `sunlight demo`).
                db.store.keep_first_password(staff.id).await.unwrap();
                logins.insert(
                    e.clone(),
                    Login {
                        email: e,
                        password: password.to_string(),
                        totp: totp.map(|t| t.to_string()),
                    },
                );
            }
            keys.insert(id, secret);
        }
        let stretcher =
            CodeStretcher::new(DeploymentSecrets::generate().unwrap(), StretchParams::TEST)
                .with_suite(sunlight_testkit::suite_under_test());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let app = Application::build(parts(&db, &stretcher), listener).unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let app = Running::spawn(|stopped| {
            app.run_until_stopped(async move {
                let _stopped = stopped.await;
            })
        });
        Self {
            db,
            base,
            keys,
            logins,
            stretcher,
            totp_steps: std::sync::Mutex::new(HashMap::new()),
            app,
        }
    }

    /// Starts another triage process on the same database (as a second
    /// replica would be); returns its base URL and what stops it.
    pub async fn another_process(&self) -> (String, tokio::sync::oneshot::Sender<()>) {
        self.process_on("127.0.0.1:0", None).await
    }

    /// Another triage process listening on `bind` (say `0.0.0.0:0`, which
    /// is not loopback-only) with `[triage] secure_cookies` as given; the
    /// URL it returns reaches it over loopback.
    pub async fn process_on(
        &self,
        bind: &str,
        secure_cookies: Option<bool>,
    ) -> (String, tokio::sync::oneshot::Sender<()>) {
        self.process_with(bind, |s| s.secure_cookies = secure_cookies)
            .await
    }

    /// Another triage process on `bind` with its settings changed by `set`.
    pub async fn process_with(
        &self,
        bind: &str,
        set: impl FnOnce(&mut TriageSettings),
    ) -> (String, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind(bind).unwrap();
        let mut parts = self.parts();
        set(&mut parts.settings);
        let app = Application::build(parts, listener).unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async move {
            let _stopped = rx.await;
        }));
        (base, tx)
    }

    /// Adds a second member of `role` to `unit` (for re-check by another).
    pub async fn add_staff(&mut self, unit: &'static str, role: Role, name: &str) -> String {
        let e = format!("{name}@{unit}.test");
        let s = create_staff(
            &self.db.store,
            &UnitId::parse(unit).unwrap(),
            self.keys.get(unit).unwrap(),
            &e,
            role,
            StretchParams::TEST,
            "test",
            Utc::now(),
        )
        .await
        .unwrap();
        self.db.store.keep_first_password(s.staff.id).await.unwrap();
        self.logins.insert(
            e.clone(),
            Login {
                email: e.clone(),
                password: s.password.to_string(),
                totp: s.totp.map(|t| t.to_string()),
            },
        );
        e
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn sign_in(&self, email: &str) -> StaffClient {
        self.sign_in_at(&self.base.clone(), email).await
    }

    /// Signs in to the triage process at `base` (another process on the
    /// same database, in tests that start one).
    pub async fn sign_in_at(&self, base: &str, email: &str) -> StaffClient {
        let login = self.logins.get(email).unwrap();
        let totp = match login.totp.as_deref() {
            Some(secret) => Some(self.fresh_totp(email, secret).await),
            None => None,
        };
        // The API answers in the caller's language; these tests read English.
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("Accept-Language", "en".parse().unwrap());
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .build()
            .unwrap();
        let res = client
            .post(format!("{base}/api/v1/session"))
            .json(&serde_json::json!({
                "email": login.email,
                "password": login.password,
                "totp": totp,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "sign-in of {email}");
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        let v: serde_json::Value = res.json().await.unwrap();
        StaffClient {
            client,
            cookie: cookie.split(';').next().unwrap().to_owned(),
            csrf: v["csrf_token"].as_str().unwrap().to_owned(),
            base: base.to_owned(),
            staff_id: v["staff_id"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn stop(mut self) {
        self.app.stop().await.unwrap();
    }
}

impl StaffClient {
    /// The body of a 200 answer as bytes (a download).
    pub async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        res.bytes().await.unwrap().to_vec()
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn act(&self, case: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.post(&format!("/api/v1/cases/{case}/transitions"), body)
            .await
    }

    pub async fn claim(&self, case: &str) -> u16 {
        self.post(
            &format!("/api/v1/cases/{case}/claim"),
            serde_json::json!({}),
        )
        .await
        .0
    }

    /// Files a phone report and accepts it (受理) into verification, as
    /// the intake officer; returns (code, case id).
    pub async fn file(
        &self,
        unit: &str,
        role: &str,
        stage: &str,
        narrative: &str,
    ) -> (String, String) {
        let (code, id) = self.file_unaccepted(unit, role, stage, narrative).await;
        let (status, v) = self.act(&id, serde_json::json!({"action": "accept"})).await;
        // 404: a key-person report went up; that unit's desk decides.
        assert!(status == 200 || status == 404, "{v}");
        (code, id)
    }

    /// Files a phone report, left in the acceptance step; (code, case id).
    pub async fn file_unaccepted(
        &self,
        unit: &str,
        role: &str,
        stage: &str,
        narrative: &str,
    ) -> (String, String) {
        let (status, v) = self
            .post(
                "/api/v1/intake",
                serde_json::json!({
                    "unit": unit,
                    "category": "canvassing_bribery",
                    "accused": {"name": "李某", "position": "副县长", "role": role},
                    "selection_stage": stage,
                    "narrative": narrative,
                    "real_name": false,
                    "reporter": {"name": "", "phone": ""},
                    "channel": "phone"
                }),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        receipt::handed_over(&v);
        (
            v["tracking_code"].as_str().unwrap().to_owned(),
            v["case_id"].as_str().unwrap().to_owned(),
        )
    }
}

/// A browser-like client of the HTML pages: cookies kept, redirects not
/// followed (so tests see each 303), forms sent urlencoded.
pub struct PageClient {
    pub client: reqwest::Client,
    pub base: String,
    /// The CSRF token of the session's forms (from a page's hidden field).
    pub csrf: String,
}

/// A page's answer: status, `Location` of a redirect, and the body.
pub struct PageAnswer {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

/// The value of the first `name="csrf"` hidden field of a page.
pub fn csrf_of(html: &str) -> Option<String> {
    let (_, rest) = html.split_once("name=\"csrf\" value=\"")?;
    Some(rest.split_once('"')?.0.to_owned())
}

pub fn page_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Harness {
    /// Signs in through the login form; the answer is the form's 303.
    pub async fn sign_in_page(&self, email: &str) -> PageClient {
        let login = self.logins.get(email).unwrap();
        let client = page_client();
        let code = match login.totp.as_deref() {
            Some(secret) => self.fresh_totp(email, secret).await,
            None => String::new(),
        };
        let res = client
            .post(self.url("/login"))
            .form(&[
                ("email", login.email.as_str()),
                ("password", login.password.as_str()),
                ("totp", code.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "page sign-in of {email}");
        let home = res.headers()["location"].to_str().unwrap().to_owned();
        let mut page = PageClient {
            client,
            base: self.base.clone(),
            csrf: String::new(),
        };
        let answer = page.get(&home).await;
        assert_eq!(answer.status, 200, "{home}: {}", answer.body);
        page.csrf = csrf_of(&answer.body).unwrap();
        page
    }
}

impl PageClient {
    async fn answer(res: reqwest::Response) -> PageAnswer {
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let location = headers
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        PageAnswer {
            status,
            location,
            headers,
            body: res.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> PageAnswer {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        Self::answer(res).await
    }

    /// Posts a form as is (add `csrf` yourself, or not).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> PageAnswer {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .unwrap();
        Self::answer(res).await
    }

    /// Posts a form with the session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> PageAnswer {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts a multipart form with the session's CSRF token first, its
    /// text fields in order, then `files` (file name, bytes), as a browser
    /// sends the desk form.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, Vec<u8>)],
    ) -> PageAnswer {
        let mut form = reqwest::multipart::Form::new().text("csrf", self.csrf.clone());
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        for (file_name, bytes) in files {
            let part = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(file_name.to_string())
                .mime_str("application/octet-stream")
                .unwrap();
            form = form.part("attachment", part);
        }
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        Self::answer(res).await
    }

    /// One action through the case page's forms.
    pub async fn act(&self, case: &str, fields: &[(&str, &str)]) -> PageAnswer {
        self.post(&format!("/cases/{case}/actions"), fields).await
    }
}

/// A received report of `unit` that arrived on the local day starting at
/// `at`, inserted as intake stores it (the day's midnight, an id of that
/// day; the report bytes are not opened): a day's cases tie on
/// `received_at` and only their random ids order them.
pub fn stored_arrival(unit: &str, at: chrono::DateTime<Utc>) -> sunlight_store::NewCase {
    use sunlight_core::{AccusedRole, CaseId, Category, Channel, SelectionStage, Stage};
    let id = CaseId::arrived_on(at);
    let mut lookup_key = [0u8; 32];
    lookup_key[..16].copy_from_slice(id.as_uuid().as_bytes());
    sunlight_store::NewCase {
        id,
        lookup_key,
        unit: UnitId::parse(unit).unwrap(),
        addressed_unit: UnitId::parse(unit).unwrap(),
        category: Category::Other,
        accused_role: AccusedRole::Ordinary,
        selection_stage: SelectionStage::None,
        channel: Channel::Web,
        real_name: false,
        received_at: at,
        sealed_report: vec![0xA5; 64],
        reporter_public_key: sunlight_core::crypto::UnitPublicKey::from_bytes([7; 32]),
        first_entry: sunlight_store::NewQueueEntry {
            stage: Stage::Received,
            due_at: at + chrono::Duration::days(5),
        },
        sealed_to: Default::default(),
    }
}
