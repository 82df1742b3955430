//! /api/v1/staff: the members of the caller's units, and adding one.

use super::*;

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffOut {
    pub id: Uuid,
    pub email: String,
    pub role: &'static str,
    pub unit: String,
    pub disabled: bool,
}

/// Staff of the admin's unit and of the units below it.
#[utoipa::path(get, path = "/api/v1/staff", responses((status = 200, description = "The members of the admin's unit and of the units below it", body = [StaffOut])))]
pub async fn staff_list(
    staff: Staff,
    state: web::Data<AppState>,
) -> Result<HttpResponse, TriageError> {
    let rows = state.triage.staff_list(&staff.0).await?;
    let out: Vec<StaffOut> = rows
        .into_iter()
        .map(|r| StaffOut {
            id: r.id,
            email: r.email,
            role: r.role.as_str(),
            unit: r.unit.to_string(),
            disabled: r.disabled,
        })
        .collect();
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffIn {
    pub email: String,
    pub role: String,
    /// The member's unit: the admin's own (the default) or one below it.
    #[serde(default)]
    pub unit: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StaffCreated {
    pub id: Uuid,
    /// Shown once: hand it to the new member, who changes it.
    pub one_time_password: String,
    /// Base32 TOTP secret for the authenticator app (supervisors and
    /// admins), shown once.
    pub totp_secret: Option<String>,
}

impl std::fmt::Debug for StaffCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffCreated")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Add a member to the admin's unit or a unit below it; that unit's key is
/// reached from the admin's session (down the escrow chain) and sealed to
/// the member. Audited.
#[utoipa::path(post, path = "/api/v1/staff", request_body = StaffIn, responses((status = 201, description = "Created; the secrets are shown once", body = StaffCreated)))]
pub async fn staff_add(
    staff: StaffWrite,
    state: web::Data<AppState>,
    body: web::Json<StaffIn>,
) -> Result<HttpResponse, TriageError> {
    let body = body.into_inner();
    let role = body
        .role
        .parse::<sunlight_core::Role>()
        .map_err(|_| TriageError::Invalid(Invalid::Role))?;
    let unit = body
        .unit
        .as_deref()
        .map(sunlight_core::UnitId::parse)
        .transpose()
        .map_err(|_| TriageError::Invalid(Invalid::UnitId))?;
    let created = state
        .triage
        .add_staff(&staff.0, unit.as_ref(), &body.email, role, Utc::now())
        .await?;
    Ok(HttpResponse::Created().json(StaffCreated {
        id: created.staff.id,
        one_time_password: created.password.to_string(),
        totp_secret: created.totp.as_ref().map(|t| t.to_string()),
    }))
}
