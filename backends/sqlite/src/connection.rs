//! [`SqliteConnection`]: the async face of a worker thread, implementing txkit's
//! [`Connection`] contract.

use txkit_core::{
    AccessMode, Backend, Connection, DatabaseUrl, Dialect, ErrorKind, ResetMode, Result, Row,
    TxOptions, Value,
};

use crate::SqliteDialect;
use crate::options::SqliteConnectOptions;
use crate::session::Session;
use crate::worker::{Gone, Worker};

/// The SQLite backend, for code generic over txkit backends.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sqlite;

impl Backend for Sqlite {
    type Connection = SqliteConnection;
    type Options = SqliteConnectOptions;
    const NAME: &'static str = "sqlite";
    const SCHEMES: &'static [&'static str] = &["sqlite"];

    fn options_from_url(url: &DatabaseUrl) -> Result<SqliteConnectOptions> {
        SqliteConnectOptions::from_url(url)
    }

    async fn connect(options: &SqliteConnectOptions) -> Result<SqliteConnection> {
        options.connect().await
    }

    /// A private in-memory database exists only inside its one connection.
    fn single_connection(options: &SqliteConnectOptions) -> bool {
        options.is_memory()
    }
}

/// One SQLite connection. The rusqlite connection lives on a thread of its own; every
/// method sends it one command and awaits the answer, so the async runtime never blocks
/// on SQLite (nor on its busy_timeout).
///
/// Usually wrapped in a [`ManagedConnection`](txkit_core::ManagedConnection) or a pool,
/// which add transaction guards and bookkeeping.
#[derive(Debug)]
pub struct SqliteConnection {
    worker: Worker,
}

impl SqliteConnection {
    /// Starts the worker thread and opens the database on it.
    pub(crate) async fn connect(options: SqliteConnectOptions) -> Result<Self> {
        Ok(Self {
            worker: Worker::start(options).await?,
        })
    }

    /// Runs `f` on the worker; a dead worker is a ConnectionLost error.
    async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Session) -> Result<T> + Send + 'static,
    {
        self.worker.call(f).await.map_err(Gone::into_error)?
    }

    /// The worker's broken flag, for tests.
    #[cfg(test)]
    pub(crate) fn broken_flag(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.worker.broken_flag()
    }
}

/// The answer to a command that ends with COMMIT: a thread that ended before answering
/// leaves the outcome unknown (`sent` says what it had been given).
fn committing<T>(answer: std::result::Result<Result<T>, Gone>, sent: &str) -> Result<T> {
    match answer {
        Ok(result) => result,
        Err(Gone::NotSent) => Err(Gone::NotSent.into_error()),
        Err(Gone::NoAnswer) => Err(Gone::NoAnswer
            .into_error()
            .with_kind(ErrorKind::CommitOutcomeUnknown)
            .context(sent.to_owned())),
    }
}

