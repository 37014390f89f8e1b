//! Where entity statements run: a [`Transaction`] (or savepoint), or a
//! [`ManagedConnection`] in autocommit mode. One crate-private trait, so each operation is
//! written once.

use std::future::Future;

use crate::connection::Connection;
use crate::dialect::Dialect;
use crate::error::Result;
use crate::managed::ManagedConnection;
use crate::row::Row;
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
