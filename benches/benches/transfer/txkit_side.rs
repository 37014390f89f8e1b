//! txkit's contenders. `txkit`: `engine.begin()` (SQLite: begun IMMEDIATE) and each
//! statement awaited — 6 round trips per transfer on PostgreSQL and MariaDB.
//! `txkit-pipelined` (PostgreSQL and SQLite): `engine.session()`, the locked read (which carries
//! BEGIN), then `commit_with` sending both UPDATEs, the ledger INSERT and COMMIT in one
//! flush — 2 round trips; its INSERT batch is one `commit_with` of 100 INSERTs.
//! `txkit`'s INSERT batch is one `execute_many` of the INSERT with 100 parameter sets (one
//! prepared statement, as the hand-written code uses); `txkit-loop` (INSERT batch only)
//! awaits 100 `execute` calls instead.
//! `txkit-thread` and `txkit-thread-pipelined` (SQLite): the same two with
//! `execution=thread`, statements run on a thread of the connection's own instead of the
//! task's (the default, inline).
//! The flush (`flush.rs`) is a session: `query::<Versioned>()` over the task's id range,
//! every balance changed in place, `commit()`. `txkit-default` runs only the flush, on
//! `Engine::connect(url)` — the pool users get by default (5 connections + 10 overflow).

use std::sync::Arc;

use txkit::{Engine, RetryPolicy, RowLock, SqliteBehavior, TxOptions, Value, params, retry};

/// An account, as txkit's entity API sees it (the random-order transfer locks through it).
#[derive(Debug, Clone, txkit::Entity)]
#[txkit(table = "txkit_bench_accounts")]
struct BenchAccount {
    #[txkit(primary_key)]
    id: i64,
    balance: i64,
}

use crate::flush::{self, Versioned};
use crate::schema::{Backend, q};
use crate::workload::{BATCH_ROWS, BoxFut, Contender, Op, Work, Worker};

/// How a txkit contender writes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// Each statement awaited; the INSERT batch as one `execute_many`.
    Awaited,
    /// Session and `commit_with` (PostgreSQL and SQLite).
    Pipelined,
    /// The INSERT batch as 100 awaited `execute` calls (runs only that cell).
    Looped,
    /// The engine's default settings (`Engine::connect`); runs only the flush cells.
    Defaults,
}

pub(crate) struct Txkit {
    engine: Engine,
    backend: Backend,
    style: Style,
    name: &'static str,
}

impl Txkit {
    /// An engine with exactly `pool` connections (no overflow), everything else default.
    pub(crate) async fn new(
        url: &str,
        backend: Backend,
        pool: usize,
        style: Style,
        name: &'static str,
    ) -> Self {
        let engine = Engine::builder(url)
            .pool_size(pool)
            .max_overflow(0)
            .build()
            .await
            .expect("txkit engine");
        Self {
            engine,
            backend,
            style,
            name,
        }
    }

    /// An engine with every setting at its default (`Engine::connect`).
    pub(crate) async fn defaults(url: &str, backend: Backend, name: &'static str) -> Self {
        let engine = Engine::connect(url).await.expect("txkit engine");
        Self {
            engine,
            backend,
            style: Style::Defaults,
            name,
        }
    }
}

impl Contender for Txkit {
    fn name(&self) -> &'static str {
        self.name
    }

    fn worker(&self) -> BoxFut<'_, Box<dyn Worker>> {
        let worker = TxkitWorker {
            engine: self.engine.clone(),
            backend: self.backend,
            style: self.style,
        };
        Box::pin(async move { Box::new(worker) as Box<dyn Worker> })
    }

    fn close(&self) -> BoxFut<'_, ()> {
        Box::pin(self.engine.close())
    }

    fn runs(&self, work: Work) -> bool {
        match self.style {
            Style::Awaited => true,
            Style::Defaults => work == Work::Flush,
            Style::Pipelined => matches!(work, Work::Transfer | Work::InsertBatch),
            Style::Looped => work == Work::InsertBatch,
        }
    }
}

struct TxkitWorker {
    engine: Engine,
    backend: Backend,
    style: Style,
}

