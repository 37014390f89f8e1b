//! The [`Transaction`] guard: a transaction or, nested, a savepoint.

use std::ops::{Deref, DerefMut};

use crate::connection::{AnyConnection, Connection};
use crate::dialect::validate_savepoint_name;
use crate::error::{Error, Result};
use crate::isolation::TxOptions;
use crate::managed::{ManagedConnection, tracked};
use crate::pool::PooledConnection;
use crate::row::Row;
use crate::state::{TxEvent, TxState};
use crate::value::Value;

/// Where a guard's connection lives: borrowed from a caller, or owned (a pooled connection
/// checked out by `engine.begin()`, returned to the pool when the guard ends).
enum Held<'c, C: Connection> {
    Borrowed(&'c mut ManagedConnection<C>),
    Pooled(PooledConnection<C>),
}

impl<C: Connection> Deref for Held<'_, C> {
    type Target = ManagedConnection<C>;
    fn deref(&self) -> &Self::Target {
        match self {
            Held::Borrowed(c) => c,
            Held::Pooled(p) => p,
        }
    }
}

impl<C: Connection> DerefMut for Held<'_, C> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Held::Borrowed(c) => c,
            Held::Pooled(p) => p,
        }
    }
}

/// An open transaction (level 1) or savepoint (level 2 and deeper).
///
/// End it with [`commit`](Self::commit) or [`rollback`](Self::rollback). Dropping it
/// unfinished rolls it back — to its savepoint for a nested guard, wholly for a transaction —
/// before the connection runs anything else; a pooled connection is rolled back before any
/// other caller can check it out.
///
/// ```
/// # async fn demo(conn: &mut txkit_core::ManagedConnection) -> txkit_core::Result<()> {
/// let mut tx = conn.begin().await?;
/// tx.execute("INSERT INTO t (name) VALUES (?)", &txkit_core::params!["alice"]).await?;
/// {
///     let mut sp = tx.savepoint().await?;
///     sp.execute("INSERT INTO t (name) VALUES (?)", &txkit_core::params!["bob"]).await?;
///     sp.rollback().await?; // bob is undone, alice stays
/// }
/// tx.commit().await?;
/// # Ok(()) }
/// ```
#[must_use = "a transaction is rolled back when dropped; call commit() to keep its work"]
pub struct Transaction<'c, C: Connection = AnyConnection> {
    conn: Held<'c, C>,
    level: u32,
    serial: u64,
    finished: bool,
}

impl<C: Connection> std::fmt::Debug for Transaction<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("level", &self.level)
            .field("state", &self.conn.tx_state())
            .finish()
    }
}

impl<'c, C: Connection> Transaction<'c, C> {
    pub(crate) async fn begin_borrowed(
        conn: &'c mut ManagedConnection<C>,
        opts: TxOptions,
    ) -> Result<Self> {
        let serial = conn.start(opts).await?;
        Ok(Self::armed(Held::Borrowed(conn), serial))
    }

    /// The guard of a transaction just begun on `conn` (with its first statement).
    pub(crate) fn begun_borrowed(conn: &'c mut ManagedConnection<C>, serial: u64) -> Self {
        Self::armed(Held::Borrowed(conn), serial)
    }

    fn armed(conn: Held<'c, C>, serial: u64) -> Self {
        Self {
            conn,
            level: 1,
            serial,
            finished: false,
        }
    }

    /// How deep this guard is: 1 for the transaction, 2 for its first savepoint, ….
    pub fn depth(&self) -> u32 {
        self.level
    }

    /// Whether this guard is a savepoint rather than the transaction itself.
    pub fn is_savepoint(&self) -> bool {
        self.level > 1
    }

    /// The connection's transaction state.
    pub fn tx_state(&self) -> TxState {
        self.conn.tx_state()
    }

    /// The SQL dialect of the connection.
    pub fn dialect(&self) -> &dyn crate::Dialect {
        self.conn.dialect()
    }

    /// The driver connection this transaction runs on, for backend-specific extensions that
    /// run statements inside it (txkit-sea-orm's `tx.sea_orm()`). Debts left by dropped
    /// savepoints are paid first, and the level must be usable; the shared borrow keeps
    /// this guard from being used or ended while the connection is lent.
    pub async fn driver(&mut self) -> Result<&C> {
        self.ready().await?;
        Ok(self.conn.raw())
    }

