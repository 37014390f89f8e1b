//! The bank workload: create the tables, open the accounts, run the workers, gather what
//! happened.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use txkit::{Engine, Error, Result, RetryPolicy, params};

use crate::args::{BankArgs, StrategyName};
use crate::progress::{Counters, Goal, Progress};
use crate::rng::XorShift;
use crate::strategy::{self, Bank, Outcome, Strategy, Transfer};

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
    let bank = Bank {
        engine: engine.clone(),
        accounts: format!("{}accounts", args.table_prefix),
        ledger: format!("{}ledger", args.table_prefix),
        isolation: args.isolation,
    };
    for table in [&bank.ledger, &bank.accounts] {
        engine
            .execute(&format!("DROP TABLE IF EXISTS {table}"), &[])
            .await?;
    }
    engine
        .execute(
            &format!(
                "CREATE TABLE {} (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL, \
                 version BIGINT NOT NULL)",
                bank.accounts
            ),
            &[],
        )
        .await?;
    engine
        .execute(
            &format!(
                "CREATE TABLE {} (id VARCHAR(64) PRIMARY KEY, from_id BIGINT NOT NULL, \
                 to_id BIGINT NOT NULL, amount BIGINT NOT NULL)",
                bank.ledger
            ),
            &[],
        )
        .await?;
    let mut tx = engine.begin().await?;
    let insert = format!(
        "INSERT INTO {} (id, balance, version) VALUES (?, ?, 0)",
        bank.accounts
    );
    for id in 1..=i64::from(args.accounts) {
        tx.execute(&insert, &params![id, args.initial_balance])
            .await?;
    }
    tx.commit().await?;
    Ok(bank)
}

/// Drops the bank's tables.
pub(crate) async fn teardown(bank: &Bank) -> Result<()> {
    for table in [&bank.ledger, &bank.accounts] {
        bank.engine
            .execute(&format!("DROP TABLE IF EXISTS {table}"), &[])
            .await?;
    }
    Ok(())
}

/// Credits one cent out of nowhere to account 1: a broken invariant, for testing the
/// checker.
pub(crate) async fn inject_fault(bank: &Bank) -> Result<()> {
    bank.engine
        .execute(
            &format!(
                "UPDATE {} SET balance = balance + 1 WHERE id = 1",
                bank.accounts
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
    strategy: Strategy,
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
        strategy: Strategy::new(strategy, workers),
        policy: strategy::policy(args.max_attempts),
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
        shared.strategy.shutdown().await;
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(total),
    }
}

async fn worker(shared: Arc<Shared>, w: u32, seed: u64) -> Result<RunResult> {
    let mut rng = XorShift::new(seed, u64::from(w));
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
        let transfer = pick(&mut rng, shared.accounts, format!("w{w}-{seq}"));
        let started = Instant::now();
        let attempted = shared
            .strategy
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
            Ok(Outcome::Committed) => {
                out.committed += 1;
                c.committed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Outcome::Refused) => {
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

/// A random transfer between two distinct accounts of `1..=accounts`, of 1 to 50 cents.
fn pick(rng: &mut XorShift, accounts: u64, id: String) -> Transfer {
    let from = rng.below(accounts);
    let to = (from + 1 + rng.below(accounts - 1)) % accounts;
    let amount = 1 + rng.below(50);
    Transfer {
        id,
        from: i64::try_from(from + 1).unwrap_or(1),
        to: i64::try_from(to + 1).unwrap_or(2),
        amount: i64::try_from(amount).unwrap_or(1),
    }
}

#[cfg(test)]
mod tests {
    use super::{XorShift, pick};

    #[test]
    fn picks_distinct_accounts_and_small_amounts() {
        let mut rng = XorShift::new(42, 0);
        for n in 0..1000 {
            let t = pick(&mut rng, 3, format!("t{n}"));
            assert_ne!(t.from, t.to);
            assert!((1..=3).contains(&t.from) && (1..=3).contains(&t.to));
            assert!((1..=50).contains(&t.amount));
        }
    }
}
