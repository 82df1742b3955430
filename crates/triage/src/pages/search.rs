//! The search page (/search): search the member's jurisdiction, and the
//! pre-appointment check (凡提必查) of a candidate by name, unit and
//! position. Sent by POST, so a searched name never stands in a URL, a
//! log line or the browser's history.

use super::*;
use sunlight_casework::service::{SearchFound, SearchRequest};

/// A hit as the page lists it.
pub struct HitLine {
    pub href: String,
    pub number: String,
    pub accused: String,
    pub position: String,
    pub stage: String,
    pub outcome: String,
    pub received_on: String,
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
    let req = SearchRequest {
        name: form.name.clone(),
        text: form.text.clone(),
        position: form.position.clone(),
        unit: form.unit.clone(),
    };
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
            ui,
        })
    }
}
