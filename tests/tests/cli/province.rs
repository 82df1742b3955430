//! A province rolls the service out to its cities and counties (#19), as
//! docs/operations.md tells it: `init`, one `unit import` of 120 units
//! without per-unit recovery keys, then the province admin staffs a
//! county from their own session and the county verifier reads that
//! county's report. Real processes, on SQLite and PostgreSQL.

use std::io::Write;
use std::process::Stdio;

use super::{Deployment, free_port, stderr, stdout, wait_healthy};

/// 12 cities of 9 counties each under the root `province` that `init`
/// made: 120 units, each with an English name.
fn province_csv() -> String {
    let mut csv = String::from("id,name,level,parent,name_en\n");
    for c in 1..=12 {
        let city = format!("province-c{c:02}");
        csv.push_str(&format!(
            "{city},第{c}市委组织部,city,province,City {c} Organization Department\n"
        ));
        for x in 1..=9 {
            csv.push_str(&format!(
                "{city}-x{x},第{c}市第{x}县委组织部,county,{city},County {c}-{x} Organization Department\n"
            ));
        }
    }
    csv
}

fn totp_at(secret: &str, step_offset: u64) -> String {
    let bytes = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let totp = totp_rs::Builder::new().with_secret(bytes).build().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now + 30 * step_offset).to_string()
}

/// A signed-in staff client: its cookie jar and CSRF token.
struct Member {
    client: reqwest::Client,
    csrf: String,
    base: String,
}

impl Member {
    async fn sign_in(base: &str, email: &str, password: &str, totp: Option<String>) -> Self {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let res = client
            .post(format!("{base}/api/v1/session"))
            .json(&serde_json::json!({"email": email, "password": password, "totp": totp}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "sign-in of {email}");
        let v: serde_json::Value = res.json().await.unwrap();
        Self {
            client,
            csrf: v["csrf_token"].as_str().unwrap().to_owned(),
            base: base.to_owned(),
        }
    }

    async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
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

    async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }
}

async fn unit_count(d: &Deployment) -> usize {
    let store = sunlight_store::Store::connect(&d.url()).await.unwrap();
    store.units().await.unwrap().len()
}

