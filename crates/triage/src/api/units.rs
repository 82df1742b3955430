//! `POST /api/v1/units/{id}/rotate-key`: an admin replaces the key pair of
//! their unit or a unit below it.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use super::StaffWrite;
use crate::error::TriageError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct RotatedOut {
    /// The new key's generation (the first key is 1).
    pub generation: i32,
    /// Enabled members who hold the new key.
    pub members: usize,
    /// Members who do not: disabled ones, and any who need a password
    /// reset to get it.
    pub left_out: usize,
    /// The unit's new recovery key, shown once, when the unit keeps one
    /// (the old one opens only the retired key).
    pub recovery_key: Option<String>,
}

impl std::fmt::Debug for RotatedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatedOut")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// Rotate a unit's key: new reports seal to a new key pair; the old key is
/// kept sealed to the new one; every enabled member of the unit gets the
/// new key and signs in again; disabled members never get it. Audited.
#[utoipa::path(post, path = "/api/v1/units/{id}/rotate-key", params(("id" = String, Path, description = "The unit")), responses((status = 200, description = "Rotated", body = RotatedOut)))]
pub async fn rotate_key(
    staff: StaffWrite,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, TriageError> {
    let unit = sunlight_core::UnitId::parse(&path).map_err(|_| TriageError::NotFound)?;
    let done = state
        .triage
        .rotate_unit_key(&staff.0, &unit, Utc::now())
        .await?;
    state.sessions.end_unit(&unit);
    Ok(HttpResponse::Ok().json(RotatedOut {
        generation: done.generation,
        members: done.members,
        left_out: done.left_out,
        recovery_key: done.recovery.map(|rk| rk.reveal().to_string()),
    }))
}
