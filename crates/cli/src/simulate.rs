//! `sunlight simulate`: runs `sunlight_casework::simulate` on a scratch
//! database and draws its chart (plotters, SVG backend).

use std::path::Path;

use plotters::prelude::*;
use sunlight_casework::simulate::{SimConfig, SimDay, simulate};
use sunlight_store::Store;

use crate::config::Config;

/// Runs the simulation; returns the lines to print.
pub async fn run(
    config: &Config,
    cfg: &SimConfig,
    database_url: Option<String>,
    chart: &Path,
) -> Result<Vec<String>, String> {
    let (policy, calendar) = config.deadline_rules().map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = match database_url {
        Some(url) => Store::connect(&url).await,
        // Nothing here must survive a crash: skip the fsync per commit.
        None => {
            Store::connect_scratch(&format!("sqlite://{}/simulate.db", dir.path().display())).await
        }
    }
    .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    if !store.units().await.map_err(|e| e.to_string())?.is_empty() {
        return Err("simulate needs an empty database".into());
    }
    let (summary, days) = simulate(store, policy, calendar, cfg)
        .await
        .map_err(|e| e.to_string())?;
    draw(&days, cfg, chart)?;
    let mut lines = vec![format!(
        "simulation: seed {}, {} reports from {} over {} days, sweeper every {} min, staff act on {:.0} % of due work a day, {} units idle {} weeks{}",
        cfg.seed,
        cfg.reports,
        cfg.start,
        cfg.days,
        cfg.sweep_minutes,
        cfg.share * 100.0,
        cfg.idle_units,
        cfg.idle_weeks,
        if cfg.all_idle { ", nobody acts" } else { "" }
    )];
    lines.extend(summary.to_string().lines().map(str::to_owned));
    lines.push(format!("chart: {}", chart.display()));
    Ok(lines)
}

/// Open and overdue stages at each local midnight.
fn draw(days: &[SimDay], cfg: &SimConfig, path: &Path) -> Result<(), String> {
    let e = |err: &dyn std::fmt::Display| format!("drawing {}: {err}", path.display());
    let top = days
        .iter()
        .map(|d| d.open_stages.max(d.overdue_stages))
        .max()
        .unwrap_or(1)
        .max(1);
    let root = SVGBackend::new(path, (960, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|err| e(&err))?;
    let title = format!(
        "Open and overdue stages, seed {}, {} reports",
        cfg.seed, cfg.reports
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0u32..cfg.days.max(1), 0u64..top + top / 10 + 1)
        .map_err(|err| e(&err))?;
    let start = cfg.start;
    chart
        .configure_mesh()
        .x_desc("day")
        .y_desc("stages")
        .x_label_formatter(&|d| {
            (start + chrono::Duration::days(i64::from(*d)))
                .format("%m-%d")
                .to_string()
        })
        .draw()
        .map_err(|err| e(&err))?;
    let series = |pick: fn(&SimDay) -> u64| {
        days.iter()
            .enumerate()
            .map(move |(i, d)| (u32::try_from(i).unwrap_or(u32::MAX), pick(d)))
    };
    chart
        .draw_series(LineSeries::new(series(|d| d.open_stages), &BLUE))
        .map_err(|err| e(&err))?
        .label("open")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE));
    chart
        .draw_series(LineSeries::new(series(|d| d.overdue_stages), &RED))
        .map_err(|err| e(&err))?
        .label("overdue")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|err| e(&err))?;
    root.present().map_err(|err| e(&err))?;
    Ok(())
}