    /// Pays what dropped children or a doomed restart savepoint left owed (for a retry
    /// loop, which then checks [`is_open`](Self::is_open)).
    pub(crate) async fn settle(&mut self) -> Result<()> {
        self.conn.settle().await
    }

    /// Whether this level is open and usable (no child open, nothing owed).
    pub(crate) fn is_open(&self) -> bool {
        self.conn.book.is_live(self.level, self.serial)
    }

    /// Pays debts left by dropped children, then checks this level is still open.
    async fn ready(&mut self) -> Result<()> {
        self.conn.settle().await?;
        if self.conn.book.is_live(self.level, self.serial) {
            Ok(())
        } else {
            Err(self.conn.not_live_error())
        }
    }

    /// Runs a statement in this transaction; returns rows affected.
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.conn.screen(sql)?;
        self.ready().await?;
        let conn = &mut *self.conn;
        tracked!(conn, conn.raw.execute(sql, params))
    }

    /// Runs one statement once for each parameter set in `rows`, in order; returns the rows
    /// each run affected. The statement is prepared once and bound again for each set: on
    /// PostgreSQL all runs leave together and cost one round trip once the statement is
    /// prepared; on SQLite they cost one hop to the connection's thread; on MySQL/MariaDB
    /// they run one after another on one prepared statement (a round trip each, as
    /// `exec_batch` does). Use it for a batch of INSERTs or UPDATEs of the same shape.
    ///
    /// The first failing run stops it and its error is returned; the runs before it stay
    /// done in this transaction, as when each is sent alone (on PostgreSQL the failure has
    /// aborted the transaction, as any failed statement does). Parameter sets of different
    /// sizes are a Config error before anything is run, on every backend: one statement
    /// takes one number of parameters, so at least one set is wrong. An empty `rows` sends
    /// nothing.
    ///
    /// ```
    /// # async fn demo(conn: &mut txkit_core::ManagedConnection) -> txkit_core::Result<()> {
    /// use txkit_core::params;
    /// let mut tx = conn.begin().await?;
    /// let counts = tx
    ///     .execute_many(
    ///         "INSERT INTO ledger (from_id, to_id, cents) VALUES (?, ?, ?)",
    ///         &[params![1, 2, 500], params![2, 3, 250]],
    ///     )
    ///     .await?;
    /// assert_eq!(counts, [1, 1]);
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn execute_many<P>(&mut self, sql: &str, rows: &[P]) -> Result<Vec<u64>>
    where
        P: AsRef<[Value]> + Sync,
    {
        self.conn.screen(sql)?;
        same_size(rows)?;
        self.ready().await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<&[Value]> = rows.iter().map(AsRef::as_ref).collect();
        let conn = &mut *self.conn;
        if !conn.raw.pipelines() {
            // One request per run (`tracked!` counts the first).
            conn.requests += rows.len() as u64 - 1;
        }
        tracked!(conn, conn.raw.execute_many(sql, &rows))
    }

    /// Runs a query in this transaction; returns its rows.
    pub async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        self.conn.screen(sql)?;
        self.ready().await?;
        let conn = &mut *self.conn;
        tracked!(conn, conn.raw.query(sql, params))
    }

    /// Locks `table` until the transaction ends (PostgreSQL `LOCK TABLE`, SQLite the
    /// database write lock, …), or answers Unsupported where the backend cannot give at
    /// least the exclusion asked for. The name is quoted by the dialect.
    pub async fn lock_table(&mut self, table: &str, lock: &crate::TableLock) -> Result<()> {
        self.ready().await?;
        let conn = &mut *self.conn;
        tracked!(conn, conn.raw.lock_table(table, lock))
    }

    /// Opens a savepoint with a generated name; the returned guard borrows this one, so the
    /// parent cannot be used until the savepoint is committed, rolled back or dropped.
    pub async fn savepoint(&mut self) -> Result<Transaction<'_, C>> {
        let name = format!("txkit_sp_{}", self.conn.book.peek_serial());
        self.open_savepoint(name).await
    }

    /// Opens a savepoint with a caller-chosen name (1 to 63 ASCII letters, digits or `_`,
    /// not starting with a digit; quoted by the dialect as well).
    pub async fn savepoint_named(&mut self, name: &str) -> Result<Transaction<'_, C>> {
        validate_savepoint_name(name)?;
        self.open_savepoint(name.to_owned()).await
    }

    async fn open_savepoint(&mut self, name: String) -> Result<Transaction<'_, C>> {
        self.open_level(name, false).await
    }

    /// Opens a restart savepoint for a retry loop that rolls back to it after a conflict
    /// and runs again (CockroachDB's protocol): a deadlock, serialization failure or lock
    /// timeout inside it owes a rollback to it only, not of the whole transaction.
    pub(crate) async fn restart_savepoint(&mut self, name: &str) -> Result<Transaction<'_, C>> {
        validate_savepoint_name(name)?;
        self.open_level(name.to_owned(), true).await
    }

    async fn open_level(&mut self, name: String, restart: bool) -> Result<Transaction<'_, C>> {
        self.ready().await?;
        let conn = &mut *self.conn;
        let serial = conn.book.peek_serial();
        tracked!(conn, conn.raw.savepoint(&name))?;
        conn.book.transition(if restart {
            TxEvent::RestartSavepointSet(name)
        } else {
            TxEvent::SavepointSet(name)
        });
        Ok(Transaction {
            conn: Held::Borrowed(conn),
            level: self.level + 1,
            serial,
            finished: false,
        })
    }

    /// Ends a one-statement transaction: commits after `outcome` succeeded and returns it,
    /// or rolls back and returns the statement's error.
    pub(crate) async fn finish<T>(self, outcome: Result<T>) -> Result<T> {
        match outcome {
            Ok(value) => self.commit().await.map(|()| value),
            Err(e) => {
                if let Err(rollback) = self.rollback().await {
                    tracing::warn!(error = %rollback, "rolling back a one-statement transaction");
                }
                Err(e)
            }
        }
    }

    /// Commits the transaction, or releases the savepoint into its parent.
    pub async fn commit(mut self) -> Result<()> {
        self.ready().await?;
        let level = self.level;
        let conn = &mut *self.conn;
        if level > 1 {
            let name = conn.book.savepoint_name(level)?;
            tracked!(conn, conn.raw.release_savepoint(&name))?;
            conn.book.transition(TxEvent::Released);
            self.finished = true;
            return Ok(());
        }
        let result = tracked!(conn, conn.raw.commit());
        ended_by_commit(conn, result.as_ref().err()).await;
        self.finished = true;
        result
    }

    /// Runs `statements` and commits, as one flush: on PostgreSQL the statements and
    /// COMMIT leave together and cost one round trip (their plans cached after first use);
    /// on MySQL/MariaDB and SQLite they run one after another, then COMMIT. Returns the rows
    /// each statement affected.
    ///
    /// Use it for the writes of a unit of work whose results it does not need before
    /// deciding to commit: a transfer's two UPDATEs and its ledger INSERT after the locked
    /// read. When a statement fails nothing is committed: the transaction is rolled back
    /// and that statement's error returned (a deadlock stays a retryable Deadlock). On a
    /// savepoint the statements run and the savepoint is released.
    ///
    /// ```
    /// # async fn demo(conn: &mut txkit_core::ManagedConnection) -> txkit_core::Result<()> {
    /// use txkit_core::params;
    /// let mut tx = conn.begin().await?;
    /// tx.query("SELECT balance FROM accounts WHERE id IN (1, 2) ORDER BY id", &[]).await?;
    /// let counts = tx
    ///     .commit_with(&[
    ///         ("UPDATE accounts SET balance = balance - ? WHERE id = ?", &params![5, 1]),
    ///         ("UPDATE accounts SET balance = balance + ? WHERE id = ?", &params![5, 2]),
    ///     ])
    ///     .await?;
    /// assert_eq!(counts, [1, 1]);
    /// # Ok(()) }
    /// ```
    pub async fn commit_with(mut self, statements: &[(&str, &[Value])]) -> Result<Vec<u64>> {
        for (sql, _) in statements {
            self.conn.screen(sql)?;
        }
        if self.level > 1 {
            let mut counts = Vec::with_capacity(statements.len());
            for (sql, params) in statements {
                counts.push(self.execute(sql, params).await?);
            }
            self.commit().await?;
            return Ok(counts);
        }
        self.ready().await?;
        let conn = &mut *self.conn;
        if !conn.raw.pipelines() {
            // One request per statement, then COMMIT (counted by `tracked!`).
            conn.requests += statements.len() as u64;
        }
        let result = tracked!(conn, conn.raw.execute_all_and_commit(statements));
        ended_by_commit(conn, result.as_ref().err()).await;
        self.finished = true;
        result
    }

    /// Rolls back the transaction, or to the savepoint (its work undone, the parent kept).
    pub async fn rollback(mut self) -> Result<()> {
        self.finished = true;
        let (level, serial) = (self.level, self.serial);
        let conn = &mut *self.conn;
        if !conn.book.holds(level, serial) && conn.book.state() != TxState::Broken {
            // Already undone (a doomed transaction, a recovered cancel): nothing to do,
            // beyond paying debts so the connection is clean.
            return conn.settle().await;
        }
        if level == 1 {
            // Rolling back the whole transaction covers any debt of its children; only an
            // abandoned request must be recovered first.
            if conn.book.in_flight() {
                return conn.settle().await;
            }
            tracked!(conn, conn.raw.rollback())?;
            conn.book.transition(TxEvent::Ended);
            return Ok(());
        }
        conn.settle().await?;
        if !conn.book.holds(level, serial) {
            return Ok(());
        }
        let name = conn.book.savepoint_name(level)?;
        tracked!(conn, conn.raw.rollback_to_savepoint(&name))?;
        conn.book.transition(TxEvent::RolledBackTo { level });
        Ok(())
    }
}

