//! [`Query`]: a [`Select`] bound to a session, with the terminal reads (`all`, `first`,
//! `one`, `one_or_none`, `count`).

use std::fmt;

use super::select::{Select, SortOrder};
use crate::connection::BoxFuture;
use crate::dialect::Dialect;
use crate::entity::render::Sql;
use crate::entity::{Column, Entity, Filter};
use crate::error::{Error, ErrorKind, Result};
use crate::lock::RowLock;
use crate::row::Row;
use crate::value::Value;

/// Renders a statement once the dialect is known.
pub(crate) type Render<'r> = &'r (dyn Fn(&dyn Dialect) -> Result<Sql> + Send + Sync);

/// What a query runs on: a session or a nested savepoint of one. It flushes pending work
/// first (a query sees what was added), then renders for its connection's dialect and
/// runs; a locking read on SQLite takes the database write lock.
pub(crate) trait Runner: Send {
    fn run_select<'r>(
        &'r mut self,
        table: &'static str,
        locking: bool,
        render: Render<'r>,
    ) -> BoxFuture<'r, Result<Vec<Row>>>;
}

/// A query over entity `E` in a session: `session.query::<Account>()`, then builder calls,
/// then a terminal read. See [`Select`] for how it renders and how row locks map per
/// backend.
#[must_use = "a query does nothing until all(), first(), one(), one_or_none() or count()"]
pub struct Query<'q, E> {
    runner: &'q mut (dyn Runner + 'q),
    select: Select<E>,
}

impl<E> fmt::Debug for Query<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Query").field(&self.select).finish()
    }
}

impl<'q, E: Entity> Query<'q, E> {
    pub(crate) fn new(runner: &'q mut (dyn Runner + 'q)) -> Self {
        Self {
            runner,
            select: Select::new(),
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

    /// See [`Select::with_for_update`].
    pub fn with_for_update(self, lock: RowLock) -> Self {
        self.map(|s| s.with_for_update(lock))
    }

    /// The query as data.
    pub fn select(&self) -> &Select<E> {
        &self.select
    }

    async fn rows(self) -> Result<Vec<Row>> {
        let Query { runner, select } = self;
        let locking = select.row_lock().is_some();
        let render = move |d: &dyn Dialect| select.render(d);
        runner.run_select(E::TABLE, locking, &render).await
    }

    /// Every matching row.
    pub async fn all(self) -> Result<Vec<E>> {
        self.rows().await?.iter().map(E::from_row).collect()
    }

    /// The first matching row (LIMIT 1), if any.
    pub async fn first(self) -> Result<Option<E>> {
        let rows = self.limit(1).rows().await?;
        rows.first().map(E::from_row).transpose()
    }

    /// Exactly one matching row; none or more than one is an error (of kind Database)
    /// saying which.
    pub async fn one(self) -> Result<E> {
        let rows = self.rows().await?;
        match rows.as_slice() {
            [row] => E::from_row(row),
            [] => Err(Error::new(
                ErrorKind::Database,
                format!("one() found no row of {} matching the query", E::TABLE),
            )),
            more => Err(Error::new(
                ErrorKind::Database,
                format!(
                    "one() expected exactly one row of {}, but {} match the query",
                    E::TABLE,
                    more.len()
                ),
            )),
        }
    }

    /// The matching row if there is one; more than one is an error.
    pub async fn one_or_none(self) -> Result<Option<E>> {
        let rows = self.rows().await?;
        match rows.as_slice() {
            [] => Ok(None),
            [row] => E::from_row(row).map(Some),
            more => Err(Error::new(
                ErrorKind::Database,
                format!(
                    "one_or_none() expected at most one row of {}, but {} match the query",
                    E::TABLE,
                    more.len()
                ),
            )),
        }
    }

    /// How many rows match (`SELECT COUNT(*)`). Unsupported with a row lock.
    pub async fn count(self) -> Result<u64> {
        let Query { runner, select } = self;
        if select.row_lock().is_some() {
            return Err(Error::unsupported(format!(
                "count() cannot lock rows (an aggregate takes no row locks); read the rows of \
                 {} with all() to lock them",
                E::TABLE
            )));
        }
        let render = move |d: &dyn Dialect| {
            let (text, params) = select.count_sql(d)?;
            Ok(Sql { text, params })
        };
        let rows = runner.run_select(E::TABLE, false, &render).await?;
        let row = rows
            .first()
            .ok_or_else(|| Error::new(ErrorKind::Database, "COUNT(*) returned no row"))?;
        let n: i64 = row.get(0)?;
        u64::try_from(n)
            .map_err(|_| Error::new(ErrorKind::Database, format!("COUNT(*) returned {n}")))
    }
}
