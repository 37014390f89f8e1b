//! [`Engine::with_table_locks`]: a unit of work under MySQL/MariaDB `LOCK TABLES`, reached
//! from an engine's pool.

use txkit_core::{BoxFuture, Error, Result, TableLock};
use txkit_mysql::MySqlConnection;

use crate::Engine;

impl Engine {
    /// Runs `work` as one transaction under MySQL/MariaDB table locks, on a connection
    /// checked out for the unit: `SET autocommit = 0; LOCK TABLES …`, the work, then
    /// `COMMIT` (or `ROLLBACK` when `work` fails) `; UNLOCK TABLES; SET autocommit = 1` —
    /// the MySQL manual's recipe, since `LOCK TABLES` commits an open transaction and
    /// `START TRANSACTION` releases table locks (so `tx.lock_table` is refused there).
    ///
    /// Modes: [`TableLock::share`] is `READ`, [`TableLock::access_exclusive`] is `WRITE`;
    /// other modes are Unsupported (see [`TableLockMode`](crate::lock::TableLockMode)). Inside
    /// the unit every table the work touches must be listed (a MySQL rule) and `begin` is
    /// refused.
    ///
    /// The connection goes back to the pool with no table lock held and autocommit on: after
    /// a failing unit the locks are released before this returns; if this future is
    /// dropped part-way (cancelled, timed out), the connection reports itself broken and the
    /// pool closes it, which ends the server session and its locks.
    ///
    /// Unsupported on an engine of another backend (sea-orm included): on PostgreSQL and
    /// SQLite, lock tables inside a transaction with `tx.lock_table(table, &lock)`.
    ///
    /// ```no_run
    /// # async fn demo(engine: &txkit::Engine) -> txkit::Result<()> {
    /// use txkit::TableLock;
    /// use txkit::core::Connection;
    /// let deleted = engine
    ///     .with_table_locks(&[("ledger", TableLock::access_exclusive())], |c| {
    ///         Box::pin(async move { c.execute("DELETE FROM ledger WHERE closed", &[]).await })
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn with_table_locks<T, F>(&self, tables: &[(&str, TableLock)], work: F) -> Result<T>
    where
        T: Send,
        F: for<'c> FnOnce(&'c mut MySqlConnection) -> BoxFuture<'c, Result<T>> + Send,
    {
        let backend = self.backend();
        let mut conn = self.connection().await?;
        let Some(mysql) = conn.raw_mut().downcast_mut::<MySqlConnection>() else {
            return Err(Error::unsupported(format!(
                "with_table_locks runs MySQL/MariaDB LOCK TABLES on txkit's own MySQL driver; \
                 this engine is {backend}: on PostgreSQL or SQLite lock a table inside a \
                 transaction with tx.lock_table(table, &lock) instead; for MySQL/MariaDB \
                 open the engine with a mysql:// or mariadb:// URL"
            )));
        };
        mysql.with_table_locks(tables, work).await
    }
}