impl<C: Connection> Transaction<'static, C> {
    /// Begins a transaction on a pooled connection the guard then owns; the connection goes
    /// back to the pool when the guard ends (rolled back first if it ends unfinished).
    pub async fn begin_pooled(mut conn: PooledConnection<C>, opts: TxOptions) -> Result<Self> {
        let serial = conn.start(opts).await?;
        Ok(Self::armed(Held::Pooled(conn), serial))
    }

    /// Begins a transaction on a pooled connection together with its first query, sent
    /// with BEGIN in one round trip where the backend can (the lazy BEGIN of a session).
    /// An `Err` means BEGIN failed and the connection went back to the pool; otherwise the
    /// guard is returned with the query's own result, which may be an error inside the
    /// open transaction.
    pub async fn begin_pooled_with_query(
        mut conn: PooledConnection<C>,
        opts: TxOptions,
        sql: &str,
        params: &[Value],
    ) -> Result<(Self, Result<Vec<Row>>)> {
        let (serial, rows) = conn.start_with_query(opts, sql, params).await?;
        Ok((Self::armed(Held::Pooled(conn), serial), rows))
    }

    /// [`begin_pooled_with_query`](Self::begin_pooled_with_query) for a statement; the
    /// inner result is the number of rows affected.
    pub async fn begin_pooled_with_execute(
        mut conn: PooledConnection<C>,
        opts: TxOptions,
        sql: &str,
        params: &[Value],
    ) -> Result<(Self, Result<u64>)> {
        let (serial, count) = conn.start_with_execute(opts, sql, params).await?;
        Ok((Self::armed(Held::Pooled(conn), serial), count))
    }
}

