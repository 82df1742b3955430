//! `POST /admin/staff/{id}/{disable|enable|reset}`: the admin page's hold
//! on the members of the admin's unit (the same as the JSON API's).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use uuid::Uuid;

use super::desk::{Created, CsrfForm, admin_page};
use super::{PageError, Viewer};
use crate::error::TriageError;
use crate::state::AppState;

/// Disables, enables or resets a member, then shows the admin page (with
/// the one-time password, once, after a reset).
pub async fn admin_staff_action(
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    viewer.check_csrf(&form.csrf)?;
    let (id, action) = path.into_inner();
    let id = Uuid::parse_str(&id).map_err(|_| viewer.fail(TriageError::NotFound))?;
    let now = Utc::now();
    let done = match action.as_str() {
        "disable" | "enable" => state
            .triage
            .set_disabled(&viewer.session, id, action == "disable", now)
            .await
            .map(|_| None),
        "reset" => state.triage.reset(&viewer.session, id, now).await.map(|r| {
            Some(Created {
                email: r.staff.email,
                password: r.one_time_password,
                totp: None,
            })
        }),
        _ => return Err(viewer.fail(TriageError::NotFound)),
    };
    match done.map_err(TriageError::from) {
        Ok(created) => {
            state.sessions.end_member(id, None);
            admin_page(
                &viewer,
                &state,
                StatusCode::OK,
                Vec::new(),
                created,
                String::new(),
            )
            .await
        }
        Err(e @ (TriageError::Conflict(_) | TriageError::NotFound | TriageError::Forbidden)) => {
            let reason = vec![e.message(viewer.lang)];
            admin_page(&viewer, &state, e.status(), reason, None, String::new()).await
        }
        Err(e) => Err(viewer.fail(e)),
    }
}
