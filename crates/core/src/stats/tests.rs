use proptest::prelude::*;

use super::*;

fn cn() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

fn unit(id: &str) -> UnitId {
    UnitId::parse(id).unwrap()
}

/// A province, two cities, two counties under the first city.
fn tree() -> Tree {
    let u = |id: &str, level, parent: Option<&str>| TreeUnit {
        id: unit(id),
        name: id.to_uppercase(),
        level,
        parent: parent.map(unit),
    };
    Tree::new([
        u("p", Level::Province, None),
        u("p-a", Level::City, Some("p")),
        u("p-b", Level::City, Some("p")),
        u("p-a-x", Level::County, Some("p-a")),
        u("p-a-y", Level::County, Some("p-a")),
    ])
}

const UNITS: [&str; 5] = ["p", "p-a", "p-b", "p-a-x", "p-a-y"];

#[test]
fn months_follow_the_local_calendar() {
    // 2026-11-30 17:00 UTC is 2026-12-01 01:00 in China.
    let at = "2026-11-30T17:00:00Z".parse::<DateTime<Utc>>().unwrap();
    let m = Month::of(at, cn());
    assert_eq!(m.to_string(), "2026-12");
    assert_eq!(
        m.start(cn()),
        "2026-11-30T16:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(m.next().to_string(), "2027-01");
    assert_eq!(m.prev().prev().to_string(), "2026-10");
    let last: Vec<String> = m.last(3).iter().map(ToString::to_string).collect();
    assert_eq!(last, ["2026-10", "2026-11", "2026-12"]);
    assert_eq!("2026-02".parse::<Month>().unwrap().to_string(), "2026-02");
    for bad in ["2026-13", "2026-1", "26-01", "2026/01", ""] {
        assert_eq!(bad.parse::<Month>(), Err(StatsError::BadMonth), "{bad}");
    }
}

#[test]
fn medians_are_lower_medians_of_the_histogram() {
    let h = |pairs: &[(u32, u64)]| pairs.iter().copied().collect::<BTreeMap<_, _>>();
    assert_eq!(median(&h(&[])), None);
    assert_eq!(median(&h(&[(7, 1)])), Some(7));
    assert_eq!(median(&h(&[(1, 1), (9, 1)])), Some(1));
    assert_eq!(median(&h(&[(1, 1), (4, 1), (9, 1)])), Some(4));
    assert_eq!(median(&h(&[(2, 10), (30, 9)])), Some(2));
    assert_eq!(median(&h(&[(2, 9), (30, 10)])), Some(30));
}

#[test]
fn hotspot_rule_flags_threshold_and_sharp_rise_only() {
    let rule = HotspotRule::default();
    assert_eq!(rule.judge(30, &[40, 40]), Some(HotspotReason::Threshold));
    assert_eq!(rule.judge(12, &[2, 4, 3, 3]), Some(HotspotReason::Rise));
    // A rise from nothing needs rise_min reports.
    assert_eq!(rule.judge(9, &[0, 0, 0, 0]), None);
    assert_eq!(rule.judge(10, &[]), Some(HotspotReason::Rise));
    // Steady high-but-below-threshold traffic is not a rise.
    assert_eq!(rule.judge(20, &[18, 22, 19, 21]), None);
}

#[test]
fn public_areas_stop_at_the_lowest_level() {
    let t = tree();
    assert_eq!(
        t.public_area(&unit("p-a-x"), Level::City),
        Some(&unit("p-a"))
    );
    assert_eq!(t.public_area(&unit("p"), Level::City), Some(&unit("p")));
    assert_eq!(
        t.public_area(&unit("p-a-x"), Level::County),
        Some(&unit("p-a-x"))
    );
    assert_eq!(t.branch(&unit("p-a-y"), &unit("p")), Some(&unit("p-a")));
    assert_eq!(t.branch(&unit("p"), &unit("p")), Some(&unit("p")));
    assert_eq!(t.branch(&unit("p-b"), &unit("p-a")), None);
}

fn fact_strategy() -> impl Strategy<Value = Fact> {
    (
        0usize..5,
        0usize..Category::ALL.len(),
        0usize..Channel::ALL.len(),
        0usize..Measure::ALL.len(),
        0i64..200 * 86_400,
        any::<bool>(),
        proptest::option::of(0u32..400),
    )
        .prop_map(|(u, c, ch, m, secs, on_time, days)| Fact {
            at: "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::seconds(secs),
            unit: unit(UNITS[u]),
            category: Category::ALL[c],
            channel: Channel::ALL[ch],
            measure: Measure::ALL[m],
            on_time,
            days,
        })
}

proptest! {
    /// Roll-ups of the tally equal counting the facts one by one.
    #[test]
    fn figures_match_counting_facts(facts in proptest::collection::vec(fact_strategy(), 0..300),
                                    root in 0usize..5) {
        let t = tree();
        let root = unit(UNITS[root]);
        let mut tally = Tally::default();
        for f in &facts {
            tally.add(f, cn());
        }
        let months = "2026-07".parse::<Month>().unwrap().last(7);
        let fig = Figures::compute(&tally.cells, &tally.days, &t, &root, &months);
        let mine: Vec<&Fact> = facts.iter().filter(|f| t.within(&f.unit, &root)).collect();
        for m in Measure::ALL {
            let n = mine.iter().filter(|f| f.measure == *m).count() as u64;
            let on_time = mine.iter().filter(|f| f.measure == *m && m.has_deadline() && f.on_time).count() as u64;
            prop_assert_eq!(fig.total.get(*m), Count { n, on_time });
            for c in Category::ALL {
                let n = mine.iter().filter(|f| f.measure == *m && f.category == *c).count() as u64;
                prop_assert_eq!(fig.by_category.get(c).map_or(0, |r| r.get(*m).n), n);
            }
            for month in &months {
                let n = mine.iter().filter(|f| f.measure == *m && Month::of(f.at, cn()) == *month).count() as u64;
                prop_assert_eq!(fig.by_month[month].get(*m).n, n);
            }
            let mut days: Vec<u32> = mine.iter().filter(|f| f.measure == *m).filter_map(|f| f.days.map(|d| d.min(MAX_DAYS))).collect();
            days.sort_unstable();
            let expected = (!days.is_empty()).then(|| days[(days.len() - 1) / 2]);
            prop_assert_eq!(fig.median_days.get(m).copied(), expected);
        }
        let by_unit_total: u64 = fig.by_unit.values().map(|r| r.get(Measure::Received).n).sum();
        prop_assert_eq!(by_unit_total, fig.total.get(Measure::Received).n);
    }

    /// No published count is below the minimum, and no group with a shown
    /// total hides exactly one cell (which its total would give away).
    #[test]
    fn bulletin_never_shows_a_small_cell(facts in proptest::collection::vec(fact_strategy(), 0..400),
                                         min in 1u64..8) {
        let t = tree();
        let mut tally = Tally::default();
        for f in &facts {
            tally.add(f, cn());
        }
        let rules = BulletinRules { min_cell: min, lowest_level: Level::City, months: 7 };
        let now = "2026-07-15T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let b = Bulletin::compute(&tally.cells, &tally.days, &t, &unit("p"), rules, now, cn());
        for n in b.published_counts() {
            prop_assert!(n >= min, "published {} below {}", n, min);
        }
        for a in &b.areas {
            prop_assert!(t.get(&a.unit).unwrap().level <= Level::City);
        }
        for m in &b.months {
            if matches!(m.received, Shown::Count(_)) {
                for group in [
                    m.by_category.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
                    m.by_level.iter().map(|(_, s)| *s).collect(),
                ] {
                    let hidden = group.iter().filter(|s| **s == Shown::Suppressed).count();
                    prop_assert!(hidden != 1, "{:?}", group);
                }
            }
            if matches!(m.closed, Shown::Count(_)) {
                // The closed split by disposition hides none or at least two.
                let group = [m.concluded, m.referred, m.filed_for_reference];
                let hidden = group.iter().filter(|s| **s == Shown::Suppressed).count();
                prop_assert!(hidden != 1, "{:?}", group);
            }
            // A month hidden as another's partner may be large: a breakdown
            // shown whole would add up to it.
            if m.received == Shown::Suppressed {
                for group in [
                    m.by_category.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
                    m.by_level.iter().map(|(_, s)| *s).collect(),
                ] {
                    prop_assert!(group.contains(&Shown::Suppressed), "{:?}", group);
                }
            }
            if m.closed == Shown::Suppressed {
                let group = [m.concluded, m.referred, m.filed_for_reference];
                prop_assert!(group.contains(&Shown::Suppressed), "{:?}", group);
            }
            if let (Shown::Count(total), true) = (m.received, m.by_category.iter().all(|(_, s)| matches!(s, Shown::Count(_)))) {
                let sum: u64 = m.by_category.iter().filter_map(|(_, s)| s.count()).sum();
                prop_assert_eq!(sum, total);
            }
        }
        // The months add up to the period, which the area lines give, and
        // the province's own cases over the months to its area line: no
        // month, and no province cell of a month, is hidden alone.
        let province = |m: &BulletinMonth| m.by_level.iter().find(|(l, _)| *l == Level::Province).map(|(_, s)| *s);
        for column in [
            b.months.iter().map(|m| Some(m.received)).collect::<Vec<_>>(),
            b.months.iter().map(|m| Some(m.closed)).collect(),
            b.months.iter().map(province).collect(),
        ] {
            let hidden = column.iter().filter(|s| **s == Some(Shown::Suppressed)).count();
            prop_assert!(hidden != 1, "{:?}", column);
        }
    }
}

#[test]
fn csv_has_a_line_per_month_and_a_total() {
    let t = tree();
    let mut tally = Tally::default();
    let at = "2026-03-10T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
    for on_time in [true, true, false] {
        tally.add(
            &Fact {
                at,
                unit: unit("p-a-x"),
                category: Category::OfficeTrading,
                channel: Channel::Web,
                measure: Measure::VerifyDone,
                on_time,
                days: Some(12),
            },
            cn(),
        );
    }
    let months = "2026-03".parse::<Month>().unwrap().last(2);
    let csv = Figures::compute(&tally.cells, &tally.days, &t, &unit("p-a"), &months).to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("month,received,routed,"));
    assert!(lines[2].starts_with("2026-03,0,0,0,0,0,0,0,3,"), "{csv}");
    // On time 2 of 3; no rating, closing or disposition to take a rate of.
    assert!(lines[2].ends_with(",2,0.667,,,,,,"), "{csv}");
    assert!(lines[3].starts_with("total,"));
    // Outside the jurisdiction: nothing.
    let other = Figures::compute(&tally.cells, &tally.days, &t, &unit("p-b"), &months);
    assert_eq!(other.total.get(Measure::VerifyDone).n, 0);
}

