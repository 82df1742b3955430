//! A deployment made with `suite = "shangmi"` (the `sunlight` binary, demo
//! data, `serve`): every key is SM2 and every stored envelope, code and
//! audit entry is of the ShangMi formats; a report filed without a browser
//! script is found by its code and read by its unit; the report pages load
//! no script and the browser-sealing routes refuse. The whole process,
//! app and storage suite also runs with `SUNLIGHT_TEST_SUITE=shangmi` in
//! CI; this test holds the suite's own promises in every run.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sunlight_store::Store;
use sunlight_testkit::query_text;

use crate::support::{Deployment, Processes, fresh_totp};

async fn sign_in(triage: &str, login: &[String]) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let totp = fresh_totp(&login[1], &login[5]).await;
    let res = client
        .post(format!("{triage}/api/v1/session"))
        .json(&json!({"email": login[1], "password": login[2], "totp": totp}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "sign-in of {}", login[1]);
    let csrf = res.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (client, csrf)
}

#[tokio::test]
async fn a_shangmi_deployment_seals_with_sm2_sm4_and_sm3_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    let live = Deployment::start(dir.path(), Some("suite = \"shangmi\"\n"), &mut procs).await;
    assert_eq!(live.run(&["suite"]), "shangmi\npasswords argon2id\n");

    let narrative = "国密部署：突击提拔 — shangmi canary";
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/reports", live.intake))
        .json(&json!({
            "unit": "gd-gz", "category": "office_trading",
            "accused": {"name": "王某", "position": "副县长", "role": "ordinary"},
            "selection_stage": "none", "narrative": narrative, "real_name": false
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let code = res.json::<Value>().await.unwrap()["tracking_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let status = reqwest::Client::new()
        .post(format!("{}/api/v1/status", live.intake))
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200, "the code finds its report");

    // What is stored: SM2 keys, a version-2 envelope, code scheme 3.
    let store = Store::connect(&format!("sqlite://{}/sunlight.db", live.data.display()))
        .await
        .unwrap();
    let q = |sql: &'static str| {
        let store = store.clone();
        async move { query_text(&store, sql).await.unwrap() }
    };
    assert_eq!(
        q("SELECT group_concat(DISTINCT length(public_key)) FROM units").await,
        "65"
    );
    assert_eq!(
        q("SELECT group_concat(DISTINCT length(member_public_key)) FROM staff").await,
        "65"
    );
    assert_eq!(q("SELECT code_scheme FROM cases").await, "3");
    // Version 2; three recipients (gd-gz, gd above it, the reporter); the
    // first slot an SM2 one.
    assert_eq!(
        q("SELECT hex(substr(sealed_report, 1, 3)) FROM cases").await,
        "020302"
    );
    assert_eq!(
        q("SELECT length(reporter_public_key) FROM cases").await,
        "65"
    );
    // The PBKDF2-HMAC-SM3 fallback for passwords is a setting.
    assert!(
        live.run(&["suite", "passwords", "pbkdf2-sm3"])
            .starts_with("passwords pbkdf2-sm3:")
    );
    assert_eq!(live.run(&["suite"]), "shangmi\npasswords pbkdf2-sm3\n");
    let audit = live.run(&["audit", "verify"]);
    assert!(
        audit.lines().last().unwrap().starts_with("head "),
        "{audit}"
    );

    // The unit reads it through the triage API once routed.
    let (staff, _csrf) = sign_in(&live.triage, live.login("verifier", "gd-gz")).await;
    let get = |path: String| {
        let request = staff.get(format!("{}{path}", live.triage));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let id = loop {
        let queue = get("/api/v1/queues/received".into()).await;
        if let Some(line) = queue.as_array().and_then(|q| q.first()) {
            break line["case_id"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "not routed: {queue}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let case = get(format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["report"]["narrative"], narrative);

    // No script on the report, status and verify pages (a receipt is
    // checked by the server: the script has no SM2), and no sealing routes.
    for page in ["/report", "/status", "/verify"] {
        let res = reqwest::get(format!("{}{page}", live.intake))
            .await
            .unwrap();
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(!csp.contains("script-src 'self'"), "{page}: {csp}");
        let body = res.text().await.unwrap();
        assert!(!body.contains("sealing.js"), "{page} loads the script");
    }
    let params = reqwest::get(format!("{}/api/v1/sealed/params", live.intake))
        .await
        .unwrap();
    assert_eq!(params.status(), 404);
    let body: Value = params.json().await.unwrap();
    assert_eq!(body["error"]["code"], "sealing_not_offered", "{body}");
    let prepare = reqwest::Client::new()
        .post(format!("{}/api/v1/sealed/prepare", live.intake))
        .json(&json!({"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "unit": "gd-gz", "accused_role": "ordinary"}))
        .send()
        .await
        .unwrap();
    assert_eq!(prepare.status(), 404);
    assert_eq!(
        q("SELECT count(*) FROM cases").await,
        "1",
        "a refused sealing changes nothing"
    );
}

#[test]
fn init_refuses_an_unknown_suite_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = std::process::Command::new(crate::support::binary())
        .arg("--data-dir")
        .arg(&data)
        .args(["init", "--suite", "sm9"])
        .env_remove("SUNLIGHT_DATABASE_URL")
        .env_remove("SUNLIGHT_SUITE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown cipher suite \"sm9\": choose modern or shangmi"),
        "{stderr}"
    );
    assert!(!data.join("pepper.key").exists(), "nothing was created");
}
