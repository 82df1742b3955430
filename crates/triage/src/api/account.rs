//! The member's own account and the admin's hold on their unit's members:
//! `POST /api/v1/password`, `POST /api/v1/totp/confirm`, and
//! `POST /api/v1/staff/{id}/disable|enable|reset|totp-reset`.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::staff::StaffOut;
use super::{AnyStaffWrite, StaffWrite};
use crate::error::TriageError;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordIn {
    /// The password signed in with (the one-time password at first).
    pub current_password: String,
    /// A 6-digit code not used before; required for members with a second
    /// factor.
    #[serde(default)]
    pub totp: Option<String>,
    /// At least 12 characters; not the current one.
    pub new_password: String,
}

impl std::fmt::Debug for PasswordIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordIn(<redacted>)")
    }
}

#[derive(Serialize, ToSchema)]
pub struct PasswordOut {
    /// A new base32 TOTP secret for members with a second factor, shown
    /// once. It replaces the old one only after one code from it is sent to
    /// `POST /api/v1/totp/confirm`; until then the old one still signs in.
    pub totp_secret: Option<String>,
}

impl std::fmt::Debug for PasswordOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordOut(<redacted>)")
    }
}

/// Replace the password. Needs the current password and (members with a
/// second factor) a fresh TOTP code; every other session of the member
/// ends, in every process.
#[utoipa::path(post, path = "/api/v1/password", request_body = PasswordIn, responses((status = 200, description = "Changed; other sessions of the member ended", body = PasswordOut)))]
pub async fn change_password(
    staff: AnyStaffWrite,
    state: web::Data<AppState>,
    body: web::Json<PasswordIn>,
) -> Result<HttpResponse, TriageError> {
    let body = body.into_inner();
    let current = Zeroizing::new(body.current_password);
    let new = Zeroizing::new(body.new_password);
    let changed = state
        .triage
        .change_password(
            &state.gate,
            &staff.0,
            &current,
            body.totp.as_deref(),
            &new,
            Utc::now(),
        )
        .await?;
    state.sessions.end_member(staff.0.staff_id, Some(&staff.0));
    Ok(HttpResponse::Ok().json(PasswordOut {
        totp_secret: changed.totp_pending.map(|t| t.to_string()),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpIn {
    /// A 6-digit code of the new secret.
    pub totp: String,
}

impl std::fmt::Debug for TotpIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpIn(<redacted>)")
    }
}

#[derive(Serialize, ToSchema)]
pub struct TotpConfirmed {
    /// 10 single-use recovery codes (`XXXX-XXXX-XXXX-XXXX`), shown once:
    /// each signs in once in place of a TOTP code. Earlier codes are void.
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for TotpConfirmed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpConfirmed(<redacted>)")
    }
}

/// Confirm the waiting TOTP secret (after a password change, or at
/// enrolment): it becomes the one sign-in asks for, and new recovery codes
/// come back once.
#[utoipa::path(post, path = "/api/v1/totp/confirm", request_body = TotpIn, responses((status = 200, description = "The new secret is in force", body = TotpConfirmed)))]
pub async fn confirm_totp(
    staff: AnyStaffWrite,
    state: web::Data<AppState>,
    body: web::Json<TotpIn>,
) -> Result<HttpResponse, TriageError> {
    let codes = state
        .triage
        .confirm_totp(&staff.0, &body.totp, Utc::now())
        .await?;
    Ok(HttpResponse::Ok().json(TotpConfirmed {
        recovery_codes: codes.iter().map(|c| c.to_string()).collect(),
    }))
}

fn member(raw: &str) -> Result<Uuid, TriageError> {
    Uuid::parse_str(raw).map_err(|_| TriageError::NotFound)
}

fn out(row: &sunlight_store::StaffRow) -> StaffOut {
    StaffOut {
        id: row.id,
        email: row.email.clone(),
        role: row.role.as_str(),
        unit: row.unit.to_string(),
        disabled: row.disabled,
    }
}

async fn set_disabled(
    staff: StaffWrite,
    state: web::Data<AppState>,
    path: web::Path<String>,
    disabled: bool,
) -> Result<HttpResponse, TriageError> {
    let id = member(&path)?;
    let row = state
        .triage
        .set_disabled(&staff.0, id, disabled, Utc::now())
        .await?;
    state.sessions.end_member(id, None);
    Ok(HttpResponse::Ok().json(out(&row)))
}

/// Disable a member of the admin's unit or a unit below: they cannot sign in, and every
/// live session of theirs ends at once, in every process. Audited.
#[utoipa::path(post, path = "/api/v1/staff/{id}/disable", params(("id" = Uuid, Path, description = "The member")), responses((status = 200, description = "Disabled; their sessions ended", body = StaffOut)))]
pub async fn staff_disable(
    staff: StaffWrite,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, TriageError> {
    set_disabled(staff, state, path, true).await
}

/// Enable a disabled member of the admin's unit or a unit below again.
/// Audited.
#[utoipa::path(post, path = "/api/v1/staff/{id}/enable", params(("id" = Uuid, Path, description = "The member")), responses((status = 200, description = "Enabled again", body = StaffOut)))]
pub async fn staff_enable(
    staff: StaffWrite,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, TriageError> {
    set_disabled(staff, state, path, false).await
}

#[derive(Serialize, ToSchema)]
pub struct ResetOut {
    /// Shown once: hand it to the member, who must replace it.
    pub one_time_password: String,
}

impl std::fmt::Debug for ResetOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResetOut(<redacted>)")
    }
}

/// Give a member of the admin's unit or a unit below a one-time password
/// (they forgot
/// theirs): every live session of theirs ends, and they must replace it at
/// the next sign-in. Their TOTP secret stays. Audited.
#[utoipa::path(post, path = "/api/v1/staff/{id}/reset", params(("id" = Uuid, Path, description = "The member")), responses((status = 200, description = "A new one-time password (and second factor), shown once", body = ResetOut)))]
pub async fn staff_reset(
    staff: StaffWrite,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, TriageError> {
    let id = member(&path)?;
    let reset = state.triage.reset(&staff.0, id, Utc::now()).await?;
    state.sessions.end_member(id, None);
    Ok(HttpResponse::Ok().json(ResetOut {
        one_time_password: reset.one_time_password.to_string(),
    }))
}

/// Remove the second factor of a member of the admin's unit or a unit
/// below (their authenticator was lost): their sessions end, and at the
/// next sign-in (password only) they set up a new one before anything
/// else. They are told by mail. Audited.
#[utoipa::path(post, path = "/api/v1/staff/{id}/totp-reset", params(("id" = Uuid, Path, description = "The member")), responses((status = 200, description = "The second factor is gone; the member enrols a new one at the next sign-in", body = StaffOut)))]
pub async fn staff_totp_reset(
    staff: StaffWrite,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, TriageError> {
    let id = member(&path)?;
    let row = state
        .triage
        .reset_second_factor(&staff.0, id, Utc::now())
        .await?;
    state.sessions.end_member(id, None);
    Ok(HttpResponse::Ok().json(out(&row)))
}
