//! The sweeper on a virtual clock, on SQLite and PostgreSQL: who is told
//! what and when over a case's life, that each notice happens once however
//! often (and however many sweepers) pass, that no mail carries report
//! content, and that a stage's reminders move with its deadline.

#![expect(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use crate::common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use common::{ENGINES, Harness, email};
use serde_json::json;
use sunlight_casework::{MailStyle, Sweeper};
use sunlight_core::calendar::Calendar;
use sunlight_core::i18n::Lang;
use sunlight_core::policy::Policy;
use sunlight_core::{CaseId, UnitId};
use sunlight_store::{AuditReport, QueueRow, Store};

const CANARY: &str = "CANARY-sweeper-7f3a9c";

fn sweeper(store: &Store) -> Sweeper {
    Sweeper::new(
        store.clone(),
        Arc::new(Policy::cn_12380()),
        Arc::new(Calendar::cn()),
        MailStyle {
            lang: Lang::En,
            link_base: "https://triage.example.org".into(),
        },
    )
}

/// The open entry of a case, once routing has put it in a queue.
async fn routed_entry(store: &Store, unit: &str, case: &str) -> QueueRow {
    let j = store
        .jurisdiction(&UnitId::parse(unit).unwrap())
        .await
        .unwrap();
    let id = CaseId::from_uuid(case.parse().unwrap());
    for _ in 0..100 {
        let (_, entry) = store.case_with_entry(&j, id).await.unwrap().unwrap();
        if let Some(e) = entry.filter(|e| e.stage == sunlight_core::Stage::Verify) {
            return e;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("case {case} was not routed");
}

/// `(kind, recipient)` of every mail in the outbox, sorted.
async fn mails(store: &Store) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = store
        .outbox_all()
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.kind.unwrap_or_default(), m.recipient))
        .collect();
    out.sort();
    out
}

fn kinds(pairs: &[(String, String)], kind: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, r)| r.clone())
        .collect()
}

