//! Printing a cell's results: a Markdown table row per contender (median batch and the
//! fastest, p99 latency per operation, round trips per operation, txkit's time over this
//! contender's), and one `RATIOS` line per cell (printed after the table) with txkit over
//! the raw driver, sqlx and sea-orm: the ratio of the median batches, then in parentheses
//! the median of the rounds' own ratios (each round runs every contender once, back to
//! back, so its ratio is free of what drifts between rounds on a shared VM) with a 95 %
//! confidence interval for that median. A flush cell adds a `FLUSH` line: units of work
//! per second for each contender, and each txkit contender's throughput over the raw
//! driver's (and the pipelined raw driver's, on PostgreSQL).

use crate::cells::{Cell, Measured};
use crate::round_trips::RoundTrips;
use crate::schema::Backend;
use crate::workload::{Work, quantile};

pub(crate) fn header() {
    println!(
        "| cell | contender | median batch ms [fastest] | p99 per op µs | round trips / op | txkit ÷ this | txkit-pipelined ÷ this |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
}

/// txkit's contenders, in the order their ratios are printed.
const TXKIT_NAMES: [&str; 10] = [
    "txkit",
    "txkit-default",
    "txkit-loop",
    "txkit-pipelined",
    "txkit-wire",
    "txkit-wire-loop",
    "txkit-wire-pipelined",
    "txkit-thread",
    "txkit-thread-loop",
    "txkit-thread-pipelined",
];

fn median_ms(m: &Measured) -> f64 {
    quantile(&m.batches, 0.5).as_secs_f64() * 1e3
}

fn fastest_ms(m: &Measured) -> f64 {
    m.batches.first().map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// The median over rounds of `a`'s batch time over `b`'s in the same round, as
/// `median; 95 % low–high`.
fn paired(a: &Measured, b: &Measured) -> String {
    let mut ratios: Vec<f64> = a
        .by_round
        .iter()
        .zip(&b.by_round)
        .map(|(x, y)| x.as_secs_f64() / y.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    let median = ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN);
    match median_interval(ratios.len()) {
        Some((low, high)) => format!("{median:.2}; 95% {:.2}–{:.2}", ratios[low], ratios[high]),
        None => format!("{median:.2}"),
    }
}

/// The 0-based positions, in `n` sorted samples, of a distribution-free confidence
/// interval of at least 95 % for their median: the widest `k` with P(B < k) ≤ 2.5 % for
/// B ~ Binomial(n, ½) gives the `k`-th smallest and `k`-th largest samples. `None` when
/// `n` is too small for any (under 6 samples).
fn median_interval(n: usize) -> Option<(usize, usize)> {
    // P(B = i) for i = 0, 1, …, summed until the tail would pass 2.5 %.
    let mut term = 0.5_f64.powi(i32::try_from(n).ok()?);
    let mut tail = 0.0;
    let mut k = 0;
    while k < n / 2 && tail + term <= 0.025 {
        tail += term;
        term *= (n - k) as f64 / (k + 1) as f64;
        k += 1;
    }
    // Positions k-1 and n-k (0-based) are the k-th smallest and k-th largest.
    (k >= 1).then(|| (k - 1, n - k))
}

fn raw(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "tokio-postgres",
        Backend::Mysql => "mysql_async",
        Backend::Sqlite => "rusqlite",
    }
}

/// Prints the cell's table rows; returns its `RATIOS` line (printed after the table), and
/// for a flush cell its `FLUSH` line after it. `per_task`: ops per task in a batch.
pub(crate) fn cell(
    backend: Backend,
    cell: Cell,
    results: &[Measured],
    rts: &RoundTrips,
    per_task: usize,
) -> String {
    let label = cell.label(backend);
    let find = |name: &str| results.iter().find(|m| m.name == name);
    let ratio = |a: Option<&Measured>, b: &Measured| match a {
        Some(a) => format!(
            "{:.2} [{:.2}]",
            median_ms(a) / median_ms(b),
            fastest_ms(a) / fastest_ms(b)
        ),
        None => "–".to_owned(),
    };
    let (txkit, pipelined) = (find("txkit"), find("txkit-pipelined"));
    for m in results {
        let rt = rts
            .get(&(m.name, cell.plan.work.name()))
            .map_or("–".to_owned(), |r| format!("{r:.1}"));
        println!(
            "| {label} | {} | {:.2} [{:.2}] | {:.0} | {rt} | {} | {} |",
            m.name,
            median_ms(m),
            fastest_ms(m),
            quantile(&m.latencies, 0.99).as_secs_f64() * 1e6,
            ratio(txkit, m),
            ratio(pipelined, m),
        );
    }
    let mut line = format!("RATIOS {label}:");
    // Random lock order: each twin's throughput over its plain (id-ordered) twin's.
    for m in results {
        if let Some(plain) = m.name.strip_suffix(" random-order")
            && let Some(ordered) = find(plain)
        {
            line.push_str(&format!(
                " {plain}:random/ordered-throughput={:.2}",
                median_ms(ordered) / median_ms(m)
            ));
        }
    }
    for who in TXKIT_NAMES {
        let Some(mine) = find(who) else { continue };
        for other in [raw(backend), "tokio-postgres-pipelined", "sqlx", "sea-orm"] {
            if let Some(o) = find(other) {
                line.push_str(&format!(
                    " {who}/{other}={:.2}({})",
                    median_ms(mine) / median_ms(o),
                    paired(mine, o)
                ));
            }
        }
    }
    if cell.plan.work == Work::Flush {
        line.push('\n');
        line.push_str(&flush_line(backend, cell, results, per_task));
    }
    line
}

/// `FLUSH <label>:` every contender's units of work per second (median batch), then each
/// txkit contender's throughput over the raw driver's: of the median batches, and in
/// parentheses the median of the rounds' own ratios with its 95 % interval.
fn flush_line(backend: Backend, cell: Cell, results: &[Measured], per_task: usize) -> String {
    let units = (cell.tasks * per_task) as f64;
    let mut line = format!("FLUSH {}:", cell.label(backend));
    for m in results {
        line.push_str(&format!(" {}={:.0}/s", m.name, units / median_ms(m) * 1e3));
    }
    let find = |name: &str| results.iter().find(|m| m.name == name);
    for other in [raw(backend), "tokio-postgres-pipelined"] {
        let Some(o) = find(other) else { continue };
        for who in TXKIT_NAMES {
            if let Some(mine) = find(who) {
                line.push_str(&format!(
                    " | {who}÷{other} throughput {:.2} ({})",
                    median_ms(o) / median_ms(mine),
                    paired(o, mine)
                ));
            }
        }
    }
    line
}
