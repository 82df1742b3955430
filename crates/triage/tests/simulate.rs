//! `sunlight simulate` on short periods: with every unit idle, each report
//! that runs past a deadline is still escalated at that deadline, and no
//! reminder is sent twice; the same seed gives the same year.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use chrono::NaiveDate;
use sunlight_casework::simulate::{SimConfig, SimSummary, simulate};
use sunlight_core::calendar::Calendar;
use sunlight_core::policy::Policy;
use sunlight_store::Store;

async fn run(cfg: &SimConfig) -> SimSummary {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect_scratch(&format!("sqlite://{}/sim.db", dir.path().display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let (summary, days) = simulate(store, Policy::cn_12380(), Calendar::cn(), cfg)
        .await
        .unwrap();
    assert_eq!(days.len(), usize::try_from(cfg.days).unwrap() + 1);
    summary
}

#[tokio::test]
async fn with_everyone_idle_every_overdue_report_is_escalated_at_its_deadline() {
    let cfg = SimConfig {
        seed: 3,
        reports: 150,
        start: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        days: 100,
        all_idle: true,
        ..SimConfig::default()
    };
    let s = run(&cfg).await;
    assert_eq!(s.received, 150);
    assert_eq!(s.staff_actions, 0);
    assert_eq!(s.closed_in_time + s.closed_late, 0, "{s}");
    // Nobody decides on acceptance: every report passes its 5 working days.
    assert!(s.reports_overdue > 130, "{s}");
    assert_eq!(s.reports_without_escalation, 0, "{s}");
    assert_eq!(s.never_escalated + s.escalated_late, 0, "{s}");
    assert_eq!(s.duplicates, 0, "{s}");
    // Nobody acts, nobody pauses: every reminder point that passed was
    // recorded once, mailed or superseded.
    assert_eq!(
        s.reminders_mailed + s.reminders_superseded,
        s.reminders_expected,
        "{s}"
    );
    assert_eq!(s.escalated_at_deadline, s.overdue_stages, "{s}");
    // The unit's supervisor and the parent's (the province has no parent).
    let overdue_mails = s.mails_by_kind.get("overdue").copied().unwrap_or(0);
    assert!(
        (s.overdue_stages..=2 * s.overdue_stages).contains(&overdue_mails),
        "{s}"
    );
}

#[tokio::test]
async fn the_same_seed_gives_the_same_simulation() {
    let cfg = SimConfig {
        seed: 7,
        reports: 120,
        start: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        days: 75,
        idle_units: 2,
        idle_weeks: 3,
        ..SimConfig::default()
    };
    let strip = |s: &SimSummary| {
        s.to_string()
            .lines()
            .filter(|l| !l.starts_with("elapsed"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let a = run(&cfg).await;
    let b = run(&cfg).await;
    assert!(a.staff_actions > 100, "{a}");
    assert!(a.closed_in_time > 0, "{a}");
    assert_eq!(a.duplicates, 0);
    assert_eq!(strip(&a), strip(&b));
}

/// The real intake mix (about 19 % outside the remit, 7 % without
/// substance): those cases are disposed of at acceptance, within its
/// short deadline, and never enter a verification they did not need.
#[tokio::test]
async fn reports_outside_the_remit_are_disposed_of_at_acceptance() {
    let cfg = SimConfig {
        seed: 11,
        reports: 300,
        start: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        days: 90,
        idle_units: 0,
        ..SimConfig::default()
    };
    let s = run(&cfg).await;
    let n = |d: &str| s.dispositions.get(d).copied().unwrap_or(0);
    let referred = n("referred");
    let filed = n("filed_for_reference");
    assert!((30..=90).contains(&referred), "about 19 % of 300: {s}");
    assert!(filed > 0, "some never sent the specifics: {s}");
    assert_eq!(s.short_disposals_verified, 0, "{s}");
    // Every case was decided on, and the working desks did it in time.
    let (done, on_time, _) = s.stages["received"];
    assert_eq!(done + n("open"), 300, "{s}");
    assert!(done >= 270, "{s}");
    assert!(on_time * 100 >= done * 95, "{s}");
    assert_eq!(s.reports_without_escalation, 0, "{s}");
}