impl TxkitWorker {
    fn tx_options(&self) -> TxOptions {
        match self.backend {
            Backend::Sqlite => TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate),
            _ => TxOptions::new(),
        }
    }

    fn lock_sql(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => q::LOCK_SQLITE,
            _ => q::LOCK,
        }
    }

    async fn transfer(&self, from: i64, to: i64) {
        let (low, high) = (from.min(to), from.max(to));
        let mut tx = self
            .engine
            .begin_with(self.tx_options())
            .await
            .expect("begin");
        let rows = tx
            .query(self.lock_sql(), &params![low, high])
            .await
            .expect("locked read");
        assert_eq!(rows.len(), 2, "both accounts locked");
        tx.execute(q::DEBIT, &params![1, from])
            .await
            .expect("debit");
        tx.execute(q::CREDIT, &params![1, to])
            .await
            .expect("credit");
        tx.execute(q::RECORD, &params![from, to, 1])
            .await
            .expect("ledger");
        tx.commit().await.expect("commit");
    }

    /// Both accounts asked for payer first, in one locking entity query: txkit orders its
    /// rows, and so its locks, by primary key. Deadlocks (there should be none) would be
    /// retried by `retry`'s default policy.
    async fn transfer_random_order(&self, from: i64, to: i64) {
        let policy = RetryPolicy::new();
        retry(&policy, || async {
            let mut s = self.engine.session();
            let rows = s
                .query::<BenchAccount>()
                .filter(BenchAccount::ID.in_([from, to]))
                .with_for_update(RowLock::update())
                .all()
                .await?;
            assert_eq!(rows.len(), 2, "both accounts locked");
            s.execute(q::DEBIT, &params![1, from]).await?;
            s.execute(q::CREDIT, &params![1, to]).await?;
            s.execute(q::RECORD, &params![from, to, 1]).await?;
            s.commit().await
        })
        .await
        .expect("random-order transfer");
    }

    async fn transfer_pipelined(&self, from: i64, to: i64) {
        let (low, high) = (from.min(to), from.max(to));
        let mut s = self.engine.session_with(self.tx_options());
        let rows = s
            .query_sql(self.lock_sql(), &params![low, high])
            .await
            .expect("locked read");
        assert_eq!(rows.len(), 2, "both accounts locked");
        let counts = s
            .commit_with(&[
                (q::DEBIT, &params![1, from]),
                (q::CREDIT, &params![1, to]),
                (q::RECORD, &params![from, to, 1]),
            ])
            .await
            .expect("commit_with");
        assert_eq!(counts, [1, 1, 1]);
    }

    /// The flush unit of work: the task's rows read into the session, every balance
    /// changed in place, then `commit()` writes them (one `execute_many` of the UPDATE,
    /// version-checked) and commits.
    async fn flush(&self, first: i64) {
        let last = first + flush::ROWS - 1;
        let mut s = self.engine.session_with(self.tx_options());
        let accounts = s
            .query::<Versioned>()
            .filter(Versioned::ID.ge(first).and(Versioned::ID.le(last)))
            .all()
            .await
            .expect("read");
        assert_eq!(accounts.len(), flush::ROWS as usize, "every row read");
        for account in accounts {
            account.balance += 1;
        }
        s.commit().await.expect("flush and commit");
    }

    async fn insert_batch(&self, tag: i64) {
        let rows: Vec<Vec<Value>> = (0..BATCH_ROWS).map(|_| params![tag]).collect();
        match self.style {
            Style::Pipelined => {
                let statements: Vec<(&str, &[Value])> =
                    rows.iter().map(|p| (q::ITEM, p.as_slice())).collect();
                let counts = self
                    .engine
                    .session_with(self.tx_options())
                    .commit_with(&statements)
                    .await
                    .expect("commit_with");
                assert_eq!(counts.len(), BATCH_ROWS as usize);
            }
            Style::Awaited | Style::Defaults => {
                let mut tx = self.engine.begin().await.expect("begin");
                let counts = tx.execute_many(q::ITEM, &rows).await.expect("execute_many");
                assert_eq!(counts.len(), BATCH_ROWS as usize);
                tx.commit().await.expect("commit");
            }
            Style::Looped => {
                let mut tx = self.engine.begin().await.expect("begin");
                for params in &rows {
                    tx.execute(q::ITEM, params).await.expect("insert");
                }
                tx.commit().await.expect("commit");
            }
        }
    }
}

impl Worker for TxkitWorker {
    fn run(&mut self, op: Op) -> BoxFut<'_, ()> {
        Box::pin(async move {
            match op {
                Op::Transfer { from, to } if self.style == Style::Pipelined => {
                    self.transfer_pipelined(from, to).await;
                }
                Op::Transfer { from, to } => self.transfer(from, to).await,
                Op::TransferRandomOrder { from, to } => {
                    self.transfer_random_order(from, to).await;
                }
                Op::PointRead { id } => {
                    let rows = self
                        .engine
                        .query(q::POINT, &params![id])
                        .await
                        .expect("point read");
                    let balance: i64 = rows[0].get("balance").expect("balance");
                    std::hint::black_box(balance);
                }
                Op::InsertBatch { tag } => self.insert_batch(tag).await,
                Op::Flush { first } => self.flush(first).await,
                Op::Select1 => {
                    let rows = self.engine.query(q::SELECT1, &[]).await.expect("SELECT 1");
                    assert_eq!(rows.len(), 1);
                }
            }
        })
    }
}

