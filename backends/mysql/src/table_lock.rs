//! [`MySqlConnection::with_table_locks`]: a unit of work under `LOCK TABLES`, the way the
//! MySQL manual prescribes for transactional tables.
//!
//! `LOCK TABLES` commits any open transaction, and `START TRANSACTION` releases table locks,
//! so a table lock cannot be a statement inside a txkit transaction. The manual's pattern
//! is used instead: `SET autocommit = 0; LOCK TABLES …`, the work, then
//! `COMMIT; UNLOCK TABLES; SET autocommit = 1` (ROLLBACK instead of COMMIT when the work
//! fails). With autocommit off, the work is one transaction that the tables' locks cover
//! from its first statement to its commit.

use txkit_core::{BoxFuture, Error, ErrorKind, Result, TableLock};

use crate::connection::MySqlConnection;

const UNLOCK_AFTER_COMMIT: &str = "COMMIT; UNLOCK TABLES; SET autocommit = 1";
const UNLOCK_AFTER_ROLLBACK: &str = "ROLLBACK; UNLOCK TABLES; SET autocommit = 1";

impl MySqlConnection {
    /// Runs `work` as one transaction with `tables` locked ([`TableLock::share`] → `READ`,
    /// [`TableLock::access_exclusive`] → `WRITE`; other modes are Unsupported, see
    /// [`MySqlDialect::lock_tables_sql`](crate::MySqlDialect::lock_tables_sql)), commits it
    /// when `work` succeeds and rolls it back when it fails, then unlocks.
    ///
    /// Refused (Config) when a transaction is open: LOCK TABLES would commit it. Inside the
    /// unit, every table the work touches must be in `tables` (a MySQL rule), and `begin`
    /// is refused. If the returned future is dropped before the end, the session keeps its
    /// locks: [`is_broken`](txkit_core::Connection::is_broken) then says true (so a pool
    /// discards it), and [`recover`](txkit_core::Connection::recover) releases them.
    ///
    /// From a txkit `Engine`, call `engine.with_table_locks(…)`, which checks a connection
    /// out for the unit. On a [`ManagedConnection`](txkit_core::ManagedConnection), call it
    /// through `raw_mut()` (and [`AnyConnection::downcast_mut`](txkit_core::AnyConnection::downcast_mut))
    /// while no transaction is open.
    ///
    /// ```no_run
    /// # async fn demo(conn: &mut txkit_mysql::MySqlConnection) -> txkit_core::Result<()> {
    /// use txkit_core::{Connection, TableLock};
    /// let moved = conn
    ///     .with_table_locks(&[("ledger", TableLock::access_exclusive())], |c| {
    ///         Box::pin(async move { c.execute("DELETE FROM ledger WHERE closed", &[]).await })
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn with_table_locks<T, F>(
        &mut self,
        tables: &[(&str, TableLock)],
        work: F,
    ) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(&'c mut MySqlConnection) -> BoxFuture<'c, Result<T>> + Send,
    {
        let lock_sql = self.mysql_dialect().lock_tables_sql(tables)?;
        self.link.finish_abandoned().await?;
        if self.table_locks_held {
            return Err(Error::usage(
                "with_table_locks is already running on this connection; LOCK TABLES \
                 replaces the locks held, so list every table in one call",
            ));
        }
        if self.status_in_transaction() == Some(true) {
            return Err(Error::usage(
                "a transaction is open on this connection; LOCK TABLES would commit it \
                 implicitly. Commit or roll it back before with_table_locks",
            ));
        }
        self.table_locks_held = true;
        if let Err(e) = self
            .run_text(&format!("SET autocommit = 0; {lock_sql}"))
            .await
        {
            self.undo_locks().await;
            return Err(e);
        }
        let result = work(self).await;
        let end = if result.is_ok() {
            UNLOCK_AFTER_COMMIT
        } else {
            UNLOCK_AFTER_ROLLBACK
        };
        match self.run_text(end).await {
            Ok(()) => {
                self.table_locks_held = false;
                result
            }
            Err(e) if result.is_ok() && e.kind() == ErrorKind::ConnectionLost => {
                Err(e.with_kind(ErrorKind::CommitOutcomeUnknown).context(
                    "the connection was lost while waiting for COMMIT's answer; the work \
                     under table locks may or may not have committed",
                ))
            }
            Err(e) => {
                self.undo_locks().await;
                Err(e.context("ending a unit of work under table locks"))
            }
        }
    }

    /// Rolls back, unlocks and restores autocommit after a failure; if even that fails the
    /// connection is marked broken (closing it releases everything on the server).
    async fn undo_locks(&mut self) {
        match self.run_text(UNLOCK_AFTER_ROLLBACK).await {
            Ok(()) => self.table_locks_held = false,
            Err(e) => {
                tracing::warn!(error = %e, "releasing MySQL table locks failed; the connection is discarded");
                self.link.mark_broken();
            }
        }
    }
}
