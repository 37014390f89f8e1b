//! [`Select`]: a query over one entity as data (filter, order, limit, offset, row lock),
//! rendered per dialect with sea-query plus the dialect's own row-lock clause.

use std::fmt;
use std::marker::PhantomData;

use sea_query::{Alias, Expr, Order, Query as SeaQuery};

use crate::dialect::Dialect;
use crate::entity::filter_sql;
use crate::entity::fit::fit_filter;
use crate::entity::read::{check_columns, select_statement};
use crate::entity::render::{self, Sql};
use crate::entity::{Column, Entity, Filter};
use crate::error::{Error, Result};
use crate::lock::{LockWait, RowLock};
use crate::value::Value;

/// Ascending or descending, for [`Select::order_by`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// A SELECT of every column of `E`: filters (ANDed), order, limit, offset and a row lock.
/// Without an `order_by` the rows come in primary-key order.
///
/// Rendering ([`to_sql`](Self::to_sql)) uses sea-query for the statement and appends the
/// dialect's [`row_lock_clause`](Dialect::row_lock_clause), which knows the server
/// (MariaDB's `LOCK IN SHARE MODE`, MySQL 8's `FOR SHARE`, what each has of `NOWAIT`,
/// `SKIP LOCKED` and `OF`), rather than sea-query's lock methods: its MySQL builder has one
/// spelling for every MySQL-family server and its SQLite builder drops the clause without a
/// word. A lock the server cannot honour is an Unsupported error, never a dropped clause.
///
/// SQLite has no row locks, so the SELECT itself carries no clause there. For an exclusive
/// row lock (`update()`, `no_key_update()`) the session takes the database write lock
/// (the lazily begun transaction begins IMMEDIATE), which excludes every other writer —
/// more than a row lock asks. A shared one (`share()`, `key_share()`) takes no lock of its
/// own: two shared readers both proceed, and the DEFERRED transaction's reads stay stable
/// until it ends (see [`RowLock::share`]). With the write
/// lock held, no other transaction can hold a row lock, so `SKIP LOCKED` honestly skips
/// nothing (and is accepted); `NOWAIT` is Unsupported, since taking the write lock waits
/// up to the connection's busy_timeout (set `busy_timeout=0` to fail at once).
pub struct Select<E> {
    filter: Option<Filter>,
    order: Vec<(&'static str, SortOrder)>,
    limit: Option<u64>,
    offset: Option<u64>,
    lock: Option<RowLock>,
    _entity: PhantomData<fn() -> E>,
}

impl<E> fmt::Debug for Select<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("filter", &self.filter)
            .field("order", &self.order)
            .field("limit", &self.limit)
            .field("offset", &self.offset)
            .field("lock", &self.lock)
            .finish()
    }
}

impl<E> Clone for Select<E> {
    fn clone(&self) -> Self {
        Self {
            filter: self.filter.clone(),
            order: self.order.clone(),
            limit: self.limit,
            offset: self.offset,
            lock: self.lock.clone(),
            _entity: PhantomData,
        }
    }
}

impl<E: Entity> Default for Select<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Entity> Select<E> {
    /// Every row of `E`.
    pub fn new() -> Self {
        Self {
            filter: None,
            order: Vec::new(),
            limit: None,
            offset: None,
            lock: None,
            _entity: PhantomData,
        }
    }

