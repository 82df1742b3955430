//! /api/v1/session: sign in (password, TOTP, unit key unlocked into the session) and sign out.

use super::*;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub email: String,
    pub password: String,
    /// The 6-digit code of the authenticator app; required for supervisors
    /// and admins.
    #[serde(default)]
    pub totp: Option<String>,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignIn(<redacted>)")
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionOut {
    /// Send as `X-CSRF-Token` with every state-changing call.
    pub csrf_token: String,
    pub staff_id: Uuid,
    pub role: &'static str,
    pub unit: String,
    /// True until the member replaces the one-time password they were
    /// given (`POST /api/v1/password`); until then every other call is 403.
    pub must_change_password: bool,
}

/// The session cookie: HttpOnly, SameSite=Strict; over TLS also Secure and
/// `__Host-` prefixed (path `/`, no domain).
pub fn session_cookie(token: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(cookie_name(secure), token.to_owned())
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .finish()
}

/// Sign in.
#[utoipa::path(post, path = "/api/v1/session", request_body = SignIn,
    responses((status = 200, description = "Signed in: the session cookie is set (a locked account answers 401 like a wrong password)", body = SessionOut)))]
pub async fn sign_in(
    state: web::Data<AppState>,
    body: web::Json<SignIn>,
) -> Result<HttpResponse, TriageError> {
    let body = body.into_inner();
    let password = Zeroizing::new(body.password);
    let now = Utc::now();
    let new = state
        .triage
        .sign_in(
            &state.gate,
            &body.email,
            &password,
            body.totp.as_deref(),
            now,
        )
        .await?;
    let opened = state
        .sessions
        .open(new, now)
        .map_err(|e| TriageError::Internal(e.to_string()))?;
    let s = &opened.session;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&opened.token, state.secure))
        .json(SessionOut {
            csrf_token: s.csrf().to_owned(),
            staff_id: s.staff_id,
            role: s.role.as_str(),
            unit: s.unit.to_string(),
            must_change_password: s.must_change_password(),
        }))
}

/// Sign out: the unit key leaves memory.
#[utoipa::path(delete, path = "/api/v1/session", responses((status = 204, description = "Signed out: the session and its unit keys are gone")))]
pub async fn sign_out(
    req: HttpRequest,
    staff: AnyStaffWrite,
    state: web::Data<AppState>,
) -> Result<HttpResponse, TriageError> {
    if let Some(c) = req.cookie(cookie_name(state.secure)) {
        state.sessions.close(c.value());
    }
    state
        .triage
        .store
        .audit(
            sunlight_store::AuditRecord {
                actor: format!("staff:{}", staff.0.staff_id),
                action: "session.close".into(),
                unit: staff.0.unit.to_string(),
                ..Default::default()
            },
            Utc::now(),
        )
        .await?;
    let mut gone = session_cookie("", state.secure);
    gone.make_removal();
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}
