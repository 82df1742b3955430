//! `sunlight bench --stats-cases N`: N case histories over two years in 101
//! units, then the statistics refresh (first and incremental), the
//! dashboard's figures and chart, and the public bulletin over HTTP.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use chrono::{Duration as Days, Utc};
use sunlight_core::crypto::{CodeStretcher, DeploymentSecrets, StretchParams};
use sunlight_core::stats::Month;
use sunlight_core::{CaseId, Category, Channel, Disposition, Level, Outcome, Stage, UnitId};
use sunlight_store::Store;
use sunlight_store::seed::{SeedCase, SeedStage, seed_cases};

use crate::config::Config;

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn p50(mut s: Vec<Duration>) -> Duration {
    s.sort();
    s.get(s.len() / 2).copied().unwrap_or_default()
}

/// How a seeded history was disposed of, from its index: 19 % referred
/// and 7 % filed for reference at acceptance (one city's published mix),
/// one in fifty of the rest found knowingly false.
fn disposition_of(i: u64, closed: bool) -> Disposition {
    match (closed, (i / 10) % 100) {
        (_, 0..=18) => Disposition::Referred,
        (_, 19..=25) => Disposition::FiledForReference,
        (false, _) => Disposition::Accepted,
        (true, _) if i.is_multiple_of(50) => Disposition::KnowinglyFalse,
        (true, _) => Disposition::Concluded,
    }
}

/// One history: a decision on acceptance in 1–4 days; 26 % closed there
/// (referred or filed), about 70 % of the rest closed with verify, handle
/// and notify stages (a tenth of them late), the others open in verify.
fn history(i: u64, n: u64, counties: &[UnitId], now: chrono::DateTime<Utc>) -> Option<SeedCase> {
    let span = Days::days(730).num_seconds();
    let offset = i64::try_from(i).ok()? * span / i64::try_from(n.max(1)).ok()?;
    let received = now - Days::seconds(span) + Days::seconds(offset);
    let unit = counties.get(usize::try_from(i % 100).ok()?)?.clone();
    let days = |k: u64| Days::days(i64::try_from((i * k) % 30).unwrap_or(0));
    let disposition = disposition_of(i, i % 10 < 7 && received < now - Days::days(90));
    let short = !disposition.was_verified() && disposition != Disposition::Accepted;
    let closed = short || disposition.was_verified();
    let mut stages = Vec::new();
    let mut steps = Vec::new();
    let decided = received + Days::days(i64::try_from(1 + i % 4).unwrap_or(1));
    stages.push(SeedStage {
        stage: Stage::Received,
        unit: unit.clone(),
        opened_at: received,
        due_at: received + Days::days(7),
        closed_at: Some(decided),
    });
    steps.extend((!short).then(|| ("accepted".to_owned(), decided)));
    let mut at = decided;
    let mut closed_at = short.then(|| decided + Days::hours(1));
    if closed && !short {
        for (k, stage) in [(7, Stage::Verify), (11, Stage::Handle), (13, Stage::Notify)] {
            let end = at + days(k);
            stages.push(SeedStage {
                stage,
                unit: unit.clone(),
                opened_at: at,
                due_at: at + Days::days(if i.is_multiple_of(10) { 5 } else { 40 }),
                closed_at: Some(end),
            });
            steps.push((
                match stage {
                    Stage::Verify => "verified",
                    Stage::Notify => "feedback_given",
                    _ => "decided",
                }
                .to_owned(),
                end,
            ));
            at = end;
        }
        closed_at = Some(at + Days::hours(1));
    } else if !short {
        stages.push(SeedStage {
            stage: Stage::Verify,
            unit: unit.clone(),
            opened_at: decided,
            due_at: decided + Days::days(40),
            closed_at: None,
        });
    }
    Some(SeedCase {
        id: CaseId::new_v7(u64::try_from(received.timestamp_millis()).ok()?),
        unit: unit.clone(),
        category: *Category::ALL.get(usize::try_from(i % 5).ok()?)?,
        channel: *Channel::ALL.get(usize::try_from((i / 5) % 4).ok()?)?,
        received_at: received,
        routed_at: Some(received + Days::minutes(30)),
        closed_at,
        outcome: (closed && !short).then_some(if i.is_multiple_of(3) && !i.is_multiple_of(50) {
            Outcome::Substantiated
        } else {
            Outcome::Unsubstantiated
        }),
        merged: false,
        disposition,
        stages,
        steps,
        holds: if i.is_multiple_of(50) {
            vec![(unit, received + Days::hours(2))]
        } else {
            vec![]
        },
    })
}

