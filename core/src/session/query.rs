//! [`Query`]: a [`Select`] bound to where it runs — a session (rows become objects of its
//! identity map, lent out as `&mut E`), or a transaction or pooled connection (rows decoded
//! into owned values) — with the terminal reads (`all`, `first`, `one`, `one_or_none`,
//! `count`). Every entity read of txkit goes through here, with every row lock.

use std::fmt;
use std::marker::PhantomData;

use super::identity::IdentityMap;
use super::select::{Select, SortOrder};
use crate::connection::{BoxFuture, Connection};
use crate::dialect::Dialect;
use crate::entity::render::Sql;
use crate::entity::{Column, Entity, Filter};
use crate::error::{Error, ErrorKind, Result};
use crate::lock::{RowLock, TableLock};
use crate::managed::ManagedConnection;
use crate::row::Row;
use crate::transaction::Transaction;
use crate::value::Value;

/// Renders a statement once the dialect is known.
pub(crate) type Render<'r> = &'r (dyn Fn(&dyn Dialect) -> Result<Sql> + Send + Sync);

/// What a query runs on: a session or a nested scope of one (which flush pending work
/// first, so a query sees what was added, and own an identity map), a transaction, or a
/// pooled connection. It renders for its connection's dialect and runs; `locking` says the
/// read asks an exclusive row lock, which SQLite meets with the database write lock.
pub(crate) trait QueryTarget: Send {
    fn run_select<'r>(
        &'r mut self,
        table: &'static str,
        locking: bool,
        render: Render<'r>,
    ) -> BoxFuture<'r, Result<Vec<Row>>>;

    /// The identity map the rows go into, for a session.
    fn identity_map(&mut self) -> Option<&mut IdentityMap> {
        None
    }
}

/// The query mode of a session: rows become objects of the session's identity map, lent
/// out as `&mut E`; changes to them are written at the next flush.
#[derive(Debug)]
pub enum Attached {}

/// The query mode of a transaction or pooled connection: rows are decoded into owned
/// values, which the caller writes back with `update` if it changes them.
#[derive(Debug)]
pub enum Detached {}

/// A query over entity `E`: `session.query::<Account>()` (mode [`Attached`]) or
/// `tx.select::<Account>()` / `conn.select::<Account>()` (mode [`Detached`]), then builder
/// calls, then a terminal read. See [`Select`] for how it renders and how row locks map
/// per backend.
#[must_use = "a query does nothing until all(), first(), one(), one_or_none() or count()"]
pub struct Query<'q, E, M = Attached> {
    target: &'q mut (dyn QueryTarget + 'q),
    select: Select<E>,
    _mode: PhantomData<fn() -> M>,
}

impl<E, M> fmt::Debug for Query<'_, E, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Query").field(&self.select).finish()
    }
}

impl<'q, E: Entity, M> Query<'q, E, M> {
    pub(crate) fn new(target: &'q mut (dyn QueryTarget + 'q)) -> Self {
        Self {
            target,
            select: Select::new(),
            _mode: PhantomData,
        }
    }

    fn map(mut self, f: impl FnOnce(Select<E>) -> Select<E>) -> Self {
        self.select = f(self.select);
        self
    }

    /// See [`Select::filter`].
    pub fn filter(self, filter: Filter) -> Self {
        self.map(|s| s.filter(filter))
    }

    /// See [`Select::filter_by`].
    pub fn filter_by<T: Into<Value>>(self, column: Column<E, T>, value: impl Into<T>) -> Self {
        let filter = column.eq(value);
        self.map(|s| s.filter(filter))
    }

    /// See [`Select::order_by`].
    pub fn order_by<T>(self, column: Column<E, T>, order: SortOrder) -> Self {
        self.map(|s| s.order_by(column, order))
    }

    /// See [`Select::limit`].
    pub fn limit(self, n: u64) -> Self {
        self.map(|s| s.limit(n))
    }

    /// See [`Select::offset`].
    pub fn offset(self, n: u64) -> Self {
        self.map(|s| s.offset(n))
    }

    /// Locks the rows read until the transaction ends: `RowLock::update()` (FOR UPDATE),
    /// `no_key_update()`, `share()`, `key_share()`, each with `.nowait()` or
    /// `.skip_locked()` and `.of(tables)`. Rendered per server by [`Select`]; a lock a
    /// server cannot honour is an Unsupported error, never a weaker lock. On SQLite, which
    /// has no row locks, an exclusive lock (`update()`, `no_key_update()`) takes the
    /// database write lock; a shared one (`share()`, `key_share()`) takes none and is met
    /// by the transaction's own stable reads (see [`RowLock::share`]).
    pub fn with_for_update(self, lock: RowLock) -> Self {
        self.map(|s| s.with_for_update(lock))
    }

    /// The query as data.
    pub fn select(&self) -> &Select<E> {
        &self.select
    }

    /// Runs the query; its rows, and what it ran on.
    async fn rows(self) -> Result<(Vec<Row>, &'q mut (dyn QueryTarget + 'q))> {
        let Query { target, select, .. } = self;
        // Only an exclusive row lock needs SQLite's write lock; a shared one does not.
        let locking = select.row_lock().is_some_and(|l| l.strength.is_exclusive());
        let render = move |d: &dyn Dialect| select.render(d);
        let rows = target.run_select(E::TABLE, locking, &render).await?;
        Ok((rows, target))
    }

    /// How many rows match (`SELECT COUNT(*)`). Unsupported with a row lock.
    pub async fn count(self) -> Result<u64> {
        let Query { target, select, .. } = self;
        let render = move |d: &dyn Dialect| {
            let (text, params) = select.count_sql(d)?;
            Ok(Sql { text, params })
        };
        let rows = target.run_select(E::TABLE, false, &render).await?;
        let row = rows
            .first()
            .ok_or_else(|| Error::new(ErrorKind::Database, "COUNT(*) returned no row"))?;
        let n: i64 = row.get(0)?;
        u64::try_from(n)
            .map_err(|_| Error::new(ErrorKind::Database, format!("COUNT(*) returned {n}")))
    }
}

