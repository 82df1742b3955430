//! An official holiday file replacing the provisional calendar of a year
//! (#20), on both engines: the open deadlines it changes move by what the
//! file changes, each with a history entry and an audit entry; the others
//! stay; a second run moves nothing.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use sunlight_casework::{MailStyle, Rules, Sweeper};
use sunlight_core::calendar::Calendar;
use sunlight_core::policy::{DeadlineKind, Policy};
use sunlight_store::{AuditReport, DeadlineOf};
use sunlight_testkit::query_text;

use sunlight_testkit::{TestDb, create_test_units};

use crate::common::{ENGINES, Harness, email, stored_arrival};

const UNIT: &str = "gd-gz-tianhe";

/// A made-up 2027 notice (the real one is not out): the Spring Festival
/// one day later than the provisional calendar has it, from Saturday 6 to
/// Friday 12 February, with Saturday 20 February worked.
const OFFICIAL_2027: &str = r#"
year = 2027
[[holidays]]
name = "春节 Spring Festival"
from = 2027-02-06
to = 2027-02-12
makeup_days = [2027-02-20]
"#;

/// A sweeper on `store` with `calendar` as the rules now in force.
fn sweeper(store: &sunlight_store::Store, policy: &Policy, calendar: &Calendar) -> Sweeper {
    Sweeper::new(
        store.clone(),
        Arc::new(policy.clone()),
        Arc::new(calendar.clone()),
        MailStyle {
            lang: sunlight_core::i18n::Lang::En,
            link_base: "http://127.0.0.1".into(),
        },
    )
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_file_moves_the_open_deadlines_it_changes() {
    let policy = Policy::cn_12380();
    let provisional = Calendar::cn();
    let mut official = Calendar::cn();
    official.add_toml("cn-2027.toml", OFFICIAL_2027).unwrap();
    for engine in ENGINES {
        // No triage app: its router would route these cases meanwhile.
        let db = TestDb::new(engine).await.unwrap();
        create_test_units(&db.store, Utc::now()).await.unwrap();
        let store = &db.store;
        // Received Monday 1 February 2027: five working days to route.
        // Provisionally 2, 3, 4 and then 11, 12 February (5–10 off);
        // officially 2, 3, 4, 5 and Monday 15.
        let arrived = policy.start_of_date(d(2027, 2, 1));
        let mut festive = stored_arrival(UNIT, arrived);
        festive.first_entry.due_at = policy.due(DeadlineKind::Route, arrived, &provisional);
        assert_eq!(policy.last_day(festive.first_entry.due_at), d(2027, 2, 12));
        let festive_id = festive.id;
        store.insert_case(festive).await.unwrap();
        // One in March, which neither calendar treats differently.
        let march = policy.start_of_date(d(2027, 3, 1));
        let mut calm = stored_arrival(UNIT, march);
        calm.first_entry.due_at = policy.due(DeadlineKind::Route, march, &provisional);
        let calm_due = calm.first_entry.due_at;
        store.insert_case(calm).await.unwrap();
        // Filed the same day by an intake that loaded the file before
        // triage restarted: already on the official calendar.
        let mut early = stored_arrival(UNIT, arrived);
        early.first_entry.due_at = policy.due(DeadlineKind::Route, arrived, &official);
        let early_id = early.id;
        store.insert_case(early).await.unwrap();

        let sweeper = sweeper(store, &policy, &official);
        let provisional_rules = Rules {
            policy: &policy,
            calendar: &provisional,
        };
        let moved = sweeper
            .recompute_deadlines(provisional_rules, "official-calendar-2027", Utc::now())
            .await
            .unwrap();
        assert_eq!(moved.len(), 1, "{engine:?}: {moved:?}");
        assert_eq!(moved[0].case, festive_id);
        assert_eq!(
            (moved[0].from, moved[0].to),
            (d(2027, 2, 12), d(2027, 2, 15))
        );

        let open = store.open_deadlines().await.unwrap();
        let due_of = |case| {
            open.iter()
                .find(|o| o.case == case && matches!(o.of, DeadlineOf::Stage(_)))
                .unwrap()
                .due_at
        };
        assert_eq!(
            due_of(festive_id),
            policy.due(DeadlineKind::Route, arrived, &official)
        );
        assert_eq!(policy.last_day(due_of(festive_id)), d(2027, 2, 15));
        assert_eq!(due_of(early_id), due_of(festive_id), "not moved twice");
        let others: Vec<_> = open
            .iter()
            .filter(|o| o.case != festive_id && o.case != early_id)
            .collect();
        assert!(others.iter().all(|o| o.due_at == calm_due), "{engine:?}");

        let history = store.transitions_of(festive_id).await.unwrap();
        assert!(
            history
                .iter()
                .any(|t| t.action == "deadline_recomputed" && !t.reporter_visible),
            "{engine:?}: {history:?}"
        );
        let detail = query_text(
            store,
            "SELECT detail FROM audit_log WHERE action = 'case.deadline_recomputed'",
        )
        .await
        .unwrap();
        assert_eq!(
            detail,
            "stage=received from=2027-02-12 to=2027-02-15 reason=official-calendar-2027"
        );
        assert!(matches!(
            store.verify_audit().await.unwrap(),
            AuditReport::Intact { .. }
        ));

        // Done once: the same change again (a second triage process, a
        // restart) finds every deadline on the new rules and moves nothing.
        let again = sweeper
            .recompute_deadlines(provisional_rules, "official-calendar-2027", Utc::now())
            .await
            .unwrap();
        assert!(again.is_empty(), "{engine:?}: {again:?}");
    }
}

/// The admin page warns while an open deadline reaches a year without an
/// official holiday file, naming the year, and says nothing otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_page_warns_of_provisional_years() {
    let policy = Policy::cn_12380();
    for engine in ENGINES {
        let h = Harness::start(engine).await;
        let admin = h.sign_in_page(&email("admin", "gd")).await;
        let page = admin.get("/admin").await;
        assert_eq!(page.status, 200);
        assert!(
            !page.body.contains("calendar-warning"),
            "{engine:?}: no open deadline yet"
        );

        let arrived = policy.start_of_date(d(2031, 3, 3));
        h.db.store
            .insert_case(stored_arrival(UNIT, arrived))
            .await
            .unwrap();
        let page = admin.get("/admin?lang=en").await;
        assert!(page.body.contains("id=\"calendar-warning\""), "{engine:?}");
        // 2031, or, once the app's router has routed it meanwhile, the
        // verification's 60 days from today, which reach 2027: neither year
        // has an official file.
        assert!(
            page.body.contains("Open deadlines reach 2031,")
                || page.body.contains("Open deadlines reach 2027,"),
            "{engine:?}"
        );
        h.stop().await;
    }
}

