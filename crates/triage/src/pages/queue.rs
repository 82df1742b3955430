//! The queue pages: one tab per stage, each line with its countdown and owner.

use super::*;

pub(super) const QUEUES: [Stage; 5] = [
    Stage::Received,
    Stage::Verify,
    Stage::Handle,
    Stage::Recheck,
    Stage::Notify,
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct QueueQuery {
    unit: String,
    category: String,
}

impl QueueQuery {
    /// The filters of the form; an empty choice means all.
    fn filter(&self) -> Result<QueueFilter, TriageError> {
        let bad = || TriageError::Invalid(crate::error::Invalid::Filter);
        Ok(QueueFilter {
            unit: Some(self.unit.as_str())
                .filter(|u| !u.is_empty())
                .map(|u| UnitId::parse(u).map_err(|_| bad()))
                .transpose()?,
            category: Some(self.category.as_str())
                .filter(|c| !c.is_empty())
                .map(|c| c.parse::<Category>().map_err(|_| bad()))
                .transpose()?,
            ..QueueFilter::default()
        })
    }
}

/// One row of a queue: deadline in words, owner as seen by `me`.
pub(super) fn queue_line(
    lang: Lang,
    state: &AppState,
    me: &Session,
    units: &[UnitRow],
    item: sunlight_store::QueueItem,
    now: DateTime<Utc>,
) -> QueueLine {
    let e = item.entry;
    let policy = &state.triage.policy;
    let (owner_code, owner) = owner_word(lang, e.owner, me.staff_id);
    QueueLine {
        id: e.case_id.to_string(),
        number: number_label(lang, item.number.as_ref(), e.case_id),
        href: format!("/cases/{}?lang={}", e.case_id, lang.param()),
        category: i18n::word(lang, "category", item.category.as_str()),
        unit: units
            .iter()
            .find(|u| u.id == e.unit)
            .map_or_else(|| e.unit.to_string(), |u| u.name.clone()),
        due: countdown(lang, policy, &state.triage.calendar, e.stage, e.due_at, now),
        paused_until: e
            .paused_until
            .filter(|p| *p > now)
            .map(|p| local_time(policy, p)),
        owner_code,
        owner,
        real_name: e.real_name,
        unread: item.unread,
    }
}

pub struct Tab {
    pub href: String,
    pub label: String,
    pub current: bool,
}

pub struct QueueLine {
    pub id: String,
    /// The case number, or "not numbered yet" and the id's first characters.
    pub number: String,
    pub href: String,
    pub category: String,
    pub unit: String,
    pub due: Countdown,
    pub paused_until: Option<String>,
    pub owner_code: &'static str,
    pub owner: String,
    pub real_name: bool,
    pub unread: u32,
}

#[derive(Template)]
#[template(path = "queue.html")]
pub(super) struct QueuePage {
    ui: Ui,
    stage: &'static str,
    stage_label: String,
    tabs: Vec<Tab>,
    units: Vec<Opt>,
    categories: Vec<Opt>,
    lines: Vec<QueueLine>,
    count_line: String,
    /// Open acknowledgements and re-examinations of the member's units.
    tasks: Vec<TaskItem>,
}

/// An open task as the queue page lists it.
struct TaskItem {
    href: String,
    number: String,
    kind: &'static str,
    label: String,
    unit: String,
    due: String,
    overdue: bool,
}

/// Admins act on no case: a 403 page that points them to their own page.
pub(super) fn admin_elsewhere(viewer: &Viewer, path: &str) -> HttpResponse {
    let ui = viewer.ui(path);
    let page = ProblemPage {
        message: ui.t("errors.admin_no_cases").to_owned(),
        link: Some((ui.href("/admin"), ui.t("site.nav_admin").to_owned())),
        ui,
    };
    render(StatusCode::FORBIDDEN, viewer.lang, &page)
}

/// One queue of the member's units, with filters.
pub async fn queue(
    req: HttpRequest,
    viewer: Viewer,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let page_path = format!("/queues/{}", path.as_str());
    if viewer.session.role == Role::Admin {
        return Ok(admin_elsewhere(&viewer, &page_path));
    }
    let stage = match path.parse::<Stage>() {
        Ok(s) if QUEUES.contains(&s) => s,
        _ => return Err(viewer.fail(TriageError::NotFound)),
    };
    let q = web::Query::<QueueQuery>::from_query(req.query_string())
        .map_err(|e| viewer.fail(TriageError::Malformed(e.to_string())))?
        .into_inner();
    let page = QueuePage::load(&viewer, &state, stage, &q, page_path)
        .await
        .map_err(|e| viewer.fail(e))?;
    Ok(render(StatusCode::OK, viewer.lang, &page))
}

impl QueuePage {
    /// The page of `stage` for the member, filtered by `q`.
    async fn load(
        viewer: &Viewer,
        state: &AppState,
        stage: Stage,
        q: &QueueQuery,
        page_path: String,
    ) -> Result<Self, TriageError> {
        let s = &viewer.session;
        let filter = QueueFilter {
            unread_first_for: Some(s.staff_id),
            ..q.filter()?
        };
        let now = Utc::now();
        let items = state
            .triage
            .store
            .queue_items(&s.jurisdiction, stage, &filter)
            .await?;
        let units = jurisdiction_units(state, s).await?;
        let open_tasks = state.triage.open_tasks(s).await?;
        let lang = viewer.lang;
        let lines: Vec<QueueLine> = items
            .into_iter()
            .map(|i| queue_line(lang, state, s, &units, i, now))
            .collect();
        let count_line =
            i18n::catalog(lang).format("queue.count", &[("n", &lines.len().to_string())]);
        let ui = viewer.ui(page_path);
        let policy = &state.triage.policy;
        let tasks = open_tasks
            .into_iter()
            .map(|o| TaskItem {
                href: ui.href(&format!("/cases/{}", o.task.case_id)),
                number: number_label(lang, o.number.as_ref(), o.task.case_id),
                kind: o.task.kind.as_str(),
                label: ui.word("task", o.task.kind.as_str()),
                unit: unit_label(&units, &o.task.unit),
                due: local_day(policy, o.task.due_at),
                overdue: o.task.overdue_at.is_some(),
            })
            .collect();
        Ok(Self {
            tasks,
            stage: stage.as_str(),
            stage_label: ui.word("stage", stage.as_str()),
            tabs: QUEUES
                .iter()
                .map(|t| Tab {
                    href: ui.href(&format!("/queues/{t}")),
                    label: ui.word("stage", t.as_str()),
                    current: *t == stage,
                })
                .collect(),
            units: unit_options(&units, &q.unit),
            categories: vocab_options(
                i18n::catalog(lang),
                "category",
                Category::ALL,
                Category::as_str,
                &q.category,
            ),
            count_line,
            lines,
            ui,
        })
    }
}
