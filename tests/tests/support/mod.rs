//! What the browser tests share: the `sunlight` binary in a temporary data
//! folder (demo data, then `serve` on free ports), chromedriver with
//! headless Chromium and JavaScript switched off, and helpers to fill
//! forms, submit them and save whole-page screenshots to
//! `docs/screenshots/`.

#![allow(dead_code, reason = "each browser test uses a different part")]

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 1800;

/// The binary built by `.ci/run` (`cargo build -p sunlight`) next to this
/// test executable.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = dir.join("sunlight");
    assert!(
        bin.exists(),
        "{} missing: run `cargo build -p sunlight` (as .ci/run does) first",
        bin.display()
    );
    bin
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Processes this test started; killed when it ends, passing or not.
/// chromedriver runs in its own process group so that the browsers it
/// starts go with it.
#[derive(Debug, Default)]
pub struct Processes {
    children: Vec<(Child, bool)>,
}

impl Processes {
    pub fn add(&mut self, child: Child, own_group: bool) {
        self.children.push((child, own_group));
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (child, own_group) in &mut self.children {
            if *own_group {
                // The group id is the child's id (`process_group(0)`).
                let group = format!("-{}", child.id());
                let _status = Command::new("kill")
                    .args(["-KILL", "--", &group])
                    .stderr(Stdio::null())
                    .status();
            }
            let _killed = child.kill();
            let _waited = child.wait();
        }
    }
}

