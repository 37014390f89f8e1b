//! The bank's workers: each draws operations until the run's deadline — 20 % reads of
//! all balances, 80 % transfers — and records how each one ended: committed, refused,
//! unknown (the connection died and the retries after it did not settle it), or given up
//! (conflicts outlasted the retry policy). Conflicts (deadlock, serialization failure,
//! lock timeout) are retried through `txkit::retry`; an unknown outcome is retried by
//! the worker itself with a ledger look-up first, so a transfer is never applied twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use txkit::{ErrorKind, RetryPolicy, retry};
use txkit_bank::{Outcome, Rng, Transfer, clock_seed, mix};

use super::bank_faults::Signals;
use super::bank_schema::{ACCOUNTS, Bank, TOTAL};
use super::bank_transfer::{Plan, attempt, read_all};

/// Workers and duration of a run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) workers: usize,
    pub(crate) duration: Duration,
    pub(crate) seed: u64,
}

impl Settings {
    /// CI: 8 workers for 10 s; `TXKIT_LONG=1`: 32 workers for 60 s.
    pub(crate) fn from_env() -> Settings {
        let (workers, secs) = if super::long() { (32, 60) } else { (8, 10) };
        Settings {
            workers,
            duration: Duration::from_secs(secs),
            seed: seed(),
        }
    }
}