impl Connection for SqliteConnection {
    fn dialect(&self) -> &dyn Dialect {
        &SqliteDialect
    }

    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let (sql, params) = (sql.to_owned(), params.to_vec());
        self.call(move |s| s.execute(&sql, &params)).await
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let (sql, params) = (sql.to_owned(), params.to_vec());
        self.call(move |s| s.query(&sql, &params)).await
    }

    async fn batch(&mut self, sql: &str) -> Result<()> {
        let sql = sql.to_owned();
        self.call(move |s| s.batch(&sql)).await
    }

    /// BEGIN with the behaviour of `opts` (DEFERRED by default); a read-only transaction
    /// also sets `PRAGMA query_only` in the same command. Any isolation level is met, since
    /// SQLite is serializable.
    async fn begin(&mut self, opts: &TxOptions) -> Result<()> {
        let sql = SqliteDialect.begin_sql(opts)?;
        let read_only = opts.access() == Some(AccessMode::ReadOnly);
        self.call(move |s| s.begin(&sql, read_only)).await
    }

    /// BEGIN travels with the first statement, in one command to the worker thread.
    fn pipelines_begin(&self) -> bool {
        true
    }

    /// BEGIN and the query in one command to the worker thread.
    async fn begin_and_query(
        &mut self,
        opts: &TxOptions,
        sql: &str,
        params: &[Value],
    ) -> Result<Result<Vec<Row>>> {
        let begin = SqliteDialect.begin_sql(opts)?;
        let read_only = opts.access() == Some(AccessMode::ReadOnly);
        let (sql, params) = (sql.to_owned(), params.to_vec());
        self.call(move |s| {
            s.begin(&begin, read_only)?;
            Ok(s.query(&sql, &params))
        })
        .await
    }

    /// BEGIN and the statement in one command to the worker thread.
    async fn begin_and_execute(
        &mut self,
        opts: &TxOptions,
        sql: &str,
        params: &[Value],
    ) -> Result<Result<u64>> {
        let begin = SqliteDialect.begin_sql(opts)?;
        let read_only = opts.access() == Some(AccessMode::ReadOnly);
        let (sql, params) = (sql.to_owned(), params.to_vec());
        self.call(move |s| {
            s.begin(&begin, read_only)?;
            Ok(s.execute(&sql, &params))
        })
        .await
    }

    /// COMMIT. A thread that ends while COMMIT is pending leaves the outcome unknown.
    async fn commit(&mut self) -> Result<()> {
        committing(self.worker.call(Session::commit).await, "COMMIT was sent")
    }

    /// The statements and COMMIT in one command to the worker thread: one hop instead of
    /// one per statement. The first failing statement stops it, with the transaction still
    /// open (the caller rolls it back), as when each is sent alone.
    async fn execute_all_and_commit(
        &mut self,
        statements: &[(&str, &[Value])],
    ) -> Result<Vec<u64>> {
        let owned: Vec<(String, Vec<Value>)> = statements
            .iter()
            .map(|(sql, params)| ((*sql).to_owned(), params.to_vec()))
            .collect();
        let run = move |s: &mut Session| {
            let mut counts = Vec::with_capacity(owned.len());
            for (sql, params) in &owned {
                counts.push(s.execute(sql, params)?);
            }
            s.commit()?;
            Ok(counts)
        };
        committing(
            self.worker.call(run).await,
            "the statements and COMMIT were sent",
        )
    }

    /// The statements and COMMIT travel in one command (`execute_all_and_commit`).
    fn pipelines_flush(&self) -> bool {
        true
    }

    async fn rollback(&mut self) -> Result<()> {
        self.call(Session::rollback).await
    }

    async fn ping(&mut self) -> Result<()> {
        self.call(Session::ping).await
    }

    async fn server_in_transaction(&mut self) -> Result<bool> {
        self.call(|s| Ok(s.in_transaction())).await
    }

    /// Queues a rollback behind any abandoned command: it runs once that command is done,
    /// and rolls back whatever transaction is then open.
    async fn recover(&mut self) -> Result<()> {
        self.call(Session::rollback).await
    }

    async fn reset(&mut self, mode: ResetMode) -> Result<()> {
        match mode {
            ResetMode::Rollback => self.call(Session::rollback).await,
            ResetMode::Full => self.call(Session::reset_full).await,
            ResetMode::None if self.worker.is_broken() => Err(Gone::NotSent.into_error()),
            ResetMode::None => Ok(()),
        }
    }

    fn is_broken(&self) -> bool {
        self.worker.is_broken()
    }

    /// Ends the worker thread once queued commands are done; the database connection is
    /// closed on that thread (rolling back anything open) before this returns.
    async fn close(self) {
        self.worker.close().await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn close_ends_the_thread() {
        let conn = SqliteConnectOptions::memory().connect().await.unwrap();
        let ended = conn.broken_flag();
        assert!(!conn.is_broken());
        conn.close().await;
        // close() returns after the thread has closed the database and is finishing.
        assert!(ended.load(Ordering::Acquire));
    }

    #[tokio::test]
    async fn dropping_the_connection_ends_the_thread() {
        let conn = SqliteConnectOptions::memory().connect().await.unwrap();
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
        let mut conn = SqliteConnectOptions::memory().connect().await.unwrap();
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
    async fn backend_reads_urls() {
        let url = DatabaseUrl::parse("sqlite::memory:").unwrap();
        let options = Sqlite::options_from_url(&url).unwrap();
        assert!(Sqlite::single_connection(&options));
        let mut conn = Sqlite::connect(&options).await.unwrap();
        conn.ping().await.unwrap();
        assert!(Sqlite::SCHEMES.contains(&"sqlite"));
        let file = Sqlite::options_from_url(&DatabaseUrl::parse("sqlite://x.db").unwrap());
        assert!(!Sqlite::single_connection(&file.unwrap()));
    }
}
