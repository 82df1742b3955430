//! Acknowledgement, satisfaction and re-examination (#18 items 5–7),
//! intake and triage together on both engines: a real-name report gets an
//! acknowledgement task that a marked message does, once; once feedback is
//! given the reporter rates it once and may object; the objection opens a
//! re-examination at the unit above, which the handling unit cannot answer
//! itself; the unit above upholds (the reporter reads why) or any
//! supervisor reopens the case with a new deadline and a new round; the
//! sweeper reminds and escalates tasks exactly once; ratings count in the
//! statistics. Every refusal is a 4xx that changes nothing.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Duration as Days, Utc};
use serde_json::{Value, json};
use sunlight_casework::{MailStyle, Sweeper};
use sunlight_core::calendar::Calendar;
use sunlight_core::i18n::Lang;
use sunlight_core::policy::Policy;
use sunlight_core::{Measure, TaskKind};
use sunlight_testkit::{Engine, query_text};

use crate::e2e::{Live, Staff, reporter_status};

/// Files a real-name report on gd-gz; its tracking code.
pub(crate) async fn file_real_name(intake: &str, narrative: &str) -> String {
    let res = reqwest::Client::new()
        .post(format!("{intake}/api/v1/reports"))
        .json(&json!({
            "unit": "gd-gz", "category": "office_trading",
            "accused": {"name": "王某", "position": "副县长", "role": "ordinary"},
            "selection_stage": "none", "narrative": narrative, "real_name": true,
            "reporter": {"name": "李四", "phone": "13800138000"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json::<Value>().await.unwrap()["tracking_code"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) async fn intake_post(intake: &str, path: &str, body: Value) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{intake}{path}"))
        .header("Accept-Language", "en")
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

/// The open tasks `who` sees, as `(case_id, kind, unit)`.
async fn tasks(who: &Staff) -> Vec<(String, String, String)> {
    who.get("/api/v1/tasks")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["case_id"].as_str().unwrap().to_owned(),
                t["kind"].as_str().unwrap().to_owned(),
                t["unit"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Waits for routing, accepts (受理) what waits for it as gd-gz's
/// supervisor; the ids of the verify queue.
pub(crate) async fn routed(live: &Live, expect: usize) -> Vec<String> {
    let (verifier, desk) = (&live.staff[0], &live.staff[1]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let waiting = desk.get("/api/v1/queues/received").await;
        for line in waiting.as_array().unwrap() {
            let id = line["case_id"].as_str().unwrap();
            desk.act(id, json!({"action": "accept"})).await;
        }
        let q = verifier.get("/api/v1/queues/verify").await;
        let ids: Vec<String> = q
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["case_id"].as_str().unwrap().to_owned())
            .collect();
        if ids.len() == expect {
            return ids;
        }
        assert!(Instant::now() < deadline, "routing did not happen: {q}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) async fn count(live: &Live, sql: &str) -> String {
    query_text(&live.db.store, sql).await.unwrap()
}

/// Task mails in the outbox: `(recipient, kind)`, sorted.
async fn task_mails(live: &Live) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = live
        .db
        .store
        .outbox_all()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| {
            let kind = m.kind.filter(|k| k.starts_with("task-"))?;
            Some((m.recipient, kind))
        })
        .collect();
    out.sort();
    out
}

/// Verify, decide and feed back, as the case's people do.
async fn feed_back(verifier: &Staff, supervisor: &Staff, id: &str, feedback: &str) {
    verifier.claim(id).await;
    verifier
        .act(
            id,
            json!({"action": "verified", "outcome": "unsubstantiated"}),
        )
        .await;
    supervisor.claim(id).await;
    supervisor
        .act(id, json!({"action": "decided", "decision": "不予处理"}))
        .await;
    verifier.claim(id).await;
    verifier
        .act(id, json!({"action": "feedback", "message": feedback}))
        .await;
}

/// `feed_back`, then close.
pub(crate) async fn conclude(verifier: &Staff, supervisor: &Staff, id: &str, feedback: &str) {
    feed_back(verifier, supervisor, id, feedback).await;
    verifier.act(id, json!({"action": "close"})).await;
}

async fn acknowledgement(live: &Live, id: &str, code: &str) {
    let (verifier, supervisor) = (&live.staff[0], &live.staff[1]);
    assert_eq!(
        tasks(verifier).await,
        [(id.to_owned(), "acknowledge".to_owned(), "gd-gz".to_owned())]
    );
    let case = verifier.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["tasks"][0]["kind"], "acknowledge", "{case}");
    assert!(case["tasks"][0]["done_at"].is_null());
    // The unit above sees its units' open tasks too (it oversees them).
    assert_eq!(tasks(&live.staff[2]).await.len(), 1);
    let ack =
        json!({"body": "您的实名举报已受理，由广州市委组织部办理。", "acknowledgement": true});
    let (s, v) = verifier
        .post(&format!("/api/v1/cases/{id}/messages"), ack.clone())
        .await;
    assert_eq!(s, 201, "{v}");
    assert!(tasks(verifier).await.is_empty());
    // Once only: a second acknowledgement is refused and stores nothing.
    let messages = count(live, "SELECT COUNT(*) FROM messages").await;
    let (s, v) = supervisor
        .post(&format!("/api/v1/cases/{id}/messages"), ack)
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(count(live, "SELECT COUNT(*) FROM messages").await, messages);
    let status = reporter_status(&live.intake, code).await;
    assert!(
        status["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"].as_str().unwrap().contains("已受理")),
        "{status}"
    );
    let case = verifier.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["tasks"][0]["done_how"], "acknowledged", "{case}");
}

async fn rate_and_object(live: &Live, id: &str, code: &str) {
    let (verifier, supervisor, province) = (&live.staff[0], &live.staff[1], &live.staff[2]);
    let rate = |rating: &str, objection: Option<&str>| json!({"code": code, "rating": rating, "objection": objection});
    // Before feedback: nothing to rate, and the status has no rating yet.
    assert!(
        reporter_status(&live.intake, code)
            .await
            .get("rating")
            .is_none()
    );
    let (s, v) = intake_post(
        &live.intake,
        "/api/v1/status/rating",
        rate("satisfied", None),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("rating_not_yet")),
        "{v}"
    );
    // A second report on the same matter is merged into this one: its
    // reporter rates for themself, and neither sees the other's rating.
    let merged_code = crate::e2e::file(&live.intake, "同一件事，另一位举报人").await;
    let merged = routed(live, 2).await.into_iter().find(|c| c != id).unwrap();
    supervisor
        .act(&merged, json!({"action": "merge", "into": id}))
        .await;
    feed_back(verifier, supervisor, id, "经查，反映的问题不属实。").await;
    // Feedback given, case not closed: nothing to rate yet (it may change).
    let (s, v) = intake_post(
        &live.intake,
        "/api/v1/status/rating",
        rate("satisfied", None),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("rating_not_yet")),
        "{v}"
    );
    verifier.act(id, json!({"action": "close"})).await;
    let status = reporter_status(&live.intake, code).await;
    assert!(
        status["rating"].is_null() && status.get("rating").is_some(),
        "{status}"
    );
    assert!(status["objection_until"].is_string(), "{status}");
    let (s, v) = intake_post(&live.intake, "/api/v1/status/rating", rate("great", None)).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("invalid_rating")),
        "{v}"
    );
    assert_eq!(count(live, "SELECT COUNT(*) FROM ratings").await, "0");
    let objection = "查核没有找我核实，结论不客观，请求复查。";
    let leaves = "SELECT COUNT(*) FROM log_leaves WHERE message_id IS NOT NULL";
    let before: u64 = count(live, leaves).await.parse().unwrap();
    let (s, v) = intake_post(
        &live.intake,
        "/api/v1/status/rating",
        rate("dissatisfied", Some(objection)),
    )
    .await;
    assert_eq!((s, &v), (201, &json!({"objection": true})));
    // The objection is a reporter's filing: it has its leaf in the log.
    let after: u64 = count(live, leaves).await.parse().unwrap();
    assert_eq!(after, before + 1);
    let (s, v) = intake_post(
        &live.intake,
        "/api/v1/status/rating",
        rate("satisfied", None),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("already_rated")),
        "{v}"
    );
    let status = reporter_status(&live.intake, code).await;
    assert_eq!(status["rating"]["rating"], "dissatisfied", "{status}");
    assert_eq!(status["rating"]["objection"], true);
    let theirs = reporter_status(&live.intake, &merged_code).await;
    assert!(
        theirs["rating"].is_null() && theirs.get("rating").is_some(),
        "{theirs}"
    );
    let (s, v) = intake_post(
        &live.intake,
        "/api/v1/status/rating",
        json!({"code": merged_code, "rating": "satisfied"}),
    )
    .await;
    assert_eq!(s, 201, "one rating per reporter, not per case: {v}");
    let case = verifier.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["ratings"].as_array().unwrap().len(), 2, "{case}");
    // The day only: the rating and the objection's message carry no time.
    let rated_on = count(live, "SELECT CAST(rated_on AS TEXT) FROM ratings").await;
    assert!(
        rated_on.contains("16:00:00") || rated_on.contains("T16:00"),
        "a local midnight in Shanghai: {rated_on}"
    );

    // The re-examination sits with the unit above; gd-gz cannot answer it.
    assert!(tasks(verifier).await.is_empty(), "not gd-gz's task");
    assert_eq!(
        tasks(province).await,
        [(id.to_owned(), "reexamine".to_owned(), "gd".to_owned())]
    );
    // Announced to the unit above's supervisors once the objection's day
    // is over (not seconds after the reporter's visit), once, saying
    // nothing of what it says.
    sweeper(live).pass(Utc::now()).await.unwrap();
    assert!(
        task_mails(live)
            .await
            .iter()
            .all(|(_, k)| !k.starts_with("task-reexamine"))
    );
    let next_day = Utc::now() + Days::days(2);
    sweeper(live).pass(next_day).await.unwrap();
    sweeper(live).pass(next_day).await.unwrap();
    let opened: Vec<(String, String)> = task_mails(live)
        .await
        .into_iter()
        .filter(|(_, k)| k.starts_with("task-reexamine"))
        .collect();
    assert_eq!(
        opened,
        [(
            "supervisor@gd.test".to_owned(),
            "task-reexamine-opened".to_owned()
        )]
    );
    let bodies = live.db.store.outbox_all().await.unwrap();
    assert!(
        bodies
            .iter()
            .all(|m| !m.body.contains("客观") && !m.subject.contains("客观"))
    );
    let uphold = json!({"action": "uphold", "message": "经复查，维持原处理意见。"});
    let (s, v) = supervisor
        .post(&format!("/api/v1/cases/{id}/transitions"), uphold.clone())
        .await;
    assert_eq!(s, 403, "{v}");
    // Nor by reopening it themselves, which would close the task unasked.
    let (s, v) = supervisor
        .post(
            &format!("/api/v1/cases/{id}/transitions"),
            json!({"action": "reopen", "reason": "自行复查", "to": "handle"}),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let case = province.get(&format!("/api/v1/cases/{id}")).await;
    let allowed = case["allowed_actions"].as_array().unwrap();
    assert!(
        allowed.contains(&json!("uphold")) && allowed.contains(&json!("reopen")),
        "{case}"
    );
    assert!(
        case["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"] == objection),
        "the unit above reads the objection: {case}"
    );
    let own = supervisor.get(&format!("/api/v1/cases/{id}")).await;
    assert!(
        !own["allowed_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("uphold"))
    );
    province.act(id, uphold.clone()).await;
    let (s, _) = province
        .post(&format!("/api/v1/cases/{id}/transitions"), uphold)
        .await;
    assert_eq!(s, 409, "answered once");
    assert!(tasks(province).await.is_empty());
    let status = reporter_status(&live.intake, code).await;
    assert_eq!(status["stage"], "closed");
    assert!(
        status["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"].as_str().unwrap().contains("维持原处理意见")),
        "{status}"
    );
}

