//! The staff HTML pages: sign-in, the queues, a case with one form per
//! allowed action, the desk for reports taken by phone, letter or visit,
//! and the admin page. Server-rendered, no JavaScript; every word comes
//! from `locales/`. Handlers stay thin: read the form, check the CSRF
//! field, call `Triage`, render or redirect (303 after every change).

mod case;
mod desk;
mod password;
mod staff;
mod stats;

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sunlight_core::calendar::Calendar;
use sunlight_core::i18n::Lang;
use sunlight_core::policy::{DeadlineKind, Policy, Span};
use sunlight_core::{Category, Role, Stage, UnitId};
use sunlight_store::{QueueFilter, UnitRow};
use zeroize::Zeroizing;

pub use case::{case_action, case_message, case_show, hold_confirm};
pub use desk::{admin_add_staff, admin_retry_mail, admin_show, intake_form, intake_submit};
pub use password::{password_form, password_submit, totp_confirm};
pub use staff::admin_staff_action;
pub use stats::{stats_chart, stats_csv, stats_show};

use crate::error::TriageError;
use crate::i18n;
use crate::session::Session;
use crate::state::AppState;

use sunlight_web::Frame;
pub(crate) use sunlight_web::{Opt, render, vocab_options};

/// The signed-in member, as the page frame shows them.
pub struct Me {
    pub email: String,
    pub role: Role,
    csrf: String,
}

impl Me {
    fn of(session: &Session) -> Self {
        Self {
            email: session.email.clone(),
            role: session.role,
            csrf: session.csrf().to_owned(),
        }
    }

    /// The CSRF token every state-changing form carries.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Admins manage staff and act on no case.
    pub fn works_cases(&self) -> bool {
        self.role != Role::Admin
    }

    pub fn takes_reports(&self) -> bool {
        matches!(self.role, Role::Intake | Role::Supervisor)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// What every page's frame needs: the shared frame (language, catalog,
/// the page's own path) and who is signed in.
pub struct Ui {
    frame: Frame,
    pub me: Option<Me>,
}

impl Ui {
    pub fn new(lang: Lang, path: impl Into<String>, me: Option<Me>) -> Self {
        Self {
            frame: i18n::frame(lang, path),
            me,
        }
    }
}

impl std::ops::Deref for Ui {
    type Target = Frame;

    fn deref(&self) -> &Frame {
        &self.frame
    }
}

fn unit_options(units: &[UnitRow], chosen: &str) -> Vec<Opt> {
    units
        .iter()
        .map(|u| Opt {
            value: u.id.to_string(),
            label: unit_label(units, &u.id),
            selected: u.id.as_str() == chosen,
        })
        .collect()
}

/// A failed page request: answered with a translated page (or, without a
/// session, a redirect to the sign-in page).
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct PageError {
    pub error: TriageError,
    pub lang: Lang,
}

impl PageError {
    pub fn new(error: TriageError, lang: Lang) -> Self {
        Self { error, lang }
    }
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage {
    ui: Ui,
    message: String,
    /// Where to go instead: `(href, label)`.
    link: Option<(String, String)>,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self.error {
            TriageError::NoSession
            | TriageError::PasswordChangeRequired
            | TriageError::TotpConfirmationRequired => StatusCode::SEE_OTHER,
            _ => self.error.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match &self.error {
            TriageError::NoSession => {
                return see_other(&format!("/login?lang={}", self.lang.param()));
            }
            TriageError::PasswordChangeRequired | TriageError::TotpConfirmationRequired => {
                return see_other(&format!("/password?lang={}", self.lang.param()));
            }
            TriageError::Internal(detail) => tracing::error!(error = %detail, "page failed"),
            TriageError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "database unavailable");
            }
            _ => {}
        }
        let page = ProblemPage {
            ui: Ui::new(self.lang, "/", None),
            message: i18n::error_message(self.lang, &self.error),
            link: None,
        };
        render(self.error.status(), self.lang, &page)
    }
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// A signed-in member reading a page, and the page's language.
#[derive(Debug)]
pub struct Viewer {
    pub session: Arc<Session>,
    pub lang: Lang,
}

impl FromRequest for Viewer {
    type Error = PageError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, PageError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let lang = i18n::lang_of(&req);
            // Until a one-time password is replaced, only the password page
            // (and logout) may be used.
            let free = matches!(req.path(), "/password" | "/password/totp" | "/logout");
            crate::session::current(&req)
                .await
                .and_then(|session| {
                    if free {
                        Ok(session)
                    } else if session.must_change_password() {
                        Err(TriageError::PasswordChangeRequired)
                    } else if session.must_confirm_totp() {
                        Err(TriageError::TotpConfirmationRequired)
                    } else {
                        Ok(session)
                    }
                })
                .map(|session| Viewer { session, lang })
                .map_err(|e| PageError::new(e, lang))
        })
    }
}