fn at_share(e: &QueueRow, share: f64) -> DateTime<Utc> {
    let total = (e.due_at - e.opened_at).num_seconds() as f64;
    e.opened_at + Duration::seconds((total * share) as i64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_reminder_and_escalation_reaches_the_right_people_once() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let store = &h.db.store;
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let (code, case) = desk
            .file(
                "gd-gz-tianhe",
                "ordinary",
                "none",
                &format!("{CANARY} 拉票"),
            )
            .await;
        let e = routed_entry(store, "gd-gz-tianhe", &case).await;
        let s = sweeper(store);

        // Arrival: the people who may take a verify case hear of it.
        let r = s.pass(e.opened_at).await.unwrap();
        assert_eq!(r.written.notices, 1, "{engine:?}");
        let m = mails(store).await;
        assert_eq!(
            kinds(&m, "opened"),
            [
                email("supervisor", "gd-gz-tianhe"),
                email("verifier", "gd-gz-tianhe")
            ]
        );
        // The same moment again, and again: nothing new.
        for _ in 0..2 {
            let r = s.pass(e.opened_at + Duration::minutes(1)).await.unwrap();
            assert_eq!(r.written.notices, 0);
        }

        // Nobody took it for a working day: the supervisor is told.
        s.pass(e.opened_at + Duration::days(5)).await.unwrap();
        let m = mails(store).await;
        assert_eq!(
            kinds(&m, "unclaimed"),
            [email("supervisor", "gd-gz-tianhe")]
        );

        // Claimed: from now on, reminders go to the owner only.
        let verifier = h.sign_in(&email("verifier", "gd-gz-tianhe")).await;
        assert_eq!(verifier.claim(&case).await, 200);
        s.pass(at_share(&e, 0.55)).await.unwrap();
        s.pass(at_share(&e, 0.95)).await.unwrap();
        let m = mails(store).await;
        assert_eq!(
            kinds(&m, "reminder-500"),
            [email("verifier", "gd-gz-tianhe")]
        );
        // 75 % fell between two passes: superseded by 90 %, not mailed.
        assert!(kinds(&m, "reminder-750").is_empty());
        assert_eq!(
            kinds(&m, "reminder-900"),
            [email("verifier", "gd-gz-tianhe")]
        );

        // The deadline passes: owner, the unit's and the parent's supervisors.
        let r = s.pass(e.due_at + Duration::hours(1)).await.unwrap();
        assert_eq!(r.written.overdue, 1);
        let m = mails(store).await;
        let mut expected = vec![
            email("supervisor", "gd-gz"),
            email("supervisor", "gd-gz-tianhe"),
            email("verifier", "gd-gz-tianhe"),
        ];
        expected.sort();
        assert_eq!(kinds(&m, "overdue"), expected);
        // Late: the owner owes the reporter an interim message (阶段性
        // 反馈); any message to the reporter is it.
        let cid = sunlight_core::CaseId::parse(&case).unwrap();
        let interim = |tasks: Vec<sunlight_store::TaskRow>| {
            tasks
                .into_iter()
                .find(|t| t.kind == sunlight_core::TaskKind::Interim)
        };
        let open = interim(store.tasks_of(cid).await.unwrap()).unwrap();
        assert!(open.is_open(), "{engine:?}");
        let (status, v) = verifier
            .post(
                &format!("/api/v1/cases/{case}/messages"),
                serde_json::json!({"body": "核查仍在进行，预计下月中旬完成。"}),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        let done = interim(store.tasks_of(cid).await.unwrap()).unwrap();
        assert_eq!(done.done_how.as_deref(), Some("messaged"));
        let r = s.pass(e.due_at + Duration::days(30)).await.unwrap();
        assert_eq!(r.written.notices, 0, "nothing is sent twice");
        let notices = store.notice_counts().await.unwrap();
        let count = |k: &str| notices.iter().find(|(n, _, _)| n == k).map(|(_, c, _)| *c);
        for k in [
            "opened",
            "unclaimed",
            "reminder-500",
            "reminder-750",
            "reminder-900",
            "overdue",
        ] {
            assert_eq!(count(k), Some(1), "{k} recorded once");
        }
        assert!(matches!(
            store.verify_audit().await.unwrap(),
            AuditReport::Intact { .. }
        ));

        // No mail carries the report, the accused or the code.
        let code_compact: String = code.chars().filter(char::is_ascii_digit).collect();
        for mail in store.outbox_all().await.unwrap() {
            let text = format!("{}\n{}", mail.subject, mail.body);
            for secret in [
                CANARY,
                "拉票",
                "李某",
                "副县长",
                code.as_str(),
                &code_compact,
            ] {
                assert!(!text.contains(secret), "{secret} leaked into: {text}");
            }
            assert!(text.contains(&format!("https://triage.example.org/cases/{case}")));
        }
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_moves_the_reminders_and_an_answer_brings_them_back() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let store = &h.db.store;
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let (_, case) = desk
            .file("gd-gz-tianhe", "ordinary", "none", "需要补充材料")
            .await;
        let e = routed_entry(store, "gd-gz-tianhe", &case).await;
        let s = sweeper(store);
        let verifier = h.sign_in(&email("verifier", "gd-gz-tianhe")).await;
        assert_eq!(verifier.claim(&case).await, 200);
        s.pass(e.opened_at).await.unwrap();
        // Asking the reporter stops the clock: the deadline moves out by the
        // pause bound, and the sweeper is told to look again.
        let (status, v) = verifier
            .act(
                &case,
                json!({"action": "ask_reporter", "question": "请补充时间"}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        let moved = routed_entry(store, "gd-gz-tianhe", &case).await;
        assert!(moved.due_at > e.due_at + Duration::days(29));
        // At the old deadline nothing is overdue any more.
        s.pass(e.due_at + Duration::hours(1)).await.unwrap();
        let m = mails(store).await;
        assert!(kinds(&m, "overdue").is_empty(), "{m:?}");
        s.pass(moved.due_at + Duration::hours(1)).await.unwrap();
        let m = mails(store).await;
        assert_eq!(kinds(&m, "overdue").len(), 3, "{m:?}");
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweepers_racing_on_many_cases_record_every_notice_once() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let store = &h.db.store;
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let mut cases = Vec::new();
        for i in 0..12 {
            let (_, case) = desk
                .file("gd-gz-tianhe", "ordinary", "none", &format!("第{i}件"))
                .await;
            cases.push(case);
        }
        let mut latest_due = Utc::now();
        for case in &cases {
            latest_due = latest_due.max(routed_entry(store, "gd-gz-tianhe", case).await.due_at);
        }
        // Four sweepers at once, at moments that cross every notice.
        let moments = [
            Utc::now(),
            Utc::now() + Duration::days(35),
            Utc::now() + Duration::days(50),
            latest_due + Duration::hours(2),
        ];
        for now in moments {
            let racers: Vec<_> = (0..4)
                .map(|_| {
                    let s = sweeper(store);
                    tokio::spawn(async move { s.pass(now).await })
                })
                .collect();
            for r in racers {
                r.await.unwrap().unwrap();
            }
        }
        let m = store.outbox_all().await.unwrap();
        // Per case: opened (2), unclaimed (1), one reminder per moment that
        // crossed one while unowned (to verifier and supervisor: 2 each, for
        // 50 % and 75 %/90 % collapsed) and overdue (2: the unit's and the
        // parent's supervisors; nobody owns it).
        let per_case = |kind: &str| m.iter().filter(|x| x.kind.as_deref() == Some(kind)).count();
        assert_eq!(per_case("opened"), 24, "{engine:?}");
        assert_eq!(per_case("unclaimed"), 12);
        assert_eq!(per_case("overdue"), 24);
        let mut keys: Vec<&str> = m.iter().map(|x| x.dedupe_key.as_str()).collect();
        let all = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), all, "no mail twice");
        let notices = store.notice_counts().await.unwrap();
        let overdue = notices.iter().find(|(k, _, _)| k == "overdue").unwrap();
        assert_eq!(overdue.1, 12, "one overdue per case");
        h.stop().await;
    }
}

/// Once a day the audit log's head goes to the root unit's supervisors: a
/// witness outside the database that `audit verify --expect` holds the log
/// to. Each sweeper process queues it once a day, and two processes queue
/// it once between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_head_is_mailed_to_the_root_supervisors_once_a_day() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let store = &h.db.store;
        let (a, b) = (sweeper(store), sweeper(store));
        let now = Utc::now();
        assert_eq!(a.mail_audit_head(now).await.unwrap(), 1, "{engine:?}");
        assert_eq!(a.mail_audit_head(now).await.unwrap(), 0, "once a day");
        assert_eq!(b.mail_audit_head(now).await.unwrap(), 0, "another process");
        let pairs = mails(store).await;
        assert_eq!(kinds(&pairs, "audit_head"), [email("supervisor", "gd")]);
        let (seq, hash) = store.audit_head().await.unwrap().unwrap();
        let mail = store
            .outbox_all()
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.kind.as_deref() == Some("audit_head"))
            .unwrap();
        let anchor = format!("{seq}:{}", data_encoding::HEXLOWER.encode(&hash));
        assert!(
            mail.body
                .contains(&format!("sunlight audit verify --expect {anchor}")),
            "{}",
            mail.body
        );
        // The next day, the new head.
        let tomorrow = now + Duration::days(1);
        assert_eq!(a.mail_audit_head(tomorrow).await.unwrap(), 1);
        h.stop().await;
    }
}

