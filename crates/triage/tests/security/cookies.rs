//! Secure cookies by default: unless triage listens on loopback only, the
//! session cookie is `Secure` and `__Host-` prefixed and HSTS is sent; a
//! cookie without the prefix is not a session there.

use serde_json::json;

use crate::common::{Harness, email};
use sunlight_testkit::Engine;

async fn sign_in(h: &Harness, base: &str) -> reqwest::Response {
    // An intake officer: no second factor to feed.
    let who = email("intake", "gd");
    let login = &h.logins[&who];
    reqwest::Client::new()
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": who, "password": login.password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_loopback_the_session_cookie_is_secure_host_prefixed_and_hsts_is_sent() {
    let h = Harness::start(Engine::Sqlite).await;
    // Loopback only (the harness): plain HTTP on one machine.
    let res = sign_in(&h, &h.base).await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("sunlight_staff="), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(res.headers().get("strict-transport-security").is_none());

    // Every address: secure unless the operator says otherwise.
    let (base, stop) = h.process_on("0.0.0.0:0", None).await;
    let res = sign_in(&h, &base).await;
    assert_eq!(res.status(), 200);
    let hsts = res.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(hsts.starts_with("max-age=63072000"), "{hsts}");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-sunlight_staff="), "{cookie}");
    for part in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{part}: {cookie}");
    }
    assert!(!cookie.to_lowercase().contains("domain="), "{cookie}");
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    let get = |name: &'static str| {
        let (base, token) = (base.clone(), token.clone());
        async move {
            reqwest::Client::new()
                .get(format!("{base}/api/v1/queues/verify"))
                .header("Cookie", format!("{name}={token}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(get("__Host-sunlight_staff").await, 200);
    assert_eq!(
        get("sunlight_staff").await,
        401,
        "a cookie without the prefix (one a sibling host could plant) is no session"
    );
    let _stopped = stop.send(());

    // An operator who serves plain HTTP on purpose can say so.
    let (base, stop) = h.process_on("0.0.0.0:0", Some(false)).await;
    let res = sign_in(&h, &base).await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("sunlight_staff="), "{cookie}");
    assert!(res.headers().get("strict-transport-security").is_none());
    let _stopped = stop.send(());
    h.stop().await;
}
