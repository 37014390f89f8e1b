//! [`SqliteConnection`]: the async face of a worker thread, implementing txkit's
//! [`Connection`] contract.

use std::sync::Arc;

use txkit_core::{
    AccessMode, Connection, Dialect, Error, ErrorKind, ResetMode, Result, Row, TxOptions, Value,
};

use crate::SqliteDialect;
use crate::file_locks::FileLocks;
use crate::hybrid::Hybrid;
use crate::native::Native;
use crate::options::{Execution, SqliteConnectOptions};
use crate::worker::{Gone, Worker};

/// One SQLite connection. By default ([`Execution::Inline`](crate::Execution::Inline)) the
/// rusqlite connection lives here and a statement runs on the awaiting task's thread, with
/// lock waits asynchronous and long work moved to a blocking thread; with
/// [`Execution::Thread`](crate::Execution::Thread) it lives on a thread of its own and every
/// method sends it one command and awaits the answer (see the crate docs).
///
/// Usually wrapped in a [`ManagedConnection`](txkit_core::ManagedConnection) or a pool,
/// which add transaction guards and bookkeeping.
#[derive(Debug)]
pub struct SqliteConnection {
    runner: RunsOn,
    /// What this process's connections to the database file share (none for `:memory:`).
    locks: Option<FileLocks>,
}

/// Where the statements run.
#[derive(Debug)]
enum RunsOn {
    Thread(Worker),
    Inline(Box<Hybrid>),
}

impl SqliteConnection {
    /// Opens the database as `options.execution` says.
    pub(crate) async fn connect(options: SqliteConnectOptions) -> Result<Self> {
        let runner = match options.execution {
            Execution::Thread => RunsOn::Thread(Worker::start(options).await?),
            Execution::Inline => RunsOn::Inline(Box::new(Hybrid::open(options).await?)),
        };
        let locks = match &runner {
            RunsOn::Thread(worker) => worker.locks().cloned(),
            RunsOn::Inline(hybrid) => hybrid.locks().cloned(),
        };
        Ok(Self { runner, locks })
    }

    /// How many times a connection of this process to this database file has had to wait
    /// for another connection's lock in SQLite's busy handler (0 for `:memory:`). Writers
    /// of one process queue at the file's in-process write gate instead, so this counts
    /// waits for other processes' locks — and, outside WAL mode, for readers: a number that
    /// grows under a single-process workload says something bypasses the gate (a raw
    /// `BEGIN IMMEDIATE` sent as SQL, say).
    pub fn busy_waits(&self) -> u64 {
        self.locks.as_ref().map_or(0, FileLocks::busy_waits)
    }

    /// How many connections of this process are waiting in line, now, for their turn to
    /// write this database file (0 for `:memory:`).
    pub fn writers_waiting(&self) -> usize {
        self.locks.as_ref().map_or(0, FileLocks::queued)
    }

