//! [`Engine::sqlite_transaction`]: a whole SQLite transaction run in one piece where the
//! connection lives, with synchronous statements, on a connection checked out for it.

use txkit_core::{Error, Result, TxOptions};
use txkit_sqlite::{SqliteConnection, SyncTransaction};

use crate::Engine;

impl Engine {
    /// Runs `work` as one SQLite transaction, whole, where the pooled connection lives: BEGIN,
    /// the unit's synchronous statements ([`SyncTransaction`]), then COMMIT — or ROLLBACK
    /// when `work` returns `Err`. One hop however many statements (what hand-written rusqlite
    /// inside one `spawn_blocking` costs), never on an async runtime thread; unless `opts`
    /// are read-only the unit first waits, asynchronously and in line, for the database
    /// file's write gate. Unset fields of `opts` come from the engine's defaults.
    ///
    /// Use it for a unit of work with many statements on the `thread` execution, or with
    /// statements too long to run inline. With the default (inline) execution, short
    /// transactions through [`begin`](Engine::begin) already cost no hop at all.
    ///
    /// If this future is dropped, the unit still runs to its end (COMMIT included) and the
    /// connection's next user waits for it. Unsupported on an engine of another backend.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> txkit::Result<()> {
    /// use txkit::{TxOptions, params};
    /// let dir = tempfile::tempdir().unwrap();
    /// let url = format!("sqlite://{}/bank.db", dir.path().display());
    /// let engine = txkit::Engine::connect(&url).await?;
    /// engine.execute("CREATE TABLE account (id INTEGER PRIMARY KEY, cents INTEGER)", &[]).await?;
    /// engine.execute("INSERT INTO account VALUES (1, 500), (2, 0)", &[]).await?;
    /// let (from, to, amount) = (1_i64, 2_i64, 200_i64);
    /// engine
    ///     .sqlite_transaction(TxOptions::new(), move |tx| {
    ///         let moved = tx.execute(
    ///             "UPDATE account SET cents = cents - ? WHERE id = ? AND cents >= ?",
    ///             &params![amount, from, amount],
    ///         )?;
    ///         if moved == 1 {
    ///             tx.execute("UPDATE account SET cents = cents + ? WHERE id = ?", &params![amount, to])?;
    ///         }
    ///         Ok(())
    ///     })
    ///     .await?;
    /// let rows = engine.query("SELECT cents FROM account ORDER BY id", &[]).await?;
    /// assert_eq!((rows[0].get::<i64>(0)?, rows[1].get::<i64>(0)?), (300, 200));
    /// # Ok(()) }
    /// ```
    pub async fn sqlite_transaction<T, F>(&self, opts: TxOptions, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut SyncTransaction<'_>) -> Result<T> + Send + 'static,
    {
        let backend = self.backend();
        let opts = opts.or(self.default_options());
        let mut conn = self.connection().await?;
        let Some(sqlite) = conn.raw_mut().downcast_mut::<SqliteConnection>() else {
            return Err(Error::unsupported(format!(
                "sqlite_transaction runs synchronous statements on a SQLite connection's own \
                 thread; this engine is {backend}: use engine.begin() and await each \
                 statement instead"
            )));
        };
        sqlite.run_transaction(&opts, work).await
    }
}
