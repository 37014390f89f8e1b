//! [`RetryPolicy`]: how many attempts, how long to wait between them, and which failures
//! are worth another attempt.

use std::fmt;
use std::time::Duration;

use crate::error::ErrorKind;

/// How [`retry`](crate::retry) and [`run_transaction`](Self::run_transaction) re-run a unit
/// of work.
///
/// Defaults: 3 attempts; exponential backoff from 100 ms, capped at 5 s, with full jitter
/// (the wait before attempt *n* + 1 is uniformly random in `[0, min(max_delay, base_delay ·
/// 2ⁿ⁻¹)]`); no deadline; retried kinds [`Deadlock`](ErrorKind::Deadlock) and
/// [`SerializationFailure`](ErrorKind::SerializationFailure).
///
/// [`ErrorKind::CommitOutcomeUnknown`] is never retried, whatever the policy says: the
/// attempt that failed may have committed, and running it again would apply it twice.
///
/// ```
/// use std::time::Duration;
/// use txkit_core::{ErrorKind, RetryPolicy};
///
/// let policy = RetryPolicy::new()
///     .max_attempts(5)
///     .base_delay(Duration::from_millis(50))
///     .deadline(Duration::from_secs(10))
///     .retry_on(ErrorKind::LockTimeout);
/// assert!(policy.retries(ErrorKind::Deadlock));
/// assert!(policy.retries(ErrorKind::LockTimeout));
/// assert!(!policy.retries(ErrorKind::UniqueViolation));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[must_use = "a policy does nothing until it is passed to retry()"]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    jitter: bool,
    deadline: Option<Duration>,
    kinds: KindSet,
    cockroach_savepoints: bool,
    name: Option<&'static str>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RetryPolicy");
        if let Some(name) = self.name {
            d.field("name", &name);
        }
        d.field("max_attempts", &self.max_attempts)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .field("jitter", &self.jitter)
            .field("deadline", &self.deadline)
            .field("kinds", &self.kinds)
            .field("cockroach_savepoints", &self.cockroach_savepoints)
            .finish()
    }
}

