//! [`Session`]: a unit of work over one pooled connection, after SQLAlchemy's Session.
//!
//! Nothing touches the database until a statement must: the first one checks a connection
//! out and goes together with BEGIN (one round trip on PostgreSQL and SQLite). Entities
//! given to [`add`](Session::add), [`update`](Session::update) and
//! [`delete`](Session::delete) are borrowed and written at [`flush`](Session::flush) (also
//! run before every query and before commit), and generated keys and new versions are
//! stored back into them. [`begin_nested`](Session::begin_nested) opens a savepoint that
//! scopes pending work too. Dropping a session rolls it back.

mod jobs;
mod lazy;
mod nested;
mod pending;
mod query;
mod select;

pub use nested::NestedSession;
pub use query::Query;
pub use select::{Select, SortOrder};

use std::fmt;

use lazy::{Lazy, locks_by_write_lock};
use pending::{Delete, Insert, Pending, Update};
use query::{Render, Runner};

use crate::connection::{AnyConnection, BoxFuture, Connection};
use crate::entity::Entity;
use crate::error::Result;
use crate::isolation::{IsolationLevel, TxOptions};
use crate::lock::TableLock;
use crate::pool::Pool;
use crate::row::Row;
use crate::value::Value;

/// A unit of work: pending writes of borrowed entities, queries, and one transaction begun
/// lazily on a pooled connection. `'a` is how long the entities handed to it are borrowed:
/// they are the caller's again once the session is committed, rolled back or dropped.
///
/// ```
/// # async fn demo<A: txkit_core::Entity>(pool: txkit_core::Pool, mut a: A, mut b: A) -> txkit_core::Result<()> {
/// let mut session = txkit_core::Session::new(pool, txkit_core::TxOptions::new());
/// session.add(&mut a);            // nothing sent yet
/// session.add(&mut b);
/// session.commit().await?;        // BEGIN + INSERT (one round trip), INSERT, COMMIT
/// // a's and b's generated keys are set now
/// # Ok(()) }
/// ```
#[must_use = "a session is rolled back when dropped; call commit() to keep its work"]
pub struct Session<'a, C: Connection = AnyConnection> {
    lazy: Lazy<C>,
    pending: Pending<'a, Lazy<C>>,
}

