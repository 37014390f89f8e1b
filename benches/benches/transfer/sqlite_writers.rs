//! SQLite writes from 8 tasks, four ways: txkit's `QueueWorker` (every transfer handed
//! to one worker that runs them one at a time), plain concurrent IMMEDIATE transactions
//! (each task its own `engine.begin_with(IMMEDIATE)` on a pool of 8: the writers queue at
//! the file's in-process write gate), naive concurrent transactions (each task its own
//! `engine.begin()` — DEFERRED, as a first try looks, reading before it writes), and one
//! connection writing alone (pool of 1, one task doing all the transfers). Counts any
//! SQLITE_BUSY that reached a caller (txkit: LockTimeout for BUSY, SerializationFailure
//! for BUSY_SNAPSHOT); other errors abort the bench.

use std::sync::Arc;
use std::time::{Duration, Instant};

use txkit::{Engine, ErrorKind, QueueWorker, SqliteBehavior, TxOptions, params};
use txkit_bank::Rng;

use crate::schema::{ACCOUNTS, Backend, check, q};
use crate::workload::{Plan, Work, quantile};

pub(crate) const TASKS: usize = 8;

/// The execution modes the writers run on, as the `execution` URL option spells them.
const EXECUTIONS: [&str; 2] = ["thread", "inline"];

/// What one way measured in one round.
struct RoundResult {
    way: &'static str,
    elapsed: Duration,
    committed: u64,
    busy: u64,
}

/// How the concurrent tasks write.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    /// Every transfer handed to one queue worker.
    Queued,
    /// Each task its own BEGIN IMMEDIATE.
    Immediate,
    /// Each task its own BEGIN (DEFERRED).
    Naive,
}

impl Way {
    fn name(self) -> &'static str {
        match self {
            Way::Queued => "queue-worker",
            Way::Immediate => "immediate-concurrent",
            Way::Naive => "naive-concurrent",
        }
    }
}

async fn transfer(engine: &Engine, from: i64, to: i64, immediate: bool) -> txkit::Result<()> {
    let (low, high) = (from.min(to), from.max(to));
    let mut tx = if immediate {
        let opts = TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate);
        engine.begin_with(opts).await?
    } else {
        engine.begin().await?
    };
    let rows = tx.query(q::LOCK_SQLITE, &params![low, high]).await?;
    assert_eq!(rows.len(), 2, "both accounts read");
    tx.execute(q::DEBIT, &params![1, from]).await?;
    tx.execute(q::CREDIT, &params![1, to]).await?;
    tx.execute(q::RECORD, &params![from, to, 1]).await?;
    tx.commit().await
}

/// Whether `e` is SQLite saying BUSY (in either form).
fn busy(e: &txkit::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::LockTimeout | ErrorKind::SerializationFailure
    )
}

fn ops(task: usize, per_task: usize) -> Vec<(i64, i64)> {
    let plan = Plan {
        work: Work::Transfer,
        accounts: ACCOUNTS,
    };
    let mut rng = Rng::new(99, task as u64);
    (0..per_task)
        .map(|n| match plan.op(&mut rng, task, n as i64) {
            crate::workload::Op::Transfer { from, to } => (from, to),
            other => unreachable!("{other:?}"),
        })
        .collect()
}

fn tally(result: txkit::Result<()>, committed: &mut u64, busy_errors: &mut u64) {
    match result {
        Ok(()) => *committed += 1,
        Err(e) if busy(&e) => *busy_errors += 1,
        Err(e) => panic!("sqlite writers: {e}"),
    }
}

/// `TASKS` tasks writing at once on a pool of `TASKS`, `way`.
async fn concurrent(url: &str, per_task: usize, way: Way) -> RoundResult {
    let engine = Engine::builder(url)
        .pool_size(TASKS)
        .build()
        .await
        .expect("engine");
    let worker = (way == Way::Queued).then(|| Arc::new(QueueWorker::spawn(TASKS)));
    let immediate = way == Way::Immediate;
    let start = Instant::now();
    let handles: Vec<_> = (0..TASKS)
        .map(|task| {
            let (engine, worker) = (engine.clone(), worker.clone());
            tokio::spawn(async move {
                let (mut committed, mut busy_errors) = (0, 0);
                for (from, to) in ops(task, per_task) {
                    let result = match &worker {
                        Some(worker) => {
                            let engine = engine.clone();
                            worker
                                .submit(
                                    move || async move { transfer(&engine, from, to, false).await },
                                )
                                .await
                                .and_then(|r| r)
                        }
                        None => transfer(&engine, from, to, immediate).await,
                    };
                    tally(result, &mut committed, &mut busy_errors);
                }
                (committed, busy_errors)
            })
        })
        .collect();
    let (committed, busy) = sum(handles).await;
    let elapsed = start.elapsed();
    engine.close().await;
    RoundResult {
        way: way.name(),
        elapsed,
        committed,
        busy,
    }
}

