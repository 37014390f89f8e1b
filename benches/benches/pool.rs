//! Checkout-and-return throughput of txkit's pool against deadpool and bb8, with connections
//! that do nothing, so only the pools' own work is timed.
//!
//! Each measured batch spawns `tasks` tokio tasks on a 2-worker runtime; each task checks a
//! connection out and returns it [`PER_TASK`] times. Two shapes:
//! - `checkout`: return at once (the uncontended fast path: a task rarely yields);
//! - `checkout_yield`: hold the connection across one `yield_now` (tasks interleave, so with
//!   more tasks than connections checkouts wait in the pool's queue).
//!
//! Pool sizes 4, 8, 16, 32 × tasks 8, 16, 32, one criterion group per shape with a
//! `BenchmarkId` per pool and cell. With `TXKIT_BENCH_RATIOS=1` the bench instead prints
//! txkit's time over deadpool's and bb8's for every cell, timing one batch of each pool per
//! round in rotating order (31 rounds), which holds up on a machine with other load where
//! criterion's one-after-the-other runs do not.

// A benchmark is a binary: panicking on a setup error is the right answer, and criterion's
// macros generate undocumented items.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod noop;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use tokio::runtime::Runtime;

use noop::{BenchPool, PER_TASK, batches, bb8_pool, deadpool_pool, runtime, txkit_pool};

/// Pool sizes (max_overflow 0, so also the most connections open).
const SIZES: [usize; 4] = [4, 8, 16, 32];
/// Concurrent tasks.
const TASKS: [usize; 3] = [8, 16, 32];

fn bench_one<P: BenchPool>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &Runtime,
    name: &str,
    pool: &P,
    (size, tasks): (usize, usize),
    hold: bool,
) {
    let id = BenchmarkId::new(name, format!("size{size}_tasks{tasks}"));
    group.bench_function(id, |b| {
        b.to_async(rt)
            .iter_custom(|iters| batches(pool, tasks, hold, iters));
    });
}

fn checkout(c: &mut Criterion, group_name: &str, hold: bool) {
    let rt = runtime();
    let mut group = c.benchmark_group(group_name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500));
    for size in SIZES {
        for tasks in TASKS {
            group.throughput(Throughput::Elements((tasks * PER_TASK) as u64));
            // The three pools run back to back for each cell, so drift hits them alike.
            let txkit = rt.block_on(async { txkit_pool(size) });
            bench_one(&mut group, &rt, "txkit", &txkit, (size, tasks), hold);
            let deadpool = deadpool_pool(size);
            bench_one(&mut group, &rt, "deadpool", &deadpool, (size, tasks), hold);
            let bb8 = rt.block_on(bb8_pool(size));
            bench_one(&mut group, &rt, "bb8", &bb8, (size, tasks), hold);
        }
    }
    group.finish();
}

fn checkout_return(c: &mut Criterion) {
    checkout(c, "checkout", false);
}

fn checkout_yield(c: &mut Criterion) {
    checkout(c, "checkout_yield", true);
}

criterion_group!(benches, checkout_return, checkout_yield);

// ---------------------------------------------------------------- the ratio table

/// Rounds per cell in the ratio table.
const ROUNDS: usize = 31;

/// Times one batch of each pool per round, in rotating order, so load from elsewhere on the
/// machine hits the three alike; returns each pool's median and fastest batch.
async fn interleaved(size: usize, tasks: usize, hold: bool) -> [(Duration, Duration); 3] {
    let txkit = txkit_pool(size);
    let deadpool = deadpool_pool(size);
    let bb8 = bb8_pool(size).await;
    let mut times: [Vec<Duration>; 3] = Default::default();
    for round in 0..=ROUNDS {
        for k in 0..3 {
            let which = (round + k) % 3;
            let t = match which {
                0 => batches(&txkit, tasks, hold, 1).await,
                1 => batches(&deadpool, tasks, hold, 1).await,
                _ => batches(&bb8, tasks, hold, 1).await,
            };
            // Round 0 warms the pools up (opens the connections).
            if round > 0 {
                times[which].push(t);
            }
        }
    }
    times.map(|mut t| {
        t.sort_unstable();
        (t[t.len() / 2], t[0])
    })
}

/// Prints txkit's time over deadpool's and over bb8's for every cell (median batch, and
/// fastest batch in brackets), instead of running criterion.
fn ratio_table() {
    let rt = runtime();
    for (shape, hold) in [("checkout", false), ("checkout_yield", true)] {
        println!("{shape}: txkit/deadpool, txkit/bb8 (median batch [fastest batch]); txkit median");
        for size in SIZES {
            for tasks in TASKS {
                let [t, d, b] = rt.block_on(interleaved(size, tasks, hold));
                let r = |x: Duration, y: Duration| x.as_secs_f64() / y.as_secs_f64();
                println!(
                    "  size {size:>2} tasks {tasks:>2}: {:.2} [{:.2}]  {:.2} [{:.2}]  {:.2} ms",
                    r(t.0, d.0),
                    r(t.1, d.1),
                    r(t.0, b.0),
                    r(t.1, b.1),
                    t.0.as_secs_f64() * 1e3
                );
            }
        }
    }
}

fn main() {
    if std::env::var_os("TXKIT_BENCH_RATIOS").is_some() {
        ratio_table();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
