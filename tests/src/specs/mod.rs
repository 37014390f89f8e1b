//! Isolation specs ported from PostgreSQL's isolation tester (src/test/isolation/specs),
//! written anew over txkit: each scenario drives two or more sessions (txkit transactions on
//! separate pooled connections, see [`spec_session`]) step by step, detects a blocked step by a
//! bounded wait, and compares what happened — which steps blocked, which failed with which
//! [`txkit::ErrorKind`], the final state — with an expectation table per backend and
//! isolation level. Where MariaDB or SQLite allow an anomaly PostgreSQL forbids (or block
//! / fail with SQLITE_BUSY where PostgreSQL aborts), the table says so. Each cell prints one
//! `RELIABILITY spec <name> <backend> <level> …` line.

mod interleaving;
mod spec_session;

mod deadlock_hard;
mod deadlock_simple;
mod delete_abort_savept;
mod nowait;
mod read_only_anomaly;
mod receipt_report;
mod simple_write_skew;
mod skip_locked;
mod timeouts;
mod total_cash;

use std::fmt::Write as _;
use std::time::Instant;

use txkit::{Engine, ErrorKind, IsolationLevel, TxOptions};

use crate::common::{Kind, TestDb};

pub use interleaving::{Act, StepDef, commit, run, sql};
pub use spec_session::{SpecSession, Step};

pub(crate) use crate::common::long;

/// How many times each cell runs: once in CI, five times in the long form (the outcome must
/// be the same every time).
pub fn rounds() -> usize {
    if long() { 5 } else { 1 }
}

/// The backend as the expectation tables name it: `sqlite`, `postgres`, `mariadb` (or
/// `mysql` for a MySQL server, whose expectations are MariaDB's here).
pub async fn backend_name(engine: &Engine) -> &'static str {
    let tx = engine.begin().await.expect("begin");
    let name = tx.dialect().name();
    drop(tx);
    name
}

/// The levels a spec that compares isolation levels runs at; SQLite has one (`None`: its
/// transactions are serializable whatever is asked).
pub fn all_levels(kind: Kind) -> Vec<Option<IsolationLevel>> {
    match kind {
        Kind::Sqlite => vec![None],
        Kind::Postgres | Kind::MySql => vec![
            Some(IsolationLevel::ReadCommitted),
            Some(IsolationLevel::RepeatableRead),
            Some(IsolationLevel::Serializable),
        ],
    }
}

/// The one level a locking spec runs at: the server's default (READ COMMITTED on
/// PostgreSQL, REPEATABLE READ on MariaDB, SQLite's only one).
pub fn default_level(kind: Kind) -> Option<IsolationLevel> {
    match kind {
        Kind::Sqlite => None,
        Kind::Postgres => Some(IsolationLevel::ReadCommitted),
        Kind::MySql => Some(IsolationLevel::RepeatableRead),
    }
}

/// The transaction options of a session at `level`.
pub fn opts(level: Option<IsolationLevel>) -> TxOptions {
    match level {
        Some(level) => TxOptions::new().isolation(level),
        None => TxOptions::new(),
    }
}

/// A level as the RELIABILITY lines name it.
pub fn level_name(level: Option<IsolationLevel>) -> &'static str {
    match level {
        None => "serializable-db-lock",
        Some(IsolationLevel::ReadUncommitted) => "read-uncommitted",
        Some(IsolationLevel::ReadCommitted) => "read-committed",
        Some(IsolationLevel::RepeatableRead) => "repeatable-read",
        Some(IsolationLevel::Serializable) => "serializable",
    }
}

/// An engine for a spec: enough connections for every session plus setup.
pub async fn engine(db: &TestDb) -> Engine {
    db.builder().pool_size(12).build().await.expect("engine")
}

/// What a scenario saw, in the order it saw it.
#[derive(Default)]
pub struct Observed {
    blocked: Vec<String>,
    errors: Vec<String>,
    reads: Vec<String>,
    state: String,
}

impl Observed {
    /// Notes that the step `label` blocked (started, and no answer within the bound).
    pub fn blocked_step(&mut self, label: &str) {
        self.blocked.push(short(label));
    }

