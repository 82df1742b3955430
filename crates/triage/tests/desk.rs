//! Letters, calls and visits as they really arrive (#18 item 11): the day
//! received, from which every deadline counts; a letter's envelope sealed
//! with the report; attachments sealed as they stream in; a receipt slip
//! with the code; bad dates refused in the caller's language with nothing
//! stored.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use chrono::{Days, NaiveDate, Utc};
use serde_json::{Value, json};
use sunlight_core::calendar::Calendar;
use sunlight_core::policy::{DeadlineKind, Policy};

use crate::common::{ENGINES, Harness, PageClient, StaffClient, email};

fn report(channel: &str, received_on: &str, postmark_on: &str, return_address: &str) -> Value {
    json!({
        "unit": "gd-gz-tianhe",
        "category": "office_trading",
        "accused": {"name": "李某", "position": "副局长", "role": "ordinary"},
        "selection_stage": "none",
        "narrative": "来信反映：考察前收受财物。",
        "real_name": false,
        "reporter": {"name": "", "phone": ""},
        "channel": channel,
        "received_on": received_on,
        "postmark_on": postmark_on,
        "return_address": return_address,
    })
}

async fn register_total(who: &StaffClient) -> u64 {
    let (s, v) = who.get("/api/v1/cases").await;
    assert_eq!(s, 200, "{v}");
    v["total"].as_u64().unwrap()
}