    /// Runs `f`, one statement's work: on the worker thread (taking owned copies of what
    /// it needs), or here with asynchronous lock waits. `owned` makes the worker's copy.
    /// Either way, a step that stopped for the file's write gate runs again once this
    /// connection's turn has come.
    ///
    /// `sql`, for a statement, lets an inline connection learn which statements run long
    /// and move those to a blocking thread.
    async fn run<T, F, G>(
        &mut self,
        sql: Option<&str>,
        inline: F,
        owned: impl Fn() -> G,
    ) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Native) -> Result<T> + Send,
        G: FnOnce(&mut Native) -> Result<T> + Send + 'static,
    {
        match &mut self.runner {
            RunsOn::Inline(hybrid) => hybrid.run(sql, inline, owned).await,
            RunsOn::Thread(worker) => worker.run(owned).await,
        }
    }

    /// BEGIN as `opts` say, then one statement: in one command to the worker thread, or
    /// inline as two steps (each retried on its own after SQLITE_BUSY). The outer error is
    /// BEGIN's; the inner, the statement's.
    async fn begin_then<T, F, G>(
        &mut self,
        opts: &TxOptions,
        sql: &str,
        inline: F,
        owned: impl Fn() -> G,
    ) -> Result<Result<T>>
    where
        T: Send + 'static,
        F: FnMut(&mut Native) -> Result<T> + Send,
        G: FnOnce(&mut Native) -> Result<T> + Send + 'static,
    {
        let begin = SqliteDialect.begin_sql(opts)?;
        let read_only = opts.access() == Some(AccessMode::ReadOnly);
        match &mut self.runner {
            RunsOn::Inline(hybrid) => {
                hybrid.run_here(|s| s.begin(&begin, read_only)).await?;
                Ok(hybrid.run(Some(sql), inline, owned).await)
            }
            RunsOn::Thread(worker) => {
                let mut permit = None;
                loop {
                    let step = owned();
                    let begin = begin.clone();
                    let both = move |s: &mut Native| {
                        s.begin(&begin, read_only)?;
                        Ok(step(s))
                    };
                    let (result, wanted) = worker
                        .call_with(permit.take(), both)
                        .await
                        .map_err(Gone::into_error)?;
                    match result {
                        _ if !wanted => return result,
                        // BEGIN IMMEDIATE stopped for the gate: nothing ran.
                        Err(_) => permit = worker.gate().await?,
                        // BEGIN ran; the statement waits for its turn.
                        Ok(_) => return Ok(worker.run(&owned).await),
                    }
                }
            }
        }
    }

    /// Runs a whole unit of work (BEGIN … COMMIT, [`crate::SyncTransaction`]) in one piece:
    /// on the worker thread, or on a blocking thread for inline execution; first, unless it
    /// is `read_only`, waits for the file's write gate.
    pub(crate) async fn run_unit<T>(
        &mut self,
        read_only: bool,
        unit: impl FnOnce(&mut Native) -> Result<T> + Send + 'static,
    ) -> Result<T>
    where
        T: Send + 'static,
    {
        match &mut self.runner {
            RunsOn::Inline(hybrid) => hybrid.unit(read_only, unit).await,
            RunsOn::Thread(worker) => {
                let permit = match read_only {
                    true => None,
                    false => worker.gate().await?,
                };
                let (result, _) = worker
                    .call_with(permit, unit)
                    .await
                    .map_err(|gone| commit_gone(gone, "the unit of work was sent"))?;
                result
            }
        }
    }

    /// Runs a parameterless step (COMMIT, ROLLBACK, ping, …) either way.
    async fn run_plain<T: Send + 'static>(
        &mut self,
        step: fn(&mut Native) -> Result<T>,
    ) -> Result<T> {
        self.run(None, step, move || step).await
    }

    /// The worker's broken flag, for tests.
    #[cfg(test)]
    pub(crate) fn broken_flag(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        match &self.runner {
            RunsOn::Thread(worker) => worker.broken_flag(),
            RunsOn::Inline(_) => unreachable!("the tests of the flag use a worker thread"),
        }
    }
}

/// The error for a command that ends with COMMIT and got no answer: a thread that ended
/// before answering leaves the outcome unknown (`sent` says what it had been given).
fn commit_gone(gone: Gone, sent: &str) -> Error {
    match gone {
        Gone::NotSent => Gone::NotSent.into_error(),
        Gone::NoAnswer => Gone::NoAnswer
            .into_error()
            .with_kind(ErrorKind::CommitOutcomeUnknown)
            .context(sent.to_owned()),
    }
}

/// Owned copies of a statement, for the worker thread.
fn owned(sql: &str, params: &[Value]) -> (String, Vec<Value>) {
    (sql.to_owned(), params.to_vec())
}

