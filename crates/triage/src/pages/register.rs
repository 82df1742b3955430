//! The register page (/cases, 登记簿): every case of the member's units, open and closed, with filters and pages of 50.

use super::*;
use sunlight_casework::service::RegisterRequest;
use sunlight_core::{Channel, Outcome};
use sunlight_store::{REGISTER_PAGE, RegisterCase, RegisterPage};

pub struct RegisterLine {
    pub id: String,
    pub href: String,
    pub number: String,
    pub received_on: String,
    pub unit: String,
    pub category: String,
    pub channel: String,
    pub stage: String,
    pub outcome: String,
    /// The open stage's deadline in words; none once closed.
    pub due: Option<Countdown>,
    pub owner: String,
    pub real_name: bool,
    pub unread: u32,
}

/// A link to another page of the same listing.
pub struct PageLink {
    pub href: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "register.html")]
pub(super) struct RegisterView {
    ui: Ui,
    q: RegisterRequest,
    errors: Vec<String>,
    units: Vec<Opt>,
    stages: Vec<Opt>,
    categories: Vec<Opt>,
    channels: Vec<Opt>,
    outcomes: Vec<Opt>,
    lines: Vec<RegisterLine>,
    count_line: String,
    previous: Option<PageLink>,
    next: Option<PageLink>,
}

/// The register, filtered by the query string; a bad filter is shown on
/// the page above the form, with no lines.
pub async fn register_show(
    req: HttpRequest,
    viewer: Viewer,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    if viewer.session.role == Role::Admin {
        return Ok(admin_elsewhere(&viewer, "/cases"));
    }
    let q = web::Query::<RegisterRequest>::from_query(req.query_string())
        .map_err(|e| viewer.fail(TriageError::Malformed(e.to_string())))?
        .into_inner();
    let units = jurisdiction_units(&state, &viewer.session)
        .await
        .map_err(|e| viewer.fail(e))?;
    let (status, page, errors) = match state.triage.register(&viewer.session, &q).await {
        Ok(page) => (StatusCode::OK, Some(page), Vec::new()),
        Err(e) => {
            let e = TriageError::from(e);
            if !matches!(e, TriageError::Invalid(_)) {
                return Err(viewer.fail(e));
            }
            (e.status(), None, vec![e.message(viewer.lang)])
        }
    };
    let view = RegisterView::new(&viewer, &state, q, &units, page, errors);
    Ok(render(status, viewer.lang, &view))
}

impl RegisterView {
    fn new(
        viewer: &Viewer,
        state: &AppState,
        q: RegisterRequest,
        units: &[UnitRow],
        page: Option<RegisterPage>,
        errors: Vec<String>,
    ) -> Self {
        let ui = viewer.ui("/cases");
        let t = i18n::catalog(viewer.lang);
        let now = Utc::now();
        let chosen = |v: &Option<String>| v.clone().unwrap_or_default();
        let (total, number, cases) =
            page.map_or((0, 1, Vec::new()), |p| (p.total, p.page, p.cases));
        let lines = cases
            .into_iter()
            .map(|c| register_line(&ui, state, &viewer.session, units, c, now))
            .collect();
        let last = total.div_ceil(REGISTER_PAGE).max(1);
        let link = |to: u64, key: &str| PageLink {
            href: page_href(&ui, &q, to),
            label: t.get(key).to_owned(),
        };
        Self {
            errors,
            units: unit_options(units, &chosen(&q.unit)),
            stages: vocab_options(t, "stage", Stage::ALL, Stage::as_str, &chosen(&q.stage)),
            categories: vocab_options(
                t,
                "category",
                Category::ALL,
                Category::as_str,
                &chosen(&q.category),
            ),
            channels: vocab_options(
                t,
                "channel",
                Channel::ALL,
                Channel::as_str,
                &chosen(&q.channel),
            ),
            outcomes: vocab_options(
                t,
                "outcome",
                Outcome::ALL,
                Outcome::as_str,
                &chosen(&q.outcome),
            ),
            lines,
            count_line: t.format(
                "register.count",
                &[
                    ("total", &total.to_string()),
                    ("page", &number.to_string()),
                    ("pages", &last.to_string()),
                ],
            ),
            previous: (number > 1).then(|| link((number - 1).min(last), "register.previous")),
            next: (number < last).then(|| link(number + 1, "register.next")),
            q,
            ui,
        }
    }
}

/// The listing's own address with another page number (and the language).
fn page_href(ui: &Ui, q: &RegisterRequest, page: u64) -> String {
    let mut form = url_encoded(q);
    form.push(("page", page.to_string()));
    let query: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect();
    format!("{}&{}", ui.href("/cases"), query.join("&"))
}

/// The filters that are set, as form fields (not the page).
fn url_encoded(q: &RegisterRequest) -> Vec<(&'static str, String)> {
    [
        ("stage", &q.stage),
        ("unit", &q.unit),
        ("category", &q.category),
        ("channel", &q.channel),
        ("real_name", &q.real_name),
        ("outcome", &q.outcome),
        ("from", &q.from),
        ("to", &q.to),
        ("owner", &q.owner),
        ("number", &q.number),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().filter(|v| !v.is_empty()).map(|v| (k, v.clone())))
    .collect()
}

pub(super) fn percent(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn register_line(
    ui: &Ui,
    state: &AppState,
    me: &Session,
    units: &[UnitRow],
    c: RegisterCase,
    now: DateTime<Utc>,
) -> RegisterLine {
    let policy = &state.triage.policy;
    let id = c.id.to_string();
    let owner = c.entry.as_ref().and_then(|e| e.owner);
    RegisterLine {
        href: ui.href(&format!("/cases/{id}")),
        number: number_label(ui.lang, c.number.as_ref(), c.id),
        id,
        received_on: policy.local_date(c.received_at).to_string(),
        unit: unit_label(units, &c.unit),
        category: ui.word("category", c.category.as_str()),
        channel: ui.word("channel", c.channel.as_str()),
        stage: ui.word("stage", c.stage.as_str()),
        outcome: c
            .outcome
            .map_or_else(String::new, |o| ui.word("outcome", o.as_str())),
        due: c.entry.as_ref().map(|e| {
            countdown(
                ui.lang,
                policy,
                &state.triage.calendar,
                c.stage,
                e.due_at,
                now,
            )
        }),
        owner: if c.entry.is_some() {
            owner_word(ui.lang, owner, me.staff_id).1
        } else {
            String::new()
        },
        real_name: c.real_name,
        unread: c.unread,
    }
}
