//! [`Session`]: a unit of work over one pooled connection, after SQLAlchemy's Session.
//!
//! The session owns what it loads: [`get`](Session::get) and [`query`](Session::query)
//! put each row into an identity map (one object per table and primary key) and lend the
//! object out as `&mut E`. Change it in place; at every flush — before each query, before
//! commit, and on [`flush`](Session::flush) — each object that changed since it was loaded
//! is written, only its changed columns, its version checked and advanced. Objects given
//! to [`add`](Session::add) are INSERTed at the next flush, and
//! [`delete`](Session::delete) marks one for DELETE. Nothing touches the database until a
//! statement must: the first one checks a connection out and goes together with BEGIN
//! (one round trip on PostgreSQL and SQLite). [`begin_nested`](Session::begin_nested)
//! opens a savepoint that scopes changes too. Dropping a session rolls it back.

mod changes;
mod identity;
mod jobs;
mod lazy;
mod nested;
mod pending;
mod query;
mod scope;
mod select;
mod update_batch;
mod update_texts;

pub use identity::Handle;
pub use nested::NestedSession;
pub use query::{Attached, Detached, Query};
pub use select::{Select, SortOrder};

use std::fmt;
use std::marker::PhantomData;

use identity::{IdentityMap, Status};
use lazy::Lazy;
use pending::{OwnedDelete, Pending};
use query::{QueryTarget, Render};

use crate::connection::{AnyConnection, BoxFuture, Connection};
use crate::entity::{Entity, IntoKey, read};
use crate::error::{Error, ErrorKind, Result};
use crate::isolation::{IsolationLevel, TxOptions};
use crate::lock::TableLock;
use crate::pool::Pool;
use crate::row::Row;
use crate::value::Value;

/// A unit of work: the objects it loaded or was given (an identity map), the changes to
/// write, and one transaction begun lazily on a pooled connection.
///
/// Load, change, commit — the session writes what changed:
///
/// ```
/// # #[derive(Debug)] struct Account { id: i64, balance: i64 }
/// # impl txkit_core::Entity for Account {
/// #     const TABLE: &'static str = "accounts";
/// #     const COLUMNS: &'static [txkit_core::ColumnDef] = &[
/// #         txkit_core::ColumnDef { primary_key: true, ..txkit_core::ColumnDef::new("id", "id", txkit_core::ColumnType::BigInt) },
/// #         txkit_core::ColumnDef::new("balance", "balance", txkit_core::ColumnType::BigInt),
/// #     ];
/// #     fn from_row(row: &txkit_core::Row) -> txkit_core::Result<Self> {
/// #         Ok(Self { id: row.get("id")?, balance: row.get("balance")? })
/// #     }
/// #     fn values(&self) -> Vec<txkit_core::Value> { vec![self.id.into(), self.balance.into()] }
/// #     fn set_generated(&mut self, _: &str, v: txkit_core::Value) -> txkit_core::Result<()> {
/// #         self.id = txkit_core::FromValue::from_value(&v, "id")?; Ok(())
/// #     }
/// # }
/// # async fn demo(pool: txkit_core::Pool) -> txkit_core::Result<()> {
/// let mut session = txkit_core::Session::new(pool, txkit_core::TxOptions::new());
/// let a = session.get::<Account>(1).await?.expect("account 1"); // BEGIN + SELECT
/// a.balance += 100;
/// session.commit().await?; // UPDATE accounts SET balance = ? WHERE id = ?, then COMMIT
/// # Ok(()) }
/// ```
///
/// `'a` is how long entities lent to the session with the `_borrowed` methods are
/// borrowed; the objects it owns need no lifetime.
#[must_use = "a session is rolled back when dropped; call commit() to keep its work"]
pub struct Session<'a, C: Connection = AnyConnection> {
    lazy: Lazy<C>,
    map: IdentityMap,
    pending: Pending<'a, Lazy<C>>,
}