/// A seed for a new run, printed in its summary line: `TXKIT_SEED` if set (to replay a
/// run), else the clock. Each worker draws its own sequence from it.
fn seed() -> u64 {
    std::env::var("TXKIT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(clock_seed)
}

/// The longest one operation (retries included) may take before the run fails as hung.
const OP_LIMIT: Duration = Duration::from_secs(30);
/// How many unknown outcomes one transfer may meet before the worker leaves it unknown.
const MAX_UNKNOWN_TRIES: u32 = 5;

/// Retries per cause, counted by the attempts themselves.
#[derive(Debug, Default)]
pub(crate) struct RetryCounts {
    pub(crate) deadlock: AtomicU64,
    pub(crate) serialization: AtomicU64,
    pub(crate) lock_timeout: AtomicU64,
}

impl RetryCounts {
    fn note(&self, kind: ErrorKind) {
        let counter = match kind {
            ErrorKind::Deadlock => &self.deadlock,
            ErrorKind::SerializationFailure => &self.serialization,
            ErrorKind::LockTimeout => &self.lock_timeout,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What all workers did.
#[derive(Debug, Default)]
pub(crate) struct Record {
    /// Transfers acknowledged as committed (by COMMIT, or by a look-up that found them).
    pub(crate) committed: Vec<Transfer>,
    /// Ids of transfers refused for insufficient funds.
    pub(crate) refused: Vec<String>,
    /// Ids of transfers abandoned after the retry policy's attempts: not committed.
    pub(crate) gave_up: Vec<String>,
    /// Transfers whose outcome the worker could not settle.
    pub(crate) unknown: Vec<Transfer>,
    /// Connection-lost errors met by transfers (before or at COMMIT).
    pub(crate) lost_connection: u64,
    /// Commit-outcome-unknown errors met by transfers.
    pub(crate) commit_unknown: u64,
    /// Transfers whose look-up after an unknown outcome found them committed.
    pub(crate) found_by_lookup: u64,
    pub(crate) reads: u64,
    /// Reads that failed (the connection died under them; nothing to check).
    pub(crate) read_failures: u64,
    /// Reads that saw a wrong total, a negative balance or a missing account.
    pub(crate) bad_reads: Vec<String>,
    /// Errors no operation should end with (the first few, as text).
    pub(crate) errors: Vec<String>,
    pub(crate) max_op: Duration,
}

impl Record {
    fn merge(&mut self, other: Record) {
        self.committed.extend(other.committed);
        self.refused.extend(other.refused);
        self.gave_up.extend(other.gave_up);
        self.unknown.extend(other.unknown);
        self.lost_connection += other.lost_connection;
        self.commit_unknown += other.commit_unknown;
        self.found_by_lookup += other.found_by_lookup;
        self.reads += other.reads;
        self.read_failures += other.read_failures;
        self.bad_reads.extend(other.bad_reads);
        self.errors.extend(other.errors);
        self.max_op = self.max_op.max(other.max_op);
    }
}

/// What the workers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) bank: Bank,
    pub(crate) plan: Plan,
    pub(crate) policy: RetryPolicy,
    pub(crate) deadline: Instant,
    pub(crate) duration: Duration,
    pub(crate) seed: u64,
    pub(crate) signals: Arc<Signals>,
    pub(crate) retries: RetryCounts,
}

impl Shared {
    pub(crate) fn new(bank: Bank, plan: Plan, settings: Settings) -> Shared {
        Shared {
            bank,
            plan,
            policy: RetryPolicy::new()
                .max_attempts(200)
                .base_delay(Duration::from_millis(1))
                .max_delay(Duration::from_millis(50))
                .retry_on(ErrorKind::LockTimeout)
                .named("reliability bank transfer"),
            deadline: Instant::now() + settings.duration,
            duration: settings.duration,
            seed: settings.seed,
            signals: Arc::new(Signals::new(settings.workers)),
            retries: RetryCounts::default(),
        }
    }
}

fn is_ambiguous(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionLost | ErrorKind::CommitOutcomeUnknown
    )
}

/// Runs the workers until the deadline and gathers their records.
pub(crate) async fn run(shared: Arc<Shared>, workers: usize) -> Record {
    let tasks: Vec<_> = (0..workers)
        .map(|w| tokio::spawn(worker(Arc::clone(&shared), w)))
        .collect();
    let mut all = Record::default();
    for task in tasks {
        all.merge(task.await.expect("worker panicked"));
    }
    all
}

async fn worker(shared: Arc<Shared>, w: usize) -> Record {
    let mut rng = Rng::new(shared.seed, w as u64);
    let mut rec = Record::default();
    let mut seq = 0_u64;
    while Instant::now() < shared.deadline && rec.errors.is_empty() {
        let started = Instant::now();
        if rng.below(100) < 20 {
            read_op(&shared, &mut rec).await;
        } else {
            seq += 1;
            let t = Transfer::random(&mut rng, ACCOUNTS.into(), 50, format!("w{w}-{seq}"));
            transfer_op(&shared, w, t, rng.next_u64(), &mut rec).await;
        }
        rec.max_op = rec.max_op.max(started.elapsed());
        shared.signals.finished[w].send_modify(|n| *n += 1);
    }
    rec
}

async fn read_op(shared: &Shared, rec: &mut Record) {
    let started = shared.deadline - shared.duration;
    let read = tokio::time::timeout(
        OP_LIMIT,
        retry(&shared.policy, || read_all(&shared.bank, shared.plan)),
    )
    .await;
    match read {
        Err(_) => rec.errors.push(format!("a read hung for {OP_LIMIT:?}")),
        Ok(Ok((balances, session))) => {
            rec.reads += 1;
            let total: i64 = balances.iter().sum();
            if total != TOTAL
                || balances.len() != ACCOUNTS as usize
                || balances.iter().any(|b| *b < 0)
            {
                rec.bad_reads.push(format!(
                    "session {session} read a total of {total} at {:?} after the start, \
                     balances {balances:?}",
                    started.elapsed()
                ));
            }
        }
        Ok(Err(e)) if is_ambiguous(e.kind()) => rec.read_failures += 1,
        Ok(Err(e)) if shared.policy.retries(e.kind()) => rec.read_failures += 1,
        Ok(Err(e)) => rec.errors.push(format!("a read failed: {e}")),
    }
}

async fn transfer_op(shared: &Shared, w: usize, t: Transfer, salt: u64, rec: &mut Record) {
    let mut unknowns = 0_u32;
    loop {
        let lookup_first = unknowns > 0;
        let tries = AtomicU64::new(0);
        let (tries, t_ref) = (&tries, &t);
        let result = tokio::time::timeout(
            OP_LIMIT,
            retry(&shared.policy, move || async move {
                let n = tries.fetch_add(1, Ordering::Relaxed);
                let reverse = mix(salt ^ n) & 1 == 1;
                let note = |sid| shared.signals.sessions.note(sid, w);
                let r = attempt(
                    &shared.bank,
                    shared.plan,
                    t_ref,
                    lookup_first,
                    reverse,
                    note,
                )
                .await;
                if let Err(e) = &r {
                    shared.retries.note(e.kind());
                }
                r
            }),
        )
        .await;
        match result {
            Err(_) => {
                rec.errors
                    .push(format!("transfer {} hung for {OP_LIMIT:?}", t.id));
                rec.unknown.push(t);
                return;
            }
            Ok(Ok(Outcome::Committed)) => {
                rec.committed.push(t);
                shared.signals.commits.send_modify(|n| *n += 1);
                return;
            }
            Ok(Ok(Outcome::AlreadyCommitted)) => {
                rec.found_by_lookup += 1;
                rec.committed.push(t);
                return;
            }
            Ok(Ok(Outcome::Refused { .. })) => {
                rec.refused.push(t.id);
                return;
            }
            Ok(Err(e)) if is_ambiguous(e.kind()) => {
                if e.kind() == ErrorKind::CommitOutcomeUnknown {
                    rec.commit_unknown += 1;
                } else {
                    rec.lost_connection += 1;
                }
                unknowns += 1;
                if unknowns >= MAX_UNKNOWN_TRIES || Instant::now() >= shared.deadline {
                    rec.unknown.push(t);
                    return;
                }
            }
            Ok(Err(e)) => {
                if !shared.policy.retries(e.kind()) {
                    rec.errors.push(format!("transfer {}: {e}", t.id));
                }
                if unknowns > 0 {
                    rec.unknown.push(t);
                } else {
                    rec.gave_up.push(t.id);
                }
                return;
            }
        }
    }
}