/// `step` on owned copies of the statement, for the worker thread.
fn with_owned<T: 'static>(
    sql: &str,
    params: &[Value],
    step: fn(&mut Native, &str, &[Value]) -> Result<T>,
) -> impl FnOnce(&mut Native) -> Result<T> + Send + 'static {
    let (sql, params) = owned(sql, params);
    move |s: &mut Native| step(s, &sql, &params)
}

impl Connection for SqliteConnection {
    fn dialect(&self) -> &dyn Dialect {
        &SqliteDialect
    }

    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.run(
            Some(sql),
            |s| s.execute(sql, params),
            || with_owned(sql, params, Native::execute),
        )
        .await
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        self.run(
            Some(sql),
            |s| s.query(sql, params),
            || with_owned(sql, params, Native::query),
        )
        .await
    }

    /// A script (schema changes, migrations, `VACUUM`) is expected to run long: an inline
    /// connection runs it on a blocking thread.
    async fn batch(&mut self, sql: &str) -> Result<()> {
        let owned = || {
            let sql = sql.to_owned();
            move |s: &mut Native| s.batch(&sql)
        };
        match &mut self.runner {
            RunsOn::Inline(hybrid) => hybrid.off_thread(None, owned).await,
            RunsOn::Thread(worker) => worker.run(owned).await,
        }
    }

    /// BEGIN with the behaviour of `opts` (DEFERRED by default); a read-only transaction
    /// also sets `PRAGMA query_only` in the same command. Any isolation level is met, since
    /// SQLite is serializable.
    async fn begin(&mut self, opts: &TxOptions) -> Result<()> {
        let sql = SqliteDialect.begin_sql(opts)?;
        let read_only = opts.access() == Some(AccessMode::ReadOnly);
        self.run(
            None,
            |s| s.begin(&sql, read_only),
            || {
                let sql = sql.clone();
                move |s: &mut Native| s.begin(&sql, read_only)
            },
        )
        .await
    }

    /// BEGIN travels with the first statement, `execute_many` is one command, and so are
    /// the statements with COMMIT (`execute_all_and_commit`): one hop each, inline or to
    /// the worker thread.
    fn pipelines(&self) -> bool {
        true
    }

    /// BEGIN and the query in one command to the worker thread.
    async fn begin_and_query(
        &mut self,
        opts: &TxOptions,
        sql: &str,
        params: &[Value],
    ) -> Result<Result<Vec<Row>>> {
        self.begin_then(
            opts,
            sql,
            |s| s.query(sql, params),
            || with_owned(sql, params, Native::query),
        )
        .await
    }

    /// BEGIN and the statement in one command to the worker thread.
    async fn begin_and_execute(
        &mut self,
        opts: &TxOptions,
        sql: &str,
        params: &[Value],
    ) -> Result<Result<u64>> {
        self.begin_then(
            opts,
            sql,
            |s| s.execute(sql, params),
            || with_owned(sql, params, Native::execute),
        )
        .await
    }

    /// COMMIT. A thread that ends while COMMIT is pending leaves the outcome unknown.
    async fn commit(&mut self) -> Result<()> {
        match &mut self.runner {
            RunsOn::Inline(hybrid) => hybrid.run_here(Native::commit).await,
            RunsOn::Thread(worker) => worker
                .call(Native::commit)
                .await
                .map_err(|gone| commit_gone(gone, "COMMIT was sent"))?,
        }
    }

    /// The statements and COMMIT in one command to the worker thread: one hop instead of
    /// one per statement (inline: one step, retried from where it stopped after
    /// SQLITE_BUSY). A run of statements with the same SQL shares one prepared statement.
    /// The first failing statement stops it, with the transaction still open (the caller
    /// rolls it back), as when each is sent alone.
    async fn execute_all_and_commit(
        &mut self,
        statements: &[(&str, &[Value])],
    ) -> Result<Vec<u64>> {
        let worker = match &mut self.runner {
            RunsOn::Inline(hybrid) => {
                let mut counts = Vec::with_capacity(statements.len());
                hybrid
                    .run_here(|s| s.execute_each(statements, &mut counts))
                    .await?;
                hybrid.run_here(Native::commit).await?;
                return Ok(counts);
            }
            RunsOn::Thread(worker) => worker,
        };
        let owned: Arc<[(String, Vec<Value>)]> = statements
            .iter()
            .map(|(sql, params)| owned(sql, params))
            .collect();
        let mut counts = Vec::with_capacity(owned.len());
        let mut permit = None;
        loop {
            let statements = Arc::clone(&owned);
            let run = move |s: &mut Native| {
                let result = s
                    .execute_each(&statements, &mut counts)
                    .and_then(|()| s.commit());
                (result, counts)
            };
            let ((result, done), wanted) = worker
                .call_with(permit.take(), run)
                .await
                .map_err(|gone| commit_gone(gone, "the statements and COMMIT were sent"))?;
            if !wanted {
                return result.map(|()| done);
            }
            // Stopped for the write gate before a statement that writes: go on from there.
            counts = done;
            permit = worker.gate().await?;
        }
    }

    /// Every run in one command to the worker thread, on one prepared statement (inline:
    /// one step, resumed from the run that met SQLITE_BUSY).
    async fn execute_many(&mut self, sql: &str, rows: &[&[Value]]) -> Result<Vec<u64>> {
        let mut counts = Vec::with_capacity(rows.len());
        match &mut self.runner {
            RunsOn::Inline(hybrid) => {
                hybrid
                    .run_here(|s| s.execute_many(sql, rows, &mut counts))
                    .await?;
                Ok(counts)
            }
            RunsOn::Thread(worker) => {
                let sql: Arc<str> = sql.into();
                let rows: Arc<[Vec<Value>]> = rows.iter().map(|p| p.to_vec()).collect();
                let mut permit = None;
                loop {
                    let (sql, rows) = (Arc::clone(&sql), Arc::clone(&rows));
                    let run = move |s: &mut Native| {
                        let result = s.execute_many(&sql, &rows, &mut counts);
                        (result, counts)
                    };
                    let ((result, done), wanted) = worker
                        .call_with(permit.take(), run)
                        .await
                        .map_err(Gone::into_error)?;
                    if !wanted {
                        return result.map(|()| done);
                    }
                    counts = done;
                    permit = worker.gate().await?;
                }
            }
        }
    }

    async fn rollback(&mut self) -> Result<()> {
        self.run_plain(Native::rollback).await
    }

    async fn ping(&mut self) -> Result<()> {
        self.run_plain(Native::ping).await
    }

    async fn server_in_transaction(&mut self) -> Result<bool> {
        self.run_plain(|s| Ok(s.in_transaction())).await
    }

    /// Rolls back whatever transaction is open. On a worker thread the rollback queues
    /// behind any abandoned command and runs once that command is done; inline, no command
    /// outlives its future.
    async fn recover(&mut self) -> Result<()> {
        self.run_plain(Native::rollback).await
    }

    async fn reset(&mut self, mode: ResetMode) -> Result<()> {
        match mode {
            ResetMode::Rollback => self.run_plain(Native::rollback).await,
            ResetMode::Full => self.run_plain(Native::reset_full).await,
            ResetMode::None if self.is_broken() => Err(Gone::NotSent.into_error()),
            ResetMode::None => Ok(()),
        }
    }

    fn is_broken(&self) -> bool {
        match &self.runner {
            RunsOn::Thread(worker) => worker.is_broken(),
            RunsOn::Inline(hybrid) => hybrid.is_broken(),
        }
    }

    /// Closes the database (rolling back anything open) before returning: on the worker
    /// thread once queued commands are done, or inline on a blocking thread.
    async fn close(self) {
        let Self { runner, locks } = self;
        // The session may be the file's last holder of its locks (see `FileLocks::closed`).
        drop(locks);
        match runner {
            RunsOn::Thread(worker) => worker.close().await,
            RunsOn::Inline(hybrid) => hybrid.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::*;

    /// An in-memory connection on a thread of its own.
    async fn thread_memory() -> SqliteConnection {
        let options = SqliteConnectOptions::memory().execution(Execution::Thread);
        options.connect().await.unwrap()
    }

    #[tokio::test]
    async fn close_ends_the_thread() {
        let conn = thread_memory().await;
        let ended = conn.broken_flag();
        assert!(!conn.is_broken());
        conn.close().await;
        // close() returns after the thread has closed the database and is finishing.
        assert!(ended.load(Ordering::Acquire));
    }

    #[tokio::test]
    async fn dropping_the_connection_ends_the_thread() {
        let conn = thread_memory().await;
        let ended = conn.broken_flag();
        drop(conn);
        // The thread sees its channel close; wait for it, boundedly.
        tokio::time::timeout(Duration::from_secs(10), async {
            while !ended.load(Ordering::Acquire) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_dead_thread_is_connection_lost() {
        let mut conn = thread_memory().await;
        conn.broken_flag().store(true, Ordering::Release);
        assert!(conn.is_broken());
        let e = conn.execute("SELECT 1", &[]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionLost);
        assert_eq!(
            conn.commit().await.unwrap_err().kind(),
            ErrorKind::ConnectionLost
        );
        assert!(conn.reset(ResetMode::None).await.is_err());
        assert!(conn.recover().await.is_err());
    }

    #[tokio::test]
    async fn a_broken_inline_connection_is_connection_lost() {
        let options = SqliteConnectOptions::memory().execution(Execution::Inline);
        let mut conn = options.connect().await.unwrap();
        assert_eq!(conn.execute("SELECT 1", &[]).await.unwrap(), 0);
        let RunsOn::Inline(hybrid) = &mut conn.runner else {
            panic!("asked for inline execution");
        };
        hybrid.inline_mut().unwrap().mark_broken();
        assert!(conn.is_broken());
        let e = conn.execute("SELECT 1", &[]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionLost);
        assert!(conn.reset(ResetMode::None).await.is_err());
        conn.close().await;
    }

    /// A flush of mixed statements, runs of the same SQL among them: every count, in
    /// order; a failing statement stops it with the transaction still open.
    #[tokio::test]
    async fn flushes_count_every_statement_in_both_modes() {
        for execution in Execution::ALL {
            let options = SqliteConnectOptions::memory().execution(execution);
            let mut conn = options.connect().await.unwrap();
            conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)", &[])
                .await
                .unwrap();
            let insert = "INSERT INTO t (v) VALUES (?)";
            let one = [Value::from(1_i64)];
            let two = [Value::from(2_i64)];
            conn.begin(&TxOptions::new()).await.unwrap();
            let counts = conn
                .execute_all_and_commit(&[
                    (insert, &one),
                    (insert, &two),
                    ("UPDATE t SET v = v + 1", &[]),
                    ("DELETE FROM t WHERE v = ?", &[Value::from(9_i64)]),
                    (insert, &one),
                ])
                .await
                .unwrap();
            assert_eq!(counts, [1, 1, 2, 0, 1], "{execution:?}");
            assert!(!conn.server_in_transaction().await.unwrap());

            conn.begin(&TxOptions::new()).await.unwrap();
            let e = conn
                .execute_all_and_commit(&[
                    (insert, &one),
                    ("INSERT INTO t (id, v) VALUES (1, 0)", &[]),
                    (insert, &two),
                ])
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UniqueViolation, "{execution:?}: {e}");
            assert!(conn.server_in_transaction().await.unwrap(), "{execution:?}");
            conn.rollback().await.unwrap();
            let rows = conn.query("SELECT count(*) FROM t", &[]).await.unwrap();
            assert_eq!(rows[0].get::<i64>(0).unwrap(), 3, "{execution:?}");
            conn.close().await;
        }
    }
}