async fn alone(url: &str, per_task: usize) -> RoundResult {
    let engine = Engine::builder(url)
        .pool_size(1)
        .build()
        .await
        .expect("engine");
    let start = Instant::now();
    let (mut committed, mut busy_errors) = (0, 0);
    for task in 0..TASKS {
        for (from, to) in ops(task, per_task) {
            tally(
                transfer(&engine, from, to, false).await,
                &mut committed,
                &mut busy_errors,
            );
        }
    }
    let elapsed = start.elapsed();
    engine.close().await;
    RoundResult {
        way: "one-connection",
        elapsed,
        committed,
        busy: busy_errors,
    }
}

async fn sum(handles: Vec<tokio::task::JoinHandle<(u64, u64)>>) -> (u64, u64) {
    let mut total = (0, 0);
    for h in handles {
        let (c, b) = h.await.expect("writer task");
        total = (total.0 + c, total.1 + b);
    }
    total
}

/// One way's rounds, on one execution mode.
pub(crate) struct Rounds {
    pub(crate) execution: &'static str,
    pub(crate) way: &'static str,
    pub(crate) elapsed: Vec<Duration>,
    pub(crate) committed: u64,
    pub(crate) busy: u64,
}

/// The four ways, `rounds` times each in a rotating order, on `url` with each execution
/// mode (`thread`, `inline`), `per_task` transfers per task each time; after each, checks
/// that the ledger grew by exactly the transfers committed and no cent moved wrongly.
pub(crate) async fn run(url: &str, per_task: usize, rounds: usize) -> Vec<Rounds> {
    let checker = Engine::connect(url).await.expect("engine");
    let mut out = Vec::new();
    for execution in EXECUTIONS {
        let url = format!("{url}?execution={execution}");
        let names = [
            Way::Queued.name(),
            Way::Immediate.name(),
            Way::Naive.name(),
            "one-connection",
        ];
        let mut ways: Vec<Rounds> = names
            .into_iter()
            .map(|way| Rounds {
                execution,
                way,
                elapsed: Vec::new(),
                committed: 0,
                busy: 0,
            })
            .collect();
        for round in 0..rounds {
            for i in 0..ways.len() {
                let way = (round + i) % ways.len();
                let before = check(&checker, Backend::Sqlite).await;
                let outcome = match way {
                    0 => concurrent(&url, per_task, Way::Queued).await,
                    1 => concurrent(&url, per_task, Way::Immediate).await,
                    2 => concurrent(&url, per_task, Way::Naive).await,
                    _ => alone(&url, per_task).await,
                };
                let after = check(&checker, Backend::Sqlite).await;
                assert_eq!(
                    after.ledger - before.ledger,
                    outcome.committed as i64,
                    "{}: ledger rows and commits differ",
                    outcome.way
                );
                assert_eq!(
                    outcome.committed + outcome.busy,
                    (TASKS * per_task) as u64,
                    "{}: a transfer is unaccounted for",
                    outcome.way
                );
                let tally = &mut ways[way];
                tally.elapsed.push(outcome.elapsed);
                tally.committed += outcome.committed;
                tally.busy += outcome.busy;
            }
        }
        out.extend(ways);
    }
    checker.close().await;
    out
}

/// One line per way and execution mode (median time of a round, per commit), then per mode
/// the queue worker's throughput over one connection's.
pub(crate) fn print(all: &[Rounds], per_task: usize) {
    let median = |r: &Rounds| {
        let mut sorted = r.elapsed.clone();
        sorted.sort();
        quantile(&sorted, 0.5)
    };
    for r in all {
        let rounds = r.elapsed.len().max(1) as u64;
        let per_round = r.committed / rounds;
        let per = median(r).as_secs_f64() * 1e6 / per_round.max(1) as f64;
        println!(
            "SQLITE_WRITERS execution={} {} tasks={TASKS} rounds={rounds} committed={} \
             busy_reached_caller={} median_round_ms={:.1} per_commit_us={per:.0}",
            r.execution,
            r.way,
            r.committed,
            r.busy,
            median(r).as_secs_f64() * 1e3
        );
    }
    for execution in EXECUTIONS {
        let find = |way: &str| {
            all.iter()
                .find(|r| r.execution == execution && r.way == way)
        };
        let Some(alone) = find("one-connection") else {
            continue;
        };
        for way in [Way::Queued, Way::Immediate] {
            let Some(concurrent) = find(way.name()) else {
                continue;
            };
            // Both commit every transfer: throughput is inverse to the round's time.
            println!(
                "SQLITE_WRITERS_RATIO execution={execution} tasks={TASKS} per_task={per_task} \
                 {}/one-connection-throughput={:.2} busy_reached_caller={}",
                way.name(),
                median(alone).as_secs_f64() / median(concurrent).as_secs_f64(),
                concurrent.busy
            );
        }
    }
}
