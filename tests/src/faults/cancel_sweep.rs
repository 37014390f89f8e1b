//! Cancellation sweep: every transaction operation cancelled after k = 0..=20 polls, and
//! after every run the pool's single connection is clean.
//!
//! Pool size 1. Run `i` picks an operation — begin, execute, query, savepoint, release,
//! rollback to, commit, rollback — and a poll count `k`, runs the transaction up to that
//! operation, and drops the operation's future after `k` polls (`poll_then_drop`). A guard
//! that survives is then used again (insert + commit), and after a cancelled commit or a
//! rollback a new transaction is run: a caller may get a refusal there, never an error with
//! SQLSTATE 25P02 (in failed transaction), and any other failure fails the test.
//!
//! After every run the single connection is checked out and must be clean:
//! txkit's state is Idle and the server is not in a transaction; PostgreSQL — the session
//! (found by its pid) is not `idle in transaction` and holds no lock in `pg_locks` other
//! than a virtualxid; MariaDB — `@@in_transaction` = 0; SQLite — in autocommit, and a
//! `BEGIN IMMEDIATE` from a second connection with `busy_timeout=0` succeeds at once.
//!
//! Every row carries its run and the transaction step that wrote it. At the end the rows
//! visible are exactly those whose commit reported success, plus any subset of those whose
//! COMMIT (or savepoint release / rollback-to) was cancelled in flight — the only
//! ambiguous case; how many of those landed is reported.
//!
//! Cells: SQLite, PostgreSQL, MariaDB, and the same over sea-orm's pool (see
//! `cancel_sweep_sea_orm`). 1,000 runs per cell; 5,000 with `TXKIT_LONG=1`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use txkit::core::TxState;
use txkit::{Engine, Error, ErrorKind, SqliteBehavior, Transaction, TxOptions, params};

use super::{backend_name, long};
use crate::common::{Kind, TestDb, poll_then_drop, unique};

crate::matrix!(cancel_sweep);

/// The fourth column, txkit over sea-orm's pool, also with overflow (a sqlx pool of several
/// connections). These found two bugs — a MySQL query cut between packets desynchronised
/// sqlx, and a BEGIN cut after it was sent went back to sea-orm's pool mid-transaction —
/// fixed by running every sea-orm call to completion on a task of its own.
mod cancel_sweep_sea_orm {
    use crate::common::{Kind, run_sea_orm};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run_sea_orm(Kind::Sqlite, super::cancel_sweep).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run_sea_orm(Kind::Postgres, super::cancel_sweep).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        run_sea_orm(Kind::MySql, super::cancel_sweep).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_with_overflow() {
        run_sea_orm(Kind::Postgres, |db| super::sweep(db, 10)).await;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Begin,
    Execute,
    Query,
    Savepoint,
    Release,
    RollbackTo,
    Commit,
    Rollback,
}

const OPS: [Op; 8] = [
    Op::Begin,
    Op::Execute,
    Op::Query,
    Op::Savepoint,
    Op::Release,
    Op::RollbackTo,
    Op::Commit,
    Op::Rollback,
];

const MAX_POLLS: usize = 20;

/// Fails with a clear message; an in-failed-transaction error is named as such.
fn ok<T>(result: txkit::Result<T>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => {
            let failed_tx = e.code() == Some("25P02");
            panic!(
                "{what} failed: {e} (kind {:?}, code {:?}){}",
                e.kind(),
                e.code(),
                if failed_tx {
                    ": an in-failed-transaction error reached the caller"
                } else {
                    ""
                }
            )
        }
    }
}

/// A refusal a caller may see after a cancellation: never 25P02, never an unknown outcome.
fn refused(e: &Error, what: &str) {
    assert_ne!(
        e.code(),
        Some("25P02"),
        "{what}: an in-failed-transaction error reached the caller: {e}"
    );
    assert_ne!(e.kind(), ErrorKind::CommitOutcomeUnknown, "{what}: {e}");
}

