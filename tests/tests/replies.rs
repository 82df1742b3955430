//! Replies that are never missed (#18 item 4), intake and triage together
//! on both engines: a reporter's message marks the case unread for its
//! staff (queue and register) and puts it first in the owner's queue; once
//! the message's day is over, one mail without content goes to the owner —
//! exactly once; a reply on a closed case goes to the unit's supervisors
//! as a request to consider re-examination instead of going nowhere.

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
use sunlight_testkit::{Engine, query_text};

use crate::e2e::{Live, Staff, file};

async fn reporter_writes(intake: &str, code: &str, body: &str) {
    let res = reqwest::Client::new()
        .post(format!("{intake}/api/v1/status/messages"))
        .json(&json!({"code": code, "body": body}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

/// The verify queue once both reports are routed, as `case_id → unread`.
async fn queue(verifier: &Staff, expect: usize) -> Vec<(String, u64)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let q = verifier.get("/api/v1/queues/verify").await;
        let lines: Vec<(String, u64)> = q
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["case_id"].as_str().unwrap().to_owned(),
                    l["unread"].as_u64().unwrap(),
                )
            })
            .collect();
        if lines.len() == expect {
            return lines;
        }
        assert!(Instant::now() < deadline, "routing did not happen: {q}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The case of the two queue lines that is not `one`.
fn other_of(lines: &[(String, u64)], one: &str) -> String {
    lines.iter().find(|(id, _)| id != one).unwrap().0.clone()
}

/// Reply mails in the outbox: `(recipient, kind, subject, body)`.
async fn reply_mails(live: &Live) -> Vec<(String, String, String, String)> {
    live.db
        .store
        .outbox_all()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| {
            let kind = m.kind.filter(|k| k.ends_with("reply"))?;
            Some((m.recipient, kind, m.subject, m.body))
        })
        .collect()
}

