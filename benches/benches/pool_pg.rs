//! `SELECT 1` through a pool of 8 connections to a real PostgreSQL, from 8, 16 and 32
//! concurrent tasks: txkit's engine against deadpool-postgres and sqlx's `PgPool`.
//!
//! The server is `TXKIT_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! when it cannot be reached, the bench prints why and measures nothing. Each batch runs
//! `tasks` tasks doing 100 checkout + `SELECT 1` + return each. `deadpool-postgres` sends
//! `client.query("SELECT 1")` (parse + execute each time, as asked of it), and
//! `deadpool-postgres-cached` goes through its statement cache (`prepare_cached`), the fair
//! match for txkit's and sqlx's caches. With `TXKIT_BENCH_RATIOS=1` the bench prints txkit's
//! time over each other pool's instead, timing one batch of each per round in rotating order.

// A benchmark is a binary: panicking on a setup error is the right answer.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use tokio::runtime::Runtime;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Connections in every pool.
const POOL_SIZE: usize = 8;
/// Concurrent tasks.
const TASKS: [usize; 3] = [8, 16, 32];
/// Queries per task in one batch.
const PER_TASK: usize = 100;

/// One checkout, `SELECT 1`, return.
trait BenchPool: Clone + Send + Sync + 'static {
    fn select_one(&self) -> impl Future<Output = ()> + Send;
}

#[derive(Clone)]
struct Txkit(txkit::Engine);

impl BenchPool for Txkit {
    async fn select_one(&self) {
        let mut conn = self.0.connection().await.expect("txkit checkout");
        let rows = conn.query("SELECT 1", &[]).await.expect("txkit SELECT 1");
        black_box(rows);
    }
}

/// deadpool-postgres with `client.query("SELECT 1")` (prepares the text every time).
#[derive(Clone)]
struct DeadpoolPg(deadpool_postgres::Pool);

impl BenchPool for DeadpoolPg {
    async fn select_one(&self) {
        let client = self.0.get().await.expect("deadpool-postgres checkout");
        let rows = client.query("SELECT 1", &[]).await.expect("SELECT 1");
        black_box(rows);
    }
}

/// deadpool-postgres with its per-connection statement cache (`prepare_cached`).
#[derive(Clone)]
struct DeadpoolPgCached(deadpool_postgres::Pool);

impl BenchPool for DeadpoolPgCached {
    async fn select_one(&self) {
        let client = self.0.get().await.expect("deadpool-postgres checkout");
        let stmt = client.prepare_cached("SELECT 1").await.expect("prepare");
        let rows = client.query(&stmt, &[]).await.expect("SELECT 1");
        black_box(rows);
    }
}

#[derive(Clone)]
struct Sqlx(sqlx::PgPool);

impl BenchPool for Sqlx {
    async fn select_one(&self) {
        let rows = sqlx::query("SELECT 1")
            .fetch_all(&self.0)
            .await
            .expect("sqlx SELECT 1");
        black_box(rows);
    }
}

async fn txkit_pool(url: &str) -> Txkit {
    let engine = txkit::Engine::builder(url)
        .pool_size(POOL_SIZE)
        .max_overflow(0)
        .build()
        .await
        .expect("txkit engine");
    Txkit(engine)
}

