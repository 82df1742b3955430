//! /api/v1/intake: a report entered by staff for a reporter who phoned, wrote or came in.

use sunlight_core::report::desk::DeskDraft;

use super::*;

#[derive(Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Accused {
    pub name: String,
    pub position: String,
    pub role: String,
}

#[derive(Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Reporter {
    pub name: String,
    pub phone: String,
}

/// A report taken by phone, letter or visit.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeIn {
    pub unit: String,
    pub category: String,
    pub accused: Accused,
    pub selection_stage: String,
    pub narrative: String,
    pub real_name: bool,
    pub reporter: Reporter,
    pub channel: String,
    /// The day the call, letter or visit came in (`YYYY-MM-DD`, the
    /// service's local day): today when absent, never later, at most 60
    /// days back. Deadlines count from it.
    pub received_on: String,
    /// A letter's postmark date (`YYYY-MM-DD`), letters only.
    pub postmark_on: String,
    /// A letter's return address, letters only; sealed with the report.
    pub return_address: String,
}

impl std::fmt::Debug for Accused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Accused(<redacted>)")
    }
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reporter(<redacted>)")
    }
}

impl std::fmt::Debug for IntakeIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntakeIn(<redacted>)")
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntakeOut {
    /// Read it out to the caller once; it is not shown again.
    pub tracking_code: String,
    pub case_id: String,
    /// The filing receipt, as `POST /api/v1/reports` of the public side
    /// gives it (docs/crypto.md, "Transparency log"): hand it over with
    /// the code. It never holds the code.
    #[schema(value_type = Object)]
    pub receipt: serde_json::Value,
}

/// Enter a report received by phone, letter or visit.
#[utoipa::path(post, path = "/api/v1/intake", request_body = IntakeIn, responses((status = 201, description = "Filed and routed like a web report", body = IntakeOut)))]
pub async fn intake(
    staff: StaffWrite,
    state: web::Data<AppState>,
    body: web::Json<IntakeIn>,
) -> Result<HttpResponse, TriageError> {
    let (draft, desk, channel) = body.into_inner().into_draft()?;
    let today = state.triage.policy.local_date(Utc::now());
    let checked = draft.validate(channel, &sunlight_core::report::Limits::default());
    let (valid, details) = match (checked, desk.validate(channel, today)) {
        (Ok(valid), Ok(details)) => (valid, details),
        (report, details) => {
            let mut errors = report.err().unwrap_or_default();
            errors.extend(details.err().unwrap_or_default());
            return Err(TriageError::Invalid(Invalid::Report(errors)));
        }
    };
    let (code, id, receipt) = state.triage.file_report(&staff.0, valid, details).await?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(IntakeOut {
        tracking_code: code.to_string(),
        case_id: id.to_string(),
        receipt: serde_json::to_value(&receipt)
            .map_err(|e| TriageError::Internal(e.to_string()))?,
    }))
}

impl IntakeIn {
    /// The report as a draft to validate, and the desk channel it came by
    /// (phone, letter or visit; anything else is refused).
    fn into_draft(self) -> Result<(ReportDraft, DeskDraft, Channel), TriageError> {
        let channel = match self.channel.parse::<Channel>() {
            Ok(c @ (Channel::Phone | Channel::Letter | Channel::Visit)) => c,
            _ => return Err(TriageError::Invalid(Invalid::Channel)),
        };
        let draft = ReportDraft {
            unit: self.unit,
            category: self.category,
            accused_name: self.accused.name,
            accused_position: self.accused.position,
            accused_role: self.accused.role,
            selection_stage: self.selection_stage,
            narrative: self.narrative,
            real_name: self.real_name,
            reporter_name: self.reporter.name,
            reporter_phone: self.reporter.phone,
        };
        let desk = DeskDraft {
            received_on: self.received_on,
            postmark_on: self.postmark_on,
            return_address: self.return_address,
        };
        Ok((draft, desk, channel))
    }
}