impl RetryPolicy {
    /// The default policy (see the type's documentation).
    pub fn new() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            jitter: true,
            deadline: None,
            kinds: KindSet::EMPTY
                .with(ErrorKind::Deadlock)
                .with(ErrorKind::SerializationFailure),
            cockroach_savepoints: false,
            name: None,
        }
    }

    /// How many times the unit of work may run in all, the first time included (at least
    /// 1; 0 counts as 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff before the second attempt; each later one doubles it (default 100 ms).
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest backoff between two attempts (default 5 s).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Full jitter (default on): each backoff is uniformly random between zero and its
    /// exponential cap, so that transactions which failed together do not retry together.
    /// Off: each backoff is exactly its cap.
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// An overall time limit, counted from the start of the first attempt: no retry is
    /// started that would end after it. A retry is expected to end after its backoff plus
    /// as long as the attempt that just failed took; when that is past the deadline, the
    /// last error is returned instead.
    pub fn deadline(mut self, limit: Duration) -> Self {
        self.deadline = Some(limit);
        self
    }

    /// Also retries failures of `kind`. The defaults are
    /// [`Deadlock`](ErrorKind::Deadlock) and
    /// [`SerializationFailure`](ErrorKind::SerializationFailure); opt in to
    /// [`LockTimeout`](ErrorKind::LockTimeout),
    /// [`LockNotAvailable`](ErrorKind::LockNotAvailable) (NOWAIT) or
    /// [`StaleData`](ErrorKind::StaleData) (a failed version check: the unit of work then
    /// re-reads the row) where re-running is the right answer.
    /// [`CommitOutcomeUnknown`](ErrorKind::CommitOutcomeUnknown) is accepted here but never
    /// retried.
    pub fn retry_on(mut self, kind: ErrorKind) -> Self {
        self.kinds = self.kinds.with(kind);
        self
    }

    /// Stops retrying failures of `kind`.
    pub fn dont_retry_on(mut self, kind: ErrorKind) -> Self {
        self.kinds = self.kinds.without(kind);
        self
    }

    /// CockroachDB's client-side retry protocol for
    /// [`run_transaction`](Self::run_transaction): one transaction for all attempts, each
    /// attempt inside `SAVEPOINT cockroach_restart`, rolled back to it after a
    /// retryable failure, and `RELEASE SAVEPOINT cockroach_restart` before COMMIT. The
    /// transaction keeps its place (its priority and timestamp on CockroachDB) between
    /// attempts. PostgreSQL-protocol servers only: MySQL/MariaDB end the whole transaction
    /// on a deadlock, and SQLite keeps its stale snapshot, so there it is refused with
    /// [`Unsupported`](ErrorKind::Unsupported). [`retry`](crate::retry) ignores it.
    pub fn cockroach_savepoints(mut self) -> Self {
        self.cockroach_savepoints = true;
        self
    }

    /// A name for the unit of work, recorded in the `txkit.retry` tracing span
    /// (`#[retry_on_deadlock]` sets the function's name).
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = Some(name);
        self
    }

    /// How many attempts are allowed in all.
    pub fn attempts_allowed(&self) -> u32 {
        self.max_attempts
    }

    /// The overall time limit, if any.
    pub fn time_limit(&self) -> Option<Duration> {
        self.deadline
    }

    /// Whether a failure of `kind` is retried (never for
    /// [`CommitOutcomeUnknown`](ErrorKind::CommitOutcomeUnknown)).
    pub fn retries(&self, kind: ErrorKind) -> bool {
        kind != ErrorKind::CommitOutcomeUnknown && self.kinds.contains(kind)
    }

    /// Whether backoffs are jittered.
    pub fn has_jitter(&self) -> bool {
        self.jitter
    }

    /// Whether [`run_transaction`](Self::run_transaction) uses CockroachDB's savepoint
    /// protocol.
    pub fn uses_cockroach_savepoints(&self) -> bool {
        self.cockroach_savepoints
    }

    /// The name given with [`named`](Self::named).
    pub fn name(&self) -> Option<&'static str> {
        self.name
    }

    /// The longest backoff after failed attempt `attempt` (1-based):
    /// `min(max_delay, base_delay · 2^(attempt - 1))`. With jitter the actual wait is
    /// random in `[0, this]`.
    pub fn backoff_cap(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.base_delay
            .checked_mul(1u32 << doublings)
            .map_or(self.max_delay, |d| d.min(self.max_delay))
    }

    /// The backoff after failed attempt `attempt`, drawing the jitter from `rng`.
    pub(crate) fn backoff(&self, attempt: u32, rng: &mut Rng) -> Duration {
        let cap = self.backoff_cap(attempt);
        if !self.jitter || cap.is_zero() {
            return cap;
        }
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.below_inclusive(nanos))
    }
}

/// A set of [`ErrorKind`]s, one bit each.
#[derive(Clone, Copy, PartialEq, Eq)]
struct KindSet(u16);

const ALL_KINDS: [ErrorKind; 12] = [
    ErrorKind::Deadlock,
    ErrorKind::SerializationFailure,
    ErrorKind::LockNotAvailable,
    ErrorKind::LockTimeout,
    ErrorKind::StaleData,
    ErrorKind::UniqueViolation,
    ErrorKind::ConnectionLost,
    ErrorKind::CommitOutcomeUnknown,
    ErrorKind::PoolTimeout,
    ErrorKind::Config,
    ErrorKind::Unsupported,
    ErrorKind::Database,
];

impl KindSet {
    const EMPTY: Self = Self(0);

    const fn bit(kind: ErrorKind) -> u16 {
        1 << match kind {
            ErrorKind::Deadlock => 0,
            ErrorKind::SerializationFailure => 1,
            ErrorKind::LockNotAvailable => 2,
            ErrorKind::LockTimeout => 3,
            ErrorKind::StaleData => 4,
            ErrorKind::UniqueViolation => 5,
            ErrorKind::ConnectionLost => 6,
            ErrorKind::CommitOutcomeUnknown => 7,
            ErrorKind::PoolTimeout => 8,
            ErrorKind::Config => 9,
            ErrorKind::Unsupported => 10,
            ErrorKind::Database => 11,
            ErrorKind::Usage => 12,
            ErrorKind::Internal => 13,
        }
    }

    const fn with(self, kind: ErrorKind) -> Self {
        Self(self.0 | Self::bit(kind))
    }

    const fn without(self, kind: ErrorKind) -> Self {
        Self(self.0 & !Self::bit(kind))
    }

    const fn contains(self, kind: ErrorKind) -> bool {
        self.0 & Self::bit(kind) != 0
    }
}

impl fmt::Debug for KindSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(ALL_KINDS.iter().filter(|k| self.contains(**k)))
            .finish()
    }
}