async fn run(engine: Engine) {
    let live = Live::start(engine).await;
    let (verifier, supervisor) = (&live.staff[0], &live.staff[1]);
    let code_a = file(&live.intake, "甲：突击提拔").await;
    let code_b = file(&live.intake, "乙：破格提拔").await;
    crate::reexamination::routed(&live, 2).await;
    let lines = queue(verifier, 2).await;
    let narrative = |id: &str| {
        let id = id.to_owned();
        async move {
            verifier.get(&format!("/api/v1/cases/{id}")).await["report"]["narrative"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let (a, b) = if narrative(&lines[0].0).await.starts_with('甲') {
        (lines[0].0.clone(), lines[1].0.clone())
    } else {
        (lines[1].0.clone(), lines[0].0.clone())
    };
    verifier.claim(&a).await;
    verifier.claim(&b).await;
    // The reporter of whichever case the queue lists second writes: that
    // case comes first in its owner's queue, marked unread.
    let second = queue(verifier, 2).await[1].0.clone();
    let code = if second == a { &code_a } else { &code_b };
    reporter_writes(&live.intake, code, "补充：任职前未公示").await;
    // Nothing shows the same day: a case that rose in its owner's queue
    // seconds after a reply would time the reporter's return.
    let lines = queue(verifier, 2).await;
    assert!(lines.iter().all(|(_, n)| *n == 0), "{lines:?}");
    assert_eq!(lines[0].0, other_of(&lines, &second), "order unchanged");

    // Once the day is over (and its hour of grace): one notice, to the
    // owner, and the case unread and first in the owner's queue.
    let sweeper = Sweeper::new(
        live.db.store.clone(),
        Arc::new(Policy::cn_12380()),
        Arc::new(Calendar::cn()),
        MailStyle {
            lang: Lang::ZhCn,
            link_base: "https://triage.example".into(),
        },
    );
    let now = Utc::now();
    assert_eq!(sweeper.notify_replies(now).await.unwrap(), 0, "{engine:?}");
    assert_eq!(
        sweeper.notify_replies(now + Days::days(2)).await.unwrap(),
        1
    );
    assert_eq!(
        sweeper.notify_replies(now + Days::days(3)).await.unwrap(),
        0
    );
    assert_eq!(
        query_text(
            &live.db.store,
            "SELECT COUNT(*) FROM messages WHERE notice_pending"
        )
        .await
        .unwrap(),
        "0",
        "the notice is marked done, not only deduplicated"
    );
    let lines = queue(verifier, 2).await;
    assert_eq!(lines[0], (second.clone(), 1), "{lines:?}");
    assert_eq!(lines[1].1, 0);
    let register = verifier.get("/api/v1/cases").await;
    let line = register["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["case_id"] == second.as_str())
        .unwrap();
    assert_eq!(line["unread"], 1, "{register}");
    // Someone else's queue keeps its order: the supervisor owns nothing.
    let theirs: Vec<String> = supervisor
        .get("/api/v1/queues/verify")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["case_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(theirs[1], second, "{theirs:?}");
    let mails = reply_mails(&live).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    let (to, kind, subject, body) = &mails[0];
    assert_eq!(
        (to.as_str(), kind.as_str()),
        ("verifier@gd-gz.test", "reply")
    );
    assert!(subject.contains("新回复"), "{subject}");
    assert!(body.contains(&format!("https://triage.example/cases/{second}")));
    for secret in ["任职前未公示", "突击提拔", "破格提拔", code.as_str()] {
        assert!(
            !body.contains(secret) && !subject.contains(secret),
            "{secret}"
        );
    }
    // Opening the case reads it.
    let _case = verifier.get(&format!("/api/v1/cases/{second}")).await;
    assert!(queue(verifier, 2).await.iter().all(|(_, n)| *n == 0));

    // A reply on a closed case goes to the supervisors instead.
    let other = if second == a { b.clone() } else { a.clone() };
    let other_code = if second == a { &code_b } else { &code_a };
    verifier
        .act(
            &other,
            json!({"action": "verified", "outcome": "unsubstantiated"}),
        )
        .await;
    supervisor.claim(&other).await;
    supervisor
        .act(&other, json!({"action": "decided", "decision": "不予处理"}))
        .await;
    verifier.claim(&other).await;
    verifier
        .act(
            &other,
            json!({"action": "feedback", "message": "经查不属实。"}),
        )
        .await;
    verifier.act(&other, json!({"action": "close"})).await;
    reporter_writes(&live.intake, other_code, "我不同意这个结论").await;
    let register: Value = verifier.get("/api/v1/cases?stage=closed").await;
    assert_eq!(register["cases"][0]["case_id"], other.as_str());
    assert_eq!(
        sweeper.notify_replies(now + Days::days(2)).await.unwrap(),
        1
    );
    let register: Value = verifier.get("/api/v1/cases?stage=closed").await;
    assert_eq!(register["cases"][0]["unread"], 1, "{register}");
    let mails = reply_mails(&live).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    let (to, kind, subject, body) = &mails[1];
    assert_eq!(
        (to.as_str(), kind.as_str()),
        ("supervisor@gd-gz.test", "closed_reply")
    );
    assert!(subject.contains("复查"), "{subject}");
    assert!(!body.contains("不同意"), "{body}");

    // A reply on a case merged away before its notice is news for the case
    // it lives on in: its owner hears, and that case turns unread.
    let code_c = file(&live.intake, "丙：同一件事").await;
    crate::reexamination::routed(&live, 2).await;
    let c = loop {
        let lines = queue(verifier, 2).await;
        if let Some((id, _)) = lines.iter().find(|(id, _)| *id != second) {
            break id.clone();
        }
    };
    // The reply comes in on C, then C is merged before its notice goes.
    reporter_writes(&live.intake, &code_c, "丙的补充材料").await;
    supervisor
        .act(&c, json!({"action": "merge", "into": second}))
        .await;
    assert_eq!(
        sweeper.notify_replies(now + Days::days(2)).await.unwrap(),
        1
    );
    let mails = reply_mails(&live).await;
    assert_eq!(mails.len(), 3, "{mails:?}");
    let (to, kind, _, body) = &mails[2];
    assert_eq!(
        (to.as_str(), kind.as_str()),
        ("verifier@gd-gz.test", "reply")
    );
    assert!(body.contains(&format!("/cases/{second}")), "{body}");
    assert_eq!(queue(verifier, 1).await, [(second.clone(), 1)]);
    live.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_are_never_missed_on_sqlite() {
    run(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_are_never_missed_on_postgres() {
    run(Engine::Postgres).await;
}
