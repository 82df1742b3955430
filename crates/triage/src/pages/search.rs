//! The search page (/search): search the member's jurisdiction, and the
//! pre-appointment check (凡提必查) of a candidate by name, unit and
//! position. Sent by POST, so a searched name never stands in a URL, a
//! log line or the browser's history.

use super::*;
use sunlight_casework::service::{SearchFound, SearchRequest};
use sunlight_core::search::normalize;
use sunlight_store::UnitRow;

/// A hit as the page lists it.
pub struct HitLine {
    pub href: String,
    pub number: String,
    pub accused: String,
    pub position: String,
    pub stage: String,
    pub outcome: String,
    pub received_on: String,
    /// The check's unit or position appears in the report's position.
    pub fits: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
pub(super) struct SearchPage {
    ui: Ui,
    csrf: String,
    errors: Vec<String>,
    units: Vec<Opt>,
    /// The form that was sent: `search` or `check`.
    kind: String,
    q: SearchRequest,
    hits: Option<Vec<HitLine>>,
    count_line: String,
    /// Reports that would not open: the result is not complete.
    unreadable_line: Option<String>,
}

/// The fields of both forms.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SearchForm {
    csrf: String,
    kind: String,
    name: String,
    text: String,
    position: String,
    unit: String,
}

impl SearchForm {
    /// What the service searches for. The check narrows by the candidate's
    /// name only: a report names the position held then, and sits with the
    /// unit that handles it (the one above, for key persons), so the unit
    /// and position given only mark the reports that mention them.
    fn request(&self) -> SearchRequest {
        let check = self.kind == "check";
        let unless_check = |v: &String| if check { String::new() } else { v.clone() };
        SearchRequest {
            name: self.name.clone(),
            text: unless_check(&self.text),
            position: unless_check(&self.position),
            unit: unless_check(&self.unit),
        }
    }
}

impl std::fmt::Debug for SearchForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SearchForm(<redacted>)")
    }
}

/// `GET /search`: both forms, empty.
pub async fn search_form(
    viewer: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    if viewer.session.role == Role::Admin {
        return Ok(admin_elsewhere(&viewer, "/search"));
    }
    let page = SearchPage::new(&viewer, &state, SearchForm::default(), None, Vec::new()).await?;
    Ok(render(StatusCode::OK, viewer.lang, &page))
}

/// `POST /search`: the hits, or what is wrong with the request.
pub async fn search_submit(
    viewer: Viewer,
    state: web::Data<AppState>,
    form: web::Form<SearchForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    viewer.check_csrf(&form.csrf)?;
    if viewer.session.role == Role::Admin {
        return Ok(admin_elsewhere(&viewer, "/search"));
    }
    let req = form.request();
    let (status, found, errors) = match state.triage.search(&viewer.session, &req, Utc::now()).await
    {
        Ok(found) => (StatusCode::OK, Some(found), Vec::new()),
        Err(e) => {
            let e = TriageError::from(e);
            if !matches!(e, TriageError::Invalid(_)) {
                return Err(viewer.fail(e));
            }
            (e.status(), None, vec![e.message(viewer.lang)])
        }
    };
    let page = SearchPage::new(&viewer, &state, form, found, errors).await?;
    Ok(render(status, viewer.lang, &page))
}

/// The check's unit name and position, normalized, to mark the reports
/// whose accused's position mentions them.
fn fit_words(form: &SearchForm, units: &[UnitRow]) -> Vec<String> {
    if form.kind != "check" {
        return Vec::new();
    }
    let unit_name = units
        .iter()
        .find(|u| u.id.as_str() == form.unit)
        .map(|u| u.name.as_str())
        .unwrap_or_default();
    [form.position.as_str(), unit_name]
        .into_iter()
        .map(normalize)
        .filter(|w| w.chars().count() >= 2)
        .collect()
}

impl SearchPage {
    async fn new(
        viewer: &Viewer,
        state: &AppState,
        form: SearchForm,
        found: Option<SearchFound>,
        errors: Vec<String>,
    ) -> Result<Self, PageError> {
        let units = jurisdiction_units(state, &viewer.session)
            .await
            .map_err(|e| viewer.fail(e))?;
        let ui = viewer.ui("/search");
        let t = i18n::catalog(viewer.lang);
        let policy = &state.triage.policy;
        let count_line = found.as_ref().map_or_else(String::new, |f| {
            t.format(
                "search.count",
                &[
                    ("total", &f.total.to_string()),
                    ("scanned", &f.scanned.to_string()),
                ],
            )
        });
        let unreadable_line = found
            .as_ref()
            .filter(|f| f.unreadable > 0)
            .map(|f| t.format("search.unreadable", &[("n", &f.unreadable.to_string())]));
        let fits = fit_words(&form, &units);
        let hits = found.map(|f| {
            f.hits
                .into_iter()
                .map(|h| HitLine {
                    href: ui.href(&format!("/cases/{}", h.case_id)),
                    number: number_label(viewer.lang, h.number.as_ref(), h.case_id),
                    accused: h.accused_name.to_string(),
                    position: h.accused_position.to_string(),
                    stage: ui.word("stage", h.stage.as_str()),
                    outcome: h.outcome.map_or_else(
                        || t.get("case.none").to_owned(),
                        |o| ui.word("outcome", o.as_str()),
                    ),
                    received_on: policy.local_date(h.received_at).to_string(),
                    fits: {
                        let held = normalize(&h.accused_position);
                        fits.iter().any(|w| held.contains(w.as_str()))
                    },
                })
                .collect()
        });
        Ok(Self {
            csrf: viewer.session.csrf().to_owned(),
            errors,
            units: unit_options(&units, &form.unit),
            kind: if form.kind == "check" {
                "check"
            } else {
                "search"
            }
            .to_owned(),
            q: SearchRequest {
                name: form.name,
                text: form.text,
                position: form.position,
                unit: form.unit,
            },
            hits,
            count_line,
            unreadable_line,
            ui,
        })
    }
}