impl Viewer {
    fn ui(&self, path: impl Into<String>) -> Ui {
        Ui::new(self.lang, path, Some(Me::of(&self.session)))
    }

    fn fail(&self, error: impl Into<TriageError>) -> PageError {
        PageError::new(error.into(), self.lang)
    }

    /// The form's `csrf` field against the session's token (constant time).
    fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        if self.session.csrf_matches(Some(sent)) {
            Ok(())
        } else {
            Err(self.fail(TriageError::Csrf))
        }
    }

    /// A same-site redirect that keeps the language.
    fn back_to(&self, path: &str) -> HttpResponse {
        see_other(&format!("{path}?lang={}", self.lang.param()))
    }
}

/// Where a member starts: the verify queue, or the admin page for admins.
fn home_of(role: Role) -> &'static str {
    match role {
        Role::Admin => "/admin",
        _ => "/queues/verify",
    }
}

/// The units of the member's jurisdiction, in tree order (parents first).
async fn jurisdiction_units(
    state: &AppState,
    session: &Session,
) -> Result<Vec<UnitRow>, TriageError> {
    let all = state.triage.store.units().await?;
    Ok(tree_order(all)
        .into_iter()
        .filter(|(u, _)| session.jurisdiction.contains(&u.id))
        .map(|(u, _)| u)
        .collect())
}

/// Units with their depth, each parent followed by its children.
fn tree_order(units: Vec<UnitRow>) -> Vec<(UnitRow, usize)> {
    fn visit(
        parent: Option<&UnitId>,
        depth: usize,
        pool: &mut Vec<UnitRow>,
        out: &mut Vec<(UnitRow, usize)>,
    ) {
        let (children, rest): (Vec<_>, Vec<_>) = std::mem::take(pool)
            .into_iter()
            .partition(|u| u.parent.as_ref() == parent);
        *pool = rest;
        for child in children {
            let id = child.id.clone();
            out.push((child, depth));
            visit(Some(&id), depth + 1, pool, out);
        }
    }
    let mut pool = units;
    pool.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let mut out = Vec::new();
    visit(None, 0, &mut pool, &mut out);
    // Units whose parent is missing still show, at the top level.
    out.extend(pool.into_iter().map(|u| (u, 0)));
    out
}