/// What one run left in the ledger, and what happened to it.
#[derive(Default)]
struct Run {
    /// Rows written in the open transaction: (step, whether its statement surely ran).
    pending: Vec<(&'static str, bool)>,
    must: Vec<&'static str>,
    maybe: Vec<&'static str>,
    finished: bool,
    /// The kind of the refusal a surviving guard met, if it met one.
    refused: Option<ErrorKind>,
    commit_cancelled: bool,
}

impl Run {
    fn committed(&mut self) {
        for (step, sure) in self.pending.drain(..) {
            if sure {
                self.must.push(step);
            } else {
                self.maybe.push(step);
            }
        }
    }

    fn commit_unknown(&mut self) {
        self.commit_cancelled = true;
        let steps: Vec<_> = self.pending.drain(..).map(|(s, _)| s).collect();
        self.maybe.extend(steps);
    }

    fn rolled_back(&mut self) {
        self.pending.clear();
    }
}

struct Sweep<'a> {
    engine: &'a Engine,
    insert: String,
    select: String,
}

impl Sweep<'_> {
    async fn write(&self, tx: &mut Transaction<'_>, run: &mut Run, id: i64, step: &'static str) {
        ok(tx.execute(&self.insert, &params![id, step]).await, step);
        run.pending.push((step, true));
    }

    /// Uses a surviving guard again: one more row, then COMMIT.
    async fn follow_up(&self, mut tx: Transaction<'static>, run: &mut Run, id: i64) {
        let result = match tx.execute(&self.insert, &params![id, "after"]).await {
            Ok(_) => tx.commit().await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                run.pending.push(("after", true));
                run.committed();
            }
            Err(e) => {
                refused(&e, "the transaction after a cancellation");
                run.refused = Some(e.kind());
                run.rolled_back();
            }
        }
    }

    /// A new transaction after the old one ended: it must simply work.
    async fn fresh(&self, run: &mut Run, id: i64) {
        let mut tx = ok(self.engine.begin().await, "BEGIN after a cancellation");
        self.write(&mut tx, run, id, "next").await;
        ok(tx.commit().await, "COMMIT after a cancellation");
        run.committed();
    }

    async fn run(&self, op: Op, polls: usize, id: i64) -> Run {
        let mut run = Run::default();
        let engine = self.engine;
        match op {
            Op::Begin => match poll_then_drop(engine.begin(), polls).await {
                Some(r) => {
                    run.finished = true;
                    let tx = ok(r, "begin");
                    self.follow_up(tx, &mut run, id).await;
                }
                None => self.fresh(&mut run, id).await,
            },
            Op::Execute | Op::Query => {
                let mut tx = ok(engine.begin().await, "begin");
                self.write(&mut tx, &mut run, id, "first").await;
                if op == Op::Execute {
                    let done =
                        poll_then_drop(tx.execute(&self.insert, &params![id, "cut"]), polls).await;
                    run.finished = done.is_some();
                    if let Some(r) = done {
                        ok(r, "execute");
                    }
                    run.pending.push(("cut", run.finished));
                } else {
                    let done = poll_then_drop(tx.query(&self.select, &params![id]), polls).await;
                    run.finished = done.is_some();
                    if let Some(r) = done {
                        ok(r, "query");
                    }
                }
                self.follow_up(tx, &mut run, id).await;
            }
            Op::Savepoint => {
                let mut tx = ok(engine.begin().await, "begin");
                self.write(&mut tx, &mut run, id, "first").await;
                if let Some(r) = poll_then_drop(tx.savepoint(), polls).await {
                    run.finished = true;
                    let mut sp = ok(r, "savepoint");
                    ok(
                        sp.execute(&self.insert, &params![id, "sp"]).await,
                        "in savepoint",
                    );
                    ok(sp.commit().await, "release");
                    run.pending.push(("sp", true));
                }
                self.follow_up(tx, &mut run, id).await;
            }
            Op::Release | Op::RollbackTo => {
                let mut tx = ok(engine.begin().await, "begin");
                self.write(&mut tx, &mut run, id, "first").await;
                {
                    let mut sp = ok(tx.savepoint().await, "savepoint");
                    ok(
                        sp.execute(&self.insert, &params![id, "sp"]).await,
                        "in savepoint",
                    );
                    let done = if op == Op::Release {
                        poll_then_drop(sp.commit(), polls).await
                    } else {
                        poll_then_drop(sp.rollback(), polls).await
                    };
                    run.finished = done.is_some();
                    match done {
                        Some(r) => {
                            ok(r, "release / rollback to");
                            if op == Op::Release {
                                run.pending.push(("sp", true));
                            }
                        }
                        None => run.pending.push(("sp", false)),
                    }
                }
                self.follow_up(tx, &mut run, id).await;
            }
            Op::Commit => {
                let mut tx = ok(engine.begin().await, "begin");
                self.write(&mut tx, &mut run, id, "first").await;
                match poll_then_drop(tx.commit(), polls).await {
                    Some(r) => {
                        run.finished = true;
                        ok(r, "commit");
                        run.committed();
                    }
                    None => run.commit_unknown(),
                }
                self.fresh(&mut run, id).await;
            }
            Op::Rollback => {
                let mut tx = ok(engine.begin().await, "begin");
                self.write(&mut tx, &mut run, id, "first").await;
                let done = poll_then_drop(tx.rollback(), polls).await;
                run.finished = done.is_some();
                if let Some(r) = done {
                    ok(r, "rollback");
                }
                run.rolled_back();
                self.fresh(&mut run, id).await;
            }
        }
        run
    }
}