/// The one item of `items`, or an error saying how many there were.
fn exactly_one<T>(items: Vec<T>, table: &str) -> Result<T> {
    let n = items.len();
    let mut items = items.into_iter();
    match (items.next(), n) {
        (Some(item), 1) => Ok(item),
        (None, _) => Err(Error::usage(format!(
            "one() found no row of {table} matching the query"
        ))),
        (Some(_), more) => Err(Error::usage(format!(
            "one() expected exactly one row of {table}, but {more} match the query"
        ))),
    }
}

/// The item of `items` if there is one; more than one is an error.
fn at_most_one<T>(items: Vec<T>, table: &str) -> Result<Option<T>> {
    if items.len() > 1 {
        return Err(Error::usage(format!(
            "one_or_none() expected at most one row of {table}, but {} match the query",
            items.len()
        )));
    }
    Ok(items.into_iter().next())
}

impl<'q, E: Entity> Query<'q, E, Attached> {
    /// Every matching row, as the session's objects: a row the session already holds
    /// comes back as that same object (with its unflushed changes), the others are added
    /// to the identity map.
    pub async fn all(self) -> Result<Vec<&'q mut E>> {
        let (rows, target) = self.rows().await?;
        let map = target
            .identity_map()
            .ok_or_else(|| Error::internal("an attached query without a session"))?;
        map.reserve(rows.len());
        let slots = rows
            .into_iter()
            .map(|row| map.load::<E>(row))
            .collect::<Result<Vec<_>>>()?;
        map.many_mut(&slots)
    }

    /// The first matching row (LIMIT 1), if any.
    pub async fn first(self) -> Result<Option<&'q mut E>> {
        Ok(self.limit(1).all().await?.into_iter().next())
    }

    /// Exactly one matching row; none or more than one is an error (of kind Database)
    /// saying which.
    pub async fn one(self) -> Result<&'q mut E> {
        exactly_one(self.all().await?, E::TABLE)
    }

    /// The matching row if there is one; more than one is an error.
    pub async fn one_or_none(self) -> Result<Option<&'q mut E>> {
        at_most_one(self.all().await?, E::TABLE)
    }
}

impl<E: Entity> Query<'_, E, Detached> {
    /// Every matching row.
    pub async fn all(self) -> Result<Vec<E>> {
        self.rows().await?.0.iter().map(E::from_row).collect()
    }

    /// The first matching row (LIMIT 1), if any.
    pub async fn first(self) -> Result<Option<E>> {
        Ok(self.limit(1).all().await?.into_iter().next())
    }

    /// Exactly one matching row; none or more than one is an error (of kind Database)
    /// saying which.
    pub async fn one(self) -> Result<E> {
        exactly_one(self.all().await?, E::TABLE)
    }

    /// The matching row if there is one; more than one is an error.
    pub async fn one_or_none(self) -> Result<Option<E>> {
        at_most_one(self.all().await?, E::TABLE)
    }
}

/// A SELECT on a transaction (or savepoint): a locking read on SQLite takes the database
/// write lock first.
pub(crate) async fn select_in_transaction<C: Connection>(
    tx: &mut Transaction<'_, C>,
    table: &'static str,
    locking: bool,
    render: Render<'_>,
) -> Result<Vec<Row>> {
    let (sql, write_lock) = {
        let dialect = tx.dialect();
        (
            render(dialect)?,
            locking && dialect.locks_rows_by_write_lock(),
        )
    };
    if write_lock {
        tx.lock_table(table, &TableLock::exclusive()).await?;
    }
    tx.query(&sql.text, &sql.params).await
}

impl<C: Connection> QueryTarget for Transaction<'_, C> {
    fn run_select<'r>(
        &'r mut self,
        table: &'static str,
        locking: bool,
        render: Render<'r>,
    ) -> BoxFuture<'r, Result<Vec<Row>>> {
        Box::pin(select_in_transaction(self, table, locking, render))
    }
}

impl<C: Connection> QueryTarget for ManagedConnection<C> {
    fn run_select<'r>(
        &'r mut self,
        table: &'static str,
        locking: bool,
        render: Render<'r>,
    ) -> BoxFuture<'r, Result<Vec<Row>>> {
        Box::pin(async move {
            let sql = {
                let dialect = self.dialect();
                if locking && dialect.locks_rows_by_write_lock() {
                    return Err(Error::unsupported(format!(
                        "a locking read of {table} outside a transaction: SQLite has no row \
                         locks, and a lock taken by one autocommit statement ends with it; \
                         read inside conn.begin() (the read then takes the database write \
                         lock)"
                    )));
                }
                render(dialect)?
            };
            self.query(&sql.text, &sql.params).await
        })
    }
}