    /// Keeps the rows matching `filter` (ANDed with earlier filters).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(match self.filter.take() {
            Some(before) => before.and(filter),
            None => filter,
        });
        self
    }

    /// Keeps the rows whose `column` equals `value`.
    pub fn filter_by<T: Into<Value>>(self, column: Column<E, T>, value: impl Into<T>) -> Self {
        self.filter(column.eq(value))
    }

    /// Orders by `column` (called again: then by the next column).
    pub fn order_by<T>(mut self, column: Column<E, T>, order: SortOrder) -> Self {
        self.order.push((column.name(), order));
        self
    }

    /// At most `n` rows.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Skips the first `n` rows.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

    /// Locks the rows read (`FOR UPDATE`, `FOR SHARE SKIP LOCKED`, …) until the
    /// transaction ends.
    pub fn with_for_update(mut self, lock: RowLock) -> Self {
        self.lock = Some(lock);
        self
    }

    /// The row lock asked for, if any.
    pub fn row_lock(&self) -> Option<&RowLock> {
        self.lock.as_ref()
    }

    /// The statement text (placeholders `$n` or `?`) and its parameters, for `dialect`.
    pub fn to_sql(&self, dialect: &dyn Dialect) -> Result<(String, Vec<Value>)> {
        let sql = self.render(dialect)?;
        Ok((sql.text, sql.params))
    }

    /// The `SELECT COUNT(*)` of the rows this query reads (over a subquery when it has a
    /// limit or offset), for `dialect`. A count takes no row locks: with one asked for,
    /// Unsupported.
    pub fn count_sql(&self, dialect: &dyn Dialect) -> Result<(String, Vec<Value>)> {
        let sql = self.render_count(dialect)?;
        Ok((sql.text, sql.params))
    }

    pub(crate) fn render(&self, dialect: &dyn Dialect) -> Result<Sql> {
        let flavor = render::flavor_of(dialect)?;
        render::check_names(
            dialect,
            std::iter::once(E::TABLE).chain(E::COLUMNS.iter().map(|c| c.name)),
        )?;
        let mut stmt = self.base_statement(flavor)?;
        if self.order.is_empty() {
            for column in E::primary_key() {
                stmt.order_by(Alias::new(column.name), Order::Asc);
            }
        }
        for (column, order) in &self.order {
            stmt.order_by(
                Alias::new(*column),
                match order {
                    SortOrder::Asc => Order::Asc,
                    SortOrder::Desc => Order::Desc,
                },
            );
        }
        self.limit_offset(&mut stmt, dialect);
        let mut sql = render::query(flavor, &stmt)?;
        if let Some(lock) = &self.lock {
            if dialect.locks_rows_by_write_lock() {
                if lock.wait == LockWait::NoWait {
                    return Err(Error::unsupported(format!(
                        "SQLite has no row locks: a locking read on {} waits up to the \
                         connection's busy_timeout for the database lock it needs (the write \
                         lock for update(); in a rollback-journal database the read lock for \
                         share()), so NOWAIT cannot be honoured; set busy_timeout=0 in the URL to fail at \
                         once, or drop nowait()",
                        E::TABLE
                    )));
                }
            } else {
                sql.text.push(' ');
                sql.text.push_str(&dialect.row_lock_clause(lock)?);
            }
        }
        Ok(sql)
    }

    fn render_count(&self, dialect: &dyn Dialect) -> Result<Sql> {
        if self.lock.is_some() {
            return Err(Error::unsupported(format!(
                "count() cannot lock rows (an aggregate takes no row locks); read the rows of \
                 {} with all() to lock them",
                E::TABLE
            )));
        }
        let flavor = render::flavor_of(dialect)?;
        render::check_names(
            dialect,
            std::iter::once(E::TABLE).chain(E::COLUMNS.iter().map(|c| c.name)),
        )?;
        let mut stmt = SeaQuery::select();
        stmt.expr_as(Expr::cust("COUNT(*)"), Alias::new("n"));
        if self.limit.is_some() || self.offset.is_some() {
            let mut inner = self.base_statement(flavor)?;
            for column in E::primary_key() {
                inner.order_by(Alias::new(column.name), Order::Asc);
            }
            self.limit_offset(&mut inner, dialect);
            stmt.from_subquery(inner, Alias::new("txkit_counted"));
        } else {
            stmt.from(Alias::new(E::TABLE));
            if let Some(filter) = &self.filter {
                stmt.cond_where(filter_sql::condition(&fit_filter::<E>(flavor, filter)?)?);
            }
        }
        render::query(flavor, &stmt)
    }

    /// The SELECT of every column under the filter, each compared value fitted to its
    /// column for `flavor`.
    fn base_statement(&self, flavor: crate::SqlFlavor) -> Result<sea_query::SelectStatement> {
        let condition = match &self.filter {
            Some(filter) => {
                check_columns::<E>(filter)?;
                Some(filter_sql::condition(&fit_filter::<E>(flavor, filter)?)?)
            }
            None => None,
        };
        for (column, _) in &self.order {
            if !E::COLUMNS.iter().any(|c| c.name == *column) {
                return Err(Error::config(format!(
                    "order_by names column {column:?}, which {} does not have",
                    E::TABLE
                )));
            }
        }
        Ok(select_statement::<E>(condition))
    }

    /// LIMIT and OFFSET; an offset without a limit gets the largest limit the server takes
    /// (MySQL and SQLite accept OFFSET only after LIMIT).
    fn limit_offset(&self, stmt: &mut sea_query::SelectStatement, dialect: &dyn Dialect) {
        let limit = match (self.limit, self.offset) {
            (Some(n), _) => Some(n),
            (None, Some(_)) if dialect.offset_needs_limit() => Some(i64::MAX as u64),
            (None, _) => None,
        };
        if let Some(n) = limit {
            stmt.limit(n);
        }
        if let Some(n) = self.offset {
            stmt.offset(n);
        }
    }
}