async fn reopen(live: &Live, id: &str, code: &str) {
    let supervisor = &live.staff[1];
    let (s, v) = live.staff[0]
        .post(
            &format!("/api/v1/cases/{id}/transitions"),
            json!({"action": "reopen", "reason": "发现新线索"}),
        )
        .await;
    assert_eq!(s, 403, "a verifier does not reopen: {v}");
    let (s, v) = supervisor
        .post(
            &format!("/api/v1/cases/{id}/transitions"),
            json!({"action": "reopen", "reason": "发现新线索", "to": "notify"}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    supervisor
        .act(
            id,
            json!({"action": "reopen", "reason": "发现新线索", "to": "handle"}),
        )
        .await;
    let case = supervisor.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(
        (case["stage"].as_str(), case["round"].as_i64()),
        (Some("handle"), Some(1))
    );
    assert_eq!(case["outcome"], "unsubstantiated", "the outcome stands");
    assert!(case["deadline"].is_string(), "a new deadline: {case}");
    assert_eq!(case["ratings"], json!([]), "a new round, not rated yet");
    let (s, _) = supervisor
        .post(
            &format!("/api/v1/cases/{id}/transitions"),
            json!({"action": "reopen", "reason": "again"}),
        )
        .await;
    assert_eq!(s, 409, "an open case is not reopened");
    // The reporter sees it open again, and rates only after new feedback.
    let status = reporter_status(&live.intake, code).await;
    assert_eq!(status["stage"], "handle");
    assert!(status.get("rating").is_none(), "{status}");
}

fn sweeper(live: &Live) -> Sweeper {
    Sweeper::new(
        live.db.store.clone(),
        Arc::new(Policy::cn_12380()),
        Arc::new(Calendar::cn()),
        MailStyle {
            lang: Lang::ZhCn,
            link_base: "https://triage.example".into(),
        },
    )
}

/// A report the top unit handled: rated, but no objection (nobody above).
async fn at_the_top(live: &Live) {
    let province = &live.staff[2];
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/reports", live.intake))
        .json(&json!({
            "unit": "gd", "category": "other",
            "accused": {"name": "孙某", "position": "", "role": "ordinary"},
            "selection_stage": "none", "narrative": "省直单位的问题", "real_name": true,
            "reporter": {"name": "赵六", "phone": "13900139000"}
        }))
        .send()
        .await
        .unwrap();
    let code = res.json::<Value>().await.unwrap()["tracking_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let id = loop {
        // The province's own desk (its supervisor) accepts it first.
        let waiting = province.get("/api/v1/queues/received?unit=gd").await;
        for line in waiting.as_array().unwrap() {
            if line["unit"] == "gd" {
                let id = line["case_id"].as_str().unwrap();
                province.act(id, json!({"action": "accept"})).await;
            }
        }
        let q = province.get("/api/v1/queues/verify?unit=gd").await;
        let own = q
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["unit"] == "gd")
            .cloned();
        if let Some(line) = own {
            break line["case_id"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "routing did not happen: {q}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    conclude(province, province, &id, "已核实处理。").await;
    // Closed without its acknowledgement: the task ends with the case
    // (the reporter has the answer), saying how, and nags nobody after.
    let case = province.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(case["tasks"][0]["done_how"], "closed", "{case}");
    assert!(tasks(province).await.iter().all(|t| t.0 != id));
    assert!(
        reporter_status(&live.intake, &code)
            .await
            .get("objection_until")
            .is_none()
    );
    let (s, v) = intake_post(
        &live.intake,
        "/api/v1/status/rating",
        json!({"code": code, "rating": "dissatisfied", "objection": "不服"}),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("no_unit_above")),
        "{v}"
    );
    let (s, _) = intake_post(
        &live.intake,
        "/api/v1/status/rating",
        json!({"code": code, "rating": "dissatisfied"}),
    )
    .await;
    assert_eq!(s, 201);
}

async fn sweeps_and_stats(live: &Live) {
    let sweeper = sweeper(live);
    // A second real-name report nobody acknowledges: reminded, then
    // overdue to the unit's supervisors and the unit above, once.
    let _code = file_real_name(&live.intake, "第二件实名举报").await;
    let id = routed(live, 1).await[0].clone();
    let later = Utc::now() + Days::days(40);
    sweeper.pass(later).await.unwrap();
    sweeper.pass(later + Days::days(1)).await.unwrap();
    let mails = task_mails(live).await;
    let overdue: Vec<&(String, String)> = mails
        .iter()
        .filter(|(_, k)| k == "task-acknowledge-overdue")
        .collect();
    assert_eq!(
        overdue,
        [
            &(
                "supervisor@gd-gz.test".to_owned(),
                "task-acknowledge-overdue".to_owned()
            ),
            &(
                "supervisor@gd.test".to_owned(),
                "task-acknowledge-overdue".to_owned()
            ),
        ],
        "the unit's supervisors and the unit above (nobody owns the case): {mails:?}"
    );
    assert_eq!(
        count(
            live,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'task.overdue'"
        )
        .await,
        "1"
    );
    let tasks = live
        .db
        .store
        .tasks_of(sunlight_core::CaseId::parse(&id).unwrap())
        .await
        .unwrap();
    assert!(tasks[0].overdue_at.is_some() && tasks[0].kind == TaskKind::Acknowledge);
    // Ratings are facts of the statistics, by the day they were given.
    let facts = live
        .db
        .store
        .facts_between(Utc::now() - Days::days(2), Utc::now() + Days::days(2))
        .await
        .unwrap();
    let n = |m: Measure| facts.iter().filter(|f| f.measure == m).count();
    assert_eq!(
        (
            n(Measure::Rated),
            n(Measure::Satisfied),
            n(Measure::Objected)
        ),
        (3, 1, 1),
        "two reporters of one case and the top unit's one"
    );
}

async fn run(engine: Engine) {
    let live = Live::start(engine).await;
    let code = file_real_name(&live.intake, "某局长收钱安排干部").await;
    let id = routed(&live, 1).await[0].clone();
    acknowledgement(&live, &id, &code).await;
    rate_and_object(&live, &id, &code).await;
    reopen(&live, &id, &code).await;
    at_the_top(&live).await;
    sweeps_and_stats(&live).await;
    crate::sealed_rating::sealed_rating(&live).await;
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgement_rating_and_reexamination_on_sqlite() {
    run(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgement_rating_and_reexamination_on_postgres() {
    run(Engine::Postgres).await;
}