async fn a_province_imports_its_units_and_staffs_a_county(pg: bool) {
    let d = Deployment::new(pg).await;
    assert!(d.run(&["init"]).status.success());
    let secrets = std::fs::read_to_string(d.dir.path().join("initial-secrets.txt")).unwrap();
    let field = |prefix: &str, n: usize| {
        secrets
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap()
            .split(' ')
            .nth(n)
            .unwrap()
            .to_owned()
    };
    let root_recovery = field("recovery province ", 2);
    let (admin_password, admin_totp) = (field("login admin@", 2), field("login admin@", 5));

    let file = d.dir.path().join("province.csv");
    std::fs::write(&file, province_csv()).unwrap();
    let file = file.to_str().unwrap();
    let out = d.run(&["unit", "import", file, "--no-recovery-key"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("imported 120 unit(s); 0 already existed"),
        "{text}"
    );
    assert!(
        !text.contains("recovery "),
        "no per-unit recovery keys: {text}"
    );
    assert_eq!(unit_count(&d).await, 121);
    // Again: nothing new, nothing refused.
    let again = d.run(&["unit", "import", file]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("imported 0 unit(s); 120 already existed"));
    // One bad line refuses the whole file, naming it.
    let bad = d.dir.path().join("bad.csv");
    let mut lines = province_csv();
    lines.push_str("province-new,新市,city,province,\nprovince-bad-x,坏县,county,province-nope,\n");
    std::fs::write(&bad, lines).unwrap();
    let refused = d.run(&["unit", "import", bad.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("line 123: parent province-nope"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(unit_count(&d).await, 121, "a refused file changes nothing");

    // The one paper key of the root opens a county's key down the escrow.
    let mut child = d
        .cmd(&[
            "staff",
            "add",
            "--unit",
            "province-c03-x5",
            "--email",
            "desk@c03x5.test",
            "--role",
            "intake",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{root_recovery}\n").as_bytes())
        .unwrap();
    let added = child.wait_with_output().unwrap();
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(stdout(&added).starts_with("login desk@c03x5.test "));

    let (intake_port, triage_port) = (free_port(), free_port());
    let mut serve = d
        .cmd(&["serve"])
        .env("SUNLIGHT_INTAKE_ADDR", format!("127.0.0.1:{intake_port}"))
        .env("SUNLIGHT_TRIAGE_ADDR", format!("127.0.0.1:{triage_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_healthy(intake_port).await;
    wait_healthy(triage_port).await;
    let (intake, triage) = (
        format!("http://127.0.0.1:{intake_port}"),
        format!("http://127.0.0.1:{triage_port}"),
    );
    let english = reqwest::get(format!("{intake}/report?lang=en"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        english.contains("County 7-2 Organization Department"),
        "English unit names on English pages"
    );

    // The province admin: first sign-in, then the one-time password goes.
    let admin = Member::sign_in(
        &triage,
        "admin@example.org",
        &admin_password,
        Some(totp_at(&admin_totp, 0)),
    )
    .await;
    let (status, body) = admin
        .post(
            "/api/v1/password",
            serde_json::json!({"current_password": admin_password, "totp": totp_at(&admin_totp, 1), "new_password": "the province admin's own"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The change gave a new authenticator secret: one code of it confirms it.
    let renewed = body["totp_secret"].as_str().unwrap().to_owned();
    let (status, body) = admin
        .post(
            "/api/v1/totp/confirm",
            serde_json::json!({"totp": totp_at(&renewed, 0)}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recovery_codes"].as_array().unwrap().len(), 10);
    let (status, made) = admin
        .post(
            "/api/v1/staff",
            serde_json::json!({"email": "verifier@c07x2.test", "role": "supervisor", "unit": "province-c07-x2"}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let one_time = made["one_time_password"].as_str().unwrap().to_owned();

    let filed = reqwest::Client::new()
        .post(format!("{intake}/api/v1/reports"))
        .json(&serde_json::json!({
            "unit": "province-c07-x2", "category": "rushed_promotion",
            "accused": {"name": "王某", "position": "副县长", "role": "ordinary"},
            "selection_stage": "inspection", "narrative": "第七市第二县突击提拔干部",
            "real_name": false, "reporter": {"name": "", "phone": ""}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status(), 201);

    // Verifiers read reports: they sign in with a second factor.
    let secret = made["totp_secret"].as_str().unwrap().to_owned();
    let verifier = Member::sign_in(
        &triage,
        "verifier@c07x2.test",
        &one_time,
        Some(totp_at(&secret, 0)),
    )
    .await;
    let (status, body) = verifier
        .post(
            "/api/v1/password",
            serde_json::json!({"current_password": one_time, "totp": totp_at(&secret, 1), "new_password": "the county verifier's own"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let renewed = body["totp_secret"].as_str().unwrap().to_owned();
    let (status, body) = verifier
        .post(
            "/api/v1/totp/confirm",
            serde_json::json!({"totp": totp_at(&renewed, 0)}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Routing runs every few seconds: wait for the case in the county's
    // acceptance queue (the county's one member is a supervisor, who
    // decides on acceptance too), and accept it into verification.
    let mut case = None;
    for _ in 0..100 {
        let (_, queue) = verifier.get("/api/v1/queues/received").await;
        if let Some(first) = queue.as_array().and_then(|q| q.first()) {
            let id = first["case_id"].as_str().unwrap().to_owned();
            let (status, body) = verifier
                .post(
                    &format!("/api/v1/cases/{id}/transitions"),
                    serde_json::json!({"action": "accept"}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            case = Some(id);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        case.is_some(),
        "the county's report reaches the county's queue"
    );
    let case = case.unwrap();
    let (status, body) = verifier.get(&format!("/api/v1/cases/{case}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["report"]["narrative"], "第七市第二县突击提拔干部");

    std::process::Command::new("kill")
        .arg(serve.id().to_string())
        .status()
        .unwrap();
    assert!(serve.wait().unwrap().success());
    let verify = d.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
}

#[tokio::test]
async fn province_roll_out_on_sqlite() {
    a_province_imports_its_units_and_staffs_a_county(false).await;
}

#[tokio::test]
async fn province_roll_out_on_postgres() {
    a_province_imports_its_units_and_staffs_a_county(true).await;
}
