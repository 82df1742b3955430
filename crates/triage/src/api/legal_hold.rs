//! `POST /api/v1/cases/{id}/legal-hold`: a supervisor holds a case from the
//! retention purge, or lifts the hold, with a reason.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::StaffWrite;
use super::cases::case_id;
use crate::error::TriageError;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalHoldIn {
    /// `true` sets the hold, `false` lifts it.
    pub hold: bool,
    /// Why (a review, a court, an archive transfer); kept as a sealed
    /// internal comment of the case.
    pub reason: String,
}

impl std::fmt::Debug for LegalHoldIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegalHoldIn")
            .field("hold", &self.hold)
            .finish_non_exhaustive()
    }
}

/// Set or lift a legal hold: a held case's sealed content is never purged
/// by the retention rule. Supervisors only; audited as `case.legal_hold`.
#[utoipa::path(post, path = "/api/v1/cases/{id}/legal-hold", params(("id" = Uuid, Path, description = "The case")), request_body = LegalHoldIn,
    responses((status = 204, description = "Set or lifted")))]
pub async fn legal_hold(
    staff: StaffWrite,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<LegalHoldIn>,
) -> Result<HttpResponse, TriageError> {
    let body = body.into_inner();
    let reason = Zeroizing::new(body.reason);
    state
        .triage
        .legal_hold(&staff.0, case_id(&path)?, body.hold, &reason, Utc::now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