fn today() -> NaiveDate {
    Policy::cn_12380().local_date(Utc::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_letter_counts_its_deadlines_from_the_day_it_came_in() {
    let policy = Policy::cn_12380();
    let calendar = Calendar::cn();
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let verifier = h.sign_in(&email("verifier", "gd-gz-tianhe")).await;
        let received = today().checked_sub_days(Days::new(10)).unwrap();
        let postmark = received.checked_sub_days(Days::new(2)).unwrap();
        let address = "广州市天河区某街 8 号 张先生收";
        let mut body = report(
            "letter",
            &received.to_string(),
            &postmark.to_string(),
            address,
        );
        // Real name (an acknowledgement task) and a running selection (a
        // hold): every deadline of routing counts from the day received.
        body["real_name"] = json!(true);
        body["reporter"] = json!({"name": "张先生", "phone": ""});
        body["selection_stage"] = json!("inspection");
        let (s, v) = desk.post("/api/v1/intake", body).await;
        assert_eq!(s, 201, "{engine:?}: {v}");
        let id = v["case_id"].as_str().unwrap().to_owned();
        let (s, case) = verifier.get(&format!("/api/v1/cases/{id}")).await;
        assert_eq!(s, 200, "{case}");
        assert_eq!(case["received_on"], received.to_string(), "{engine:?}");
        assert_eq!(case["report"]["postmark_on"], postmark.to_string());
        assert_eq!(case["report"]["return_address"], address);
        // Routed at once, and the acceptance deadline (受理) runs from the
        // day the letter came in, not from the moment it was typed in.
        assert_eq!(case["stage"], "received");
        assert_eq!(case["disposition"], "open");
        let start = policy.start_of_date(received);
        let due = |kind| policy.due(kind, start, &calendar);
        let at = |v: &Value| serde_json::from_value::<chrono::DateTime<Utc>>(v.clone()).unwrap();
        assert_eq!(
            at(&case["deadline"]),
            due(DeadlineKind::Route),
            "{engine:?}"
        );
        let ack = &case["tasks"].as_array().unwrap()[0];
        assert_eq!(ack["kind"], "acknowledge", "{case}");
        assert_eq!(at(&ack["due_at"]), due(DeadlineKind::AcknowledgeRealName));
        let hold = &case["holds"].as_array().unwrap()[0];
        assert_eq!(at(&hold["notice_due_at"]), due(DeadlineKind::HoldNotice));
        assert_eq!(at(&hold["max_until"]), due(DeadlineKind::HoldMax));
        // The envelope is sealed: neither the address nor the postmark is
        // anywhere in the database in plain text.
        assert!(!h.db.holds(address.as_bytes()).await.unwrap(), "{engine:?}");
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_days_and_envelopes_are_refused_and_nothing_is_stored() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let before = register_total(&desk).await;
        let day = |n: i64| {
            if n >= 0 {
                today().checked_add_days(Days::new(n.unsigned_abs()))
            } else {
                today().checked_sub_days(Days::new(n.unsigned_abs()))
            }
            .unwrap()
            .to_string()
        };
        for (body, field, problem) in [
            (
                report("phone", &day(1), "", ""),
                "received_on",
                "not come yet",
            ),
            (
                report("visit", &day(-61), "", ""),
                "received_on",
                "at most 60 days back",
            ),
            (
                report("phone", "05.12.2026", "", ""),
                "received_on",
                "a date like",
            ),
            (
                report("letter", &day(-3), &day(-2), ""),
                "postmark_on",
                "later than the day it was received",
            ),
            (
                report("phone", "", "", "某路 1 号"),
                "return_address",
                "only for reports received by letter",
            ),
        ] {
            let (s, v) = desk.post("/api/v1/intake?lang=en", body).await;
            assert_eq!(s, 422, "{engine:?} {field}: {v}");
            let text = v.to_string();
            assert!(
                text.contains(field) && text.contains(problem),
                "{field}: {v}"
            );
        }
        // Sixty days back is still taken.
        let (s, v) = desk
            .post("/api/v1/intake", report("visit", &day(-60), "", ""))
            .await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(register_total(&desk).await, before + 1, "{engine:?}");
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_form_takes_files_and_prints_a_slip() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in_page(&email("intake", "gd-gz")).await;
        let api = h.sign_in(&email("intake", "gd-gz")).await;
        let before = register_total(&api).await;
        let received = today().checked_sub_days(Days::new(3)).unwrap().to_string();
        let fields = |received: &str, postmark: &str| {
            vec![
                ("channel".to_owned(), "letter".to_owned()),
                ("received_on".to_owned(), received.to_owned()),
                ("unit".to_owned(), "gd-gz-tianhe".to_owned()),
                ("category".to_owned(), "office_trading".to_owned()),
                ("accused_name".to_owned(), "赵某".to_owned()),
                ("accused_position".to_owned(), "科长".to_owned()),
                ("accused_role".to_owned(), "ordinary".to_owned()),
                ("selection_stage".to_owned(), "none".to_owned()),
                ("narrative".to_owned(), "随信附上照片和录音。".to_owned()),
                ("reporter_name".to_owned(), String::new()),
                ("reporter_phone".to_owned(), String::new()),
                ("postmark_on".to_owned(), postmark.to_owned()),
                ("return_address".to_owned(), "天河区某路 3 号".to_owned()),
            ]
        };
        let scan: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let recording = b"RIFF....WAVEfmt a short recording".to_vec();
        let files = [("scan.pdf", scan.clone()), ("call.wav", recording.clone())];
        // A postmark after the day received: the form again, nothing stored.
        let bad = fields(&received, &today().to_string());
        let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let a = desk.post_multipart("/intake?lang=en", &bad, &files).await;
        assert_eq!(a.status, 422, "{}", a.body);
        assert!(a.body.contains("href=\"#postmark_on\""), "{}", a.body);
        assert_eq!(register_total(&api).await, before, "nothing stored");

        let good = fields(&received, &received);
        let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let a = desk.post_multipart("/intake?lang=en", &good, &files).await;
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.headers["cache-control"], "no-store");
        // The slip: the code, the day received, how it came; never the
        // case number.
        assert!(a.body.contains("id=\"slip\""), "{}", a.body);
        assert!(
            a.body
                .contains(&format!("id=\"slip-received-on\">{received}<")),
            "{}",
            a.body
        );
        assert!(a.body.contains("id=\"slip-channel\">Letter<"), "{}", a.body);
        // The filing receipt is on the slip, without the code.
        let receipt = a
            .body
            .split("id=\"receipt\"")
            .nth(1)
            .and_then(|r| r.split("</pre>").next())
            .unwrap_or_default();
        assert!(
            receipt.contains("promise") && receipt.contains("log_key"),
            "{}",
            a.body
        );
        let code: String = a
            .body
            .split("id=\"tracking-code\"")
            .nth(1)
            .unwrap()
            .chars()
            .filter(char::is_ascii_digit)
            .take(20)
            .collect();
        assert_eq!(code.len(), 20, "{}", a.body);
        assert!(!receipt.contains(&code), "{}", a.body);
        // Stamped by the desk's own unit (the city's); the county the
        // report is about is named nowhere on the slip.
        assert!(
            a.body.contains("id=\"slip-unit\">广州市委组织部<"),
            "{}",
            a.body
        );
        assert!(!a.body.contains("天河"), "{}", a.body);
        let case_href = a
            .body
            .split("href=\"/cases/")
            .nth(1)
            .unwrap()
            .split(['?', '"'])
            .next()
            .unwrap()
            .to_owned();
        assert!(!h.db.holds(&scan[..4096]).await.unwrap());
        assert!(!h.db.holds(b"a short recording").await.unwrap());

        // The verifier reads both files back byte for byte.
        let verifier = h.sign_in(&email("verifier", "gd-gz-tianhe")).await;
        let (s, case) = verifier.get(&format!("/api/v1/cases/{case_href}")).await;
        assert_eq!(s, 200, "{case}");
        assert_eq!(case["received_on"], received);
        let listed = case["attachments"].as_array().unwrap();
        assert_eq!(listed.len(), 2, "{case}");
        for (name, bytes) in &files {
            let file = listed.iter().find(|f| f["file_name"] == *name).unwrap();
            let got = verifier
                .get_bytes(&format!(
                    "/api/v1/cases/{case_href}/attachments/{}",
                    file["id"].as_str().unwrap()
                ))
                .await;
            assert_eq!(&got, bytes, "{name}");
        }
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_back_dated_letter_is_numbered_with_the_day_it_was_entered() {
    let policy = Policy::cn_12380();
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let received = today().checked_sub_days(Days::new(5)).unwrap();
        let (s, v) = desk
            .post(
                "/api/v1/intake",
                report("letter", &received.to_string(), "", ""),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let triage = crate::numbering::triage(&h.db.store);
        // Its received day ended long ago, but it was entered today: not
        // numbered alone now, only with today's batch after today ends.
        assert_eq!(
            triage.number_pending(Utc::now()).await.unwrap(),
            0,
            "{engine:?}"
        );
        let tomorrow = policy.end_of_local_day(today()) + chrono::Duration::hours(2);
        assert_eq!(
            triage.number_pending(tomorrow).await.unwrap(),
            1,
            "{engine:?}"
        );
        h.stop().await;
    }
}

async fn send(desk: &PageClient, form: reqwest::multipart::Form) -> u16 {
    desk.client
        .post(format!("{}/intake", desk.base))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_form_refuses_what_it_must_and_stores_nothing() {
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let desk = h.sign_in_page(&email("intake", "gd-gz-tianhe")).await;
        let api = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let before = register_total(&api).await;
        let fields = [
            ("channel", "phone"),
            ("unit", "gd-gz-tianhe"),
            ("category", "office_trading"),
            ("accused_name", "孙某"),
            ("accused_position", ""),
            ("accused_role", "ordinary"),
            ("selection_stage", "none"),
            ("narrative", "来电反映。"),
        ];
        // A sixth file, and a file over 20 MiB: the form again, with the
        // attachment's problem.
        let six: Vec<(&str, Vec<u8>)> = ["1", "2", "3", "4", "5", "6"]
            .into_iter()
            .map(|n| (n, b"evidence".to_vec()))
            .collect();
        let a = desk.post_multipart("/intake?lang=en", &fields, &six).await;
        assert_eq!(a.status, 422, "{}", a.body);
        assert!(a.body.contains("at most 5"), "{}", a.body);
        let big = vec![("big.bin", vec![7u8; 20 * 1024 * 1024 + 1])];
        let a = desk.post_multipart("/intake?lang=en", &fields, &big).await;
        assert_eq!(a.status, 422, "{}", a.body);
        assert!(a.body.contains("each file at most 20 MiB"), "{}", a.body);
        let file = || reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.txt");
        // Without the session's token nothing is read past the fields.
        let mut no_csrf = reqwest::multipart::Form::new();
        for (k, v) in fields {
            no_csrf = no_csrf.text(k, v);
        }
        assert_eq!(send(&desk, no_csrf.part("attachment", file())).await, 403);
        // A field after the files, a body cut off, a coded body, a form
        // that is not multipart: refused.
        let mut late = reqwest::multipart::Form::new().text("csrf", desk.csrf.clone());
        for (k, v) in fields {
            late = late.text(k, v);
        }
        let late = late
            .part("attachment", file())
            .text("reporter_name", "late");
        assert_eq!(send(&desk, late).await, 400);
        let cut = format!(
            "--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--b\r\nContent-Disposition: form-data; name=\"channel\"\r\n\r\nphone\r\n",
            desk.csrf
        );
        let raw = |body: String, coding: Option<&str>| {
            let mut req = desk
                .client
                .post(format!("{}/intake", desk.base))
                .header("content-type", "multipart/form-data; boundary=b")
                .body(body);
            if let Some(c) = coding {
                req = req.header("content-encoding", c);
            }
            req.send()
        };
        assert_eq!(raw(cut, None).await.unwrap().status(), 400);
        let coded = raw("--b--\r\n".into(), Some("gzip")).await.unwrap();
        assert_eq!(coded.status(), 415);
        let a = desk.post("/intake", &fields).await;
        assert_eq!(a.status, 415, "{}", a.body);
        assert_eq!(register_total(&api).await, before, "{engine:?}");
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_routed_days_late_counts_from_its_arrival() {
    let policy = Policy::cn_12380();
    let calendar = Calendar::cn();
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        // A web report that arrived three days ago and waited for a router
        // that was down: its acceptance deadline runs from the arrival's day.
        let arrived = policy.start_of_date(today().checked_sub_days(Days::new(3)).unwrap());
        let new = crate::common::stored_arrival("gd-gz-tianhe", arrived);
        let id = new.id;
        h.db.store.insert_case(new).await.unwrap();
        let triage = crate::numbering::triage(&h.db.store);
        triage.route_pending(Utc::now()).await.unwrap();
        let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
        let (s, queue) = desk.get("/api/v1/queues/received").await;
        assert_eq!(s, 200, "{queue}");
        let item = queue
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["case_id"] == id.to_string())
            .unwrap();
        let deadline: chrono::DateTime<Utc> =
            serde_json::from_value(item["deadline"].clone()).unwrap();
        assert_eq!(
            deadline,
            policy.due(DeadlineKind::Route, arrived, &calendar),
            "{engine:?}"
        );
        h.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_routes_a_back_dated_letter_on_the_day_it_runs() {
    let policy = Policy::cn_12380();
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        // A letter received five days ago whose routing at entry failed:
        // the router's own pass stamps today, so it is numbered tonight.
        let received = policy.start_of_date(today().checked_sub_days(Days::new(5)).unwrap());
        let mut new = crate::common::stored_arrival("gd-gz-tianhe", received);
        new.channel = sunlight_core::Channel::Letter;
        h.db.store.insert_case(new).await.unwrap();
        let triage = crate::numbering::triage(&h.db.store);
        triage.route_pending(Utc::now()).await.unwrap();
        assert_eq!(
            triage.number_pending(Utc::now()).await.unwrap(),
            0,
            "{engine:?}"
        );
        let tomorrow = policy.end_of_local_day(today()) + chrono::Duration::hours(2);
        assert_eq!(
            triage.number_pending(tomorrow).await.unwrap(),
            1,
            "{engine:?}"
        );
        h.stop().await;
    }
}