/// The single pooled connection is clean (see the module comment).
async fn assert_clean(db: &TestDb, engine: &Engine, observer: &Engine, what: &str) {
    let conn = tokio::time::timeout(Duration::from_secs(10), engine.connection())
        .await
        .unwrap_or_else(|_| panic!("{what}: no connection came back within 10 s"));
    let mut conn = ok(conn, &format!("{what}: checkout"));
    assert_eq!(conn.tx_state(), TxState::Idle, "{what}");
    assert!(
        !ok(
            conn.server_in_transaction().await,
            &format!("{what}: server_in_transaction")
        ),
        "{what}: the server is in a transaction"
    );
    match db.kind {
        // Behind a pooler the client's server session is its own only inside a transaction;
        // a transaction left open would keep it pinned, idle in the transaction, under this
        // test's application name.
        Kind::Postgres if db.pooled => {
            let n = crate::common::idle_in_transaction(observer, &db.app).await;
            assert_eq!(n, 0, "{what}: a server session is still in a transaction");
        }
        Kind::Postgres => {
            let pid: i64 = ok(
                conn.query("SELECT pg_backend_pid()::int8 AS pid", &[])
                    .await,
                &format!("{what}: pid"),
            )[0]
            .get("pid")
            .unwrap();
            let rows = ok(
                observer
                    .query(
                        "SELECT a.state, (SELECT count(*) FROM pg_locks l WHERE l.pid = a.pid \
                         AND l.locktype <> 'virtualxid') AS locks \
                         FROM pg_stat_activity a WHERE a.pid::int8 = ?",
                        &params![pid],
                    )
                    .await,
                &format!("{what}: pg_stat_activity"),
            );
            let state: Option<String> = rows[0].get("state").unwrap();
            let locks: i64 = rows[0].get("locks").unwrap();
            assert_eq!(state.as_deref(), Some("idle"), "{what}: session {pid}");
            assert_eq!(locks, 0, "{what}: session {pid} holds locks");
        }
        Kind::MySql => {
            let t: i64 = ok(
                conn.query("SELECT @@in_transaction AS t", &[]).await,
                &format!("{what}: @@in_transaction"),
            )[0]
            .get("t")
            .unwrap();
            assert_eq!(t, 0, "{what}: @@in_transaction");
        }
        Kind::Sqlite => {
            let immediate = TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate);
            let started = Instant::now();
            let tx = ok(
                observer.begin_with(immediate).await,
                &format!("{what}: BEGIN IMMEDIATE from another connection"),
            );
            assert!(started.elapsed() < Duration::from_secs(1), "{what}");
            ok(tx.rollback().await, &format!("{what}: observer rollback"));
        }
    }
}

/// `Kind:count,…`, or `0`.
fn refused_summary(refusals: &BTreeMap<String, u32>) -> String {
    if refusals.is_empty() {
        return "0".to_owned();
    }
    refusals
        .iter()
        .map(|(k, n)| format!("{k}:{n}"))
        .collect::<Vec<_>>()
        .join(",")
}