#[test]
fn the_substantiated_rate_is_over_verified_cases_and_dispositions_are_their_own_shares() {
    let t = tree();
    let mut tally = Tally::default();
    let at = "2026-03-10T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
    // 10 closed: 5 referred, 1 filed, 4 verified (2 substantiated, 1 of
    // the other 2 knowingly false); 2 reopened.
    let counts = [
        (Measure::Closed, 10, Some(20)),
        (Measure::Referred, 5, None),
        (Measure::FiledForReference, 1, None),
        (Measure::Concluded, 4, None),
        (Measure::Substantiated, 2, None),
        (Measure::KnowinglyFalse, 1, None),
        (Measure::Reopened, 2, None),
        (Measure::Received, 12, None),
        (Measure::AcceptDone, 4, Some(3)),
    ];
    for (measure, n, days) in counts {
        for i in 0..n {
            tally.add(
                &Fact {
                    at,
                    unit: unit("p-a-x"),
                    category: Category::OfficeTrading,
                    channel: if i % 4 == 0 {
                        Channel::Phone
                    } else {
                        Channel::Web
                    },
                    measure,
                    on_time: i != 0,
                    days,
                },
                cn(),
            );
        }
    }
    let months = "2026-03".parse::<Month>().unwrap().last(1);
    let fig = Figures::compute(&tally.cells, &tally.days, &t, &unit("p-a"), &months);
    let i = Indicators::of(&fig);
    assert_eq!(
        i.substantiated,
        Some(0.5),
        "2 of 4 verified, not 2 of 10 closed"
    );
    assert_eq!(i.out_of_scope, Some(0.5));
    assert_eq!(i.filed_for_reference, Some(0.1));
    assert_eq!(i.knowingly_false, Some(0.25));
    assert_eq!(i.reopened, Some(0.2));
    assert_eq!(i.days_to_acknowledge, Some(3));
    assert_eq!(i.acknowledged_on_time, Some(0.75));
    assert_eq!(i.mean_days_to_close, Some(20.0));
    assert_eq!(
        i.channel_mix,
        vec![(Channel::Web, 0.75), (Channel::Phone, 0.25)]
    );
    assert_eq!(i.days_to_step, vec![(Measure::AcceptDone, 3)]);
    assert_eq!(i.satisfaction, None);
}