/// The first start of this release: deadlines computed by the releases
/// before (weekends only in a year without a file, no roll to a working
/// day) move to the provisional calendar and the roll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_of_the_release_before_move_to_the_provisional_calendar() {
    let policy = Policy::cn_12380();
    let before = Rules {
        policy: &policy.without_end_on_working_day(),
        calendar: &Calendar::cn().without_provisional(),
    };
    for engine in ENGINES {
        let db = TestDb::new(engine).await.unwrap();
        create_test_units(&db.store, Utc::now()).await.unwrap();
        // Weekends only, five working days from Monday 1 February 2027 end
        // on Monday 8 February, the festival's fourth day.
        let arrived = policy.start_of_date(d(2027, 2, 1));
        let mut old = stored_arrival(UNIT, arrived);
        old.first_entry.due_at = before
            .policy
            .due(DeadlineKind::Route, arrived, before.calendar);
        assert_eq!(policy.last_day(old.first_entry.due_at), d(2027, 2, 8));
        store_and_recompute(&db, old, before, &policy).await;
        let open = db.store.open_deadlines().await.unwrap();
        assert_eq!(
            policy.last_day(open[0].due_at),
            d(2027, 2, 12),
            "{engine:?}"
        );
    }
}

async fn store_and_recompute(
    db: &TestDb,
    case: sunlight_store::NewCase,
    before: Rules<'_>,
    policy: &Policy,
) {
    db.store.insert_case(case).await.unwrap();
    let sweeper = sweeper(&db.store, policy, &Calendar::cn());
    let moved = sweeper
        .recompute_deadlines(before, "calendar-rules-upgrade", Utc::now())
        .await
        .unwrap();
    assert_eq!(moved.len(), 1, "{moved:?}");
}

/// A hold (暂缓) opened while 2027 was provisional: its notice (2 working
/// days) and its longest run (3 months, rolled to a working day) follow
/// the official file too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holds_deadlines_follow_the_official_file() {
    let policy = Policy::cn_12380();
    let provisional = Calendar::cn();
    let mut official = Calendar::cn();
    official.add_toml("cn-2027.toml", OFFICIAL_2027).unwrap();
    for engine in ENGINES {
        let db = TestDb::new(engine).await.unwrap();
        create_test_units(&db.store, Utc::now()).await.unwrap();
        let arrived = policy.start_of_date(d(2027, 2, 4));
        let case = stored_arrival(UNIT, arrived);
        let id = case.id;
        db.store.insert_case(case).await.unwrap();
        // Routed on Thursday 4 February: the notice is due after 5–10
        // February provisionally (12 Feb), after 6–14 officially (15 Feb);
        // three months end on Tuesday 4 May, a provisional day in lieu of
        // Labour Day's weekend (so 5 May), an ordinary day officially.
        let now = arrived + chrono::Duration::hours(10);
        let due = |kind, cal: &Calendar| policy.due(kind, now, cal);
        let plan = sunlight_store::RoutePlan {
            accept_due: policy.due(DeadlineKind::Route, arrived, &provisional),
            hold: Some(sunlight_store::NewHold {
                notice_due_at: due(DeadlineKind::HoldNotice, &provisional),
                max_until: due(DeadlineKind::HoldMax, &provisional),
            }),
            acknowledge_due: None,
        };
        assert!(db.store.route_case(id, &plan, None, now).await.unwrap());
        let sweeper = sweeper(&db.store, &policy, &official);
        let before = Rules {
            policy: &policy,
            calendar: &provisional,
        };
        let moved = sweeper
            .recompute_deadlines(before, "official-calendar-2027", Utc::now())
            .await
            .unwrap();
        let of = |which: DeadlineOf| moved.iter().find(|m| m.of == which).map(|m| (m.from, m.to));
        assert_eq!(
            of(DeadlineOf::HoldNotice),
            Some((d(2027, 2, 12), d(2027, 2, 15))),
            "{engine:?}: {moved:?}"
        );
        assert_eq!(
            of(DeadlineOf::HoldMax),
            Some((d(2027, 5, 5), d(2027, 5, 4)))
        );
        let hold = &db.store.holds_of(id).await.unwrap()[0];
        assert_eq!(hold.notice_due_at, due(DeadlineKind::HoldNotice, &official));
        assert_eq!(hold.max_until, due(DeadlineKind::HoldMax, &official));
    }
}
