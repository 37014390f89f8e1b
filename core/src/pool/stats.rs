//! Pool statistics, kept with atomic counters so recording costs no lock.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::events::CloseReason;

/// Wait times go in power-of-two microsecond buckets: bucket `i` holds waits below
/// `2^i` µs, so percentiles are exact to within a factor of two.
const BUCKETS: usize = 40;

#[derive(Debug)]
pub(crate) struct Stats {
    checkouts: AtomicU64,
    waits: AtomicU64,
    timeouts: AtomicU64,
    connects: AtomicU64,
    requests: AtomicU64,
    closed: [AtomicU64; CloseReason::ALL.len()],
    wait_hist: [AtomicU64; BUCKETS],
}

impl Stats {
    pub(crate) fn new() -> Self {
        Self {
            checkouts: AtomicU64::new(0),
            waits: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            closed: std::array::from_fn(|_| AtomicU64::new(0)),
            wait_hist: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    pub(crate) fn checkout(&self) {
        self.checkouts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn waited(&self, wait: Duration) {
        self.waits.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
        let bucket = (u64::BITS - micros.leading_zeros()) as usize;
        self.wait_hist[bucket.min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn timeout(&self) {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn requests(&self, n: u64) {
        if n > 0 {
            self.requests.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn connect(&self) {
        self.connects.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn closed(&self, reason: CloseReason) {
        self.closed[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> PoolStats {
        let hist: Vec<u64> = self
            .wait_hist
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        PoolStats {
            checkouts: self.checkouts.load(Ordering::Relaxed),
            waits: self.waits.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            connects: self.connects.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            closed: CloseReason::ALL
                .iter()
                .map(|r| (*r, self.closed[r.index()].load(Ordering::Relaxed)))
                .collect(),
            wait_p50: percentile(&hist, 0.50),
            wait_p95: percentile(&hist, 0.95),
            wait_p99: percentile(&hist, 0.99),
        }
    }
}

/// The upper bound of the bucket holding the `q` quantile of the waits.
fn percentile(hist: &[u64], q: f64) -> Duration {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let rank = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, n) in hist.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Duration::from_micros(1_u64 << i.min(63));
        }
    }
    Duration::MAX
}

/// What a pool has done since it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections handed out.
    pub checkouts: u64,
    /// Checkouts that had to wait for a free slot.
    pub waits: u64,
    /// Checkouts that gave up with PoolTimeout.
    pub timeouts: u64,
    /// Connections opened.
    pub connects: u64,
    /// Requests connections sent to their drivers, counted when they came back to the pool
    /// (see [`ManagedConnection::take_requests`](crate::ManagedConnection::take_requests)).
    pub requests: u64,
    /// Connections closed, by reason.
    pub closed: Vec<(CloseReason, u64)>,
    /// Median wait of the checkouts that waited (to within a factor of two).
    pub wait_p50: Duration,
    /// 95th percentile wait.
    pub wait_p95: Duration,
    /// 99th percentile wait.
    pub wait_p99: Duration,
}

impl PoolStats {
    /// Connections closed for `reason`.
    pub fn closed_for(&self, reason: CloseReason) -> u64 {
        self.closed
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| *n)
    }

    /// Connections closed for any reason.
    pub fn closed_total(&self) -> u64 {
        self.closed.iter().map(|(_, n)| n).sum()
    }
}

impl fmt::Display for PoolStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} checkouts, {} requests, {} waited (p50 {:?}, p95 {:?}, p99 {:?}), {} timed out, {} opened, {} closed",
            self.checkouts,
            self.requests,
            self.waits,
            self.wait_p50,
            self.wait_p95,
            self.wait_p99,
            self.timeouts,
            self.connects,
            self.closed_total()
        )?;
        let reasons: Vec<String> = self
            .closed
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| format!("{r}: {n}"))
            .collect();
        if !reasons.is_empty() {
            write!(f, " ({})", reasons.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_from_buckets() {
        let s = Stats::new();
        for _ in 0..98 {
            s.waited(Duration::from_micros(100));
        }
        s.waited(Duration::from_millis(50));
        s.waited(Duration::from_millis(50));
        let snap = s.snapshot();
        assert_eq!(snap.waits, 100);
        assert_eq!(snap.wait_p50, Duration::from_micros(128));
        assert_eq!(snap.wait_p95, Duration::from_micros(128));
        assert!(snap.wait_p99 >= Duration::from_millis(50));
    }
}
