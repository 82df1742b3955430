//! The public intake in a real browser: headless Chromium driven through
//! chromedriver, with JavaScript switched off, as a careful reporter would
//! use it. Files a report in Chinese and in English, looks it up with the
//! tracking code, replies, and saves screenshots of every page to
//! `docs/screenshots/`.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1800;

/// The binary built by `.ci/run` (`cargo build -p sunlight`) next to this
/// test executable.
fn binary() -> PathBuf {
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

fn free_port() -> u16 {
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
struct Processes {
    children: Vec<(Child, bool)>,
}

impl Processes {
    fn add(&mut self, child: Child, own_group: bool) {
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
async fn wait_ok(url: &str, what: &str, log: Option<&Path>) {
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

/// Where the screenshots go: `docs/screenshots` of the workspace.
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("docs")
        .join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Width and height of a PNG, from its IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Saves a screenshot of the whole page: grows the window to the height of
/// the document first (WebDriver only captures the viewport), then puts it
/// back.
async fn screenshot(c: &Client, name: &str) {
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
async fn assert_no_script(c: &Client) {
    let html = c.source().await.unwrap().to_lowercase();
    assert!(
        !html.contains("<script"),
        "{}: pages carry no scripts",
        c.current_url().await.unwrap()
    );
}

async fn find(c: &Client, css: &str) -> Element {
    match c.find(Locator::Css(css)).await {
        Ok(found) => found,
        Err(e) => {
            let page = c.source().await.unwrap_or_default();
            panic!("no `{css}` on {:?}: {e}\n{page}", c.current_url().await)
        }
    }
}

async fn type_into(c: &Client, css: &str, text: &str) {
    find(c, css).await.send_keys(text).await.unwrap();
}

async fn select(c: &Client, css: &str, value: &str) {
    find(c, css).await.select_by_value(value).await.unwrap();
}

/// Clicks the submit button of the form holding a field named `form_with`
/// and waits for the next page.
async fn submit(c: &Client, form_with: &str) {
    let form = c
        .find(Locator::XPath(&format!(
            "//form[.//*[@name='{form_with}']]"
        )))
        .await
        .unwrap();
    let button = form
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap();
    button.click().await.unwrap();
    // The next page has replaced this one once the button is gone.
    let deadline = Instant::now() + Duration::from_secs(20);
    while button.tag_name().await.is_ok() {
        assert!(Instant::now() < deadline, "submitting {form_with} hangs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `1234-5678-9012-3456-7890`: twenty digits in groups of four.
fn parse_code(text: &str) -> String {
    let text = text.trim();
    let groups: Vec<&str> = text.split(['-', ' ']).collect();
    assert_eq!(groups.len(), 5, "five groups: {text:?}");
    for g in &groups {
        assert!(
            g.len() == 4 && g.bytes().all(|b| b.is_ascii_digit()),
            "groups of four digits: {text:?}"
        );
    }
    text.to_owned()
}

struct Flow<'a> {
    /// `""` (Chinese, the default for a Chinese browser) or `"?lang=en"`.
    lang: &'a str,
    /// `zh` or `en`, for screenshot names.
    tag: &'a str,
    html_lang: &'a str,
    accused: &'a str,
    narrative: &'a str,
    file: &'a Path,
    reply: &'a str,
}

/// Landing → form → receipt → lookup → status → reply, screenshotting each.
async fn report_and_follow_up(c: &Client, base: &str, f: &Flow<'_>) {
    // Landing.
    c.goto(&format!("{base}/{}", f.lang)).await.unwrap();
    let html = find(c, "html").await;
    assert_eq!(
        html.attr("lang").await.unwrap().as_deref(),
        Some(f.html_lang)
    );
    assert_no_script(c).await;
    screenshot(c, &format!("intake-landing-{}", f.tag)).await;

    // The form, reached through the landing page's link.
    find(c, "main a.button[href^='/report']")
        .await
        .click()
        .await
        .unwrap();
    find(c, "select#unit").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/report");
    assert_no_script(c).await;
    select(c, "select#unit", "gd-gz-tianhe").await;
    select(c, "select#category", "canvassing_bribery").await;
    select(c, "select#accused_role", "unit_leader").await;
    select(c, "select#selection_stage", "inspection").await;
    type_into(c, "#accused_name", f.accused).await;
    type_into(c, "#narrative", f.narrative).await;
    type_into(
        c,
        "input[type=file][name=attachment]",
        f.file.to_str().unwrap(),
    )
    .await;
    screenshot(c, &format!("intake-form-{}", f.tag)).await;
    submit(c, "narrative").await;

    // Receipt.
    let shown = find(c, "#tracking-code")
        .await
        .text()
        .await
        .unwrap_or_else(|e| panic!("no receipt: {e}"));
    let code = parse_code(&shown);
    assert_no_script(c).await;
    screenshot(c, &format!("intake-receipt-{}", f.tag)).await;

    // Look the report up with the code, from the receipt's link.
    find(c, "main a.button[href^='/status']")
        .await
        .click()
        .await
        .unwrap();
    find(c, "input#code").await;
    assert_no_script(c).await;
    type_into(c, "input[name=code]", &code).await;
    submit(c, "code").await;
    let stage = find(c, "#stage").await;
    assert_eq!(
        stage.attr("data-stage").await.unwrap().as_deref(),
        Some("received")
    );
    assert!(!stage.text().await.unwrap().trim().is_empty());
    let file_name = f.file.file_name().unwrap().to_str().unwrap();
    let files = find(c, "#files").await.text().await.unwrap();
    assert!(files.contains(file_name), "{file_name} listed: {files}");

    // Reply through the form on the status page.
    type_into(c, "textarea[name=body]", f.reply).await;
    submit(c, "body").await;
    let source = c.source().await.unwrap();
    assert!(source.contains("id=\"sent\""), "sent notice: {source}");
    let messages = find(c, "#messages").await.text().await.unwrap();
    assert!(messages.contains(f.reply), "reply shown: {messages}");
    assert_eq!(
        find(c, "#stage")
            .await
            .attr("data-stage")
            .await
            .unwrap()
            .as_deref(),
        Some("received")
    );
    assert_no_script(c).await;
    screenshot(c, &format!("intake-status-{}", f.tag)).await;
}

#[tokio::test]
async fn report_and_follow_up_in_a_browser_without_javascript() {
    assert!(
        Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
        "{CHROMEDRIVER} and {CHROMIUM} are needed for this test \
         (Debian: apt-get install chromium chromium-driver)"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut procs = Processes::default();

    // The deployment: demo data, then both apps.
    let sunlight = |args: &[&str]| {
        let mut c = Command::new(binary());
        c.arg("--data-dir")
            .arg(&data)
            .args(args)
            .env_remove("SUNLIGHT_DATABASE_URL")
            .env("SUNLIGHT_LOG", "warn");
        c
    };
    let demo = sunlight(&["demo"]).output().unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let (intake, triage) = (free_port(), free_port());
    let serve_log = dir.path().join("serve.log");
    procs.add(
        sunlight(&["serve"])
            .env("SUNLIGHT_INTAKE_ADDR", format!("127.0.0.1:{intake}"))
            .env("SUNLIGHT_TRIAGE_ADDR", format!("127.0.0.1:{triage}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&serve_log).unwrap())
            .spawn()
            .unwrap(),
        false,
    );

    // chromedriver, in its own process group.
    let driver_port = free_port();
    let driver_log = dir.path().join("chromedriver.log");
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
    let base = format!("http://127.0.0.1:{intake}");
    wait_ok(
        &format!("{base}/healthz"),
        "sunlight serve",
        Some(&serve_log),
    )
    .await;
    let driver = format!("http://127.0.0.1:{driver_port}");
    wait_ok(
        &format!("{driver}/status"),
        "chromedriver",
        Some(&driver_log),
    )
    .await;

    // Headless Chromium, JavaScript off, a Chinese-speaking browser.
    let profile = dir.path().join("chromium-profile");
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
                "profile.managed_default_content_settings.javascript": 2,
                "intl.accept_languages": "zh-CN,zh",
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

    // JavaScript really is off: this page's script would rename it.
    client
        .goto("data:text/html,<title>off</title><script>document.title='on'</script>")
        .await
        .unwrap();
    assert_eq!(client.title().await.unwrap(), "off", "JavaScript is off");

    let zh_file = dir.path().join("会议记录.txt");
    std::fs::write(&zh_file, "2024年3月5日 会议记录：推荐名单临时变更。\n").unwrap();
    let en_file = dir.path().join("meeting-notes.txt");
    std::fs::write(&en_file, "5 March 2024: the shortlist was changed.\n").unwrap();

    let flows = [
        Flow {
            lang: "",
            tag: "zh",
            html_lang: "zh-CN",
            accused: "张某某",
            narrative: "2024年3月民主推荐前，张某某请部分干部吃饭并送购物卡，\
                        要求在推荐中投他的票。\n参加的人有办公室的王某和李某。",
            file: &zh_file,
            reply: "补充：购物卡是某商场的，每张面值一千元。",
        },
        Flow {
            lang: "?lang=en",
            tag: "en",
            html_lang: "en",
            accused: "Zhang Moumou",
            narrative: "Before the recommendation vote in March 2024, Zhang invited \
                        several cadres to dinner and handed out shopping cards, \
                        asking them to vote for him.\nWang and Li from the office were there.",
            file: &en_file,
            reply: "More: the cards were from a local mall, 1000 yuan each.",
        },
    ];
    for flow in &flows {
        tokio::time::timeout(
            Duration::from_secs(180),
            report_and_follow_up(&client, &base, flow),
        )
        .await
        .unwrap_or_else(|_| panic!("the {} flow took too long", flow.tag));
    }
    client.close().await.unwrap();
    drop(procs);
}