/// The state after a COMMIT (or a flush ending in COMMIT) answered with `error` (or
/// succeeded): ended; or, after a failure that left the connection up, doomed and rolled
/// back now — the server may have ended the transaction or may still hold it open, and it
/// must be gone before anyone else uses the connection. A lost connection is already
/// marked broken.
async fn ended_by_commit<C: Connection>(conn: &mut ManagedConnection<C>, error: Option<&Error>) {
    match error {
        None => conn.book.transition(TxEvent::Ended),
        Some(e) if e.is_connection_lost() => {}
        Some(e) => {
            conn.book.transition(TxEvent::Doomed(e.kind()));
            if let Err(settle) = conn.settle().await {
                tracing::warn!(error = %settle, "rollback after a failed COMMIT also failed");
            }
        }
    }
}

impl<C: Connection> Drop for Transaction<'_, C> {
    fn drop(&mut self) {
        if !self.finished {
            let (level, serial) = (self.level, self.serial);
            tracing::debug!(
                level,
                "txkit transaction guard dropped unfinished; rollback owed"
            );
            self.conn
                .book
                .transition(TxEvent::GuardDropped { level, serial });
        }
    }
}

/// A Config error unless every parameter set in `rows` has as many values as the first.
pub(crate) fn same_size<P: AsRef<[Value]>>(rows: &[P]) -> Result<()> {
    let Some(first) = rows.first().map(|r| r.as_ref().len()) else {
        return Ok(());
    };
    match rows.iter().position(|r| r.as_ref().len() != first) {
        None => Ok(()),
        Some(i) => Err(Error::config(format!(
            "execute_many: parameter set {} has {} value(s) where the first has {}; one \
             statement takes one number of parameters, so nothing was run",
            i + 1,
            rows[i].as_ref().len(),
            first
        ))),
    }
}