async fn cancel_sweep(db: TestDb) {
    sweep(db, 0).await;
}

/// The sweep on a pool of size 1 with `overflow` more connections allowed.
async fn sweep(db: TestDb, overflow: usize) {
    let engine = db
        .builder()
        .pool_size(1)
        .max_overflow(overflow)
        .build()
        .await
        .unwrap();
    let observer = match db.kind {
        Kind::Sqlite => Engine::builder(&db.url.replace("busy_timeout=10000", "busy_timeout=0"))
            .pool_size(1)
            .build()
            .await
            .unwrap(),
        _ => Engine::builder(&db.url).pool_size(1).build().await.unwrap(),
    };
    let table = unique("sweep");
    engine
        .execute(
            &format!("CREATE TABLE {table} (run BIGINT NOT NULL, step VARCHAR(10) NOT NULL)"),
            &[],
        )
        .await
        .unwrap();
    let sweep = Sweep {
        engine: &engine,
        insert: format!("INSERT INTO {table} (run, step) VALUES (?, ?)"),
        select: format!("SELECT count(*) AS n FROM {table} WHERE run = ?"),
    };
    let runs = if long() { 5_000 } else { 1_000 };
    let started = Instant::now();
    let mut must = BTreeSet::new();
    let mut maybe = BTreeSet::new();
    let (mut finished, mut commits_cancelled) = (0u32, 0u32);
    let mut refusals: BTreeMap<String, u32> = BTreeMap::new();
    let mut max_run = Duration::ZERO;
    for i in 0..runs {
        let op = OPS[i % OPS.len()];
        let polls = (i / OPS.len()) % (MAX_POLLS + 1);
        let id = i64::try_from(i).unwrap();
        let what = format!("run {i}: {op:?} cancelled after {polls} polls");
        let t0 = Instant::now();
        let run = tokio::time::timeout(Duration::from_secs(10), sweep.run(op, polls, id))
            .await
            .unwrap_or_else(|_| panic!("{what}: hung for 10 s"));
        max_run = max_run.max(t0.elapsed());
        finished += u32::from(run.finished);
        if let Some(kind) = run.refused {
            *refusals.entry(format!("{kind:?}")).or_default() += 1;
        }
        commits_cancelled += u32::from(run.commit_cancelled);
        must.extend(run.must.iter().map(|s| (id, s.to_string())));
        maybe.extend(run.maybe.iter().map(|s| (id, s.to_string())));
        assert_clean(&db, &engine, &observer, &what).await;
    }
    let rows = ok(
        engine
            .query(&format!("SELECT run, step FROM {table}"), &[])
            .await,
        "ledger",
    );
    let mut seen = BTreeSet::new();
    for row in &rows {
        let key: (i64, String) = (row.get("run").unwrap(), row.get("step").unwrap());
        assert!(
            must.contains(&key) || maybe.contains(&key),
            "row {key:?} is visible but its transaction never reported a commit"
        );
        assert!(seen.insert(key.clone()), "row {key:?} is there twice");
    }
    let lost: Vec<_> = must.difference(&seen).collect();
    assert!(lost.is_empty(), "committed rows missing: {lost:?}");
    let ambiguous_landed = maybe.intersection(&seen).count();
    let status = engine.status();
    assert_eq!(status.checked_out, 0, "{status}");
    db.assert_no_idle_in_transaction().await;
    println!(
        "RELIABILITY cancel-sweep {} pool=1 overflow={overflow} runs={runs} ops={} k=0..={MAX_POLLS} \
         finished={finished} cancelled={} refused_after={} commits_cancelled={commits_cancelled} \
         ambiguous_rows={} ambiguous_landed={ambiguous_landed} rows={} lost=0 dirty=0 \
         err_25p02=0 max_run_ms={} secs={:.1}",
        backend_name(&db),
        OPS.len(),
        runs - finished as usize,
        refused_summary(&refusals),
        maybe.len(),
        rows.len(),
        max_run.as_millis(),
        started.elapsed().as_secs_f64()
    );
    engine
        .execute(&format!("DROP TABLE {table}"), &[])
        .await
        .unwrap();
    engine.close().await;
    observer.close().await;
}