/// A local date and time in the deployment's time zone.
fn local_time(policy: &Policy, at: DateTime<Utc>) -> String {
    at.with_timezone(&policy.utc_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// "天河区委组织部 (gd-gz-tianhe)", or the bare id of an unknown unit.
fn unit_label(units: &[UnitRow], id: &UnitId) -> String {
    units
        .iter()
        .find(|u| u.id == *id)
        .map_or_else(|| id.to_string(), |u| format!("{} ({})", u.name, u.id))
}

/// The last local day of a deadline, `YYYY-MM-DD`.
fn local_day(policy: &Policy, due: DateTime<Utc>) -> String {
    due_day(policy, due).format("%Y-%m-%d").to_string()
}

/// The last local day of a deadline (it runs out at that day's midnight).
fn due_day(policy: &Policy, due: DateTime<Utc>) -> chrono::NaiveDate {
    policy.last_day(due)
}

fn deadline_kind(stage: Stage) -> Option<DeadlineKind> {
    match stage {
        Stage::Received => Some(DeadlineKind::Route),
        Stage::Verify => Some(DeadlineKind::Verify),
        Stage::Handle => Some(DeadlineKind::Handle),
        Stage::Recheck => Some(DeadlineKind::Recheck),
        Stage::Notify => Some(DeadlineKind::Notify),
        Stage::Closed => None,
    }
}

/// How a deadline stands today, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Countdown {
    pub text: String,
    pub overdue: bool,
    /// The last local day, `YYYY-MM-DD`.
    pub date: String,
}

/// "due in 3 working days" / "2 days overdue": counted in working days when
/// the stage's deadline is set in working days, else in calendar days.
pub fn countdown(
    lang: Lang,
    policy: &Policy,
    cal: &Calendar,
    stage: Stage,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Countdown {
    let t = i18n::catalog(lang);
    let working =
        deadline_kind(stage).is_some_and(|k| matches!(policy.span(k), Span::WorkingDays(_)));
    let last = due_day(policy, due);
    let today = policy.local_date(now);
    let count = |from, to| {
        if working {
            i64::from(cal.working_days_between(from, to))
        } else {
            (to - from).num_days().max(0)
        }
    };
    let overdue = now >= due;
    let n = if overdue {
        count(last, today)
    } else {
        count(today, last)
    };
    let key = match (overdue, working, n) {
        (false, _, 0) => "countdown.due_today",
        (false, true, 1) => "countdown.left_working_one",
        (false, true, _) => "countdown.left_working",
        (false, false, 1) => "countdown.left_days_one",
        (false, false, _) => "countdown.left_days",
        (true, _, 0) => "countdown.overdue",
        (true, true, 1) => "countdown.over_working_one",
        (true, true, _) => "countdown.over_working",
        (true, false, 1) => "countdown.over_days_one",
        (true, false, _) => "countdown.over_days",
    };
    Countdown {
        text: t.format(key, &[("n", &n.to_string())]),
        overdue,
        date: local_day(policy, due),
    }
}

/// "you", "someone else" or "nobody".
fn owner_word(lang: Lang, owner: Option<uuid::Uuid>, me: uuid::Uuid) -> (&'static str, String) {
    let code = match owner {
        Some(o) if o == me => "you",
        Some(_) => "other",
        None => "none",
    };
    (code, i18n::word(lang, "owner", code))
}

// ---------------------------------------------------------------- sign-in

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ui: Ui,
    error: Option<String>,
    email: String,
}

fn login_page(
    lang: Lang,
    status: StatusCode,
    error: Option<String>,
    email: String,
) -> HttpResponse {
    render(
        status,
        lang,
        &LoginPage {
            ui: Ui::new(lang, "/login", None),
            error,
            email,
        },
    )
}

pub async fn login_form(req: HttpRequest) -> HttpResponse {
    login_page(i18n::lang_of(&req), StatusCode::OK, None, String::new())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LoginForm {
    email: String,
    password: String,
    totp: String,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginForm(<redacted>)")
    }
}

/// Signs in; every failure says the same (never which field was wrong).
pub async fn login_submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let lang = i18n::lang_of(&req);
    // Login CSRF: a page elsewhere must not sign a staff member's browser
    // into another account. There is no session yet to hold a token, so
    // the browser's own Origin / Sec-Fetch-Site headers decide.
    if cross_site(&req) {
        return Err(PageError::new(TriageError::Csrf, lang));
    }
    let LoginForm {
        email,
        password,
        totp,
    } = form.into_inner();
    let password = Zeroizing::new(password);
    let totp = Zeroizing::new(totp);
    let code = Some(totp.trim()).filter(|c| !c.is_empty());
    let now = Utc::now();
    match crate::auth::sign_in(
        &state.triage.store,
        &state.gate,
        &email,
        &password,
        code,
        now,
    )
    .await
    {
        Ok(new) => {
            let role = new.role;
            let opened = state
                .sessions
                .open(new, now)
                .map_err(|e| PageError::new(TriageError::Internal(e.to_string()), lang))?;
            Ok(HttpResponse::SeeOther()
                .cookie(crate::api::session_cookie(&opened.token, state.secure))
                .insert_header((
                    header::LOCATION,
                    format!("{}?lang={}", home_of(role), lang.param()),
                ))
                .finish())
        }
        Err(e @ (TriageError::BadCredentials | TriageError::Locked(_))) => Ok(login_page(
            lang,
            e.status(),
            Some(i18n::error_message(lang, &e)),
            email,
        )),
        Err(e) => Err(PageError::new(e, lang)),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CsrfOnly {
    csrf: String,
}

impl std::fmt::Debug for CsrfOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfOnly(<redacted>)")
    }
}

/// Signs out: the session and its unit key leave memory.
pub async fn logout(
    req: HttpRequest,
    viewer: Viewer,
    state: web::Data<AppState>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, PageError> {
    viewer.check_csrf(&form.csrf)?;
    if let Some(c) = req.cookie(crate::session::cookie_name(state.secure)) {
        state.sessions.close(c.value());
    }
    state
        .triage
        .store
        .audit(
            sunlight_store::AuditRecord {
                actor: format!("staff:{}", viewer.session.staff_id),
                action: "session.close".into(),
                unit: viewer.session.unit.to_string(),
                ..Default::default()
            },
            Utc::now(),
        )
        .await
        .map_err(|e| viewer.fail(e))?;
    let mut gone = crate::api::session_cookie("", state.secure);
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .cookie(gone)
        .insert_header((
            header::LOCATION,
            format!("/login?lang={}", viewer.lang.param()),
        ))
        .finish())
}

