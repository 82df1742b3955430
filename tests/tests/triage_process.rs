//! Two `sunlight triage` processes over one PostgreSQL database, the way a
//! scaled deployment runs: staff signed in to different processes race to
//! claim the same cases, and each case ends with exactly one owner.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sunlight_testkit::fresh_pg_url;

fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("sunlight");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build -p sunlight` first",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _gone = self.0.kill();
        let _reaped = self.0.wait();
    }
}

async fn wait_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await
            && r.status() == 200
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "triage on {port} did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Staff {
    client: reqwest::Client,
    csrf: String,
    base: String,
}

async fn sign_in(port: u16, login: &[&str]) -> Staff {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let totp = if login[5] == "-" {
        None
    } else {
        Some(crate::support::fresh_totp(login[1], login[5]).await)
    };
    let res = client
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"email": login[1], "password": login[2], "totp": totp}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "sign-in of {}", login[1]);
    let v: serde_json::Value = res.json().await.unwrap();
    Staff {
        client,
        csrf: v["csrf_token"].as_str().unwrap().to_owned(),
        base,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_triage_processes_never_give_a_case_two_owners() {
    let data = tempfile::tempdir().unwrap();
    let db = fresh_pg_url().await.unwrap();
    let cmd = |args: &[&str], triage_port: u16| {
        let mut c = Command::new(binary());
        c.arg("--data-dir")
            .arg(data.path())
            .args(args)
            .env("SUNLIGHT_DATABASE_URL", &db)
            .env("SUNLIGHT_TRIAGE_ADDR", format!("127.0.0.1:{triage_port}"))
            .env("SUNLIGHT_INTAKE_ADDR", format!("127.0.0.1:{}", free_port()))
            .env("SUNLIGHT_LOG", "warn");
        c
    };
    let demo = cmd(&["demo"], free_port()).output().unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let text = String::from_utf8(demo.stdout).unwrap();
    let logins: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| l.starts_with("login "))
        .map(|l| l.split(' ').collect())
        .collect();
    let find = |role: &str| {
        logins
            .iter()
            .find(|l| l[3] == role && l[4] == "gd-gz-tianhe")
            .unwrap()
            .clone()
    };
    let (a, b) = (free_port(), free_port());
    let _pa = Proc(cmd(&["triage"], a).stdout(Stdio::null()).spawn().unwrap());
    let _pb = Proc(cmd(&["triage"], b).stdout(Stdio::null()).spawn().unwrap());
    wait_healthy(a).await;
    wait_healthy(b).await;

    let desk = sign_in(a, &find("intake")).await;
    let verifier = sign_in(a, &find("verifier")).await;
    // A second verifier, added by the unit's admin from their session,
    // signs in to the other process. Verifiers cannot take over each
    // other's cases, so exactly one claim may win.
    let admin = sign_in(a, &find("admin")).await;
    let res = admin
        .client
        .post(format!("{}/api/v1/staff", admin.base))
        .header("X-CSRF-Token", &admin.csrf)
        .json(&serde_json::json!({"email": "second@gd-gz-tianhe.demo", "role": "verifier"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: serde_json::Value = res.json().await.unwrap();
    let password = created["one_time_password"].as_str().unwrap().to_owned();
    let secret = created["totp_secret"].as_str().unwrap().to_owned();
    let who = "second@gd-gz-tianhe.demo";
    let second = sign_in(
        b,
        &["login", who, &password, "verifier", "gd-gz-tianhe", &secret],
    )
    .await;
    // The admin saw the one-time password and the first authenticator
    // secret: the member replaces both first.
    let res = second
        .client
        .post(format!("{}/api/v1/password", second.base))
        .header("X-CSRF-Token", &second.csrf)
        .json(&serde_json::json!({"current_password": password, "totp": crate::support::fresh_totp(who, &secret).await, "new_password": "second verifier passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let renewed: serde_json::Value = res.json().await.unwrap();
    let renewed = renewed["totp_secret"].as_str().unwrap().to_owned();
    let res = second
        .client
        .post(format!("{}/api/v1/totp/confirm", second.base))
        .header("X-CSRF-Token", &second.csrf)
        .json(&serde_json::json!({"totp": crate::support::fresh_totp(who, &renewed).await}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    for round in 0..20 {
        let res = desk
            .client
            .post(format!("{}/api/v1/intake", desk.base))
            .header("X-CSRF-Token", &desk.csrf)
            .json(&serde_json::json!({
                "unit": "gd-gz-tianhe", "category": "other",
                "accused": {"name": "某", "position": "", "role": "ordinary"},
                "selection_stage": "none", "narrative": format!("并发 {round}"),
                "real_name": false, "reporter": {"name": "", "phone": ""}, "channel": "letter"
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let id = res.json::<serde_json::Value>().await.unwrap()["case_id"]
            .as_str()
            .unwrap()
            .to_owned();
        // The desk accepts it (受理) into the verify queue.
        let accepted = desk
            .client
            .post(format!("{}/api/v1/cases/{id}/transitions", desk.base))
            .header("X-CSRF-Token", &desk.csrf)
            .json(&serde_json::json!({"action": "accept"}))
            .send()
            .await
            .unwrap();
        assert_eq!(accepted.status(), 200);
        let claim = |s: &Staff| {
            let (client, url, csrf) = (
                s.client.clone(),
                format!("{}/api/v1/cases/{id}/claim", s.base),
                s.csrf.clone(),
            );
            async move {
                client
                    .post(url)
                    .header("X-CSRF-Token", csrf)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let (x, y) = tokio::join!(claim(&verifier), claim(&second));
        let mut codes = [x, y];
        codes.sort_unstable();
        assert_eq!(codes, [200, 409], "round {round}");
        let view = verifier
            .client
            .get(format!("{}/api/v1/cases/{id}", verifier.base))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap();
        assert!(view["owner"].is_string());
        let history = view["history"].as_array().unwrap();
        let claims = history.iter().filter(|h| h["action"] == "claimed").count();
        assert_eq!(claims, 1, "round {round}: the refused claim left no trace");
    }
}
