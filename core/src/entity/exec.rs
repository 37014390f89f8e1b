//! Where entity statements run: a [`Transaction`] (or savepoint), or a
//! [`ManagedConnection`] in autocommit mode. One crate-private trait, so each operation is
//! written once, and one macro that gives both types the same one-row and entity methods.

use std::future::Future;

use super::{Entity, IntoKey, ops};
use crate::connection::Connection;
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::managed::ManagedConnection;
use crate::row::Row;
use crate::session::{Detached, Query};
use crate::transaction::Transaction;
use crate::value::Value;

/// Something that runs statements with bound parameters.
pub(crate) trait Executor: Send {
    /// Whether statements run inside a transaction (DDL is refused there on dialects whose
    /// DDL would commit it).
    const IN_TRANSACTION: bool;

    /// The SQL dialect.
    fn sql_dialect(&self) -> &dyn Dialect;

    /// Runs a statement; returns rows affected.
    fn run(&mut self, sql: &str, params: &[Value]) -> impl Future<Output = Result<u64>> + Send;

    /// Runs a query; returns its rows.
    fn fetch(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Vec<Row>>> + Send;

    /// Runs one statement once per parameter set (one round trip on PostgreSQL, one hop
    /// on SQLite); the rows each run affected.
    fn run_many(
        &mut self,
        sql: &str,
        rows: &[&[Value]],
    ) -> impl Future<Output = Result<Vec<u64>>> + Send {
        async move {
            let mut counts = Vec::with_capacity(rows.len());
            for params in rows {
                counts.push(self.run(sql, params).await?);
            }
            Ok(counts)
        }
    }
}

impl<C: Connection> Executor for Transaction<'_, C> {
    const IN_TRANSACTION: bool = true;

    fn sql_dialect(&self) -> &dyn Dialect {
        self.dialect()
    }

    fn run(&mut self, sql: &str, params: &[Value]) -> impl Future<Output = Result<u64>> + Send {
        self.execute(sql, params)
    }

    fn fetch(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Vec<Row>>> + Send {
        self.query(sql, params)
    }

    fn run_many(
        &mut self,
        sql: &str,
        rows: &[&[Value]],
    ) -> impl Future<Output = Result<Vec<u64>>> + Send {
        self.execute_many(sql, rows)
    }
}

impl<C: Connection> Executor for ManagedConnection<C> {
    const IN_TRANSACTION: bool = false;

    fn sql_dialect(&self) -> &dyn Dialect {
        self.dialect()
    }

    fn run(&mut self, sql: &str, params: &[Value]) -> impl Future<Output = Result<u64>> + Send {
        self.execute(sql, params)
    }

