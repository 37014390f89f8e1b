//! The operations every contender runs, the object-safe traits they implement, and the
//! batch runner that times them: `tasks` tokio tasks, each with its own worker (a pool
//! handle, or a dedicated connection for the raw drivers), each running `per_task` ops.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use txkit_bank::Rng;

/// Rows in one INSERT batch (one transaction).
pub(crate) const BATCH_ROWS: i64 = 100;

pub(crate) type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a cell measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Work {
    /// Lock two accounts (in id order), debit, credit, ledger INSERT, COMMIT.
    Transfer,
    /// The transfer with its locks asked for in a random order (payer first): the plain
    /// contenders still lock in id order, their `random-order` twins
    /// (`random_order.rs`) as the order comes.
    RandomOrder,
    /// `SELECT balance … WHERE id = ?`, outside a transaction.
    PointRead,
    /// 100 single-row INSERTs in one transaction.
    InsertBatch,
    /// `SELECT 1`.
    Select1,
    /// Read 100 versioned rows, change every balance, write each with a version-checked
    /// UPDATE, COMMIT (`flush.rs`); each task on rows of its own.
    Flush,
}

impl Work {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Work::Transfer => "transfer",
            Work::RandomOrder => "transfer_random_order",
            Work::PointRead => "point_read",
            Work::InsertBatch => "insert_batch",
            Work::Select1 => "select1",
            Work::Flush => "flush",
        }
    }
}

/// One operation, with its arguments drawn by the task that runs it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    /// Move one cent from `from` to `to` (distinct ids).
    Transfer {
        from: i64,
        to: i64,
    },
    /// The same, locking `from` then `to` — a deadlock waiting to happen between two
    /// transfers over the same pair in opposite directions.
    TransferRandomOrder {
        from: i64,
        to: i64,
    },
    PointRead {
        id: i64,
    },
    /// Insert [`BATCH_ROWS`] item rows carrying `tag`.
    InsertBatch {
        tag: i64,
    },
    Select1,
    /// The flush unit of work on the [`crate::flush::ROWS`] rows from id `first`.
    Flush {
        first: i64,
    },
}

/// One worker of one contender, owned by one task for a whole batch.
pub(crate) trait Worker: Send {
    /// Runs `op`, panicking (with the contender's name) on any error: a benchmark that
    /// silently skips work would time nothing.
    fn run(&mut self, op: Op) -> BoxFut<'_, ()>;
}

/// A library under test, connected to one database.
pub(crate) trait Contender: Send + Sync {
    fn name(&self) -> &'static str;
    /// A worker for one task: a clone of the pool, or a new dedicated connection.
    fn worker(&self) -> BoxFut<'_, Box<dyn Worker>>;
    /// Whether this contender takes part in cells of `work` (txkit's pipelined session is
    /// only measured where it differs from plain txkit).
    fn runs(&self, work: Work) -> bool {
        let _ = work;
        true
    }
    /// Closes the contender's pool (the raw drivers have none: their connections close
    /// with their workers).
    fn close(&self) -> BoxFut<'_, ()> {
        Box::pin(async {})
    }
}

/// A cell's work: what to run, over how many accounts (10 = hot rows, 1,000,000 = none
/// shared).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    pub(crate) work: Work,
    pub(crate) accounts: i64,
}

impl Plan {
    /// The next op of task `task` (`tag` numbers the INSERT batches), its accounts drawn
    /// from `rng` (the bank workload's generator; each task its own stream).
    pub(crate) fn op(&self, rng: &mut Rng, task: usize, tag: i64) -> Op {
        let accounts = self.accounts.unsigned_abs();
        match self.work {
            Work::Transfer | Work::RandomOrder => {
                let (from, to) = rng.account_pair(accounts);
                Op::Transfer { from, to }
            }
            Work::PointRead => Op::PointRead {
                id: rng.account(accounts),
            },
            Work::InsertBatch => Op::InsertBatch { tag },
            Work::Select1 => Op::Select1,
            Work::Flush => Op::Flush {
                first: crate::flush::first_id(task),
            },
        }
    }
}

/// How many tasks a cell runs, and over how many connections each contender puts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Sizing {
    pub(crate) tasks: usize,
    pub(crate) connections: usize,
}

/// What one batch measured.
pub(crate) struct Batch {
    pub(crate) elapsed: Duration,
    /// Every op's latency, all tasks together.
    pub(crate) latencies: Vec<Duration>,
}

/// Runs one batch: each worker on its own task doing `per_task` ops of `plan`; gives the
/// workers back for the next batch.
pub(crate) async fn batch(
    workers: Vec<Box<dyn Worker>>,
    plan: Plan,
    per_task: usize,
    seed: u64,
) -> (Vec<Box<dyn Worker>>, Batch) {
    let start = Instant::now();
    let handles: Vec<_> = workers
        .into_iter()
        .enumerate()
        .map(|(i, mut worker)| {
            tokio::spawn(async move {
                let mut rng = Rng::new(seed, i as u64);
                let mut latencies = Vec::with_capacity(per_task);
                for n in 0..per_task {
                    let op = plan.op(&mut rng, i, (i * per_task + n) as i64);
                    let t = Instant::now();
                    worker.run(op).await;
                    latencies.push(t.elapsed());
                }
                (worker, latencies)
            })
        })
        .collect();
    let mut workers = Vec::with_capacity(handles.len());
    let mut latencies = Vec::new();
    for handle in handles {
        let (worker, l) = handle.await.expect("a bench task panicked");
        workers.push(worker);
        latencies.extend(l);
    }
    let elapsed = start.elapsed();
    (workers, Batch { elapsed, latencies })
}

/// `tasks` workers of `contender`.
pub(crate) async fn workers(contender: &dyn Contender, tasks: usize) -> Vec<Box<dyn Worker>> {
    let mut out = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        out.push(contender.worker().await);
    }
    out
}

/// The `q`-quantile (0..=1) of `sorted`.
pub(crate) fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
