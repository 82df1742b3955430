//! Signing in and out by form: the sign-in page, its answer (the same for every failure), the sign-out button, and the root that sends a member to their work.

use super::*;
use sunlight_casework::session::NewSession;

#[derive(Template)]
#[template(path = "login.html")]
pub(super) struct LoginPage {
    ui: Ui,
    error: Option<String>,
    email: String,
}

pub(super) fn login_page(
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
    let (password, totp) = (Zeroizing::new(password), Zeroizing::new(totp));
    let code = Some(totp.trim()).filter(|c| !c.is_empty());
    let now = Utc::now();
    let checked = state
        .triage
        .sign_in(&state.gate, &email, &password, code, now)
        .await;
    match checked.map_err(TriageError::from) {
        Ok(new) => signed_in(&state, new, now, lang),
        // A locked account gets this same answer: it must not tell that
        // the account exists.
        Err(e @ TriageError::BadCredentials) => {
            Ok(login_page(lang, e.status(), Some(e.message(lang)), email))
        }
        Err(e) => Err(PageError::new(e, lang)),
    }
}

/// Opens the session and sends the member to their home page, its cookie
/// set.
fn signed_in(
    state: &AppState,
    new: NewSession,
    now: DateTime<Utc>,
    lang: Lang,
) -> Result<HttpResponse, PageError> {
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
    if let Some(c) = req.cookie(crate::cookie::cookie_name(state.secure)) {
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
    let to = match crate::state::current(&req).await {
        Ok(s) => home_of(s.role),
        Err(_) => "/login",
    };
    see_other(&format!("{to}?lang={}", lang.param()))
}

/// Whether a browser says the request comes from another site. Modern
/// browsers send `Sec-Fetch-Site`, which decides; otherwise a real `Origin`
/// must name this host. (`Origin: null` is what a same-origin form sends
/// under our `Referrer-Policy: no-referrer`, so it proves nothing.)
pub(super) fn cross_site(req: &HttpRequest) -> bool {
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