/// `/`: the member's start page, or the sign-in page.
pub async fn root(req: HttpRequest) -> HttpResponse {
    let lang = i18n::lang_of(&req);
    let to = match crate::session::current(&req).await {
        Ok(s) => home_of(s.role),
        Err(_) => "/login",
    };
    see_other(&format!("{to}?lang={}", lang.param()))
}

// ---------------------------------------------------------------- queues

const QUEUES: [Stage; 5] = [
    Stage::Received,
    Stage::Verify,
    Stage::Handle,
    Stage::Recheck,
    Stage::Notify,
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct QueueQuery {
    unit: String,
    category: String,
}

impl QueueQuery {
    /// The filters of the form; an empty choice means all.
    fn filter(&self) -> Result<QueueFilter, TriageError> {
        let bad = || TriageError::Invalid("filter: unknown unit or category".into());
        Ok(QueueFilter {
            unit: Some(self.unit.as_str())
                .filter(|u| !u.is_empty())
                .map(|u| UnitId::parse(u).map_err(|_| bad()))
                .transpose()?,
            category: Some(self.category.as_str())
                .filter(|c| !c.is_empty())
                .map(|c| c.parse::<Category>().map_err(|_| bad()))
                .transpose()?,
            ..QueueFilter::default()
        })
    }
}

/// One row of a queue: deadline in words, owner as seen by `me`.
fn queue_line(
    lang: Lang,
    state: &AppState,
    me: &Session,
    units: &[UnitRow],
    item: sunlight_store::QueueItem,
    now: DateTime<Utc>,
) -> QueueLine {
    let e = item.entry;
    let policy = &state.triage.policy;
    let (owner_code, owner) = owner_word(lang, e.owner, me.staff_id);
    QueueLine {
        id: e.case_id.to_string(),
        href: format!("/cases/{}?lang={}", e.case_id, lang.param()),
        category: i18n::word(lang, "category", item.category.as_str()),
        unit: units
            .iter()
            .find(|u| u.id == e.unit)
            .map_or_else(|| e.unit.to_string(), |u| u.name.clone()),
        due: countdown(lang, policy, &state.triage.calendar, e.stage, e.due_at, now),
        paused_until: e
            .paused_until
            .filter(|p| *p > now)
            .map(|p| local_time(policy, p)),
        owner_code,
        owner,
        real_name: e.real_name,
    }
}

pub struct Tab {
    pub href: String,
    pub label: String,
    pub current: bool,
}

pub struct QueueLine {
    pub id: String,
    pub href: String,
    pub category: String,
    pub unit: String,
    pub due: Countdown,
    pub paused_until: Option<String>,
    pub owner_code: &'static str,
    pub owner: String,
    pub real_name: bool,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    ui: Ui,
    stage: &'static str,
    stage_label: String,
    tabs: Vec<Tab>,
    units: Vec<Opt>,
    categories: Vec<Opt>,
    lines: Vec<QueueLine>,
    count_line: String,
}

/// Admins act on no case: a 403 page that points them to their own page.
fn admin_elsewhere(viewer: &Viewer, path: &str) -> HttpResponse {
    let ui = viewer.ui(path);
    let page = ProblemPage {
        message: ui.t("errors.admin_no_cases").to_owned(),
        link: Some((ui.href("/admin"), ui.t("site.nav_admin").to_owned())),
        ui,
    };
    render(StatusCode::FORBIDDEN, viewer.lang, &page)
}

/// One queue of the member's units, with filters.
pub async fn queue(
    req: HttpRequest,
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let page_path = format!("/queues/{}", path.as_str());
    if viewer.session.role == Role::Admin {
        return Ok(admin_elsewhere(&viewer, &page_path));
    }
    let stage = match path.parse::<Stage>() {
        Ok(s) if QUEUES.contains(&s) => s,
        _ => return Err(viewer.fail(TriageError::NotFound)),
    };
    let q = web::Query::<QueueQuery>::from_query(req.query_string())
        .map_err(|e| viewer.fail(TriageError::Malformed(e.to_string())))?
        .into_inner();
    let filter = q.filter().map_err(|e| viewer.fail(e))?;
    let now = Utc::now();
    let s = &viewer.session;
    let items = state
        .triage
        .store
        .queue_items(&s.jurisdiction, stage, &filter)
        .await
        .map_err(|e| viewer.fail(e))?;
    let units = jurisdiction_units(&state, s)
        .await
        .map_err(|e| viewer.fail(e))?;
    let lang = viewer.lang;
    let lines: Vec<QueueLine> = items
        .into_iter()
        .map(|i| queue_line(lang, &state, s, &units, i, now))
        .collect();
    let count_line = i18n::catalog(lang).format("queue.count", &[("n", &lines.len().to_string())]);
    let ui = viewer.ui(page_path);
    let page = QueuePage {
        stage: stage.as_str(),
        stage_label: ui.word("stage", stage.as_str()),
        tabs: QUEUES
            .iter()
            .map(|t| Tab {
                href: ui.href(&format!("/queues/{t}")),
                label: ui.word("stage", t.as_str()),
                current: *t == stage,
            })
            .collect(),
        units: unit_options(&units, &q.unit),
        categories: vocab_options(
            i18n::catalog(lang),
            "category",
            Category::ALL,
            Category::as_str,
            &q.category,
        ),
        count_line,
        lines,
        ui,
    };
    Ok(render(StatusCode::OK, lang, &page))
}

// ---------------------------------------------------------------- the rest

/// Whether a browser says the request comes from another site. Modern
/// browsers send `Sec-Fetch-Site`, which decides; otherwise a real `Origin`
/// must name this host. (`Origin: null` is what a same-origin form sends
/// under our `Referrer-Policy: no-referrer`, so it proves nothing.)
fn cross_site(req: &HttpRequest) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match (header("origin"), header("host")) {
        (Some("null") | None, _) => false,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_none_or(|(_, rest)| !rest.eq_ignore_ascii_case(host)),
        (Some(_), None) => true,
    }
}