/// `GET path` on 127.0.0.1:port; the status line and the body size.
fn get(port: u16, path: &str) -> Result<(String, usize), String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out);
    let status = text.lines().next().unwrap_or_default().to_owned();
    Ok((status, out.len()))
}

pub async fn run(
    cases: u64,
    database_url: Option<String>,
    config: &Config,
) -> Result<Vec<String>, String> {
    let e = |err: sunlight_store::StoreError| err.to_string();
    let dir = tempfile::tempdir().map_err(|err| err.to_string())?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}/stats.db", dir.path().display()));
    let store = Store::connect(&url).await.map_err(e)?;
    store.migrate().await.map_err(e)?;
    let now = Utc::now();
    let unit = |s: &str| UnitId::parse(s).map_err(|err| err.to_string());
    let mut counties = Vec::new();
    let create = |id: UnitId, level: Level, parent: Option<UnitId>| {
        let store = store.clone();
        async move {
            sunlight_store::provision::create_unit(
                &store,
                sunlight_core::unit_tree::UnitSpec::new(id.clone(), id.to_string(), level, parent),
                false,
                "bench",
                now,
            )
            .await
            .map(|_| ())
            .map_err(|err| err.to_string())
        }
    };
    create(unit("p")?, Level::Province, None).await?;
    for c in 0..20 {
        let city = unit(&format!("p-c{c:02}"))?;
        create(city.clone(), Level::City, Some(unit("p")?)).await?;
        for x in 0..5 {
            let county = unit(&format!("{city}-x{x}"))?;
            create(county.clone(), Level::County, Some(city.clone())).await?;
            counties.push(county);
        }
    }
    let started = Instant::now();
    let mut i = 0;
    while i < cases {
        let batch: Vec<SeedCase> = (i..cases.min(i + 2000))
            .filter_map(|k| history(k, cases, &counties, now))
            .collect();
        seed_cases(&store, &batch).await.map_err(e)?;
        i += 2000;
    }
    let seeded = started.elapsed();
    let engine = if url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let mut lines = vec![format!(
        "seeded {cases} case histories into {engine} in {:.1}s",
        seeded.as_secs_f64()
    )];
    let (policy, _) = config.deadline_rules().map_err(|err| err.to_string())?;
    let policy = std::sync::Arc::new(policy);
    let stats = sunlight_casework::Stats::new(
        store.clone(),
        policy.clone(),
        config.stats.clone(),
        config.mail_style(),
    );
    let t = Instant::now();
    let first = stats.refresh(now).await.map_err(|err| err.to_string())?;
    lines.push(format!(
        "first refresh (all {} months, {} events → {} cells, bulletin, hotspots): {:.2} s",
        first.refreshed.months,
        first.refreshed.facts,
        first.refreshed.cells,
        t.elapsed().as_secs_f64()
    ));
    let mut runs = Vec::new();
    for k in 0..5 {
        let t = Instant::now();
        stats
            .refresh(now + Days::seconds(k + 1))
            .await
            .map_err(|err| err.to_string())?;
        runs.push(t.elapsed());
    }
    lines.push(format!(
        "scheduled refresh (last 2 months, bulletin, hotspots), p50 of 5: {}",
        ms(p50(runs))
    ));
    for (label, root) in [("province (100 %)", "p"), ("one county (1 %)", "p-c00-x0")] {
        let root = unit(root)?;
        // After a refresh the first read loads the cells; later ones reuse them.
        let bump = Days::seconds(10);
        stats
            .refresh(now + bump)
            .await
            .map_err(|err| err.to_string())?;
        // Everything the dashboard page reads, as one step.
        let dashboard = || async {
            let f = stats
                .figures(&root, now)
                .await
                .map_err(|err| err.to_string())?;
            let j = store.jurisdiction(&root).await.map_err(e)?;
            store.overdue_counts(&j, now).await.map_err(e)?;
            stats
                .hotspots_under(&root, now)
                .await
                .map_err(|err| err.to_string())?;
            let months: Vec<String> = f.by_month.keys().map(ToString::to_string).collect();
            let series = [sunlight_charts::Series {
                label: "received".into(),
                points: f
                    .by_month
                    .values()
                    .map(|r| Some(r.get(sunlight_core::Measure::Received).n as f64))
                    .collect(),
            }];
            sunlight_charts::line_chart(&sunlight_charts::LineChart {
                title: "bench",
                months: &months,
                series: &series,
                y_label: "",
                y_max: None,
            })
            .map_err(|err| err.to_string())?;
            Ok::<_, String>(f)
        };
        let t = Instant::now();
        let fig = dashboard().await?;
        let cold = t.elapsed();
        let t = Instant::now();
        let ind = sunlight_core::stats::Indicators::of(&fig);
        let took = t.elapsed();
        let pct =
            |r: Option<f64>| r.map_or_else(|| "–".to_owned(), |r| format!("{:.1} %", r * 100.0));
        lines.push(format!(
            "ISO 37002 indicators, {label}: computed in {} from the figures; out of scope {}, filed {}, substantiated {} (of the verified), knowingly false {}, acceptance on time {}, days to acknowledge {:?}, mean days to close {:.1}",
            ms(took),
            pct(ind.out_of_scope),
            pct(ind.filed_for_reference),
            pct(ind.substantiated),
            pct(ind.knowingly_false),
            pct(ind.acknowledged_on_time),
            ind.days_to_acknowledge,
            ind.mean_days_to_close.unwrap_or_default()
        ));
        let mut warm = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            dashboard().await?;
            warm.push(t.elapsed());
        }
        let j = store.jurisdiction(&root).await.map_err(e)?;
        let t = Instant::now();
        store.overdue_counts(&j, now).await.map_err(e)?;
        let overdue = t.elapsed();
        lines.push(format!(
            "dashboard data, {label}: first read after a refresh {}, then p50 {} (figures, overdue counts {}, hotspots, one chart); {} received in {} months",
            ms(cold),
            ms(p50(warm)),
            ms(overdue),
            fig.total.get(sunlight_core::Measure::Received).n,
            fig.months.len()
        ));
    }
    // The public page over HTTP, as a reader gets it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|err| err.to_string())?;
    let port = listener.local_addr().map_err(|err| err.to_string())?.port();
    let (calendar_policy, calendar) = config.deadline_rules().map_err(|err| err.to_string())?;
    let parts = sunlight_intake::IntakeParts {
        store: store.clone(),
        stretcher: CodeStretcher::new(
            DeploymentSecrets::generate().map_err(|err| err.to_string())?,
            StretchParams::TEST,
        ),
        policy: calendar_policy,
        calendar,
        settings: sunlight_intake::IntakeSettings {
            workers: 1,
            ..config.intake.clone()
        },
        spool_dir: dir.path().join("spool"),
        metrics: sunlight_intake::Metrics::default(),
    };
    let app =
        sunlight_intake::Application::build(parts, listener).map_err(|err| err.to_string())?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ignored = rx.await;
    }));
    for (label, path) in [
        ("bulletin page", "/bulletin?lang=zh"),
        ("bulletin chart", "/bulletin/charts/volume.svg"),
    ] {
        let mut runs = Vec::new();
        let mut size = 0;
        for _ in 0..30 {
            let t = Instant::now();
            let (status, n) = tokio::task::spawn_blocking(move || get(port, path))
                .await
                .map_err(|err| err.to_string())??;
            if !status.contains("200") {
                return Err(format!("{path}: {status}"));
            }
            size = n;
            runs.push(t.elapsed());
        }
        lines.push(format!(
            "{label} over HTTP (GET {path}), p50 of 30: {} ({size} bytes)",
            ms(p50(runs))
        ));
    }
    let _stopped = tx.send(());
    let _ignored = server.await;
    let months = Month::of(now, policy.utc_offset());
    lines.push(format!("(current month {months})"));
    Ok(lines)
}