/// The last day of a deadline is one day everywhere: the verify queue page
/// and the mail that tells the verifiers of the case name the same date.
/// (Mails once printed the day after, the midnight that ends the last day.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mail_and_the_queue_page_name_the_same_last_day() {
    let h = Harness::start(sunlight_testkit::Engine::Sqlite).await;
    let store = &h.db.store;
    let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
    let (_, case) = desk.file("gd-gz-tianhe", "ordinary", "none", "拉票").await;
    let e = routed_entry(store, "gd-gz-tianhe", &case).await;
    sweeper(store).pass(e.opened_at).await.unwrap();
    let mail = store
        .outbox_all()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.kind.as_deref() == Some("opened"))
        .unwrap();
    let in_mail = mail
        .body
        .lines()
        .find_map(|l| l.strip_prefix("Deadline: "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .to_owned();

    let verifier = h.sign_in_page(&email("verifier", "gd-gz-tianhe")).await;
    let page = verifier.get("/queues/verify").await.body;
    let row = page
        .split("<tr")
        .find(|r| r.contains(&format!("data-case=\"{case}\"")))
        .unwrap();
    let on_page = row
        .split("<time>")
        .nth(1)
        .and_then(|t| t.split("</time>").next())
        .unwrap();
    assert_eq!(in_mail, on_page, "mail: {}\nrow: {row}", mail.body);
    // And it is the day before the midnight the deadline falls at.
    let policy = Policy::cn_12380();
    assert_eq!(on_page, policy.last_day(e.due_at).to_string());
    assert_ne!(on_page, policy.local_date(e.due_at).to_string());
    h.stop().await;
}
