//! The report at the end of a run, as text or JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use txkit::pool::PoolStats;
use txkit_bank::Invariants;

use crate::workload::RunResult;

/// Everything a run measured.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// The database URL, password redacted.
    pub(crate) url: String,
    /// The backend's name.
    pub(crate) backend: String,
    /// The strategy's name.
    pub(crate) strategy: String,
    /// The isolation level asked for, if any.
    pub(crate) isolation: Option<String>,
    /// Concurrent workers.
    pub(crate) workers: u32,
    /// Accounts.
    pub(crate) accounts: u32,
    /// The seed of the random transfers.
    pub(crate) seed: u64,
    /// Wall time, in seconds.
    pub(crate) elapsed_secs: f64,
    /// Transfers finished (committed, refused or given up).
    pub(crate) transfers: u64,
    /// Transfers committed.
    pub(crate) committed: u64,
    /// Transfers refused for insufficient funds.
    pub(crate) refused: u64,
    /// Transfers that gave up after every attempt, by the last error's kind.
    pub(crate) gave_up: BTreeMap<String, u64>,
    /// Retried attempts.
    pub(crate) retries: u64,
    /// Retried attempts by cause.
    pub(crate) retries_by_cause: BTreeMap<String, u64>,
    /// Transfer latency, retries included.
    pub(crate) latency_ms: Latency,
    /// Commits per second.
    pub(crate) commits_per_sec: f64,
    /// Requests the transfers sent to the server, retries and refused transfers included.
    /// A request is one exchange with the server (one round trip on PostgreSQL and MySQL,
    /// statements pipelined together counting once; one command to the worker thread on
    /// SQLite); the extra round trip of a statement's first prepare is not counted.
    pub(crate) requests: u64,
    /// Round trips per transaction: `requests` divided by the committed transfers (none
    /// when nothing committed).
    pub(crate) requests_per_commit: Option<f64>,
    /// The engine's pool statistics.
    pub(crate) pool: Pool,
    /// The invariant checks.
    pub(crate) invariants: Invariants,
    /// Whether every invariant holds.
    pub(crate) ok: bool,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Serialize)]
pub(crate) struct Latency {
    /// Median.
    pub(crate) p50: f64,
    /// 95th percentile.
    pub(crate) p95: f64,
    /// 99th percentile.
    pub(crate) p99: f64,
    /// Slowest.
    pub(crate) max: f64,
}

/// The pool statistics that matter here.
#[derive(Debug, Serialize)]
pub(crate) struct Pool {
    /// Connections handed out.
    pub(crate) checkouts: u64,
    /// Checkouts that waited for a free connection.
    pub(crate) waits: u64,
    /// Checkouts that timed out.
    pub(crate) timeouts: u64,
    /// Connections opened.
    pub(crate) connects: u64,
    /// Requests sent over the engine's life (the setup and the checks included).
    pub(crate) requests: u64,
    /// Connections closed.
    pub(crate) closed: u64,
    /// Median wait of the checkouts that waited, in milliseconds.
    pub(crate) wait_p50_ms: f64,
    /// 95th percentile wait, in milliseconds.
    pub(crate) wait_p95_ms: f64,
    /// 99th percentile wait, in milliseconds.
    pub(crate) wait_p99_ms: f64,
}

impl Pool {
    /// From the engine's statistics.
    pub(crate) fn from_stats(s: &PoolStats) -> Self {
        Self {
            checkouts: s.checkouts,
            waits: s.waits,
            timeouts: s.timeouts,
            connects: s.connects,
            requests: s.requests,
            closed: s.closed_total(),
            wait_p50_ms: ms(s.wait_p50),
            wait_p95_ms: ms(s.wait_p95),
            wait_p99_ms: ms(s.wait_p99),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Latency {
    /// Percentiles of latencies in microseconds.
    pub(crate) fn of(latencies_us: &mut [u64]) -> Self {
        latencies_us.sort_unstable();
        let at = |q: f64| -> f64 {
            if latencies_us.is_empty() {
                return 0.0;
            }
            let rank = (q * latencies_us.len() as f64).ceil() as usize;
            let i = rank.clamp(1, latencies_us.len()) - 1;
            latencies_us[i] as f64 / 1000.0
        };
        Self {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// The transfers finished (committed, refused or given up) and the retries of `run`.
pub(crate) fn counts(run: &RunResult) -> (u64, u64) {
    let transfers = run.committed + run.refused + run.gave_up.values().sum::<u64>();
    let retries = run.retries.values().sum();
    (transfers, retries)
}

impl Report {
    /// The report as human-readable text.
    pub(crate) fn text(&self) -> String {
        let mut s = String::new();
        let mut line = |l: String| {
            s.push_str(&l);
            s.push('\n');
        };
        line(format!(
            "txkit bank on {} ({}): strategy {}{}, {} workers, {} accounts, seed {}",
            self.url,
            self.backend,
            self.strategy,
            self.isolation
                .as_deref()
                .map(|i| format!(", isolation {i}"))
                .unwrap_or_default(),
            self.workers,
            self.accounts,
            self.seed
        ));
        line(format!(
            "transfers   {} in {:.2} s: {} committed, {} refused, {} gave up {:?}",
            self.transfers,
            self.elapsed_secs,
            self.committed,
            self.refused,
            self.gave_up.values().sum::<u64>(),
            self.gave_up
        ));
        line(format!("throughput  {:.1} commits/s", self.commits_per_sec));
        line(format!(
            "round trips {} requests, {} per committed transfer",
            self.requests,
            self.requests_per_commit
                .map_or_else(|| "n/a".to_owned(), |r| format!("{r:.2}"))
        ));
        line(format!(
            "retries     {} {:?}",
            self.retries, self.retries_by_cause
        ));
        line(format!(
            "latency     p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.latency_ms.p50, self.latency_ms.p95, self.latency_ms.p99, self.latency_ms.max
        ));
        let p = &self.pool;
        line(format!(
            "pool        {} checkouts, {} waited (p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms), \
             {} timeouts, {} connects, {} closed",
            p.checkouts,
            p.waits,
            p.wait_p50_ms,
            p.wait_p95_ms,
            p.wait_p99_ms,
            p.timeouts,
            p.connects,
            p.closed
        ));
        let inv = &self.invariants;
        line(format!(
            "invariants  total {} -> {} cents, {} negative balances, {} ledger rows for {} \
             commits: {}",
            inv.total_before,
            inv.total_after,
            inv.negative_balances,
            inv.ledger_rows,
            inv.committed,
            if self.ok { "all hold" } else { "BROKEN" }
        ));
        for v in &inv.violations {
            line(format!("  BROKEN: {v}"));
        }
        s
    }
}