impl<C: Connection> fmt::Debug for Session<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("active", &self.lazy.is_active())
            .field("options", &self.lazy.options())
            .field("objects", &self.map.len())
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
            map: IdentityMap::default(),
            pending: Pending::new(),
        }
    }

    /// Whether BEGIN has been sent.
    pub fn is_active(&self) -> bool {
        self.lazy.is_active()
    }

    /// How many inserts and deletes wait for the next flush (changed objects not counted:
    /// see [`is_modified`](Self::is_modified)).
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Whether the next flush has anything to write: a pending insert or delete, or an
    /// object changed since it was loaded.
    pub fn is_modified(&self) -> bool {
        !self.pending.is_clean(&self.map)
    }

    /// Sets the isolation level of this session's transaction; a Usage error once it has
    /// begun.
    pub fn set_isolation(&mut self, level: IsolationLevel) -> Result<()> {
        let opts = self.lazy.options().isolation(level);
        self.lazy.set_options(opts)
    }

    /// The session's identity map (for the methods it shares with a nested scope).
    fn objects(&mut self) -> &mut IdentityMap {
        &mut self.map
    }

    /// Marks the object of `E` with primary key `key` for DELETE at the next flush
    /// (version-checked when versioned), reading it first if the session does not hold
    /// it. Returns whether there was such an object; an object added and not yet flushed
    /// is simply dropped.
    pub async fn delete<E: Entity>(&mut self, key: impl IntoKey) -> Result<bool> {
        let key = key.into_key();
        if self.map.find::<E>(&key).is_none() && self.get::<E>(key.clone()).await?.is_none() {
            return Ok(false);
        }
        let Some(slot) = self.map.find::<E>(&key) else {
            return Ok(false);
        };
        let Some(entry) = self.map.entry_mut(slot) else {
            return Ok(false);
        };
        match entry.status {
            Status::Persistent => {
                entry.status = Status::Deleted;
                self.pending.push(OwnedDelete::<E> {
                    slot,
                    _entity: PhantomData,
                });
                Ok(true)
            }
            Status::New => Ok(self.map.take::<E>(slot).is_some()),
            Status::Deleted | Status::Gone => Ok(false),
        }
    }

    /// Reads the row of `E` with primary key `key` again, replacing the session's object
    /// and discarding its unflushed changes (pending work of other objects is not
    /// flushed). `None`, and the object dropped, when the row no longer exists.
    pub async fn refresh<E: Entity>(&mut self, key: impl IntoKey) -> Result<Option<&mut E>> {
        let key = key.into_key();
        let select = Select::<E>::new().filter(read::key_filter::<E>(key.clone())?);
        let render = move |d: &dyn crate::Dialect| select.render(d);
        let rows = self.select_rows(E::TABLE, false, &render).await?;
        let slot = self.map.find::<E>(&key);
        match (rows.as_slice(), slot) {
            ([], Some(slot)) => {
                self.map.take::<E>(slot);
                Ok(None)
            }
            ([], None) => Ok(None),
            ([row], Some(slot)) => {
                self.map.overwrite(slot, row)?;
                Ok(self.map.get_mut(slot))
            }
            ([_], None) => {
                let row = rows
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::internal("the one row read vanished from its list"))?;
                let slot = self.map.load::<E>(row)?;
                Ok(self.map.get_mut(slot))
            }
            (more, _) => Err(Error::new(
                ErrorKind::Database,
                format!(
                    "{} rows of table {} have the primary key that was refreshed; is it \
                     declared as the table's primary key?",
                    more.len(),
                    E::TABLE
                ),
            )),
        }
    }

    /// Takes the object of `E` with primary key `key` out of the session: it is no longer
    /// tracked (its unflushed changes are not written) and is the caller's.
    pub fn expunge<E: Entity>(&mut self, key: impl IntoKey) -> Option<E> {
        let slot = self.map.find::<E>(&key.into_key())?;
        self.map.take(slot)
    }

    /// Writes the pending work now: inserts and deletes in the order they were asked for
    /// (the first write carries BEGIN), then every loaded object that changed. After an
    /// error the rest is discarded and [`commit`](Self::commit) refuses.
    pub async fn flush(&mut self) -> Result<()> {
        // Nothing pending and no object to compare: no connection needed. Otherwise the
        // flush itself finds what changed (one pass over the objects, not two).
        if self.pending.len() == 0 && self.map.is_empty() {
            return Ok(());
        }
        self.lazy.connect().await?;
        self.pending.flush(&mut self.lazy, &mut self.map).await
    }

    /// Flushes, then COMMITs. A session that never sent a statement sends nothing. The
    /// session ends here: its objects go with it, so none can be read stale in a later
    /// transaction (SQLAlchemy's `expire_on_commit`, carried to its end); copy out what
    /// you need before, or [`expunge`](Self::expunge) it.
    pub async fn commit(mut self) -> Result<()> {
        self.flush_for_commit().await?;
        let result = match self.lazy.into_transaction() {
            Some(tx) => tx.commit().await,
            None => Ok(()),
        };
        keep_unless_rolled_back(&mut self.pending, &result);
        result
    }

    /// Flushes, then runs `statements` and COMMIT as one flush
    /// ([`Transaction::commit_with`](crate::Transaction::commit_with)): on PostgreSQL one
    /// round trip. With the lazy BEGIN that rides on the session's first query, a unit of
    /// work of one locked read and its writes — a transfer — costs two round trips. Returns
    /// the rows each statement affected; when one fails nothing is committed.
    pub async fn commit_with(mut self, statements: &[(&str, &[Value])]) -> Result<Vec<u64>> {
        self.flush_for_commit().await?;
        self.lazy.transaction().await?;
        let result = match self.lazy.into_transaction() {
            Some(tx) => tx.commit_with(statements).await,
            None => Err(Error::internal(
                "the session's transaction is gone before its flush",
            )),
        };
        keep_unless_rolled_back(&mut self.pending, &result);
        result
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

    /// Discards pending work and changes, and rolls back whatever was sent; borrowed
    /// entities get back what a flush stored into them.
    pub async fn rollback(mut self) -> Result<()> {
        self.pending.discard();
        match self.lazy.into_transaction() {
            Some(tx) => tx.rollback().await,
            None => Ok(()),
        }
    }

    /// Runs a statement in the session's transaction (after flushing); rows affected.
    /// Objects the session holds are not refreshed by it: [`refresh`](Self::refresh) them.
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
    /// `one()`, `one_or_none()` or `count()`, which return the session's objects
    /// (`&mut E`). Pending work is flushed before it runs.
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
    /// scope sees and changes the session's objects and has pending work of its own: its
    /// commit flushes and releases the savepoint; its rollback (or drop) rolls back to the
    /// savepoint and returns every object to what it was when the scope began (objects
    /// loaded or added inside it leave the session). The session is usable again once the
    /// nested scope ends.
    pub async fn begin_nested<'b>(&mut self) -> Result<NestedSession<'_, 'b, C>> {
        self.flush().await?;
        self.pending.check_not_failed()?;
        let Session { lazy, map, .. } = self;
        let sp = lazy.transaction().await?.savepoint().await?;
        Ok(NestedSession::new(sp, map))
    }

    /// Runs a SELECT in the session's transaction (beginning it with the read), without
    /// flushing.
    async fn select_rows(
        &mut self,
        table: &'static str,
        locking: bool,
        render: Render<'_>,
    ) -> Result<Vec<Row>> {
        self.lazy.connect().await?;
        let (sql, write_lock) = {
            let dialect = self.lazy.dialect();
            (
                render(dialect)?,
                locking && dialect.locks_rows_by_write_lock(),
            )
        };
        if write_lock {
            self.lazy
                .fetch_write_locked(table, &sql.text, &sql.params)
                .await
        } else {
            let opts = self.lazy.options();
            self.lazy.fetch_with(opts, &sql.text, &sql.params).await
        }
    }
}

/// After COMMIT: borrowed entities keep what the flush stored into them unless the
/// transaction is known to be rolled back.
fn keep_unless_rolled_back<X: crate::entity::exec::Executor, T>(
    pending: &mut Pending<'_, X>,
    result: &Result<T>,
) {
    match result {
        Ok(_) => pending.keep(),
        Err(e) if e.kind() == ErrorKind::CommitOutcomeUnknown => pending.keep(),
        Err(_) => {}
    }
}

impl<C: Connection> QueryTarget for Session<'_, C> {
    fn run_select<'r>(
        &'r mut self,
        table: &'static str,
        locking: bool,
        render: Render<'r>,
    ) -> BoxFuture<'r, Result<Vec<Row>>> {
        Box::pin(async move {
            self.flush().await?;
            self.select_rows(table, locking, render).await
        })
    }

    fn identity_map(&mut self) -> Option<&mut IdentityMap> {
        Some(&mut self.map)
    }
}