    fn fetch(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Vec<Row>>> + Send {
        self.query(sql, params)
    }
}

/// The methods a statement runner (a [`Transaction`] or a [`ManagedConnection`]) has
/// beyond its own `execute` and `query`, written once: the one-row queries, and the entity
/// operations of `ops`, run inside the transaction or, on a connection, in autocommit mode.
macro_rules! runner_methods {
    ($($runner:ty),*) => {$(
        impl<C: Connection> $runner {
            /// Runs a query that must return exactly one row; any other number is a Usage
            /// error that says how many came.
            pub async fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row> {
                exactly_one(self.query(sql, params).await?)
            }

            /// Runs a query that returns at most one row; more is a Usage error that says
            /// how many came.
            pub async fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>> {
                at_most_one(self.query(sql, params).await?)
            }

            /// Inserts `entity`. Auto-increment columns holding 0 or `None` are left to the
            /// database, and the values it makes are stored back with
            /// [`set_generated`](Entity::set_generated) (`INSERT … RETURNING`, or the
            /// dialect's last-insert-id query on the same connection on servers without it).
            /// A versioned entity is written with its [`next_version`](Entity::next_version),
            /// stored with `set_version` on success.
            pub async fn insert<E: Entity>(&mut self, entity: &mut E) -> Result<()> {
                ops::insert(self, entity).await
            }

            /// Updates the row with `entity`'s primary key: every column but the key, in one
            /// statement. For a versioned entity the update also requires the row to still
            /// have the entity's [`version`](Entity::version) and writes the next one (stored
            /// with `set_version`); if the row has another version (or is gone) nothing is
            /// written and the error is [`ErrorKind::StaleData`](crate::ErrorKind::StaleData)
            /// with [`stale_info`](crate::Error::stale_info) naming table, key and expected
            /// version. For an entity without a version column, a missing row is an error of
            /// kind [`ErrorKind::Database`](crate::ErrorKind::Database) saying it does not
            /// exist.
            pub async fn update<E: Entity>(&mut self, entity: &mut E) -> Result<()> {
                ops::update(self, entity).await
            }

            /// Deletes the row with `entity`'s primary key (and, for a versioned entity, its
            /// version). No such row: StaleData for a versioned entity, else an error of kind
            /// Database, as for [`update`](Self::update).
            pub async fn delete<E: Entity>(&mut self, entity: &E) -> Result<()> {
                ops::delete(self, entity).await
            }

            /// The entity with primary key `key` (a value, or a tuple for a composite key),
            /// if a row has it.
            pub async fn find<E: Entity>(&mut self, key: impl IntoKey) -> Result<Option<E>> {
                ops::find(self, key.into_key()).await
            }

            /// A query over entity `E` here: filter, order, limit, row locks
            /// (`with_for_update`), then `all()`, `first()`, `one()`, `one_or_none()` or
            /// `count()`, which return owned entities. The same renderer as
            /// [`Session::query`](crate::Session::query); without `order_by` the rows come in
            /// primary-key order. On a connection each statement stands alone, so a row lock
            /// ends with it (on SQLite, which has no row locks, one is refused there).
            ///
            /// ```
            /// # async fn demo<E: txkit_core::Entity>(tx: &mut txkit_core::Transaction<'_>, balance: txkit_core::Column<E, i64>) -> txkit_core::Result<()> {
            /// use txkit_core::RowLock;
            /// let rich: Vec<E> = tx
            ///     .select::<E>()
            ///     .filter(balance.gt(0))
            ///     .with_for_update(RowLock::update().skip_locked())
            ///     .all()
            ///     .await?;
            /// # Ok(()) }
            /// ```
            pub fn select<E: Entity>(&mut self) -> Query<'_, E, Detached> {
                Query::new(self)
            }

            /// `CREATE TABLE IF NOT EXISTS` for `E`. Inside a transaction it is Unsupported
            /// on MySQL/MariaDB, whose DDL would commit the transaction: run it on a
            /// connection there.
            pub async fn create_table<E: Entity>(&mut self) -> Result<()> {
                ops::create_table::<_, E>(self).await
            }

            /// `DROP TABLE IF EXISTS` for `E`; inside a transaction Unsupported on
            /// MySQL/MariaDB, as [`create_table`](Self::create_table).
            pub async fn drop_table<E: Entity>(&mut self) -> Result<()> {
                ops::drop_table::<_, E>(self).await
            }
        }
    )*};
}

runner_methods!(Transaction<'_, C>, ManagedConnection<C>);

/// The one row of `rows`, or a Usage error saying how many there were.
fn exactly_one(mut rows: Vec<Row>) -> Result<Row> {
    match rows.len() {
        1 => Ok(rows.remove(0)),
        n => Err(Error::usage(format!(
            "expected exactly one row, the query returned {n}"
        ))),
    }
}

/// The row of `rows` if there is one, or a Usage error when there are more.
fn at_most_one(mut rows: Vec<Row>) -> Result<Option<Row>> {
    match rows.len() {
        0 => Ok(None),
        1 => Ok(Some(rows.remove(0))),
        n => Err(Error::usage(format!(
            "expected at most one row, the query returned {n}"
        ))),
    }
}