/// March 2026's bulletin line (minimum 5) for events counted in one county.
fn march_bulletin(counts: &[(Measure, u64)]) -> BulletinMonth {
    let mut tally = Tally::default();
    let at = "2026-03-10T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
    for (measure, n) in counts {
        for _ in 0..*n {
            tally.add(
                &Fact {
                    at,
                    unit: unit("p-a-x"),
                    category: Category::OfficeTrading,
                    channel: Channel::Web,
                    measure: *measure,
                    on_time: false,
                    days: None,
                },
                cn(),
            );
        }
    }
    let rules = BulletinRules {
        min_cell: 5,
        lowest_level: Level::City,
        months: 1,
    };
    let now = "2026-03-20T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
    let b = Bulletin::compute(
        &tally.cells,
        &tally.days,
        &tree(),
        &unit("p"),
        rules,
        now,
        cn(),
    );
    b.months[0].clone()
}

#[test]
fn the_bulletins_substantiated_rate_leaves_referred_reports_out() {
    // 20 closed in March: 10 verified (8 substantiated), 6 referred, 4 filed.
    let march = march_bulletin(&[
        (Measure::Received, 20),
        (Measure::Closed, 20),
        (Measure::Concluded, 10),
        (Measure::Substantiated, 8),
        (Measure::Referred, 6),
        (Measure::FiledForReference, 4),
    ]);
    assert_eq!(
        march.substantiated_percent,
        Some(80),
        "8 of 10 verified, not 8 of 20 closed"
    );
    // 4 filed is below 5: hidden, and so is the smallest other part of the
    // closed count (6 referred), so that 20 − 10 − 6 does not give it away.
    assert_eq!(march.filed_for_reference, Shown::Suppressed);
    assert_eq!(march.referred, Shown::Suppressed);
    assert_eq!(march.concluded, Shown::Count(10));
    assert_eq!(march.knowingly_false, Shown::Suppressed, "0 is below 5");
}

