//! The bank workload: create the tables, open the accounts, run the workers, gather what
//! happened.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use txkit::{Engine, Error, Result, RetryPolicy};
use txkit_bank::{Bank, LedgerKey, Outcome, Rng, Tables, Transfer};

use crate::args::{BankArgs, StrategyName};
use crate::progress::{Counters, Goal, Progress};
use crate::runner::{self, Runner};

/// The most cents one transfer moves (at least 1).
const MAX_AMOUNT: u64 = 50;

/// What the workers did.
#[derive(Debug, Default)]
pub(crate) struct RunResult {
    /// Transfers committed.
    pub(crate) committed: u64,
    /// Transfers refused for insufficient funds.
    pub(crate) refused: u64,
    /// Transfers that gave up after the retry policy's attempts, by the last error's kind.
    pub(crate) gave_up: BTreeMap<String, u64>,
    /// Retried attempts by cause.
    pub(crate) retries: BTreeMap<String, u64>,
    /// Each finished transfer's latency (retries included), in microseconds.
    pub(crate) latencies_us: Vec<u64>,
    /// Wall time of the run.
    pub(crate) elapsed: Duration,
}

impl RunResult {
    fn merge(&mut self, other: RunResult) {
        self.committed += other.committed;
        self.refused += other.refused;
        for (k, n) in other.gave_up {
            *self.gave_up.entry(k).or_default() += n;
        }
        for (k, n) in other.retries {
            *self.retries.entry(k).or_default() += n;
        }
        self.latencies_us.extend(other.latencies_us);
    }
}

/// Drops and creates the bank's tables and opens `args.accounts` accounts.
pub(crate) async fn setup(engine: &Engine, args: &BankArgs) -> Result<Bank> {
    let tables = Tables::with_prefix(&args.table_prefix, LedgerKey::TransferId);
    tables
        .create(engine, args.accounts, args.initial_balance)
        .await?;
    Ok(Bank {
        engine: engine.clone(),
        tables,
        isolation: args.isolation,
    })
}

/// Credits one cent out of nowhere to account 1: a broken invariant, for testing the
/// checker.
pub(crate) async fn inject_fault(bank: &Bank) -> Result<()> {
    bank.engine
        .execute(
            &format!(
                "UPDATE {} SET balance = balance + 1 WHERE id = 1",
                bank.tables.accounts
            ),
            &[],
        )
        .await?;
    Ok(())
}

/// What every worker shares.
#[derive(Debug)]
struct Shared {
    bank: Arc<Bank>,
    runner: Runner,
    policy: RetryPolicy,
    counters: Arc<Counters>,
    /// The next transfer number to claim (with a transfer count).
    next: AtomicU64,
    limit: Option<u64>,
    deadline: Option<Instant>,
    stop: AtomicBool,
    accounts: u64,
}

/// Runs `workers` workers with `strategy` until the transfers are done or the time is up;
/// fails on the first error that retrying cannot fix.
pub(crate) async fn run(
    bank: Bank,
    args: &BankArgs,
    strategy: StrategyName,
    workers: u32,
    seed: u64,
) -> Result<RunResult> {
    let counters = Arc::new(Counters::default());
    let goal = match args.duration {
        Some(secs) => Goal::Duration(Duration::from_secs_f64(secs)),
        None => Goal::Transfers(args.transfer_count()),
    };
    let started = Instant::now();
    let shared = Arc::new(Shared {
        bank: Arc::new(bank),
        runner: Runner::new(strategy, workers),
        policy: runner::policy(args.max_attempts),
        counters: Arc::clone(&counters),
        next: AtomicU64::new(0),
        limit: match goal {
            Goal::Transfers(n) => Some(n),
            Goal::Duration(_) => None,
        },
        deadline: match goal {
            Goal::Duration(d) => Some(started + d),
            Goal::Transfers(_) => None,
        },
        stop: AtomicBool::new(false),
        accounts: u64::from(args.accounts),
    });
    let progress = Progress::start(counters, goal, !args.json && args.sweep.is_none());
    let mut tasks = Vec::new();
    for w in 0..workers {
        let shared = Arc::clone(&shared);
        tasks.push(tokio::spawn(worker(shared, w, seed)));
    }
    let mut total = RunResult::default();
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(Ok(part)) => total.merge(part),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(join) => {
                first_error.get_or_insert(Error::config(format!("a worker failed: {join}")));
            }
        }
    }
    total.elapsed = started.elapsed();
    progress.finish();
    if let Some(shared) = Arc::into_inner(shared) {
        shared.runner.shutdown().await;
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(total),
    }
}

async fn worker(shared: Arc<Shared>, w: u32, seed: u64) -> Result<RunResult> {
    let mut rng = Rng::new(seed, u64::from(w));
    let mut out = RunResult::default();
    let mut seq = 0_u64;
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        if let Some(limit) = shared.limit
            && shared.next.fetch_add(1, Ordering::Relaxed) >= limit
        {
            break;
        }
        if shared.deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        seq += 1;
        let transfer =
            Transfer::random(&mut rng, shared.accounts, MAX_AMOUNT, format!("w{w}-{seq}"));
        let started = Instant::now();
        let attempted = shared
            .runner
            .transfer(&shared.bank, &shared.policy, transfer)
            .await;
        let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let c = &shared.counters;
        for kind in &attempted.retries {
            *out.retries.entry(kind.to_string()).or_default() += 1;
        }
        c.retries
            .fetch_add(attempted.retries.len() as u64, Ordering::Relaxed);
        match attempted.result {
            // No strategy here looks its transfer up, so none is ever already committed.
            Ok(Outcome::Committed | Outcome::AlreadyCommitted) => {
                out.committed += 1;
                c.committed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Outcome::Refused { .. }) => {
                out.refused += 1;
                c.refused.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) if shared.policy.retries(e.kind()) => {
                *out.gave_up.entry(e.kind().to_string()).or_default() += 1;
            }
            Err(e) => {
                shared.stop.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
        out.latencies_us.push(took);
        c.finished.fetch_add(1, Ordering::Relaxed);
    }
    Ok(out)
}
