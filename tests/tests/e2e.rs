//! Intake and triage together over one database (as `sunlight serve` runs
//! them), on SQLite and PostgreSQL: what staff do reaches the reporter
//! through the code, what the reporter answers reaches staff, and a merged
//! report's code keeps working without showing anyone else's words.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::net::TcpListener;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};
use sunlight_core::calendar::Calendar;
use sunlight_core::crypto::{CodeStretcher, DeploymentSecrets, StretchParams};
use sunlight_core::policy::Policy;
use sunlight_core::{Level, Role, UnitId};
use sunlight_store::provision::{create_staff, create_unit};
use sunlight_testkit::{Engine, TestDb};

pub(crate) struct Staff {
    client: reqwest::Client,
    csrf: String,
    base: String,
}

impl Staff {
    pub(crate) async fn get(&self, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("X-CSRF-Token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            res.status().as_u16(),
            res.json().await.unwrap_or(Value::Null),
        )
    }

    pub(crate) async fn act(&self, id: &str, body: Value) {
        let (s, v) = self
            .post(&format!("/api/v1/cases/{id}/transitions"), body.clone())
            .await;
        assert_eq!(s, 200, "{body} → {v}");
    }

    pub(crate) async fn claim(&self, id: &str) {
        let (s, v) = self
            .post(&format!("/api/v1/cases/{id}/claim"), json!({}))
            .await;
        assert_eq!(s, 200, "{v}");
    }
}

pub(crate) async fn reporter_status(intake: &str, code: &str) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{intake}/api/v1/status"))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