/// Polls `url` until it answers 200 (no sleeps as readiness waits).
pub async fn wait_ok(url: &str, what: &str, log: Option<&Path>) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = client.get(url).send().await;
        if answer.is_ok_and(|r| r.status() == 200) {
            return;
        }
        if Instant::now() >= deadline {
            let log = log
                .and_then(|p| std::fs::read_to_string(p).ok())
                .unwrap_or_default();
            panic!("{what} never answered 200 at {url}\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Which listener of a `sunlight` process to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Intake,
    Triage,
}

/// Starts a `sunlight` process on two free ports (`make(intake, triage)`
/// builds the command; its standard error goes to `log`) and waits until
/// `sides` answer `/healthz`. A free port can be taken by another test
/// between our probe and the process's bind: then the process exits with
/// "Address already in use" and is started again on new ports.
pub async fn spawn_listening(
    make: impl Fn(u16, u16) -> Command,
    log: &Path,
    sides: &[Side],
) -> (Child, u16, u16) {
    let client = reqwest::Client::new();
    for _attempt in 0..5 {
        let (intake, triage) = (free_port(), free_port());
        let mut child = make(intake, triage)
            .stderr(File::create(log).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut up: Vec<Side> = Vec::new();
        loop {
            for side in sides {
                let port = if *side == Side::Intake {
                    intake
                } else {
                    triage
                };
                let url = format!("http://127.0.0.1:{port}/healthz");
                if !up.contains(side)
                    && client
                        .get(&url)
                        .send()
                        .await
                        .is_ok_and(|r| r.status() == 200)
                {
                    up.push(*side);
                }
            }
            if up.len() == sides.len() {
                return (child, intake, triage);
            }
            if let Ok(Some(status)) = child.try_wait() {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                assert!(
                    text.contains("Address already in use"),
                    "sunlight exited with {status}:\n{text}"
                );
                break;
            }
            if Instant::now() >= deadline {
                let _killed = child.kill();
                let _reaped = child.wait();
                let text = std::fs::read_to_string(log).unwrap_or_default();
                panic!("sunlight never answered on {sides:?}\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("no free ports after 5 attempts");
}

/// A deployment made by `sunlight demo` and run by `sunlight serve`.
pub struct Deployment {
    /// `http://127.0.0.1:PORT` of the public intake.
    pub intake: String,
    /// `http://127.0.0.1:PORT` of the staff side.
    pub triage: String,
    /// The demo's `login EMAIL PASSWORD ROLE UNIT TOTP` lines, split.
    pub logins: Vec<Vec<String>>,
    pub serve_log: PathBuf,
    pub data: PathBuf,
    config_file: Option<PathBuf>,
}

impl Deployment {
    /// Demo data in `dir/data`, then both apps on free ports; `config` is
    /// the text of a `--config` file, if any.
    pub async fn start(dir: &Path, config: Option<&str>, procs: &mut Processes) -> Self {
        let data = dir.join("data");
        std::fs::create_dir(&data).unwrap();
        let config_file = config.map(|text| {
            let path = dir.join("sunlight.toml");
            std::fs::write(&path, text).unwrap();
            path
        });
        let sunlight = |args: &[&str]| {
            let mut c = Command::new(binary());
            if let Some(path) = &config_file {
                c.arg("--config").arg(path);
            }
            c.arg("--data-dir")
                .arg(&data)
                .args(args)
                .env_remove("SUNLIGHT_DATABASE_URL")
                // `info`, so that the log scans of the tests that use
                // this see every request line the apps write; JSON, so
                // that the never-log rules are checked in that format too
                // (the processes of crash.rs and faults.rs write text).
                .env("SUNLIGHT_LOG", "info")
                .env("SUNLIGHT_LOG_FORMAT", "json");
            c
        };
        let demo = sunlight(&["demo"]).output().unwrap();
        assert!(
            demo.status.success(),
            "{}",
            String::from_utf8_lossy(&demo.stderr)
        );
        let logins = String::from_utf8(demo.stdout)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("login "))
            .map(|l| l.split(' ').map(str::to_owned).collect())
            .collect();
        let serve_log = dir.join("serve.log");
        let (child, intake, triage) = spawn_listening(
            |intake, triage| {
                let mut c = sunlight(&["serve"]);
                c.env("SUNLIGHT_INTAKE_ADDR", format!("127.0.0.1:{intake}"))
                    .env("SUNLIGHT_TRIAGE_ADDR", format!("127.0.0.1:{triage}"))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null());
                c
            },
            &serve_log,
            &[Side::Intake, Side::Triage],
        )
        .await;
        procs.add(child, false);
        Self {
            intake: format!("http://127.0.0.1:{intake}"),
            triage: format!("http://127.0.0.1:{triage}"),
            logins,
            serve_log,
            data,
            config_file,
        }
    }

    /// Runs another `sunlight` command on this deployment's data; panics
    /// unless it succeeds; returns its standard output.
    pub fn run(&self, args: &[&str]) -> String {
        let mut c = Command::new(binary());
        if let Some(path) = &self.config_file {
            c.arg("--config").arg(path);
        }
        let out = c
            .arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .env_remove("SUNLIGHT_DATABASE_URL")
            .env("SUNLIGHT_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sunlight {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The demo login of `role` in `unit`: `[_, email, password, role, unit, totp]`.
    pub fn login(&self, role: &str, unit: &str) -> &[String] {
        self.logins
            .iter()
            .find(|l| l[3] == role && l[4] == unit)
            .unwrap_or_else(|| panic!("no demo login for {role} of {unit}"))
    }
}

/// chromedriver (in its own process group) and a headless Chromium session
/// with JavaScript off and the given browser languages.
pub async fn browser(dir: &Path, accept_languages: &str, procs: &mut Processes) -> Client {
    browser_with(dir, accept_languages, false, procs).await
}

/// The same with JavaScript on: to show that what a page must not run
/// (an injected script) does not run even where scripts could.
pub async fn browser_with_javascript(
    dir: &Path,
    accept_languages: &str,
    procs: &mut Processes,
) -> Client {
    browser_with(dir, accept_languages, true, procs).await
}

async fn browser_with(
    dir: &Path,
    accept_languages: &str,
    javascript: bool,
    procs: &mut Processes,
) -> Client {
    assert!(
        Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
        "{CHROMEDRIVER} and {CHROMIUM} are needed for this test \
         (Debian: apt-get install chromium chromium-driver)"
    );
    let driver_port = free_port();
    let driver_log = dir.join("chromedriver.log");
    procs.add(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .stdin(Stdio::null())
            .stdout(File::create(&driver_log).unwrap())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER} does not start: {e}")),
        true,
    );
    let driver = format!("http://127.0.0.1:{driver_port}");
    wait_ok(
        &format!("{driver}/status"),
        "chromedriver",
        Some(&driver_log),
    )
    .await;
    let profile = dir.join("chromium-profile");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                format!("--window-size={WIDTH},{HEIGHT}"),
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {
                // 1 allows scripts, 2 blocks them.
                "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 },
                "intl.accept_languages": accept_languages,
            },
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver)
        .await
        .unwrap_or_else(|e| {
            let log = std::fs::read_to_string(&driver_log).unwrap_or_default();
            panic!("no browser session: {e}\n{log}")
        });
    client.set_window_size(WIDTH, HEIGHT).await.unwrap();

    // JavaScript really is off (or on): this page's script renames it.
    client
        .goto("data:text/html,<title>off</title><script>document.title='on'</script>")
        .await
        .unwrap();
    let expected = if javascript { "on" } else { "off" };
    assert_eq!(client.title().await.unwrap(), expected, "JavaScript switch");
    if !javascript {
        let id = client.session_id().await.unwrap().unwrap_or_default();
        SCRIPTLESS.lock().unwrap().push(id);
    }
    client
}

/// Where the screenshots go: `docs/screenshots` of the workspace.
/// `docs/screenshots`, or `SUNLIGHT_SCREENSHOT_DIR` (CI's second pass, in
/// the shangmi suite, keeps its pictures out of the docs).
pub fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("SUNLIGHT_SCREENSHOT_DIR").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap()
                .join("docs")
                .join("screenshots")
        },
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Width and height of a PNG, from its IHDR chunk.
pub fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// axe-core, from crates/intake/web/node_modules (pinned with its sha512 in
/// that folder's package-lock.json; `.ci/run` installs it with `npm ci`).
fn axe_source() -> &'static str {
    static AXE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    AXE.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../crates/intake/web/node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; run `npm ci` in crates/intake/web", path.display())
        })
    })
}