/// txkit's contenders on `backend`: plain, looped (INSERT batch only), default-configured
/// (flush only, with at most [`flush::MAX_TASKS`] tasks), and pipelined on
/// PostgreSQL and SQLite; on SQLite plain and pipelined again with `execution=thread` (the
/// default is inline), on
/// PostgreSQL again with txkit's own protocol layer (`driver=txkit`) when
/// `TXKIT_BENCH_CONTENDERS` names them (with every contender's pools open at once, 16
/// connections each, they would pass the server's 100 connections).
pub(crate) async fn contenders(
    url: &str,
    backend: Backend,
    pool: usize,
) -> Vec<Arc<dyn Contender>> {
    let mut out: Vec<Arc<dyn Contender>> = vec![
        Arc::new(Txkit::new(url, backend, pool, Style::Awaited, "txkit").await),
        Arc::new(Txkit::new(url, backend, pool, Style::Looped, "txkit-loop").await),
    ];
    // Only where a flush cell can run: its first connection would otherwise sit in the
    // 16-task PostgreSQL cells, whose pools already come near the server's 100.
    if pool <= flush::MAX_TASKS {
        out.push(Arc::new(
            Txkit::defaults(url, backend, "txkit-default").await,
        ));
    }
    if backend != Backend::Mysql {
        out.push(Arc::new(
            Txkit::new(url, backend, pool, Style::Pipelined, "txkit-pipelined").await,
        ));
    }
    let again = match backend {
        Backend::Postgres if wire_asked() => Some((
            crate::contenders::with_option(url, "driver=txkit"),
            ["txkit-wire", "txkit-wire-loop", "txkit-wire-pipelined"],
        )),
        Backend::Sqlite => Some((
            format!("{url}?execution=thread"),
            [
                "txkit-thread",
                "txkit-thread-loop",
                "txkit-thread-pipelined",
            ],
        )),
        Backend::Postgres | Backend::Mysql => None,
    };
    if let Some((url, names)) = again {
        for (style, name) in [Style::Awaited, Style::Looped, Style::Pipelined]
            .into_iter()
            .zip(names)
        {
            out.push(Arc::new(Txkit::new(&url, backend, pool, style, name).await));
        }
    }
    out
}

/// With `TXKIT_PGBOUNCER_URL` set (a PgBouncer in transaction mode before the PostgreSQL
/// of `TXKIT_POSTGRES_URL`, reaching its database of the same name): `txkit-pgbouncer` and
/// `txkit-pgbouncer-wire`, the `txkit` contender through it on each driver (statements
/// unnamed, found by `pooler=auto`), and their `-pipelined` twins; `txkit-unnamed` (and its
/// twin) is the server directly with `pooler=transaction`, the cost of unnamed statements
/// alone. Not through the counting proxy: the pooler's own round trips to the server are not
/// the client's.
pub(crate) async fn through_pgbouncer(direct: &str, pool: usize) -> Vec<Arc<dyn Contender>> {
    let Ok(bouncer) = std::env::var("TXKIT_PGBOUNCER_URL") else {
        return Vec::new();
    };
    // The bench's tables are in the direct URL's database: the same name through PgBouncer.
    let database = direct
        .split_once('?')
        .map_or(direct, |(base, _)| base)
        .rsplit('/')
        .next()
        .unwrap_or("test");
    let base = bouncer.split_once('?').map_or(bouncer.as_str(), |(b, _)| b);
    let url = format!(
        "{}/{database}",
        &base[..base.rfind('/').expect("a database")]
    );
    let wire = crate::contenders::with_option(&url, "driver=txkit");
    // The cost of unnamed statements alone: the server directly, told it is pooled.
    let unnamed = crate::contenders::with_option(direct, "pooler=transaction");
    let mut out: Vec<Arc<dyn Contender>> = Vec::new();
    for (url, names) in [
        (
            unnamed.as_str(),
            ["txkit-unnamed", "txkit-unnamed-pipelined"],
        ),
        (
            url.as_str(),
            ["txkit-pgbouncer", "txkit-pgbouncer-pipelined"],
        ),
        (
            wire.as_str(),
            ["txkit-pgbouncer-wire", "txkit-pgbouncer-wire-pipelined"],
        ),
    ] {
        for (style, name) in [Style::Awaited, Style::Pipelined].into_iter().zip(names) {
            let backend = Backend::Postgres;
            out.push(Arc::new(Txkit::new(url, backend, pool, style, name).await));
        }
    }
    out
}

/// Whether `TXKIT_BENCH_CONTENDERS` names a `txkit-wire` contender.
fn wire_asked() -> bool {
    std::env::var("TXKIT_BENCH_CONTENDERS").is_ok_and(|wanted| {
        wanted
            .split(',')
            .any(|w| w.trim().starts_with("txkit-wire"))
    })
}
