//! The rating with JavaScript on (#21): the reporter's browser rates over
//! `POST /api/v1/sealed/rating` with the lookup token, and seals the
//! objection itself, like a follow-up. The server checks its addressing
//! (every reader of the case and the reporter, bound to the case and an
//! id it handed out) and refuses anything else with nothing stored; the
//! unit above reads the objection; the reporter reads back the rating in
//! words and the objection they sealed. Called by the re-examination test
//! on both engines.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use data_encoding::BASE64;
use serde_json::{Value, json};
use sunlight_core::crypto::{
    CodeStretch, ReporterShare, SealContext, StretchMemory, StretchParams, UnitPublicKey,
    UnitSecretKey, open, seal,
};
use sunlight_core::report::{MessageContent, decode_padded, encode_padded, item};
use sunlight_core::{CaseId, TrackingCode};
use uuid::Uuid;

use crate::e2e::Live;
use crate::reexamination::{conclude, count, file_real_name, intake_post, routed};

const OBJECTION: &str = "CANARY-objection-3c9d：核查没有找证人，请求复查。";

/// What the reporter's browser derives from the code: the token and the
/// means to get the reporter key once the status gives the share.
async fn stretch(intake: &str, code: &str) -> (CodeStretch, String) {
    let params: Value = reqwest::get(format!("{intake}/api/v1/sealed/params"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let salt: [u8; 16] = BASE64
        .decode(params["salt"].as_str().unwrap().as_bytes())
        .unwrap()
        .try_into()
        .unwrap();
    let cost = StretchParams {
        m_kib: u32::try_from(params["m_kib"].as_u64().unwrap()).unwrap(),
        t: u32::try_from(params["t"].as_u64().unwrap()).unwrap(),
        p: u32::try_from(params["p"].as_u64().unwrap()).unwrap(),
    };
    let code = TrackingCode::parse(code).unwrap();
    let mut memory = StretchMemory::new(cost).unwrap();
    let stretch = CodeStretch::run(&code, &salt, cost, &mut memory).unwrap();
    let token = BASE64.encode(&stretch.lookup_token().unwrap().0);
    (stretch, token)
}

fn keys(status: &Value) -> Vec<UnitPublicKey> {
    status["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            UnitPublicKey::from_slice(&BASE64.decode(k.as_str().unwrap().as_bytes()).unwrap())
                .unwrap()
        })
        .collect()
}

/// `text` sealed as the browser seals an objection.
fn sealed(case: CaseId, id: Uuid, to: &[UnitPublicKey], text: &str) -> String {
    let item = item::message(id);
    let body = encode_padded(&MessageContent { body: text.into() }).unwrap();
    let ctx = SealContext {
        case_id: case,
        item: &item,
    };
    BASE64.encode(&seal(&body, &ctx, to).unwrap())
}

async fn sealed_status(live: &Live, token: &str) -> Value {
    let (s, status) = intake_post(
        &live.intake,
        "/api/v1/sealed/status",
        json!({ "token": token }),
    )
    .await;
    assert_eq!(s, 200, "{status}");
    status
}

fn reporter_key(stretch: &CodeStretch, status: &Value) -> UnitSecretKey {
    let share: [u8; 32] = BASE64
        .decode(status["share"].as_str().unwrap().as_bytes())
        .unwrap()
        .try_into()
        .unwrap();
    stretch
        .reporter_secret(&ReporterShare(share.into()))
        .unwrap()
}

/// What a refusal must leave as it was.
async fn counts(live: &Live) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM ratings",
        "SELECT COUNT(*) FROM messages",
        "SELECT COUNT(*) FROM tasks",
        "SELECT COUNT(*) FROM audit_log",
        "SELECT SUM(version) FROM cases",
    ] {
        out.push(count(live, sql).await);
    }
    out
}

/// Each refused request answers `(status, code)` and stores nothing.
async fn refused(live: &Live, body: Value, expect: (u16, &str)) {
    let before = counts(live).await;
    let (s, v) = intake_post(&live.intake, "/api/v1/sealed/rating", body).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (expect.0, Some(expect.1)),
        "{v}"
    );
    assert_eq!(
        before,
        counts(live).await,
        "a refused rating stores nothing"
    );
}

/// A reply sealed to the right keys whose body then broke (a faulty
/// script, or a reporter who wants to break their case's page): stored,
/// as the server cannot tell, and shown to staff as unreadable.
async fn broken_reply(live: &Live, token: &str, status: &Value, to: &[UnitPublicKey]) -> Uuid {
    let case = CaseId::parse(status["case_id"].as_str().unwrap()).unwrap();
    let id = Uuid::parse_str(status["message_id"].as_str().unwrap()).unwrap();
    let mut body = BASE64
        .decode(sealed(case, id, to, "补充").as_bytes())
        .unwrap();
    *body.last_mut().unwrap() ^= 1;
    let reply = json!({"token": token, "case_id": case.to_string(), "message_id": id.to_string(), "body": BASE64.encode(&body)});
    let (s, v) = intake_post(&live.intake, "/api/v1/sealed/messages", reply).await;
    assert_eq!(s, 201, "{v}");
    id
}

