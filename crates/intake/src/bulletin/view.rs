//! The bulletin page's view model: the published figures as the tables
//! show them, each count already a word ("< N" where suppressed).

use askama::Template;
use sunlight_core::i18n::Lang;
use sunlight_core::stats::{Bulletin, BulletinArea, BulletinMonth, Shown};

use crate::i18n;
use crate::pages::Frame;
use crate::state::AppState;

struct MonthLine {
    month: String,
    received: String,
    categories: Vec<String>,
    levels: Vec<String>,
    closed: String,
    concluded: String,
    referred: String,
    filed: String,
    knowingly_false: String,
    substantiated: String,
    feedback: String,
    on_time: String,
    satisfied: String,
    median: String,
}

struct AreaLine {
    name: String,
    level: String,
    received: String,
    closed: String,
    on_time: String,
}

#[derive(Template)]
#[template(path = "bulletin.html")]
pub(super) struct BulletinPage {
    ui: Frame,
    published: Option<String>,
    intro: String,
    category_heads: Vec<String>,
    level_heads: Vec<String>,
    months: Vec<MonthLine>,
    areas: Vec<AreaLine>,
    chart_volume: String,
    chart_on_time: String,
}

fn word(lang: Lang, group: &str, value: &str) -> String {
    i18n::catalog(lang)
        .get(&format!("{group}.{value}"))
        .to_owned()
}

fn cell(lang: Lang, s: Shown, min: u64) -> String {
    match s {
        Shown::Count(n) => n.to_string(),
        Shown::Suppressed => {
            i18n::catalog(lang).format("bulletin.below", &[("min", &min.to_string())])
        }
    }
}

fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "–".to_owned())
}

impl BulletinPage {
    /// The page of what was last published; before the first refresh
    /// (`None`) only the line saying there is nothing yet, and no tables.
    pub(super) fn new(lang: Lang, bulletin: Option<&Bulletin>, state: &AppState) -> Self {
        let t = i18n::catalog(lang);
        let ui = i18n::frame(lang, "/bulletin");
        let mut page = Self {
            chart_volume: ui.href("/bulletin/charts/volume.svg"),
            chart_on_time: ui.href("/bulletin/charts/on-time.svg"),
            ui,
            published: None,
            intro: t.get("bulletin.none").to_owned(),
            category_heads: Vec::new(),
            level_heads: Vec::new(),
            months: Vec::new(),
            areas: Vec::new(),
        };
        let Some(b) = bulletin else { return page };
        let min = b.rules.min_cell;
        page.published = Some(state.local_time(b.published_at));
        page.intro = t.format(
            "bulletin.intro",
            &[
                ("min", &min.to_string()),
                ("level", &word(lang, "level", b.rules.lowest_level.as_str())),
            ],
        );
        // Every month lists all categories and levels, in one order.
        if let Some(first) = b.months.first() {
            page.category_heads = first
                .by_category
                .iter()
                .map(|(c, _)| word(lang, "category", c.as_str()))
                .collect();
            page.level_heads = first
                .by_level
                .iter()
                .map(|(l, _)| word(lang, "level", l.as_str()))
                .collect();
        }
        // Months are published oldest first, as the charts draw them; the
        // table starts with the newest.
        page.months = b
            .months
            .iter()
            .rev()
            .map(|m| MonthLine::new(lang, m, min))
            .collect();
        page.areas = b
            .areas
            .iter()
            .map(|a| AreaLine::new(lang, a, min))
            .collect();
        page
    }
}

impl MonthLine {
    /// One row of the months table.
    fn new(lang: Lang, m: &BulletinMonth, min: u64) -> Self {
        let t = i18n::catalog(lang);
        Self {
            month: m.month.to_string(),
            received: cell(lang, m.received, min),
            categories: m
                .by_category
                .iter()
                .map(|(_, s)| cell(lang, *s, min))
                .collect(),
            levels: m
                .by_level
                .iter()
                .map(|(_, s)| cell(lang, *s, min))
                .collect(),
            closed: cell(lang, m.closed, min),
            concluded: cell(lang, m.concluded, min),
            referred: cell(lang, m.referred, min),
            filed: cell(lang, m.filed_for_reference, min),
            knowingly_false: cell(lang, m.knowingly_false, min),
            substantiated: or_dash(m.substantiated_percent.map(|p| format!("{p} %"))),
            feedback: cell(lang, m.feedback, min),
            on_time: or_dash(m.on_time_percent.map(|p| format!("{p} %"))),
            satisfied: or_dash(m.satisfied_percent.map(|p| format!("{p} %"))),
            median: or_dash(
                m.median_days_to_feedback
                    .map(|d| t.format("bulletin.days", &[("n", &d.to_string())])),
            ),
        }
    }
}

impl AreaLine {
    /// One row of the areas table.
    fn new(lang: Lang, a: &BulletinArea, min: u64) -> Self {
        Self {
            name: a.name.clone(),
            level: word(lang, "level", a.level.as_str()),
            received: cell(lang, a.received, min),
            closed: cell(lang, a.closed, min),
            on_time: or_dash(a.on_time_percent.map(|p| format!("{p} %"))),
        }
    }
}
