//! A sweep's table and chart: each strategy's throughput and retry rate against the number
//! of workers.

use std::path::Path;

use plotters::prelude::*;

use crate::report::Report;

/// Retried attempts per finished transfer.
pub(crate) fn retry_rate(r: &Report) -> f64 {
    if r.transfers == 0 {
        0.0
    } else {
        r.retries as f64 / r.transfers as f64
    }
}

/// One line per run.
pub(crate) fn table(reports: &[Report]) -> String {
    let mut s = String::new();
    if let Some(first) = reports.first() {
        s.push_str(&format!(
            "txkit bank sweep on {} ({}), {} accounts, seed {}\n",
            first.url, first.backend, first.accounts, first.seed
        ));
    }
    s.push_str(&format!(
        "{:<22} {:>7} {:>10} {:>10} {:>9} {:>9} {:>9} {:>8}  {}\n",
        "strategy",
        "workers",
        "commits/s",
        "committed",
        "retries/t",
        "req/commit",
        "p99 ms",
        "gave up",
        "invariants"
    ));
    for r in reports {
        s.push_str(&format!(
            "{:<22} {:>7} {:>10.1} {:>10} {:>9.3} {:>10} {:>9.2} {:>8}  {}\n",
            r.strategy,
            r.workers,
            r.commits_per_sec,
            r.committed,
            retry_rate(r),
            r.requests_per_commit
                .map_or_else(|| "n/a".to_owned(), |x| format!("{x:.2}")),
            r.latency_ms.p99,
            r.gave_up.values().sum::<u64>(),
            if r.ok { "hold" } else { "BROKEN" }
        ));
    }
    s
}

/// Writes an SVG chart to `path`: throughput (commits/s) above, retry rate (retried
/// attempts per transfer) below, one line per strategy against the number of workers.
/// Text is written as SVG `<text>` elements sized by plotters' built-in estimate, so no
/// font is needed to write it.
pub(crate) fn plot(reports: &[Report], path: &Path) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let root = SVGBackend::new(path, (900, 800)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (top, bottom) = root.split_vertically(400);
    let mut strategies: Vec<&str> = Vec::new();
    for r in reports {
        if !strategies.contains(&r.strategy.as_str()) {
            strategies.push(&r.strategy);
        }
    }
    let max_workers = reports.iter().map(|r| r.workers).max().unwrap_or(1);
    let throughput: fn(&Report) -> f64 = |r| r.commits_per_sec;
    let panels = [
        (&top, "throughput (commits/s)", throughput),
        (&bottom, "retry rate (retries per transfer)", retry_rate),
    ];
    for (area, title, metric) in panels {
        let y_max = reports.iter().map(metric).fold(0.0_f64, f64::max);
        let y_max = if y_max > 0.0 { y_max * 1.1 } else { 1.0 };
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0_f64..f64::from(max_workers) * 1.05, 0.0_f64..y_max)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("workers")
            .y_desc(title)
            .draw()
            .map_err(|e| err(&e))?;
        for (i, name) in strategies.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let points: Vec<(f64, f64)> = reports
                .iter()
                .filter(|r| r.strategy == *name)
                .map(|r| (f64::from(r.workers), metric(r)))
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
