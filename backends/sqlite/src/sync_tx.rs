//! [`SyncTransaction`]: a whole transaction run in one piece where the connection lives —
//! its own thread, or a blocking thread for inline execution — with synchronous
//! statements, so that it costs one hop however many statements it runs (the way
//! hand-written rusqlite inside one `spawn_blocking` does).

use txkit_core::{AccessMode, Dialect, Result, Row, TxOptions, Value};

use crate::SqliteDialect;
use crate::connection::SqliteConnection;
use crate::native::Native;

/// The transaction a unit of work given to
/// [`SqliteConnection::run_transaction`] (or `Engine::sqlite_transaction` in the `txkit`
/// facade) runs its statements in. Each call is synchronous: the unit runs where the
/// connection lives, never on an async runtime thread.
///
/// The unit does not commit or roll back itself: returning `Ok` commits, returning `Err`
/// rolls back.
pub struct SyncTransaction<'a> {
    session: &'a mut Native,
}

impl std::fmt::Debug for SyncTransaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncTransaction").finish_non_exhaustive()
    }
}

impl SyncTransaction<'_> {
    /// Runs one statement; returns the rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.session.execute(sql, params)
    }

    /// Runs one query; returns its rows.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        self.session.query(sql, params)
    }

    /// Runs `sql` once for each parameter set, on one prepared statement; returns each
    /// run's changed-row count.
    pub fn execute_many(&mut self, sql: &str, rows: &[&[Value]]) -> Result<Vec<u64>> {
        let mut counts = Vec::with_capacity(rows.len());
        self.session.execute_many(sql, rows, &mut counts)?;
        Ok(counts)
    }
}

/// BEGIN as `begin` says, `work`, then COMMIT — or ROLLBACK when `work` or COMMIT fails —
/// on the session, in one piece.
pub(crate) fn run_unit<T>(
    session: &mut Native,
    begin: &str,
    read_only: bool,
    work: impl FnOnce(&mut SyncTransaction<'_>) -> Result<T>,
) -> Result<T> {
    session.begin(begin, read_only)?;
    let outcome = work(&mut SyncTransaction {
        session: &mut *session,
    })
    .and_then(|value| session.commit().map(|()| value));
    if outcome.is_err()
        && let Err(e) = session.rollback()
    {
        tracing::warn!(error = %e, "txkit-sqlite: rolling back a failed unit of work failed");
    }
    outcome
}

impl SqliteConnection {
    /// Runs `work` as one transaction, whole, where this connection lives: BEGIN (as `opts`
    /// say), the unit's synchronous statements, then COMMIT — or ROLLBACK when `work`
    /// returns `Err` or COMMIT fails. It costs one hop to the connection's thread and back
    /// (with inline execution: to a blocking thread), however many statements the unit
    /// runs. Unless `opts` are read-only, the unit first waits its turn at the file's write
    /// gate (asynchronously), so it never meets another writer of this process inside.
    ///
    /// If this future is dropped, the unit still runs to its end (commit included), and the
    /// connection's next command waits for it. A panic inside `work` ends the connection:
    /// SQLite rolls the transaction back, and the call returns ConnectionLost (or
    /// CommitOutcomeUnknown on a thread of its own, where COMMIT may have been reached).
    ///
    /// ```
    /// use txkit_core::{Connection, TxOptions, params};
    /// use txkit_sqlite::SqliteConnectOptions;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> txkit_core::Result<()> {
    /// let mut conn = SqliteConnectOptions::memory().connect().await?;
    /// conn.execute("CREATE TABLE account (id INTEGER PRIMARY KEY, cents INTEGER)", &[])
    ///     .await?;
    /// conn.execute("INSERT INTO account VALUES (1, 500), (2, 0)", &[]).await?;
    /// let left = conn
    ///     .run_transaction(&TxOptions::new(), |tx| {
    ///         tx.execute("UPDATE account SET cents = cents - 200 WHERE id = 1", &[])?;
    ///         tx.execute("UPDATE account SET cents = cents + 200 WHERE id = 2", &[])?;
    ///         let rows = tx.query("SELECT cents FROM account WHERE id = ?", &params![1])?;
    ///         rows[0].get::<i64>(0)
    ///     })
    ///     .await?;
    /// assert_eq!(left, 300);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_transaction<T, F>(&mut self, opts: &TxOptions, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut SyncTransaction<'_>) -> Result<T> + Send + 'static,
    {
        let begin = SqliteDialect.begin_sql(opts)?;
        let read_only = opts.access() == Some(AccessMode::ReadOnly);
        let unit = move |session: &mut Native| run_unit(session, &begin, read_only, work);
        self.run_unit(read_only, unit).await
    }
}