pub(crate) async fn file(intake: &str, narrative: &str) -> String {
    let res = reqwest::Client::new()
        .post(format!("{intake}/api/v1/reports"))
        .json(&json!({
            "unit": "gd-gz", "category": "rushed_promotion",
            "accused": {"name": "陈某", "position": "局长", "role": "unit_leader"},
            "selection_stage": "appointed", "narrative": narrative, "real_name": false
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["tracking_code"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Intake and triage of one deployment over one fresh database, a unit
/// tree gd → gd-gz, and gd-gz's verifier and supervisor and gd's
/// supervisor signed in.
pub(crate) struct Live {
    pub db: TestDb,
    pub intake: String,
    /// gd-gz's verifier, then its supervisor, then gd's supervisor.
    pub staff: Vec<Staff>,
    /// The triage app's base URL.
    pub triage: String,
    /// The same members' `[_, email, password, role, unit, totp or -]`,
    /// as the browser tests sign in with them.
    pub logins: Vec<Vec<String>>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Intake's spool, kept while it runs.
    _spool: tempfile::TempDir,
}

impl Live {
    pub(crate) async fn start(engine: Engine) -> Self {
        let db = TestDb::new(engine).await.unwrap();
        let now = Utc::now();
        let mut keys = Vec::new();
        for (id, level, parent) in [
            ("gd", Level::Province, None),
            ("gd-gz", Level::City, Some("gd")),
        ] {
            let (row, secret, _) = create_unit(
                &db.store,
                sunlight_core::unit_tree::UnitSpec::new(
                    UnitId::parse(id).unwrap(),
                    id,
                    level,
                    parent.map(|p| UnitId::parse(p).unwrap()),
                ),
                true,
                "test",
                now,
            )
            .await
            .unwrap();
            keys.push((row.id.clone(), secret));
        }
        let mut logins = Vec::new();
        for (role, (unit, key)) in [
            (Role::Verifier, &keys[1]),
            (Role::Supervisor, &keys[1]),
            (Role::Supervisor, &keys[0]),
        ] {
            let s = create_staff(
                &db.store,
                unit,
                key,
                &format!("{role}@{unit}.test"),
                role,
                StretchParams::TEST,
                "test",
                now,
            )
            .await
            .unwrap();
            db.store.keep_first_password(s.staff.id).await.unwrap();
            logins.push((
                s.staff.email.clone(),
                s.password.to_string(),
                s.totp.map(|t| t.to_string()),
                role,
                unit.to_string(),
            ));
        }
        // One deployment: intake and triage share the code secrets.
        let stretcher =
            CodeStretcher::new(DeploymentSecrets::generate().unwrap(), StretchParams::TEST)
                .with_suite(sunlight_testkit::suite_under_test());
        let spool = tempfile::tempdir().unwrap();
        let intake_app = sunlight_intake::Application::build(
            sunlight_intake::IntakeParts {
                store: db.store.clone(),
                stretcher: stretcher.clone(),
                policy: Policy::cn_12380(),
                calendar: Calendar::cn(),
                settings: sunlight_intake::IntakeSettings {
                    workers: 1,
                    ..Default::default()
                },
                spool_dir: spool.path().to_owned(),
                metrics: sunlight_intake::Metrics::default(),
            },
            TcpListener::bind("127.0.0.1:0").unwrap(),
        )
        .unwrap();
        let triage_app = sunlight_triage::Application::build(
            sunlight_triage::TriageParts {
                store: db.store.clone(),
                stretcher,
                policy: Policy::cn_12380(),
                calendar: Calendar::cn(),
                settings: sunlight_triage::TriageSettings {
                    workers: 1,
                    route_every_seconds: 1,
                    ..Default::default()
                },
                mail: sunlight_casework::MailStyle {
                    lang: sunlight_core::i18n::Lang::En,
                    link_base: "http://127.0.0.1".into(),
                },
                stats: sunlight_casework::StatsSettings::default(),
                onion: None,
                metrics: sunlight_triage::Metrics::default(),
                spool_dir: std::env::temp_dir(),
            },
            TcpListener::bind("127.0.0.1:0").unwrap(),
        )
        .unwrap();
        let intake = format!("http://127.0.0.1:{}", intake_app.port());
        let triage = format!("http://127.0.0.1:{}", triage_app.port());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _done = rx.wait_for(|s| *s).await;
        };
        let t1 = tokio::spawn(intake_app.run_until_stopped(stopped(stop_rx.clone())));
        let t2 = tokio::spawn(triage_app.run_until_stopped(stopped(stop_rx.clone())));

        let mut staff = Vec::new();
        for (email, password, totp, _, _) in &logins {
            let client = reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap();
            // Codes the browser walk will not use again (each step once).
            let code = match totp.as_deref() {
                Some(secret) => Some(crate::support::fresh_totp(email, secret).await),
                None => None,
            };
            let res = client
                .post(format!("{triage}/api/v1/session"))
                .json(&json!({"email": email, "password": password, "totp": code}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let csrf = res.json::<Value>().await.unwrap()["csrf_token"]
                .as_str()
                .unwrap()
                .to_owned();
            staff.push(Staff {
                client,
                csrf,
                base: triage.clone(),
            });
        }
        let logins = logins
            .into_iter()
            .map(|(email, password, totp, role, unit)| {
                vec![
                    "login".to_owned(),
                    email,
                    password,
                    role.to_string(),
                    unit,
                    totp.unwrap_or_else(|| "-".to_owned()),
                ]
            })
            .collect();
        Self {
            db,
            intake,
            triage,
            logins,
            staff,
            stop: stop_tx,
            tasks: vec![t1, t2],
            _spool: spool,
        }
    }

    pub(crate) async fn stop(self) {
        let _sent = self.stop.send(true);
        for t in self.tasks {
            t.await.unwrap().unwrap();
        }
    }
}

async fn run(engine: Engine) {
    let live = Live::start(engine).await;
    let (intake, staff) = (live.intake.clone(), &live.staff);
    let (verifier, supervisor) = (&staff[0], &staff[1]);

    let code_a = file(&intake, "甲：突击提拔").await;
    let code_b = file(&intake, "乙：同一件事").await;
    // The router picks both up within a second or two; the desk accepts them.
    let deadline = Instant::now() + Duration::from_secs(20);
    let ids = loop {
        let waiting = supervisor.get("/api/v1/queues/received").await;
        for line in waiting.as_array().unwrap() {
            let id = line["case_id"].as_str().unwrap();
            supervisor.act(id, json!({"action": "accept"})).await;
        }
        let q = verifier.get("/api/v1/queues/verify").await;
        let ids: Vec<String> = q
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["case_id"].as_str().unwrap().to_owned())
            .collect();
        if ids.len() == 2 {
            break ids;
        }
        assert!(Instant::now() < deadline, "routing did not happen");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let narrative = |v: &Value| v["report"]["narrative"].as_str().unwrap().to_owned();
    let mut a = String::new();
    let mut b = String::new();
    for id in ids {
        let v = verifier.get(&format!("/api/v1/cases/{id}")).await;
        if narrative(&v).starts_with('甲') {
            a = id;
        } else {
            b = id;
        }
    }
    assert_eq!(reporter_status(&intake, &code_a).await["stage"], "verify");

    // A question reaches the reporter; the answer reaches staff.
    verifier.claim(&a).await;
    verifier
        .act(
            &a,
            json!({"action": "ask_reporter", "question": "请说明提拔的时间"}),
        )
        .await;
    let s = reporter_status(&intake, &code_a).await;
    assert_eq!(s["messages"][0]["from"], "staff");
    assert_eq!(s["messages"][0]["body"], "请说明提拔的时间");
    let res = reqwest::Client::new()
        .post(format!("{intake}/api/v1/status/messages"))
        .json(&json!({"code": code_a, "body": "甲的回答：去年十二月"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let v = verifier.get(&format!("/api/v1/cases/{a}")).await;
    assert!(
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"] == "甲的回答：去年十二月")
    );

    // A merge into a case that does not exist is refused as such (it was
    // a foreign-key failure and a 500) and changes nothing.
    let (s, body) = supervisor
        .post(
            &format!("/api/v1/cases/{b}/transitions"),
            json!({"action": "merge", "into": "e3e70682-c209-1cac-a29f-6fbed82c07cd"}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid");
    assert_eq!(reporter_status(&intake, &code_b).await["merged"], false);

    // B is the same matter: merged into A. B's code shows A's progress,
    // never A's reporter's own words.
    let (s, _) = supervisor
        .post(
            &format!("/api/v1/cases/{b}/transitions"),
            json!({"action": "merge", "into": a}),
        )
        .await;
    assert_eq!(s, 200);
    let sb = reporter_status(&intake, &code_b).await;
    assert_eq!(sb["merged"], true);
    assert_eq!(sb["stage"], "verify");
    let bodies: Vec<&str> = sb["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(!bodies.contains(&"甲的回答：去年十二月"), "{bodies:?}");

    // B's reporter writes after the merge: it reaches staff on A.
    let res = reqwest::Client::new()
        .post(format!("{intake}/api/v1/status/messages"))
        .json(&json!({"code": code_b, "body": "乙补充：还有一人"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let v = verifier.get(&format!("/api/v1/cases/{a}")).await;
    assert!(
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"] == "乙补充：还有一人")
    );
    let sb = reporter_status(&intake, &code_b).await;
    assert!(
        sb["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"] == "乙补充：还有一人")
    );
    let sa = reporter_status(&intake, &code_a).await;
    assert!(
        !sa["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"] == "乙补充：还有一人"),
        "A never reads B's words"
    );

    // To the end; the reporter reads the feedback and sees the case closed.
    verifier
        .act(
            &a,
            json!({"action": "verified", "outcome": "substantiated"}),
        )
        .await;
    supervisor.claim(&a).await;
    supervisor
        .act(
            &a,
            json!({"action": "decided", "decision": "责令纠正", "note": "内部：处理意见经部务会研究"}),
        )
        .await;
    verifier.claim(&a).await;
    verifier
        .act(
            &a,
            json!({"action": "feedback", "message": "经核查，反映问题属实，已责令纠正。", "note": "内部：已电话告知"}),
        )
        .await;
    let (s, _) = verifier
        .post(
            &format!("/api/v1/cases/{a}/messages"),
            json!({"body": "感谢您的监督。"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = verifier
        .post(
            &format!("/api/v1/cases/{a}/messages"),
            json!({"body": "也感谢乙的补充。", "to": b}),
        )
        .await;
    assert_eq!(s, 201);
    verifier.act(&a, json!({"action": "close"})).await;
    // A comment on the closed case; like the notes given with the decision
    // and the feedback (once dropped, since those actions carry their own
    // text), it is in the staff history and nowhere the reporter reads.
    let (s, _) = supervisor
        .post(
            &format!("/api/v1/cases/{a}/comments"),
            json!({"body": "内部：归档前复核无误"}),
        )
        .await;
    assert_eq!(s, 201);
    let v = verifier.get(&format!("/api/v1/cases/{a}")).await;
    assert_eq!(v["stage"], "closed");
    let notes: Vec<(&str, &str, bool)> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| {
            let note = h["note"].as_str()?;
            Some((
                h["action"].as_str()?,
                note,
                h["reporter_visible"].as_bool()?,
            ))
        })
        .collect();
    for internal in [
        "内部：处理意见经部务会研究",
        "内部：已电话告知",
        "内部：归档前复核无误",
    ] {
        assert!(
            notes.contains(&("noted", internal, false)),
            "{internal} missing from {notes:?}"
        );
    }
    let sa = reporter_status(&intake, &code_a).await;
    assert!(!sa.to_string().contains("内部："), "{sa}");
    assert_eq!(sa["stage"], "closed");
    assert!(sa["deadline"].is_null());
    let bodies: Vec<&str> = sa["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(
        !bodies.contains(&"也感谢乙的补充。"),
        "A never reads what B is told"
    );
    assert!(
        bodies.contains(&"经核查，反映问题属实，已责令纠正。"),
        "{bodies:?}"
    );
    assert!(bodies.contains(&"感谢您的监督。"));
    let stages: Vec<&str> = sa["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["stage"].as_str().unwrap())
        .collect();
    // Routed into the acceptance step, accepted into verification, closed.
    assert_eq!(stages.first(), Some(&"received"));
    assert!(stages.contains(&"verify"), "{stages:?}");
    assert_eq!(stages.last(), Some(&"closed"));
    // B's reporter sees the outcome of the surviving case too (the
    // feedback is sealed to every reporter of the case), but not a message
    // addressed to A's reporter; one addressed to B reaches B alone.
    let sb = reporter_status(&intake, &code_b).await;
    assert_eq!(sb["stage"], "closed");
    let bodies: Vec<&str> = sb["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(
        bodies.contains(&"经核查，反映问题属实，已责令纠正。"),
        "{bodies:?}"
    );
    assert!(!bodies.contains(&"感谢您的监督。"), "{bodies:?}");
    assert!(bodies.contains(&"也感谢乙的补充。"), "{bodies:?}");
    assert!(!bodies.contains(&"甲的回答：去年十二月"), "{bodies:?}");

    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reporter_and_staff_reach_each_other_on_sqlite() {
    run(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reporter_and_staff_reach_each_other_on_postgres() {
    run(Engine::Postgres).await;
}