/// A month whose every unsubstantiated case was found knowingly false must
/// not say so: with the concluded count and the substantiated percent
/// shown, the knowingly-false count is hidden with its complement.
#[test]
fn the_bulletin_never_tells_a_reporter_their_report_was_found_knowingly_false() {
    let march = march_bulletin(&[
        (Measure::Received, 10),
        (Measure::Closed, 10),
        (Measure::Concluded, 10),
        (Measure::Substantiated, 5),
        (Measure::KnowinglyFalse, 5),
    ]);
    assert_eq!(march.concluded, Shown::Count(10));
    let both = march.knowingly_false != Shown::Suppressed && march.substantiated_percent.is_some();
    assert!(
        !both,
        "5 of 10 substantiated and 5 knowingly false give the 0 others away: {march:?}"
    );
}

/// The cases the second review found: all five concluded found knowingly
/// false, and a percent beside a hidden concluded count.
#[test]
fn knowingly_false_is_never_all_of_a_months_unsubstantiated_and_no_percent_pins_a_hidden_count() {
    let all_false = march_bulletin(&[
        (Measure::Received, 5),
        (Measure::Closed, 5),
        (Measure::Concluded, 5),
        (Measure::KnowinglyFalse, 5),
    ]);
    assert_eq!(
        all_false.knowingly_false,
        Shown::Suppressed,
        "{all_false:?}"
    );
    let hidden_concluded = march_bulletin(&[
        (Measure::Received, 21),
        (Measure::Closed, 21),
        (Measure::Concluded, 10),
        (Measure::Referred, 11),
        (Measure::Substantiated, 5),
        (Measure::KnowinglyFalse, 5),
    ]);
    assert_eq!(hidden_concluded.concluded, Shown::Suppressed);
    assert_eq!(hidden_concluded.substantiated_percent, None);
    assert_eq!(hidden_concluded.knowingly_false, Shown::Suppressed);
}

#[test]
fn a_small_month_cannot_be_had_by_subtracting_the_shown_months_from_the_areas() {
    // January 12 + 20, February 3, March 9: every area line is shown, so
    // the period's total is public.
    let mut tally = Tally::default();
    for (day, unit_id, n) in [
        ("2026-01-10", "p-a-x", 12),
        ("2026-01-11", "p-b", 20),
        ("2026-02-10", "p-a-x", 3),
        ("2026-03-10", "p-a-y", 9),
    ] {
        let at = format!("{day}T02:00:00Z").parse::<DateTime<Utc>>().unwrap();
        for _ in 0..n {
            tally.add(
                &Fact {
                    at,
                    unit: unit(unit_id),
                    category: Category::OfficeTrading,
                    channel: Channel::Web,
                    measure: Measure::Received,
                    on_time: false,
                    days: None,
                },
                cn(),
            );
        }
    }
    let rules = BulletinRules {
        min_cell: 5,
        lowest_level: Level::City,
        months: 3,
    };
    let now = "2026-03-20T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
    let b = Bulletin::compute(
        &tally.cells,
        &tally.days,
        &tree(),
        &unit("p"),
        rules,
        now,
        cn(),
    );
    let period: u64 = b.areas.iter().map(|a| a.received.count().unwrap()).sum();
    assert_eq!(period, 44);
    let shown: u64 = b.months.iter().filter_map(|m| m.received.count()).sum();
    let hidden: Vec<String> = b
        .months
        .iter()
        .filter(|m| m.received == Shown::Suppressed)
        .map(|m| m.month.to_string())
        .collect();
    // February hides with March, its smallest neighbour: the subtraction
    // gives their sum, not February's 3.
    assert_eq!(hidden, ["2026-02", "2026-03"]);
    assert_eq!(period - shown, 12);
    // March's breakdown would add up to its 9.
    let march = &b.months[2];
    assert!(march.by_level.iter().all(|(_, s)| *s == Shown::Suppressed));
    assert!(
        march
            .by_category
            .iter()
            .all(|(_, s)| *s == Shown::Suppressed)
    );
}