fn deadpool_pg_pool(url: &str) -> deadpool_postgres::Pool {
    let config: tokio_postgres::Config = url.parse().expect("PostgreSQL URL");
    let manager = deadpool_postgres::Manager::from_config(
        config,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    deadpool_postgres::Pool::builder(manager)
        .max_size(POOL_SIZE)
        .wait_timeout(Some(Duration::from_secs(30)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .expect("deadpool-postgres pool")
}

async fn sqlx_pool(url: &str) -> Sqlx {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(u32::try_from(POOL_SIZE).expect("size"))
        .connect(url)
        .await
        .expect("sqlx pool");
    Sqlx(pool)
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

async fn batches<P: BenchPool>(pool: &P, tasks: usize, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    for _ in 0..PER_TASK {
                        pool.select_one().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("bench task");
        }
    }
    start.elapsed()
}

fn bench_one<P: BenchPool>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &Runtime,
    name: &str,
    pool: &P,
    tasks: usize,
) {
    let id = BenchmarkId::new(name, format!("size{POOL_SIZE}_tasks{tasks}"));
    group.bench_function(id, |b| {
        b.to_async(rt)
            .iter_custom(|iters| batches(pool, tasks, iters));
    });
}

/// Why the server cannot be used, if it cannot.
fn unreachable_reason(rt: &Runtime, url: &str) -> Option<String> {
    rt.block_on(async {
        let connect = tokio_postgres::connect(url, tokio_postgres::NoTls);
        match tokio::time::timeout(Duration::from_secs(3), connect).await {
            Ok(Ok((client, connection))) => {
                drop(client);
                drop(connection);
                None
            }
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some("no answer within 3 s".to_owned()),
        }
    })
}

/// Rounds per task count in the ratio table.
const ROUNDS: usize = 15;

/// Prints txkit's time over each other pool's for every task count (median batch, and
/// fastest batch in brackets), timing one batch of each pool per round in rotating order
/// so load from elsewhere on the machine hits them alike.
fn ratio_table(rt: &Runtime, url: &str) {
    let txkit = rt.block_on(txkit_pool(url));
    let deadpool = rt.block_on(async { deadpool_pg_pool(url) });
    let plain = DeadpoolPg(deadpool.clone());
    let cached = DeadpoolPgCached(deadpool);
    let sqlx = rt.block_on(sqlx_pool(url));
    println!(
        "select1, pool size {POOL_SIZE}: txkit / deadpool-postgres, / deadpool-postgres-cached, \
         / sqlx (median batch [fastest batch]); txkit median"
    );
    for tasks in TASKS {
        let mut times: [Vec<Duration>; 4] = Default::default();
        rt.block_on(async {
            for round in 0..=ROUNDS {
                for k in 0..4 {
                    let which = (round + k) % 4;
                    let t = match which {
                        0 => batches(&txkit, tasks, 1).await,
                        1 => batches(&plain, tasks, 1).await,
                        2 => batches(&cached, tasks, 1).await,
                        _ => batches(&sqlx, tasks, 1).await,
                    };
                    // Round 0 warms the pools up (opens the connections).
                    if round > 0 {
                        times[which].push(t);
                    }
                }
            }
        });
        let [t, d, c, s] = times.map(|mut t| {
            t.sort_unstable();
            (t[t.len() / 2], t[0])
        });
        let r = |x: Duration, y: Duration| x.as_secs_f64() / y.as_secs_f64();
        println!(
            "  tasks {tasks:>2}: {:.2} [{:.2}]  {:.2} [{:.2}]  {:.2} [{:.2}]  {:.2} ms",
            r(t.0, d.0),
            r(t.1, d.1),
            r(t.0, c.0),
            r(t.1, c.1),
            r(t.0, s.0),
            r(t.1, s.1),
            t.0.as_secs_f64() * 1e3
        );
    }
}

/// SQLAlchemy's default sizes under more tasks than connections: txkit with pool_size 5 +
/// max_overflow 10 against pool_size 16, 16 tasks, one batch of each per round in rotating
/// order; prints the 5 + 10 pool's throughput over the 16 pool's and each one's connects.
fn default_sizes_table(rt: &Runtime, url: &str) {
    const TASKS_HERE: usize = 16;
    let sized = |size: usize, overflow: usize| {
        rt.block_on(async {
            txkit::Engine::builder(url)
                .pool_size(size)
                .max_overflow(overflow)
                .build()
                .await
                .expect("txkit engine")
        })
    };
    let pools = [Txkit(sized(5, 10)), Txkit(sized(16, 0))];
    let mut times: [Vec<Duration>; 2] = Default::default();
    rt.block_on(async {
        for round in 0..=ROUNDS {
            for k in 0..2 {
                let which = (round + k) % 2;
                let t = batches(&pools[which], TASKS_HERE, 1).await;
                if round > 0 {
                    times[which].push(t);
                }
            }
        }
    });
    let [small, big] = times.map(|mut t| {
        t.sort_unstable();
        (t[t.len() / 2], t[0])
    });
    let r = |x: Duration, y: Duration| y.as_secs_f64() / x.as_secs_f64();
    println!(
        "select1, 16 tasks: pool 5 + overflow 10 throughput / pool 16: {:.2} [{:.2}]; connects \
         {} and {}",
        r(small.0, big.0),
        r(small.1, big.1),
        pools[0].0.stats().connects,
        pools[1].0.stats().connects
    );
}

fn main() {
    let url = std::env::var("TXKIT_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let rt = runtime();
    if let Some(reason) = unreachable_reason(&rt, &url) {
        println!("pool_pg: skipped, PostgreSQL (TXKIT_POSTGRES_URL) is unreachable: {reason}");
        return;
    }
    if std::env::var_os("TXKIT_BENCH_RATIOS").is_some() {
        ratio_table(&rt, &url);
        default_sizes_table(&rt, &url);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("select1");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    let txkit = rt.block_on(txkit_pool(&url));
    let deadpool = rt.block_on(async { deadpool_pg_pool(&url) });
    let sqlx = rt.block_on(sqlx_pool(&url));
    for tasks in TASKS {
        group.throughput(Throughput::Elements((tasks * PER_TASK) as u64));
        bench_one(&mut group, &rt, "txkit", &txkit, tasks);
        bench_one(
            &mut group,
            &rt,
            "deadpool-postgres",
            &DeadpoolPg(deadpool.clone()),
            tasks,
        );
        bench_one(
            &mut group,
            &rt,
            "deadpool-postgres-cached",
            &DeadpoolPgCached(deadpool.clone()),
            tasks,
        );
        bench_one(&mut group, &rt, "sqlx", &sqlx, tasks);
    }
    group.finish();
    rt.block_on(async {
        txkit.0.close().await;
        sqlx.0.close().await;
    });
    c.final_summary();
}