/// A small PRNG for jitter (SplitMix64): statistical quality is all jitter needs, and it
/// keeps the core free of a random-number dependency.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// Seeded from the clock, the address of a stack slot and a process-wide counter, so
    /// that concurrent retry loops draw different backoffs.
    pub(crate) fn seeded() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let slot = 0u8;
        let address = std::ptr::addr_of!(slot) as usize as u64;
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        Self::from_seed(clock ^ address.rotate_left(32) ^ count.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    pub(crate) fn from_seed(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, bound]` (the tiny modulo bias is irrelevant for jitter).
    fn below_inclusive(&mut self, bound: u64) -> u64 {
        match bound.checked_add(1) {
            Some(n) => self.next_u64() % n,
            None => self.next_u64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let p = RetryPolicy::new();
        assert_eq!(p.attempts_allowed(), 3);
        assert!(p.has_jitter());
        assert_eq!(p.time_limit(), None);
        assert!(p.retries(ErrorKind::Deadlock));
        assert!(p.retries(ErrorKind::SerializationFailure));
        for kind in [
            ErrorKind::LockTimeout,
            ErrorKind::LockNotAvailable,
            ErrorKind::StaleData,
            ErrorKind::UniqueViolation,
            ErrorKind::ConnectionLost,
            ErrorKind::CommitOutcomeUnknown,
        ] {
            assert!(!p.retries(kind), "{kind} is not retried by default");
        }
        assert_eq!(p, RetryPolicy::default());
    }

    #[test]
    fn opt_in_and_out() {
        let p = RetryPolicy::new()
            .retry_on(ErrorKind::LockTimeout)
            .retry_on(ErrorKind::StaleData)
            .dont_retry_on(ErrorKind::SerializationFailure);
        assert!(p.retries(ErrorKind::LockTimeout));
        assert!(p.retries(ErrorKind::StaleData));
        assert!(!p.retries(ErrorKind::SerializationFailure));
        let dbg = format!("{p:?}");
        assert!(
            dbg.contains("LockTimeout") && !dbg.contains("Serialization"),
            "{dbg}"
        );
    }

    #[test]
    fn commit_outcome_unknown_is_never_retried_even_when_asked() {
        let p = RetryPolicy::new().retry_on(ErrorKind::CommitOutcomeUnknown);
        assert!(!p.retries(ErrorKind::CommitOutcomeUnknown));
    }

    #[test]
    fn zero_attempts_means_one() {
        assert_eq!(RetryPolicy::new().max_attempts(0).attempts_allowed(), 1);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::new()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(1000));
        let caps: Vec<u128> = (1..=6).map(|a| p.backoff_cap(a).as_millis()).collect();
        assert_eq!(caps, [100, 200, 400, 800, 1000, 1000]);
        // no overflow for absurd attempt numbers
        assert_eq!(p.backoff_cap(u32::MAX), Duration::from_millis(1000));
        let huge = RetryPolicy::new()
            .base_delay(Duration::from_secs(u64::MAX / 4))
            .max_delay(Duration::from_secs(7));
        assert_eq!(huge.backoff_cap(40), Duration::from_secs(7));
    }

    #[test]
    fn jitter_stays_within_the_cap_and_varies() {
        let p = RetryPolicy::new();
        let mut rng = Rng::from_seed(42);
        let draws: Vec<Duration> = (0..200).map(|_| p.backoff(3, &mut rng)).collect();
        assert!(draws.iter().all(|d| *d <= Duration::from_millis(400)));
        let distinct: std::collections::HashSet<_> = draws.iter().collect();
        assert!(distinct.len() > 150, "jitter should spread the backoffs");
        let mean = draws.iter().sum::<Duration>() / 200;
        assert!(
            mean > Duration::from_millis(120) && mean < Duration::from_millis(280),
            "{mean:?}"
        );
    }

    #[test]
    fn without_jitter_the_backoff_is_the_cap() {
        let p = RetryPolicy::new().jitter(false);
        let mut rng = Rng::seeded();
        assert_eq!(p.backoff(1, &mut rng), Duration::from_millis(100));
        assert_eq!(p.backoff(2, &mut rng), Duration::from_millis(200));
    }

    #[test]
    fn seeds_differ() {
        let (mut a, mut b) = (Rng::seeded(), Rng::seeded());
        assert_ne!(a.next_u64(), b.next_u64());
    }
}
