//! The pieces the pool benchmarks share: connections and managers that do nothing, the three
//! pools built on them, and the timed batch of checkouts.

use std::future::{Future, ready};
use std::hint::black_box;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use txkit_core::{
    Connection, Dialect, Pool, PoolConfig, ResetMode, Result, Row, RowLock, TableLock, TxOptions,
    Value,
};

/// Checkouts per task in one batch.
pub(crate) const PER_TASK: usize = 1000;

// ---------------------------------------------------------------- the no-op connections

/// A dialect for a connection that never builds SQL.
pub(crate) struct NoopDialect;

impl Dialect for NoopDialect {
    fn name(&self) -> &'static str {
        "noop"
    }
    fn quote_identifier(&self, ident: &str) -> Result<String> {
        Ok(format!("\"{ident}\""))
    }
    fn placeholder(&self, _index: usize) -> String {
        "?".to_owned()
    }
    fn begin_sql(&self, _opts: &TxOptions) -> Result<String> {
        Ok("BEGIN".to_owned())
    }
    fn row_lock_clause(&self, _lock: &RowLock) -> Result<String> {
        Ok(String::new())
    }
    fn table_lock_sql(&self, _table: &str, _lock: &TableLock) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

/// A txkit connection whose every method is a ready future.
pub(crate) struct NoopConnection;

impl Connection for NoopConnection {
    fn dialect(&self) -> &dyn Dialect {
        &NoopDialect
    }
    fn execute(&mut self, _: &str, _: &[Value]) -> impl Future<Output = Result<u64>> + Send {
        ready(Ok(0))
    }
    fn query(&mut self, _: &str, _: &[Value]) -> impl Future<Output = Result<Vec<Row>>> + Send {
        ready(Ok(Vec::new()))
    }
    fn batch(&mut self, _: &str) -> impl Future<Output = Result<()>> + Send {
        ready(Ok(()))
    }
    fn begin(&mut self, _: &TxOptions) -> impl Future<Output = Result<()>> + Send {
        ready(Ok(()))
    }
    fn commit(&mut self) -> impl Future<Output = Result<()>> + Send {
        ready(Ok(()))
    }
    fn rollback(&mut self) -> impl Future<Output = Result<()>> + Send {
        ready(Ok(()))
    }
    fn ping(&mut self) -> impl Future<Output = Result<()>> + Send {
        ready(Ok(()))
    }
    fn server_in_transaction(&mut self) -> impl Future<Output = Result<bool>> + Send {
        ready(Ok(false))
    }
    fn recover(&mut self) -> impl Future<Output = Result<()>> + Send {
        ready(Ok(()))
    }
    fn reset(&mut self, _: ResetMode) -> impl Future<Output = Result<()>> + Send {
        ready(Ok(()))
    }
    fn is_broken(&self) -> bool {
        false
    }
    fn close(self) -> impl Future<Output = ()> + Send {
        ready(())
    }
}

/// The deadpool and bb8 connection: nothing at all.
pub(crate) struct NoopRaw;

/// A deadpool manager and bb8 connection manager for [`NoopRaw`].
pub(crate) struct NoopManager;

impl deadpool::managed::Manager for NoopManager {
    type Type = NoopRaw;
    type Error = std::convert::Infallible;

    fn create(&self) -> impl Future<Output = std::result::Result<NoopRaw, Self::Error>> + Send {
        ready(Ok(NoopRaw))
    }
    fn recycle(
        &self,
        _: &mut NoopRaw,
        _: &deadpool::managed::Metrics,
    ) -> impl Future<Output = deadpool::managed::RecycleResult<Self::Error>> + Send {
        ready(Ok(()))
    }
}

impl bb8::ManageConnection for NoopManager {
    type Connection = NoopRaw;
    type Error = std::convert::Infallible;

    fn connect(&self) -> impl Future<Output = std::result::Result<NoopRaw, Self::Error>> + Send {
        ready(Ok(NoopRaw))
    }
    fn is_valid(
        &self,
        _: &mut NoopRaw,
    ) -> impl Future<Output = std::result::Result<(), Self::Error>> + Send {
        ready(Ok(()))
    }
    fn has_broken(&self, _: &mut NoopRaw) -> bool {
        false
    }
}

// ---------------------------------------------------------------- the pools under test

/// One checkout and return, on any of the pools.
pub(crate) trait BenchPool: Clone + Send + Sync + 'static {
    /// One checkout and return; with `hold`, the connection is held across a `yield_now`.
    fn cycle(&self, hold: bool) -> impl Future<Output = ()> + Send;
}

#[derive(Clone)]
pub(crate) struct Txkit(Pool<NoopConnection>);

impl BenchPool for Txkit {
    async fn cycle(&self, hold: bool) {
        let conn = self.0.get().await.expect("txkit checkout");
        if hold {
            tokio::task::yield_now().await;
        }
        black_box(&conn);
    }
}

#[derive(Clone)]
pub(crate) struct Deadpool(deadpool::managed::Pool<NoopManager>);

impl BenchPool for Deadpool {
    async fn cycle(&self, hold: bool) {
        let conn = self.0.get().await.expect("deadpool checkout");
        if hold {
            tokio::task::yield_now().await;
        }
        black_box(&conn);
    }
}

#[derive(Clone)]
pub(crate) struct Bb8(bb8::Pool<NoopManager>);

impl BenchPool for Bb8 {
    async fn cycle(&self, hold: bool) {
        let conn = self.0.get().await.expect("bb8 checkout");
        if hold {
            tokio::task::yield_now().await;
        }
        black_box(&conn);
    }
}

/// txkit with its usual bookkeeping: stats, events, a 30 s wait timeout, `recycle` (so the
/// clock is read at checkout and return), LIFO, rollback-on-return checks.
pub(crate) fn txkit_pool(size: usize) -> Txkit {
    let mut config = PoolConfig::default();
    config.size = size;
    config.max_overflow = 0;
    config.timeout = Duration::from_secs(30);
    config.recycle = Some(Duration::from_secs(3600));
    let connector = || ready(Ok::<_, txkit_core::Error>(NoopConnection));
    Txkit(Pool::new(
        Box::new(connector),
        config,
        TxOptions::new(),
        "noop",
    ))
}

/// deadpool with a 30 s wait timeout (its other settings at their defaults: FIFO, recycle
/// called at every checkout).
pub(crate) fn deadpool_pool(size: usize) -> Deadpool {
    let pool = deadpool::managed::Pool::builder(NoopManager)
        .max_size(size)
        .wait_timeout(Some(Duration::from_secs(30)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .expect("deadpool pool");
    Deadpool(pool)
}

/// bb8 at its defaults (test on checkout, 30 s connection timeout, 10 min idle timeout,
/// FIFO, reaper), with `max_lifetime` 1 h as txkit's `recycle`.
pub(crate) async fn bb8_pool(size: usize) -> Bb8 {
    let pool = bb8::Pool::builder()
        .max_size(u32::try_from(size).expect("size"))
        .max_lifetime(Duration::from_secs(3600))
        .build(NoopManager)
        .await
        .expect("bb8 pool");
    Bb8(pool)
}

// ---------------------------------------------------------------- the timed batch

/// The runtime every pool runs on: multi-threaded, 2 workers.
pub(crate) fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs `iters` batches of `tasks` tasks doing [`PER_TASK`] cycles each; the time of all.
pub(crate) async fn batches<P: BenchPool>(
    pool: &P,
    tasks: usize,
    hold: bool,
    iters: u64,
) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    for _ in 0..PER_TASK {
                        pool.cycle(hold).await;
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