/// The unit above opens the objection among the case's messages.
async fn assert_objection_read(province: &crate::e2e::Staff, id: &str) {
    let seen = province.get(&format!("/api/v1/cases/{id}")).await;
    assert!(
        seen["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"] == OBJECTION),
        "the unit above reads the objection: {seen}"
    );
}

pub(crate) async fn sealed_rating(live: &Live) {
    if sunlight_testkit::suite_under_test() == sunlight_core::crypto::Suite::ShangMi {
        return sealing_not_offered(live).await;
    }
    let (verifier, supervisor, province) = (&live.staff[0], &live.staff[1], &live.staff[2]);
    let waiting = routed(live, 1).await;
    let code = file_real_name(&live.intake, "评价与异议在浏览器中加密").await;
    let id = routed(live, 2)
        .await
        .into_iter()
        .find(|c| !waiting.contains(c))
        .unwrap();
    let (stretch, token) = stretch(&live.intake, &code).await;
    let rate = |rating: &str, objection: Option<Value>| json!({"token": token, "case_id": id, "rating": rating, "objection": objection});
    refused(live, rate("satisfied", None), (409, "rating_not_yet")).await;
    conclude(verifier, supervisor, &id, "经查，反映的问题不属实。").await;

    let status = sealed_status(live, &token).await;
    assert!(
        status["rating"].is_null() && status.get("rating").is_some(),
        "{status}"
    );
    assert!(status["display"]["objection_hint"].is_string(), "{status}");
    assert!(status["display"].get("rated").is_none(), "{status}");
    let reporter = reporter_key(&stretch, &status);
    let to = keys(&status);
    assert_eq!(
        to.last(),
        Some(&reporter.public()),
        "the reporter reads it too"
    );
    let case = CaseId::parse(&id).unwrap();
    // An id a reply used already is not taken again for the objection; the
    // broken reply does not break the staff's page.
    let used = broken_reply(live, &token, &status, &to).await;
    let again = rate(
        "dissatisfied",
        Some(json!({"message_id": used.to_string(), "body": sealed(case, used, &to, OBJECTION)})),
    );
    refused(live, again, (409, "sealed_stale")).await;
    let seen = verifier.get(&format!("/api/v1/cases/{id}")).await;
    let broken = seen["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == used.to_string())
        .unwrap();
    assert_eq!(
        (&broken["unreadable"], &broken["body"]),
        (&json!(true), &json!("")),
        "{seen}"
    );
    let status = sealed_status(live, &token).await;
    let message_id = Uuid::parse_str(status["message_id"].as_str().unwrap()).unwrap();
    let objection = |case: CaseId, to: &[UnitPublicKey]| json!({"message_id": message_id.to_string(), "body": sealed(case, message_id, to, OBJECTION)});
    // Not what `seal` makes of a padded payload: refused before storing.
    let ctx_item = item::message(message_id);
    let ctx = SealContext {
        case_id: case,
        item: &ctx_item,
    };
    let unpadded = BASE64.encode(&seal(b"{\"body\":\"x\"}", &ctx, &to).unwrap());
    let short = rate(
        "dissatisfied",
        Some(json!({"message_id": message_id.to_string(), "body": unpadded})),
    );
    refused(live, short, (422, "sealed_malformed")).await;
    // A rating is bound to the case the status showed, objection or not.
    let mut other_case = rate("satisfied", None);
    other_case["case_id"] = json!(CaseId::arrived_on(chrono::Utc::now()).to_string());
    refused(live, other_case, (409, "sealed_stale")).await;

    refused(live, rate("great", None), (422, "invalid_rating")).await;
    let units_only = &to[..to.len() - 1];
    let misaddressed = rate("dissatisfied", Some(objection(case, units_only)));
    refused(live, misaddressed, (422, "sealed_misaddressed")).await;
    let mut elsewhere = rate("dissatisfied", Some(objection(case, &to)));
    elsewhere["case_id"] = json!(CaseId::arrived_on(chrono::Utc::now()).to_string());
    refused(live, elsewhere, (409, "sealed_stale")).await;
    let mut stale = rate("dissatisfied", None);
    stale["objection"] = json!({"message_id": Uuid::new_v4().to_string(), "body": sealed(case, message_id, &to, OBJECTION)});
    refused(live, stale, (409, "sealed_stale")).await;

    let good = rate("dissatisfied", Some(objection(case, &to)));
    let (s, v) = intake_post(&live.intake, "/api/v1/sealed/rating", good.clone()).await;
    assert_eq!((s, &v), (201, &json!({"objection": true})));
    refused(live, good, (409, "already_rated")).await;

    // The unit above reads the objection and has the re-examination.
    assert_objection_read(province, &id).await;
    let tasks = province.get("/api/v1/tasks").await;
    assert!(
        tasks
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["case_id"] == id && t["kind"] == "reexamine"),
        "{tasks}"
    );
    // The reporter's browser reads the rating back, and opens its objection.
    let status = sealed_status(live, &token).await;
    assert_eq!(status["rating"]["rating"], "dissatisfied", "{status}");
    assert_eq!(status["rating"]["objection"], true);
    assert!(
        status["display"]["rated"]
            .as_str()
            .unwrap()
            .contains("Dissatisfied"),
        "in the request's language: {status}"
    );
    let mine = status["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == message_id.to_string())
        .unwrap();
    let item = item::message(message_id);
    let ctx = SealContext {
        case_id: case,
        item: &item,
    };
    let bytes = BASE64
        .decode(mine["sealed"].as_str().unwrap().as_bytes())
        .unwrap();
    let opened: MessageContent = decode_padded(&open(&bytes, &ctx, &reporter).unwrap()).unwrap();
    assert_eq!(opened.body, OBJECTION);
}

/// Chromium with JavaScript on, through the recording proxy: the status
/// drawn by the script offers the rating form, the objection is sealed in
/// the page, and neither it nor the code crosses the wire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_javascript_on_the_rating_and_objection_are_sealed_in_chromium() {
    use crate::support::{
        Processes, assert_accessible, browser_with_javascript, find, submit, submit_css, type_into,
    };
    let live = Live::start(sunlight_testkit::Engine::Sqlite).await;
    let (verifier, supervisor, province) = (&live.staff[0], &live.staff[1], &live.staff[2]);
    let code = file_real_name(&live.intake, "在浏览器中评价").await;
    let id = routed(&live, 1).await.remove(0);
    conclude(verifier, supervisor, &id, "经查，反映的问题不属实。").await;
    let upstream = live.intake.trim_start_matches("http://").to_owned();
    let (base, seen) = crate::sealing_browser::recording_proxy(upstream).await;
    let dir = tempfile::tempdir().unwrap();
    let mut procs = Processes::default();
    let c = browser_with_javascript(dir.path(), "zh-CN,zh", &mut procs).await;
    let walk = async {
        c.goto(&format!("{base}/status")).await.unwrap();
        type_into(&c, "input[name=code]", &code).await;
        submit(&c, "code").await;
        find(&c, "#rating-form").await;
        find(&c, "#rating-dissatisfied")
            .await
            .click()
            .await
            .unwrap();
        type_into(&c, "#objection", OBJECTION).await;
        assert_accessible(&c, "rating form drawn by the script").await;
        submit_css(&c, "#rating-form").await;
        find(&c, "#rated-sent").await;
        let rated = find(&c, "#rated").await.text().await.unwrap();
        assert!(
            rated.contains("不满意") && rated.contains("复查"),
            "{rated}"
        );
        assert!(
            c.find(fantoccini::Locator::Css("#rating-form"))
                .await
                .is_err(),
            "rated once: no form any more"
        );
        let messages = find(&c, "#messages").await.text().await.unwrap();
        assert!(
            messages.contains(OBJECTION),
            "opened in the page: {messages}"
        );
        assert_accessible(&c, "status after the rating, drawn by the script").await;
    };
    tokio::time::timeout(std::time::Duration::from_secs(120), walk)
        .await
        .unwrap();
    c.close().await.unwrap();
    drop(procs);
    let wire = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    assert!(
        wire.contains("POST /api/v1/sealed/rating"),
        "the sealed path"
    );
    assert!(
        !wire.contains("POST /status/rating"),
        "not posted in the clear"
    );
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    for secret in ["CANARY-objection-3c9d", &code, &digits] {
        assert!(!wire.contains(secret), "{secret} crossed the wire");
    }
    assert_objection_read(province, &id).await;
    live.stop().await;
}

/// In the shangmi suite the route is refused before it reads anything: a
/// body that is not even JSON gets the same 404, not a 400 (`refused`
/// counts that nothing is stored).
async fn sealing_not_offered(live: &Live) {
    let body = json!({"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "case_id": CaseId::new_v7(1).to_string(), "rating": "satisfied"});
    refused(live, body, (404, "sealing_not_offered")).await;
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/sealed/rating", live.intake))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "sealing_not_offered", "{v}");
}
