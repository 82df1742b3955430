//! `sunlight-charts`: server-rendered SVG line charts of monthly figures
//! (plotters' SVG backend), served as images so pages need neither
//! JavaScript nor inline styles. A point that is not published (a
//! suppressed small count) is a gap in its line, never a drawn value.

use plotters::prelude::*;

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("chart: {0}")]
pub struct ChartError(String);

/// One line: a label and a value per month (`None`: not shown).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<Option<f64>>,
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart<'a> {
    pub title: &'a str,
    /// One label per point, e.g. `2026-11`.
    pub months: &'a [String],
    pub series: &'a [Series],
    pub y_label: &'a str,
    /// Fixed top of the y axis (100 for percentages); else from the data.
    pub y_max: Option<f64>,
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(0x1f, 0x5f, 0xa8),
    RGBColor(0xc0, 0x39, 0x2b),
    RGBColor(0x2e, 0x7d, 0x32),
    RGBColor(0x8e, 0x44, 0xad),
    RGBColor(0xd3, 0x6b, 0x00),
    RGBColor(0x45, 0x45, 0x45),
];

/// The chart as an SVG document.
pub fn line_chart(chart: &LineChart<'_>) -> Result<String, ChartError> {
    let e = |err: &dyn std::fmt::Display| ChartError(err.to_string());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(|err| e(&err))?;
        let top = chart.y_max.unwrap_or_else(|| {
            let max = chart
                .series
                .iter()
                .flat_map(|s| s.points.iter().flatten())
                .fold(0.0f64, |a, b| a.max(*b));
            (max * 1.1).max(5.0)
        });
        let n = chart.months.len().max(1);
        let mut plot = ChartBuilder::on(&root)
            .caption(chart.title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(48)
            .build_cartesian_2d(0usize..n.saturating_sub(1).max(1), 0f64..top)
            .map_err(|err| e(&err))?;
        let months = chart.months;
        plot.configure_mesh()
            .y_desc(chart.y_label)
            .x_labels(n.min(12))
            .x_label_formatter(&|i| months.get(*i).cloned().unwrap_or_default())
            .y_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(|err| e(&err))?;
        for (series, color) in chart.series.iter().zip(PALETTE.iter().cycle()) {
            // Each unbroken run of published points is one line.
            let mut runs: Vec<Vec<(usize, f64)>> = vec![Vec::new()];
            for (i, p) in series.points.iter().enumerate() {
                match (p, runs.last_mut()) {
                    (Some(v), Some(run)) => run.push((i, *v)),
                    (None, Some(run)) if !run.is_empty() => runs.push(Vec::new()),
                    _ => {}
                }
            }
            let style = ShapeStyle::from(color).stroke_width(2);
            let mut first = true;
            for run in runs.into_iter().filter(|r| !r.is_empty()) {
                let dots = run
                    .iter()
                    .map(|p| Circle::new(*p, 3, style.filled()))
                    .collect::<Vec<_>>();
                let drawn = plot
                    .draw_series(LineSeries::new(run, style))
                    .map_err(|err| e(&err))?;
                if first {
                    let legend = *color;
                    drawn.label(series.label.as_str()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], legend.stroke_width(2))
                    });
                    first = false;
                }
                plot.draw_series(dots).map_err(|err| e(&err))?;
            }
        }
        if chart.series.len() > 1 {
            plot.configure_series_labels()
                .border_style(BLACK)
                .background_style(WHITE.mix(0.85))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(|err| e(&err))?;
        }
        root.present().map_err(|err| e(&err))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn months(n: usize) -> Vec<String> {
        (1..=n).map(|m| format!("2026-{m:02}")).collect()
    }

    #[test]
    fn draws_lines_with_gaps_and_labels() {
        let months = months(6);
        let series = [
            Series {
                label: "received".into(),
                points: vec![
                    Some(12.0),
                    Some(30.0),
                    None,
                    Some(41.0),
                    Some(8.0),
                    Some(19.0),
                ],
            },
            Series {
                label: "closed".into(),
                points: vec![None; 6],
            },
        ];
        let svg = line_chart(&LineChart {
            title: "Reports",
            months: &months,
            series: &series,
            y_label: "reports",
            y_max: None,
        })
        .unwrap_or_default();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("2026-04"));
        assert!(svg.contains("received"));
        let blue = |tag: &str| {
            svg.lines()
                .filter(|l| l.starts_with(tag) && l.contains("#1F5FA8"))
                .count()
        };
        // Two runs around the gap, plus the legend's sample line.
        assert_eq!(blue("<polyline"), 3, "{svg}");
        // The unpublished point is not drawn: five dots.
        assert_eq!(blue("<circle"), 5, "{svg}");
        // Served under a CSP without 'unsafe-inline' styles.
        assert!(!svg.contains("style="));
    }
}