impl<C: Connection> fmt::Debug for Session<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("active", &self.lazy.is_active())
            .field("options", &self.lazy.options())
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl<'a, C: Connection> Session<'a, C> {
    /// A session on `pool`; its transaction begins with `opts` (unset fields from the
    /// pool's defaults) when the first statement runs.
    pub fn new(pool: Pool<C>, opts: TxOptions) -> Self {
        Self {
            lazy: Lazy::new(pool, opts),
            pending: Pending::new(),
        }
    }

    /// Whether BEGIN has been sent.
    pub fn is_active(&self) -> bool {
        self.lazy.is_active()
    }

    /// How many writes wait for the next flush.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Sets the isolation level of this session's transaction; a Config error once it has
    /// begun.
    pub fn set_isolation(&mut self, level: IsolationLevel) -> Result<()> {
        let opts = self.lazy.options().isolation(level);
        self.lazy.set_options(opts)
    }

    /// INSERTs `entity` at the next flush; its generated key (and first version) are
    /// stored into it then.
    pub fn add<E: Entity>(&mut self, entity: &'a mut E) {
        self.pending.push(Insert(entity));
    }

    /// [`add`](Self::add) for each entity, in order.
    pub fn add_all<E: Entity>(&mut self, entities: impl IntoIterator<Item = &'a mut E>) {
        for entity in entities {
            self.add(entity);
        }
    }

    /// UPDATEs `entity`'s row at the next flush; a versioned entity is checked against its
    /// version (StaleData if the row moved on) and gets the new one.
    pub fn update<E: Entity>(&mut self, entity: &'a mut E) {
        self.pending.push(Update(entity));
    }

    /// DELETEs `entity`'s row at the next flush (version-checked when versioned).
    pub fn delete<E: Entity>(&mut self, entity: &'a E) {
        self.pending.push(Delete(entity));
    }

    /// Writes the pending work now, in the order it was added (the first write carries
    /// BEGIN). After an error the rest is discarded and [`commit`](Self::commit) refuses.
    pub async fn flush(&mut self) -> Result<()> {
        if self.pending.len() == 0 {
            return Ok(());
        }
        self.lazy.connect().await?;
        self.pending.flush(&mut self.lazy).await
    }

    /// Flushes, then COMMITs. A session that never sent a statement sends nothing.
    pub async fn commit(mut self) -> Result<()> {
        self.flush_for_commit().await?;
        match self.lazy.into_transaction() {
            Some(tx) => tx.commit().await,
            None => Ok(()),
        }
    }

    /// Flushes, then runs `statements` and COMMIT as one flush
    /// ([`Transaction::commit_with`](crate::Transaction::commit_with)): on PostgreSQL one
    /// round trip. With the lazy BEGIN that rides on the session's first query, a unit of
    /// work of one locked read and its writes — a transfer — costs two round trips. Returns
    /// the rows each statement affected; when one fails nothing is committed.
    pub async fn commit_with(mut self, statements: &[(&str, &[Value])]) -> Result<Vec<u64>> {
        self.flush_for_commit().await?;
        self.lazy.transaction().await?;
        match self.lazy.into_transaction() {
            Some(tx) => tx.commit_with(statements).await,
            None => Err(crate::Error::new(
                crate::ErrorKind::Database,
                "the session's transaction is gone before its flush",
            )),
        }
    }

    /// Writes the pending work before COMMIT; when that (or an earlier flush) failed, rolls
    /// back what was sent and returns the failure.
    async fn flush_for_commit(&mut self) -> Result<()> {
        let flushed = self.flush().await;
        let Err(e) = flushed.and_then(|()| self.pending.check_not_failed()) else {
            return Ok(());
        };
        if let Some(tx) = self.lazy.take_transaction()
            && let Err(rollback) = tx.rollback().await
        {
            tracing::warn!(error = %rollback, "rolling back a session after a failed flush");
        }
        Err(e)
    }

    /// Discards pending work and rolls back whatever was sent.
    pub async fn rollback(mut self) -> Result<()> {
        self.pending.discard();
        match self.lazy.into_transaction() {
            Some(tx) => tx.rollback().await,
            None => Ok(()),
        }
    }

    /// Runs a statement in the session's transaction (after flushing); rows affected.
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.flush().await?;
        self.lazy.execute(sql, params).await
    }

    /// Runs one statement once for each parameter set in `rows`, in the session's
    /// transaction (after flushing); the rows each run affected. See
    /// [`Transaction::execute_many`](crate::Transaction::execute_many).
    pub async fn execute_many<P>(&mut self, sql: &str, rows: &[P]) -> Result<Vec<u64>>
    where
        P: AsRef<[Value]> + Sync,
    {
        // Refused before a lazily begun transaction would be, for nothing.
        crate::transaction::same_size(rows)?;
        self.flush().await?;
        self.lazy.transaction().await?.execute_many(sql, rows).await
    }

    /// Runs a query in the session's transaction (after flushing); its rows. (The entity
    /// query builder is [`query`](Self::query).)
    pub async fn query_sql(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        self.flush().await?;
        let opts = self.lazy.options();
        self.lazy.fetch_with(opts, sql, params).await
    }

    /// A query over entity `E`: filter, order, limit, row locks, then `all()`, `first()`,
    /// `one()`, `one_or_none()` or `count()`.
    pub fn query<E: Entity>(&mut self) -> Query<'_, E> {
        Query::new(self)
    }

    /// Locks `E`'s table until the session ends (see
    /// [`Transaction::lock_table`](crate::Transaction::lock_table): Unsupported on
    /// MySQL/MariaDB, whose LOCK TABLES would commit the transaction; on SQLite the
    /// database write lock). Pending work is flushed first.
    pub async fn lock_table<E: Entity>(&mut self, lock: TableLock) -> Result<()> {
        self.flush().await?;
        self.lazy
            .transaction()
            .await?
            .lock_table(E::TABLE, &lock)
            .await
    }

    /// Flushes, then opens a savepoint (beginning the transaction if need be). The nested
    /// scope has its own pending work: its commit flushes it and releases the savepoint,
    /// its rollback discards it and rolls back to the savepoint. The session is usable
    /// again once the nested scope ends.
    pub async fn begin_nested<'b>(&mut self) -> Result<NestedSession<'_, 'b, C>> {
        self.flush().await?;
        let sp = self.lazy.transaction().await?.savepoint().await?;
        Ok(NestedSession::new(sp))
    }
}

impl<C: Connection> Runner for Session<'_, C> {
    fn run_select<'r>(
        &'r mut self,
        table: &'static str,
        locking: bool,
        render: Render<'r>,
    ) -> BoxFuture<'r, Result<Vec<Row>>> {
        Box::pin(async move {
            self.flush().await?;
            self.lazy.connect().await?;
            let (sql, write_lock) = {
                let dialect = self.lazy.dialect();
                (render(dialect)?, locking && locks_by_write_lock(dialect))
            };
            if write_lock {
                self.lazy
                    .fetch_write_locked(table, &sql.text, &sql.params)
                    .await
            } else {
                let opts = self.lazy.options();
                self.lazy.fetch_with(opts, &sql.text, &sql.params).await
            }
        })
    }
}