pub async fn stylesheet() -> HttpResponse {
    sunlight_web::stylesheet(include_str!("../static/style.css"))
}

/// 404 as a page (JSON under `/api/`, answered in `lib.rs`).
pub fn not_found_page(req: &HttpRequest) -> PageError {
    PageError::new(TriageError::NotFound, i18n::lang_of(req))
}

pub fn method_not_allowed_page(req: &HttpRequest) -> PageError {
    PageError::new(TriageError::MethodNotAllowed, i18n::lang_of(req))
}

/// What an unreadable form becomes: a translated 400/413/415 page.
pub fn form_error(err: actix_web::error::UrlencodedError, req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::UrlencodedError as U;
    let error = match err {
        U::Overflow { .. } | U::UnknownLength => TriageError::TooLarge,
        U::ContentType => TriageError::UnsupportedMediaType,
        other => TriageError::Malformed(other.to_string()),
    };
    PageError::new(error, i18n::lang_of(req)).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        // Local (UTC+8) wall time to an instant.
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap() - Duration::hours(8)
    }

    #[test]
    fn countdowns_count_the_days_the_stage_is_measured_in() {
        let policy = Policy::cn_12380();
        let cal = Calendar::cn();
        // Handle is counted in working days: due at the end of Friday 2026-03-13.
        let due = at(2026, 3, 14, 0);
        let c = countdown(
            Lang::En,
            &policy,
            &cal,
            Stage::Handle,
            due,
            at(2026, 3, 10, 9),
        );
        assert_eq!(c.text, "due in 3 working days");
        assert!(!c.overdue);
        assert_eq!(c.date, "2026-03-13");
        let c = countdown(
            Lang::En,
            &policy,
            &cal,
            Stage::Handle,
            due,
            at(2026, 3, 13, 9),
        );
        assert_eq!(c.text, "due today");
        // Monday and Tuesday after: two working days late.
        let c = countdown(
            Lang::ZhCn,
            &policy,
            &cal,
            Stage::Handle,
            due,
            at(2026, 3, 17, 9),
        );
        assert_eq!(c.text, "逾期 2 个工作日");
        assert!(c.overdue);
        // Verify is counted in calendar days.
        let c = countdown(
            Lang::ZhCn,
            &policy,
            &cal,
            Stage::Verify,
            due,
            at(2026, 3, 10, 9),
        );
        assert_eq!(c.text, "3 天后到期");
        let c = countdown(
            Lang::En,
            &policy,
            &cal,
            Stage::Verify,
            due,
            at(2026, 3, 15, 9),
        );
        assert_eq!(c.text, "2 days overdue");
        let c = countdown(
            Lang::En,
            &policy,
            &cal,
            Stage::Verify,
            due,
            at(2026, 3, 14, 9),
        );
        assert_eq!(c.text, "1 day overdue");
    }
}