/// Runs axe-core on the page as it is now and fails on any violation of the
/// WCAG 2.0 and 2.1 level A and AA rules. WebDriver's scripts run whatever
/// the page's CSP or the JavaScript switch say, so pages are checked with
/// JavaScript off too. Counts the pages checked for the scorecard.
pub async fn assert_accessible(c: &Client, what: &str) {
    c.execute(&format!("{}\nreturn true;", axe_source()), vec![])
        .await
        .unwrap_or_else(|e| panic!("{what}: axe-core does not load: {e}"));
    let found = c
        .execute_async(
            r"const done = arguments[arguments.length - 1];
            axe.run(document, {
              runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
              resultTypes: ['violations'],
            }).then((r) => done(r.violations.map((v) => ({
              id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
            })))).catch((e) => done([{id: 'axe-failed', help: String(e)}]));",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("{what}: axe-core did not run: {e}"));
    let violations = found.as_array().cloned().unwrap_or_default();
    assert!(
        violations.is_empty(),
        "{what}: WCAG 2.1 AA violations: {}",
        serde_json::to_string_pretty(&violations).unwrap()
    );
    AXE_PAGES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Pages axe-core found clean in this test binary.
pub static AXE_PAGES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The page at a phone's width (360 CSS pixels): every field, table and
/// button lies within the width (nothing to scroll sideways for), and the
/// whole page is saved as `NAME-360.png`.
pub async fn screenshot_narrow(c: &Client, name: &str) {
    const PHONE: u32 = 360;
    let (_, window) = c.get_window_size().await.unwrap();
    c.set_window_size(PHONE, u32::try_from(window).unwrap())
        .await
        .unwrap();
    let viewport = png_size(&c.screenshot().await.unwrap()).0;
    for element in c
        .find_all(Locator::Css("main input, main select, main textarea, main button, main table, main .tracking-code, main h1"))
        .await
        .unwrap()
    {
        let (x, _, w, _) = element.rectangle().await.unwrap();
        if w > 0.0 {
            assert!(
                x + w <= f64::from(viewport) + 1.0,
                "{name}: an element ends at {} px on a {viewport} px wide screen",
                x + w
            );
        }
    }
    let (_, _, _, doc) = c
        .find(Locator::Css("html"))
        .await
        .unwrap()
        .rectangle()
        .await
        .unwrap();
    let chrome = u32::try_from(window)
        .unwrap()
        .saturating_sub(png_size(&c.screenshot().await.unwrap()).1);
    let doc = doc.ceil().clamp(600.0, 20_000.0) as u32;
    c.set_window_size(PHONE, doc + chrome).await.unwrap();
    let png = c.screenshot().await.unwrap();
    c.set_window_size(WIDTH, HEIGHT).await.unwrap();
    let path = screenshot_dir().join(format!("{name}-360.png"));
    std::fs::write(&path, png).unwrap();
}

/// Sessions started with JavaScript off: axe-core's asynchronous run
/// cannot finish in them (its timers never fire), so their pages are
/// checked in sessions with JavaScript on, where the DOM before any
/// interaction is the same (the one script only listens for submits).
static SCRIPTLESS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

async fn scripts_on(c: &Client) -> bool {
    let id = c.session_id().await.unwrap().unwrap_or_default();
    !SCRIPTLESS.lock().unwrap().contains(&id)
}

/// Saves a screenshot of the whole page: grows the window to the height of
/// the document first (WebDriver only captures the viewport), then puts it
/// back. Pages screenshotted with JavaScript on are checked with axe-core.
pub async fn screenshot(c: &Client, name: &str) {
    if scripts_on(c).await {
        assert_accessible(c, name).await;
    }
    let viewport = png_size(&c.screenshot().await.unwrap()).1;
    let (_, window) = c.get_window_size().await.unwrap();
    let chrome = u32::try_from(window).unwrap().saturating_sub(viewport);
    let (_, _, _, doc) = c
        .find(Locator::Css("html"))
        .await
        .unwrap()
        .rectangle()
        .await
        .unwrap();
    let doc = doc.ceil().clamp(600.0, 20_000.0) as u32;
    c.set_window_size(WIDTH, doc + chrome).await.unwrap();
    let png = c.screenshot().await.unwrap();
    c.set_window_size(WIDTH, HEIGHT).await.unwrap();
    let (w, h) = png_size(&png);
    assert!(w >= 800 && h >= 600, "{name}: {w}x{h}");
    let path = screenshot_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
}

/// The page as served contains no script at all: it must work without.
/// No script on the page but, on the pages that seal in the browser, the
/// one sealing script from this origin under subresource integrity.
pub async fn assert_no_script(c: &Client) {
    let html = c.source().await.unwrap().to_lowercase();
    let tag = r#"<script type="module" src="/static/sealing.js" integrity="sha384-"#;
    let rest = match html.split_once(tag) {
        Some((before, after)) => {
            let (_, after) = after.split_once("\"></script>").unwrap();
            format!("{before}{after}")
        }
        None => html,
    };
    assert!(
        !rest.contains("<script"),
        "{}: pages carry no scripts but the sealing script",
        c.current_url().await.unwrap()
    );
}

pub async fn find(c: &Client, css: &str) -> Element {
    match c.find(Locator::Css(css)).await {
        Ok(found) => found,
        Err(e) => {
            let page = c.source().await.unwrap_or_default();
            panic!("no `{css}` on {:?}: {e}\n{page}", c.current_url().await)
        }
    }
}

pub async fn type_into(c: &Client, css: &str, text: &str) {
    find(c, css).await.send_keys(text).await.unwrap();
}

pub async fn select(c: &Client, css: &str, value: &str) {
    find(c, css).await.select_by_value(value).await.unwrap();
}

/// Clicks the submit button of `form` and waits for the next page.
pub async fn submit_form(form: Element, what: &str) {
    let button = form
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap();
    button.click().await.unwrap();
    // The next page has replaced this one once the button is gone.
    let deadline = Instant::now() + Duration::from_secs(20);
    while button.tag_name().await.is_ok() {
        assert!(Instant::now() < deadline, "submitting {what} hangs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks the submit button of the form holding a field named `form_with`
/// and waits for the next page.
pub async fn submit(c: &Client, form_with: &str) {
    let form = c
        .find(Locator::XPath(&format!(
            "//form[.//*[@name='{form_with}']]"
        )))
        .await
        .unwrap();
    submit_form(form, form_with).await;
}

/// Submits the form that `css` selects.
pub async fn submit_css(c: &Client, css: &str) {
    let form = find(c, css).await;
    submit_form(form, css).await;
}

/// The current 6-digit code of a base32 TOTP secret.
pub fn totp_now(secret: &str) -> String {
    let bytes = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let totp = totp_rs::Builder::new().with_secret(bytes).build().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    totp.generate(now).to_string()
}

/// A code of `secret` that `email` has not signed in with yet: the
/// current step's, or the next step's (accepted as one step of clock
/// drift) when the current one was used; waits for a new step only after
/// that. The server accepts each step once (RFC 6238 §5.2).
pub async fn fresh_totp(email: &str, secret: &str) -> String {
    static USED: std::sync::Mutex<Option<std::collections::HashMap<String, u64>>> =
        std::sync::Mutex::new(None);
    let bytes = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    let totp = totp_rs::Builder::new().with_secret(bytes).build().unwrap();
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 30;
        let step = {
            let mut used = USED.lock().unwrap();
            let used = used.get_or_insert_with(Default::default);
            let key = format!("{email}/{secret}");
            let step = used.get(&key).map_or(now, |last| now.max(last + 1));
            (step <= now + 1).then(|| {
                used.insert(key, step);
                step
            })
        };
        match step {
            Some(step) => return totp.generate(step * 30).to_string(),
            None => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
        }
    }
}

/// Files a report through the public JSON API; returns its tracking code.
pub async fn file_report(intake: &str, report: serde_json::Value) -> String {
    let res = reqwest::Client::new()
        .post(format!("{intake}/api/v1/reports"))
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let v: serde_json::Value = res.json().await.unwrap();
    v["tracking_code"].as_str().unwrap().to_owned()
}

/// Signs in through the login form; the TOTP field only when the member
/// has a second factor.
pub async fn sign_in(c: &Client, triage: &str, login: &[String]) {
    c.goto(&format!("{triage}/login")).await.unwrap();
    assert_no_script(c).await;
    type_into(c, "#email", &login[1]).await;
    type_into(c, "#password", &login[2]).await;
    if login[5] != "-" {
        type_into(c, "#totp", &fresh_totp(&login[1], &login[5]).await).await;
    }
    submit(c, "password").await;
    let who = find(c, "#who").await.text().await.unwrap();
    assert!(who.contains(&login[1]), "signed in as {}: {who}", login[1]);
}

/// Signs out through the header's form; lands on the login page.
pub async fn sign_out(c: &Client) {
    submit_css(c, "form[action^='/logout']").await;
    find(c, "input#password").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/login");
}

/// The stage code of the case page (`data-stage`).
pub async fn stage(c: &Client) -> String {
    find(c, "#stage")
        .await
        .attr("data-stage")
        .await
        .unwrap()
        .unwrap()
}

/// Opens a queue until it lists `rows` cases (the router runs every second).
pub async fn queue_with(c: &Client, triage: &str, queue: &str, rows: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        c.goto(&format!("{triage}/queues/{queue}")).await.unwrap();
        let found = c.find_all(Locator::Css("tr[data-case]")).await.unwrap();
        if found.len() == rows {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the {queue} queue never held {rows} cases (has {})",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Accepts (受理) `rows` routed cases from the signed-in desk member's
/// acceptance queue, one by one, through the case page's form.
pub async fn accept_waiting(c: &Client, triage: &str, rows: usize) {
    for left in (1..=rows).rev() {
        queue_with(c, triage, "received", left).await;
        find(c, "tr[data-case] a.case-number")
            .await
            .click()
            .await
            .unwrap();
        find(c, "#stage").await;
        act(c, "accept", &[]).await;
    }
}

/// Clicks the only case of the (filtered) queue; returns its id.
pub async fn open_only_case(c: &Client) -> String {
    let rows = c.find_all(Locator::Css("tr[data-case]")).await.unwrap();
    assert_eq!(rows.len(), 1, "one case listed");
    find(c, "tr[data-case] a.case-number")
        .await
        .click()
        .await
        .unwrap();
    find(c, "#stage").await;
    let url = c.current_url().await.unwrap();
    let id = url.path().strip_prefix("/cases/").unwrap().to_owned();
    assert_no_script(c).await;
    id
}

/// Fills and submits the form of one action (`#action-<name>`).
pub async fn act(c: &Client, action: &str, fields: &[(&str, &str)]) {
    for (css, text) in fields {
        type_into(c, css, text).await;
    }
    submit_css(c, &format!("form#action-{action}")).await;
    let source = c.source().await.unwrap();
    assert!(
        !source.contains("id=\"errors\""),
        "{action} was refused: {source}"
    );
}

/// Fails when a log holds a tracking code (as issued, or as bare digits)
/// or any of `texts` (words of the reports), or a colour code (standard
/// error is a file here, not a terminal); a JSON log must be one object
/// per line. Returns the lines scanned.
pub fn assert_logs_clean(logs: &[PathBuf], codes: &[String], texts: &[&str]) -> usize {
    let mut lines = 0;
    for log in logs {
        let text = std::fs::read_to_string(log)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", log.display()));
        lines += text.lines().count();
        assert!(
            !text.contains('\u{1b}'),
            "{} holds colour codes",
            log.display()
        );
        if text.starts_with('{') {
            for line in text.lines() {
                let entry: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {line}", log.display()));
                assert!(entry.get("level").is_some(), "{line}");
            }
        }
        for code in codes {
            let digits: String = code.chars().filter(char::is_ascii_digit).collect();
            assert!(
                !text.contains(code.as_str()) && !text.contains(&digits),
                "{} holds the tracking code {code}",
                log.display()
            );
        }
        for word in texts {
            assert!(
                !text.contains(word),
                "{} holds report text {word:?}",
                log.display()
            );
        }
    }
    lines
}

/// `[intake.rate_limits]` lifted, for tests about crashes, faults and load
/// rather than throttling (append other tables after it).
pub const LIFTED_RATE_LIMITS: &str = "[intake.rate_limits]\nsubmissions_per_minute = 100000000\nsubmission_burst = 1000000\nlookups_per_minute = 100000000\nlookup_burst = 1000000\nper_client_per_minute = 100000000\nper_client_burst = 1000000\nupload_mib_per_minute = 1000000\n";

/// Looks every code up at `intake`, 8 at a time; each must be found.
/// `what` says in the failure which promise broke.
pub async fn assert_codes_found(intake: &str, codes: &[String], what: &str) {
    let client = reqwest::Client::new();
    let queue = std::sync::Arc::new(tokio::sync::Mutex::new(codes.to_vec()));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, queue, intake, what) = (
            client.clone(),
            queue.clone(),
            intake.to_owned(),
            what.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(code) = queue.lock().await.pop() else {
                    break;
                };
                let res = client
                    .post(format!("{intake}/api/v1/status"))
                    .json(&json!({"code": code}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200, "{what}: code {code} not found");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}