    /// Records the values the SELECT steps read.
    pub fn reads(&mut self, reads: Vec<String>) {
        self.reads = reads;
    }

    /// Waits for `step`; notes its error kind if it failed. Returns the rows on success.
    pub async fn finish(&mut self, step: Step) -> Option<Vec<txkit::Row>> {
        let label = short(&step.label);
        match step.result().await {
            Ok(rows) => Some(rows),
            Err(e) => {
                self.errors.push(format!("{label}={:?}", e.kind()));
                None
            }
        }
    }

    /// Notes a failure seen some other way.
    pub fn error(&mut self, label: &str, kind: ErrorKind) {
        self.errors.push(format!("{label}={kind:?}"));
    }

    /// Appends what another run of steps saw.
    pub fn merge(&mut self, other: Observed) {
        self.blocked.extend(other.blocked);
        self.errors.extend(other.errors);
        self.reads.extend(other.reads);
    }

    /// Records the final state (or what a read returned).
    pub fn state(&mut self, text: impl Into<String>) {
        self.state = text.into();
    }

    /// `blocked=[…] errors=[…] reads=[…] state=…`, compared with the expectation tables.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        write!(
            s,
            "blocked=[{}] errors=[{}] reads=[{}] state={}",
            self.blocked.join(","),
            self.errors.join(","),
            self.reads.join(","),
            self.state
        )
        .expect("string");
        s
    }
}

fn short(label: &str) -> String {
    label.replace(' ', "_")
}

/// Runs a spec at every isolation level `db`'s backend has, checking each cell's outcome
/// against `expected(backend, level)`.
pub async fn at_every_level<F, Fut>(
    db: &TestDb,
    spec: &str,
    expected: fn(&str, Option<IsolationLevel>) -> &'static str,
    cell: F,
) where
    F: Fn(Engine, Option<IsolationLevel>) -> Fut,
    Fut: std::future::Future<Output = Observed>,
{
    let engine = engine(db).await;
    let backend = backend_name(&engine).await;
    for level in all_levels(db.kind) {
        check(spec, backend, level, expected(backend, level), || {
            cell(engine.clone(), level)
        })
        .await;
    }
}

/// Runs `cell` [`rounds`] times, checks each outcome against `expected`, and prints the
/// cell's RELIABILITY line.
pub async fn check<F, Fut>(
    spec: &str,
    backend: &str,
    level: Option<IsolationLevel>,
    expected: &str,
    mut cell: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Observed>,
{
    let started = Instant::now();
    let mut summary = String::new();
    let rounds = rounds();
    for round in 0..rounds {
        summary = cell().await.summary();
        assert_eq!(
            summary,
            expected,
            "spec {spec} on {backend} at {} (round {round}): outcome differs from the table",
            level_name(level)
        );
    }
    println!(
        "RELIABILITY spec {spec} {backend} {} rounds={rounds} ms={} {summary}",
        level_name(level),
        started.elapsed().as_millis()
    );
}

/// Runs statements that must succeed, outside any session (setup).
pub async fn setup(engine: &Engine, sqls: &[String]) {
    for sql in sqls {
        engine
            .execute(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("setup {sql}: {e}"));
    }
}

/// The integers of a query's first column, outside any session.
pub async fn ints(engine: &Engine, sql: &str) -> Vec<i64> {
    engine
        .query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.get::<i64>(0).expect("int"))
        .collect()
}

/// Integers as `a/b/c` for the state field.
pub fn join(values: &[i64]) -> String {
    values
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

/// The dialect's clause for `lock` (Unsupported on SQLite, which has no row locks).
pub async fn lock_clause(engine: &Engine, lock: &txkit::RowLock) -> txkit::Result<String> {
    let tx = engine.begin().await.expect("begin");
    tx.dialect().row_lock_clause(lock)
}

/// An engine on the same SQLite file with another busy_timeout (milliseconds).
pub async fn sqlite_engine_with_busy_timeout(db: &TestDb, millis: u64) -> Engine {
    let url = db
        .url
        .replace("busy_timeout=10000", &format!("busy_timeout={millis}"));
    Engine::builder(&url)
        .pool_size(12)
        .build()
        .await
        .expect("engine")
}
