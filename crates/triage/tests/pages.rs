//! The staff HTML pages over real HTTP, as a browser without JavaScript
//! uses them: sign-in by form, CSRF fields on every change, a case page
//! that shows the opened report and only the forms the member may use,
//! actions that move the case, refusals with their reason, both languages.
//! The pages only call the service the JSON API calls, so SQLite suffices
//! here; tests/triage.rs runs the service on both engines.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use crate::common;

use common::{Harness, PageClient, csrf_of, email, page_client, totp_now};
use sunlight_testkit::Engine;

/// The `data-stage` of the case page.
fn stage_of(html: &str) -> &str {
    let (_, rest) = html.split_once("id=\"stage\" data-stage=\"").unwrap();
    rest.split_once('"').unwrap().0
}

/// Which action forms a case page offers.
fn forms_of(html: &str) -> Vec<&str> {
    html.split("name=\"action\" value=\"")
        .skip(1)
        .map(|rest| rest.split_once('"').unwrap().0)
        .collect()
}

async fn file_case(h: &Harness, stage: &str, narrative: &str) -> String {
    let desk = h.sign_in(&email("intake", "gd-gz-tianhe")).await;
    desk.file("gd-gz-tianhe", "ordinary", stage, narrative)
        .await
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_by_form_and_every_failure_reads_the_same() {
    let h = Harness::start(Engine::Sqlite).await;
    let anon = PageClient {
        client: page_client(),
        base: h.base.clone(),
        csrf: String::new(),
    };
    // Without a session every page sends you to the sign-in form.
    for path in ["/", "/queues/verify", "/cases/x", "/intake", "/admin"] {
        let a = anon.get(path).await;
        assert_eq!(a.status, 303, "{path}");
        assert!(a.location.unwrap().starts_with("/login"), "{path}");
    }
    let a = anon.get("/login").await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("name=\"totp\"") && !a.body.contains("<script"));
    for (name, value) in [
        ("content-security-policy", "default-src 'self'"),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
    ] {
        let got = a.headers[name].to_str().unwrap();
        assert!(got.contains(value), "{name}: {got}");
    }
    assert!(
        a.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );

    // A wrong password, a missing code, a wrong code: one answer.
    let verifier = h.logins.get(&email("verifier", "gd-gz-tianhe")).unwrap();
    let boss = h.logins.get(&email("supervisor", "gd-gz-tianhe")).unwrap();
    let secret = boss.totp.clone().unwrap();
    let good_code = totp_now(&secret);
    let bad_code = if good_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    let mut answers = Vec::new();
    for (who, password, code) in [
        (&verifier.email, "wrong password", ""),
        (&boss.email, boss.password.as_str(), ""),
        (&boss.email, boss.password.as_str(), bad_code),
        (&"nobody@gd.test".to_owned(), "whatever", "123456"),
    ] {
        let a = anon
            .post_raw(
                "/login",
                &[("email", who), ("password", password), ("totp", code)],
            )
            .await;
        assert_eq!(a.status, 401, "{who}");
        assert!(a.body.contains("id=\"errors\""));
        assert!(a.headers.get("set-cookie").is_none());
        let (_, errors) = a.body.split_once("id=\"errors\"").unwrap();
        answers.push(errors.split_once("</div>").unwrap().0.to_owned());
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert!(
        answers[0].contains("邮箱、密码或动态码不正确"),
        "{}",
        answers[0]
    );

    // Failures lock the account for a while; while locked, even the right
    // password gets the same 401 as any failure (no account enumeration).
    let other = h.logins.get(&email("verifier", "gd-sz")).unwrap();
    let wrong = [
        ("email", other.email.as_str()),
        ("password", "wrong"),
        ("totp", ""),
    ];
    for _ in 0..4 {
        assert_eq!(anon.post_raw("/login", &wrong).await.status, 401);
    }
    let right = [
        ("email", other.email.as_str()),
        ("password", other.password.as_str()),
        ("totp", ""),
    ];
    let a = anon.post_raw("/login?lang=en", &right).await;
    assert_eq!(a.status, 401);
    assert!(a.body.contains("id=\"errors\""), "{}", a.body);
    assert!(a.headers.get("set-cookie").is_none());

    // Success: the API's cookie, and on to the verify queue.
    let client = page_client();
    let res = client
        .post(h.url("/login?lang=en"))
        .form(&[
            ("email", boss.email.as_str()),
            ("password", boss.password.as_str()),
            ("totp", totp_now(&secret).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/queues/verify?lang=en");
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("sunlight_staff=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let page = client
        .get(h.url("/queues/verify?lang=en"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("supervisor@gd-gz-tianhe.test"));

    // Signing out needs the form's token, then the session is gone.
    let me = PageClient {
        client,
        base: h.base.clone(),
        csrf: csrf_of(&body).unwrap(),
    };
    assert_eq!(me.post_raw("/logout", &[]).await.status, 403);
    let out = me.post("/logout", &[]).await;
    assert_eq!(out.status, 303);
    assert!(out.location.unwrap().starts_with("/login"));
    assert_eq!(me.get("/queues/verify").await.status, 303);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_the_right_csrf_token_changes_nothing() {
    let h = Harness::start(Engine::Sqlite).await;
    let id = file_case(&h, "none", "考察对象请客送礼").await;
    let verifier = h.sign_in_page(&email("verifier", "gd-gz-tianhe")).await;
    let path = format!("/cases/{id}/actions");
    for fields in [
        vec![("action", "claim")],
        vec![("csrf", "not-the-token"), ("action", "claim")],
        vec![("csrf", ""), ("action", "claim")],
    ] {
        let a = verifier.post_raw(&path, &fields).await;
        assert_eq!(a.status, 403, "{fields:?}");
        assert!(a.body.contains("id=\"errors\"") && a.body.contains("表单已过期"));
    }
    let a = verifier
        .post_raw(
            &format!("/cases/{id}/messages"),
            &[("csrf", "x"), ("body", "hello")],
        )
        .await;
    assert_eq!(a.status, 403);
    // Still nobody's case, and no message went out.
    let page = verifier.get(&format!("/cases/{id}")).await.body;
    assert!(forms_of(&page).contains(&"claim"));
    assert!(page.contains("无人认领"));
    assert!(!page.contains("id=\"messages\""));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_page_opens_the_report_and_offers_only_allowed_actions() {
    let h = Harness::start(Engine::Sqlite).await;
    let narrative = "2024年3月民主推荐前，李某请部分干部吃饭并送购物卡。\n<b>不是标记</b>\u{202E}";
    let id = file_case(&h, "inspection", narrative).await;
    let verifier = h.sign_in_page(&email("verifier", "gd-gz-tianhe")).await;

    // The queue lists it, linked, with a countdown and nobody as owner.
    let q = verifier.get("/queues/verify").await;
    assert_eq!(q.status, 200);
    assert!(q.body.contains(&format!("href=\"/cases/{id}?lang=zh\"")));
    assert!(q.body.contains("天后到期"), "countdown in days");
    assert!(q.body.contains("拉票贿选") && q.body.contains("无人认领"));
    assert!(!q.body.contains("class=\"overdue\""));

    let page = verifier.get(&format!("/cases/{id}")).await;
    assert_eq!(page.status, 200);
    let html = &page.body;
    assert!(html.contains("2024年3月民主推荐前，李某请部分干部吃饭并送购物卡。"));
    assert!(
        html.contains("&lt;b&gt;不是标记&lt;/b&gt;") || html.contains("&#60;b&#62;不是标记"),
        "report text is escaped"
    );
    // Reporter text is isolated: an override in it cannot reorder the page.
    assert!(html.contains("id=\"narrative\" class=\"narrative\" dir=\"auto\""));
    assert!(html.contains("id=\"accused-name\" dir=\"auto\""));
    assert_eq!(stage_of(html), "verify");
    assert!(
        html.contains("电话") && html.contains("考察"),
        "channel and step"
    );
    // Before claiming: only the claim form.
    assert_eq!(forms_of(html), ["claim"]);
    // The hold is shown with its confirm form.
    assert!(html.contains("name=\"notice_to\""));

    let a = verifier.act(&id, &[("action", "claim")]).await;
    assert_eq!(a.status, 303);
    assert_eq!(
        a.location.as_deref(),
        Some(&*format!("/cases/{id}?lang=zh"))
    );
    let html = verifier.get(&format!("/cases/{id}")).await.body;
    assert_eq!(forms_of(&html), ["verified", "transfer", "ask_reporter"]);
    assert!(html.contains("id=\"owner\">我<"));

    // A supervisor sees the supervisor's actions of the stage.
    let boss = h.sign_in_page(&email("supervisor", "gd-gz-tianhe")).await;
    let html = boss.get(&format!("/cases/{id}")).await.body;
    // Nothing to merge into yet: no merge form, a line saying so.
    assert_eq!(forms_of(&html), ["claim", "extend"]);
    assert!(html.contains("id=\"merge-none\""));
    assert!(html.contains("改由我承办"));
    // Another open case of the unit: the picker offers it by number and
    // accused, no typed id.
    let other = file_case(&h, "none", "另一件同一问题的举报").await;
    let html = boss.get(&format!("/cases/{id}")).await.body;
    assert_eq!(forms_of(&html), ["claim", "extend", "merge"]);
    let option = format!("<option value=\"{other}\">");
    assert!(html.contains(&option), "{html}");
    assert!(
        !html.contains(&format!("<option value=\"{id}\">")),
        "not itself"
    );
    // Their accused were opened for the picker: audited, with the count.
    let opened = sunlight_testkit::count_audit(&h.db.store, "case.merge_candidates")
        .await
        .unwrap();
    assert_eq!(opened, 1, "one view with candidates, one entry");

    // Confirming the hold through its form.
    let (_, rest) = html.split_once("/holds/").unwrap();
    let hold = rest.split_once('/').unwrap().0;
    let a = verifier
        .post(
            &format!("/cases/{id}/holds/{hold}/confirm"),
            &[("notice_to", "天河区委组织部干部科")],
        )
        .await;
    assert_eq!(a.status, 303);
    let html = verifier.get(&format!("/cases/{id}")).await.body;
    assert!(html.contains("已登记通知") && !html.contains("name=\"notice_to\""));
    // An internal comment through its form: in the history, for staff.
    let a = verifier
        .post(
            &format!("/cases/{id}/comments"),
            &[("body", "内部：已约谈核实")],
        )
        .await;
    assert_eq!(a.status, 303);
    let html = verifier.get(&format!("/cases/{id}")).await.body;
    assert!(html.contains("<strong>内部意见</strong>") && html.contains("内部：已约谈核实"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_move_the_case_and_refusals_say_why() {
    let h = Harness::start(Engine::Sqlite).await;
    let id = file_case(&h, "none", "干部任前公示期间突击调整").await;
    let verifier = h.sign_in_page(&email("verifier", "gd-gz-tianhe")).await;
    let path = format!("/cases/{id}");
    assert_eq!(verifier.act(&id, &[("action", "claim")]).await.status, 303);

    // Closing in verify: 409 and the reason, on the case page.
    let a = verifier.act(&id, &[("action", "close")]).await;
    assert_eq!(a.status, 409);
    assert!(a.body.contains("id=\"errors\""));
    assert!(
        a.body.contains("举报件处于“查核”阶段，不能“办结”。"),
        "{}",
        a.body
    );
    assert_eq!(stage_of(&a.body), "verify");
    let a = verifier
        .post(&format!("{path}/actions?lang=en"), &[("action", "close")])
        .await;
    assert_eq!(a.status, 409);
    assert!(
        a.body
            .contains("The case is in stage “Verify”: “Close” is not possible now.")
    );
    // Bad input: 422 with what to fix.
    let a = verifier
        .act(&id, &[("action", "verified"), ("outcome", "maybe")])
        .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("请从列表中选择查核结论"));
    let a = verifier
        .act(&id, &[("action", "transfer"), ("to", " ")])
        .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("“转交的机关”不能为空。"), "{}", a.body);
    // A supervisor's action: 403 with the reason.
    let a = verifier
        .act(&id, &[("action", "merge"), ("into", &id)])
        .await;
    assert_eq!(a.status, 403);
    assert!(a.body.contains("查核员不能在这里“并案”。"), "{}", a.body);

    // Verify with an internal note, then reply to the reporter.
    let a = verifier
        .act(
            &id,
            &[
                ("action", "verified"),
                ("outcome", "partly"),
                ("note", "两名证人证实部分情况"),
            ],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let a = verifier
        .post(
            &format!("{path}/messages"),
            &[("body", "您好，您反映的问题已查核。")],
        )
        .await;
    assert_eq!(a.status, 303);
    let html = verifier.get(&path).await.body;
    assert_eq!(stage_of(&html), "handle");
    assert!(html.contains("部分属实") && html.contains("两名证人证实部分情况"));
    assert!(html.contains("您好，您反映的问题已查核。"));
    assert!(forms_of(&html).is_empty(), "verifiers do not handle");
    // An empty reply is refused with the field's problem.
    let a = verifier
        .post(&format!("{path}/messages"), &[("body", "  ")])
        .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("必须填写"));

    // The supervisor decides; the verifier gives feedback and closes.
    let boss = h.sign_in_page(&email("supervisor", "gd-gz-tianhe")).await;
    assert_eq!(boss.act(&id, &[("action", "claim")]).await.status, 303);
    let a = boss
        .act(&id, &[("action", "decided"), ("decision", "责令纠正")])
        .await;
    assert_eq!(a.status, 303);
    assert_eq!(verifier.act(&id, &[("action", "claim")]).await.status, 303);
    let a = verifier.act(&id, &[("action", "close")]).await;
    assert_eq!(a.status, 409);
    assert!(a.body.contains("还没有向举报人反馈"));
    let a = verifier
        .act(&id, &[("action", "feedback"), ("message", "已责令纠正。")])
        .await;
    assert_eq!(a.status, 303);
    assert_eq!(verifier.act(&id, &[("action", "close")]).await.status, 303);
    let html = verifier.get(&path).await.body;
    assert_eq!(stage_of(&html), "closed");
    assert!(html.contains("id=\"no-actions\"") && !html.contains("id=\"reply\""));

    // The JSON API agrees.
    let api = h.sign_in(&email("verifier", "gd-gz-tianhe")).await;
    let (_, c) = api.get(&format!("/api/v1/cases/{id}")).await;
    assert_eq!(c["stage"], "closed");
    assert_eq!(c["outcome"], "partly");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_speak_chinese_by_default_and_english_on_request() {
    let h = Harness::start(Engine::Sqlite).await;
    file_case(&h, "none", "测试").await;
    let verifier = h.sign_in_page(&email("verifier", "gd-gz-tianhe")).await;
    let zh = verifier.get("/queues/verify").await;
    assert!(zh.body.contains("<html lang=\"zh-CN\">") && zh.body.contains("待办队列"));
    assert!(
        zh.body.contains("href=\"/queues/verify?lang=en\""),
        "switch"
    );
    let en = verifier.get("/queues/verify?lang=en").await;
    assert!(en.body.contains("<html lang=\"en\">") && en.body.contains("Queues"));
    assert!(en.body.contains("due in") && en.body.contains("nobody"));
    assert!(!en.body.contains("待办队列"));
    let by_header = verifier
        .client
        .get(h.url("/login"))
        .header("Accept-Language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.headers()["content-language"], "en");
    assert!(by_header.text().await.unwrap().contains("Staff sign-in"));
    for lang in ["zh", "en"] {
        for path in ["/login", "/queues/handle", "/nowhere"] {
            let a = verifier.get(&format!("{path}?lang={lang}")).await;
            assert!(a.body.contains("</html>"), "{path} {lang}");
        }
    }
    assert_eq!(verifier.get("/nowhere").await.status, 404);
    let css = verifier.get("/static/style.css").await;
    assert_eq!(css.status, 200);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_enters_reports_and_admins_manage_staff() {
    let h = Harness::start(Engine::Sqlite).await;
    // The intake officer's form: errors first, then the code once.
    let desk = h.sign_in_page(&email("intake", "gd-gz-tianhe")).await;
    let form = desk.get("/intake").await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("value=\"gd-gz-tianhe\"") && !form.body.contains("value=\"gd-sz\""));
    let fields = |unit: &'static str, narrative: &'static str| {
        vec![
            ("channel", "letter"),
            ("unit", unit),
            ("category", "office_trading"),
            ("accused_name", "王某"),
            ("accused_position", "科长"),
            ("accused_role", "ordinary"),
            ("selection_stage", "none"),
            ("narrative", narrative),
            ("reporter_name", ""),
            ("reporter_phone", ""),
        ]
    };
    let a = desk
        .post_multipart("/intake", &fields("gd-sz", ""), &[])
        .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("id=\"errors\"") && a.body.contains("href=\"#narrative\""));
    let a = desk
        .post_multipart("/intake", &fields("gd-gz-tianhe", "来信反映买官卖官"), &[])
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.headers["cache-control"], "no-store");
    let (_, shown) = a.body.split_once("id=\"tracking-code\"").unwrap();
    let code: String = shown
        .chars()
        .skip_while(|c| *c != '>')
        .skip(1)
        .take_while(|c| *c != '<')
        .collect();
    assert_eq!(code.len(), 24, "{code}");
    let verifier = h.sign_in_page(&email("verifier", "gd-gz-tianhe")).await;
    assert_eq!(verifier.get("/intake").await.status, 403);
    let q = verifier.get("/queues/verify?lang=en").await.body;
    assert!(q.contains("Buying or selling office"));

    // Admins: no cases, but staff and units.
    let admin = h.sign_in_page(&email("admin", "gd-gz")).await;
    let a = admin.get("/queues/verify").await;
    assert_eq!(a.status, 403);
    assert!(a.body.contains("href=\"/admin?lang=zh\""));
    let page = admin.get("/admin").await.body;
    assert!(page.contains("verifier@gd-gz.test") && page.contains("gd-gz-tianhe"));
    let a = admin
        .post(
            "/admin/staff",
            &[("email", "new@gd-gz.test"), ("role", "supervisor")],
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert!(a.body.contains("id=\"one-time-password\"") && a.body.contains("id=\"totp-secret\""));
    let a = admin
        .post(
            "/admin/staff",
            &[("email", "new@gd-gz.test"), ("role", "verifier")],
        )
        .await;
    assert_eq!(a.status, 409);
    assert!(a.body.contains("这个邮箱已经有账号"));
    // A member of a unit below (its key reached through the escrow), not
    // of a sibling city.
    assert!(page.contains("<option value=\"gd-gz-tianhe\""), "{page}");
    assert!(!page.contains("<option value=\"gd-sz\""));
    let a = admin
        .post(
            "/admin/staff",
            &[
                ("email", "county@gd-gz.test"),
                ("role", "verifier"),
                ("unit", "gd-gz-tianhe"),
            ],
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let made =
        h.db.store
            .staff_by_email("county@gd-gz.test")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(made.unit.as_str(), "gd-gz-tianhe");
    let a = admin
        .post(
            "/admin/staff",
            &[
                ("email", "sibling@gd-gz.test"),
                ("role", "verifier"),
                ("unit", "gd-sz"),
            ],
        )
        .await;
    assert_eq!(a.status, 422, "{}", a.body);
    assert_eq!(
        admin
            .post(
                "/admin/staff",
                &[("email", "x@gd-gz.test"), ("role", "boss")]
            )
            .await
            .status,
        422
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_password_must_be_replaced_before_any_work() {
    let h = Harness::start(Engine::Sqlite).await;
    let admin = h.sign_in(&email("admin", "gd-gz")).await;
    let (s, created) = admin
        .post(
            "/api/v1/staff",
            serde_json::json!({"email": "boss2@gd-gz.test", "role": "supervisor"}),
        )
        .await;
    assert_eq!(s, 201);
    let one_time = created["one_time_password"].as_str().unwrap().to_owned();
    let first_totp = created["totp_secret"].as_str().unwrap().to_owned();

    let client = page_client();
    let login = |password: String, totp: String| {
        let client = client.clone();
        let url = format!("{}/login", h.base);
        async move {
            client
                .post(url)
                .form(&[
                    ("email", "boss2@gd-gz.test"),
                    ("password", password.as_str()),
                    ("totp", totp.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let step = u64::try_from(chrono::Utc::now().timestamp()).unwrap() / 30;
    let code = |secret: &str, step: u64| common::totp_at_step(secret, step);
    assert_eq!(login(one_time.clone(), code(&first_totp, step)).await, 303);
    let mut page = PageClient {
        client: client.clone(),
        base: h.base.clone(),
        csrf: String::new(),
    };
    // Every page leads to the password form until it is done.
    let q = page.get("/queues/verify").await;
    assert_eq!(q.status, 303);
    assert!(q.location.unwrap().starts_with("/password"));
    let form = page.get("/password").await;
    assert_eq!(form.status, 200);
    page.csrf = csrf_of(&form.body).unwrap();
    let next = code(&first_totp, step + 1);
    let bad = page
        .post(
            "/password",
            &[
                ("current_password", one_time.as_str()),
                ("totp", next.as_str()),
                ("new_password", "a long enough one"),
                ("repeat", "something else"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"errors\""));
    // The session alone, without the current password: 403, nothing changes.
    let stolen = page
        .post(
            "/password",
            &[
                ("current_password", "guessed"),
                ("totp", next.as_str()),
                ("new_password", "boss two passphrase"),
                ("repeat", "boss two passphrase"),
            ],
        )
        .await;
    assert_eq!(stolen.status, 403, "{}", stolen.body);
    let done = page
        .post(
            "/password",
            &[
                ("current_password", one_time.as_str()),
                ("totp", next.as_str()),
                ("new_password", "boss two passphrase"),
                ("repeat", "boss two passphrase"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    // A supervisor gets a fresh second factor (the admin saw the old one),
    // and confirms it with a code before it counts.
    let (_, rest) = done.body.split_once("id=\"totp-secret\">").unwrap();
    let new_totp = rest.split_once('<').unwrap().0.trim().to_owned();
    assert_ne!(new_totp, first_totp);
    assert!(done.body.contains("id=\"totp-confirm\""));
    // Nothing else until it is confirmed; the password page asks for it.
    let q = page.get("/queues/verify").await;
    assert_eq!(q.status, 303);
    assert!(q.location.unwrap().starts_with("/account/totp"));
    // The authenticator page shows it as text, as a URI and as a QR code
    // drawn on the server.
    let enrol = page.get("/account/totp").await;
    assert_eq!(enrol.status, 200);
    assert!(enrol.body.contains(&new_totp));
    assert!(
        enrol
            .body
            .contains("otpauth://totp/Sunlight:boss2%40gd-gz.test?secret=")
    );
    assert!(enrol.body.contains("<svg") && !enrol.body.contains("<script"));
    let waiting = page.get("/password").await.body;
    assert!(waiting.contains("id=\"totp-confirm\""));
    assert!(
        waiting.contains("name=\"new_password\""),
        "a member who lost the secret can change the password again"
    );
    let wrong = page
        .post(
            "/password/totp",
            &[("totp", code(&first_totp, step).as_str())],
        )
        .await;
    assert_eq!(
        wrong.status, 403,
        "a code of the old secret confirms nothing"
    );
    let confirmed = page
        .post(
            "/password/totp",
            &[("totp", code(&new_totp, step).as_str())],
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert!(confirmed.body.contains("id=\"totp-confirmed\""));
    let codes: Vec<String> = confirmed
        .body
        .split("<li><code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "ten recovery codes, shown once");
    assert_eq!(page.get("/queues/verify").await.status, 200);

    // Next time: the new password and the new code; the old ones fail.
    assert_eq!(login(one_time, code(&new_totp, step + 1)).await, 401);
    assert_eq!(
        login("boss two passphrase".into(), code(&first_totp, step + 1)).await,
        401
    );
    assert_eq!(
        login("boss two passphrase".into(), code(&new_totp, step + 1)).await,
        303
    );
    // A recovery code stands in for the authenticator, once.
    assert_eq!(
        login("boss two passphrase".into(), codes[4].clone()).await,
        303
    );
    assert_eq!(
        login("boss two passphrase".into(), codes[4].clone()).await,
        401
    );
    let mails = h.db.store.outbox_all().await.unwrap();
    assert!(mails.iter().any(|m| m.recipient == "boss2@gd-gz.test"
        && m.kind.as_deref() == Some("account.recovery_code_used")
        && !m.body.contains(&codes[4])));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_form_refuses_posts_from_other_sites() {
    let h = Harness::start(Engine::Sqlite).await;
    let login = h.logins.get(&email("intake", "gd")).unwrap();
    let fields = [
        ("email", login.email.as_str()),
        ("password", login.password.as_str()),
        ("totp", ""),
    ];
    for (name, value) in [
        ("Origin", "http://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Site", "same-site"),
    ] {
        let res = page_client()
            .post(format!("{}/login", h.base))
            .header(name, value)
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{name}: {value}");
        assert!(res.headers().get("set-cookie").is_none());
    }
    // The service's own origin (as a browser sends it) is fine.
    let own = h.base.clone();
    let res = page_client()
        .post(format!("{}/login", h.base))
        .header("Origin", own)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_refused_mail_of_their_unit_and_can_send_it_again() {
    let h = Harness::start(Engine::Sqlite).await;
    let store = &h.db.store;
    let _case = file_case(&h, "none", "邮件测试").await;
    // Routing, then a sweep writes the arrival notices of the case.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let sweeper = sunlight_casework::Sweeper::new(
            store.clone(),
            std::sync::Arc::new(sunlight_core::policy::Policy::cn_12380()),
            std::sync::Arc::new(sunlight_core::calendar::Calendar::cn()),
            sunlight_casework::MailStyle {
                lang: sunlight_core::i18n::Lang::En,
                link_base: "http://127.0.0.1".into(),
            },
        );
        sweeper.pass(chrono::Utc::now()).await.unwrap();
        if store.outbox_status().await.unwrap().pending >= 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no notice was written"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let verifier_mail = store
        .outbox_all()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.recipient == email("verifier", "gd-gz-tianhe"))
        .unwrap();
    store
        .mark_mail_failed(
            verifier_mail.id,
            chrono::Utc::now(),
            "550 5.1.1 mailbox unavailable",
        )
        .await
        .unwrap();

    let admin = h.sign_in_page(&email("admin", "gd-gz-tianhe")).await;
    let page = admin.get("/admin?lang=en").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"mail-failed\">1<"), "{}", page.body);
    assert!(page.body.contains("550 5.1.1 mailbox unavailable"));
    let retry = format!("/admin/mail/{}/retry", verifier_mail.id);
    assert!(page.body.contains(&retry));
    // Another unit's admin sees the count but not the member's mail.
    let other = h.sign_in_page(&email("admin", "gd-sz")).await;
    let theirs = other.get("/admin?lang=en").await.body;
    assert!(theirs.contains("id=\"mail-failed\">1<"));
    assert!(!theirs.contains(&retry) && theirs.contains("id=\"mail-ok\""));
    assert_eq!(other.post(&retry, &[]).await.status, 404);

    let a = admin.post(&retry, &[]).await;
    assert_eq!(a.status, 303, "{}", a.body);
    let status = store.outbox_status().await.unwrap();
    assert_eq!((status.failed, status.pending), (0, 2));
    h.stop().await;
}
