//! The session's connection and transaction, both made on first use: a connection is
//! checked out when a statement first needs one, and BEGIN goes out with the first
//! statement ([`Transaction::begin_pooled_with_query`]), in one round trip where the
//! backend can.

use std::future::Future;

use crate::connection::Connection;
use crate::dialect::{Dialect, SqlFlavor};
use crate::entity::exec::Executor;
use crate::error::{Error, Result};
use crate::isolation::{SqliteBehavior, TxOptions};
use crate::lock::{RowLock, TableLock};
use crate::pool::{Pool, PooledConnection};
use crate::row::Row;
use crate::transaction::Transaction;
use crate::value::Value;

/// Where the session stands with the database.
enum Stage<C: Connection> {
    /// Nothing checked out yet.
    Idle,
    /// A connection is checked out (its dialect was needed), BEGIN not yet sent.
    Connected(PooledConnection<C>),
    /// The transaction is open.
    Active(Transaction<'static, C>),
}

/// A pool, the options for the transaction, and what has been made of them so far.
pub(crate) struct Lazy<C: Connection> {
    pool: Pool<C>,
    opts: TxOptions,
    stage: Stage<C>,
}

/// The dialect answered before any connection exists; never used in practice (every path
/// checks a connection out before rendering), and it renders nothing.
struct Unconnected;

/// What the placeholder dialect answers: the session asked it before connecting.
fn not_connected() -> Error {
    Error::internal("the session has no connection yet")
}

impl Dialect for Unconnected {
    fn name(&self) -> &'static str {
        "unconnected"
    }
    fn quote_identifier(&self, _ident: &str) -> Result<String> {
        Err(not_connected())
    }
    fn placeholder(&self, _index: usize) -> String {
        "?".to_owned()
    }
    fn begin_sql(&self, _opts: &TxOptions) -> Result<String> {
        Err(not_connected())
    }
    fn row_lock_clause(&self, _lock: &RowLock) -> Result<String> {
        Err(not_connected())
    }
    fn table_lock_sql(&self, _table: &str, _lock: &TableLock) -> Result<Vec<String>> {
        Err(not_connected())
    }
    fn sql_flavor(&self) -> Option<SqlFlavor> {
        None
    }
}

impl<C: Connection> Lazy<C> {
    pub(crate) fn new(pool: Pool<C>, opts: TxOptions) -> Self {
        Self {
            pool,
            opts,
            stage: Stage::Idle,
        }
    }

    /// Whether BEGIN has been sent.
    pub(crate) fn is_active(&self) -> bool {
        matches!(self.stage, Stage::Active(_))
    }

    /// The options the transaction begins (or began) with, before connection defaults.
    pub(crate) fn options(&self) -> TxOptions {
        self.opts
    }

    /// Changes the options; refused once BEGIN was sent.
    pub(crate) fn set_options(&mut self, opts: TxOptions) -> Result<()> {
        if self.is_active() {
            return Err(Error::usage(
                "the session's transaction has already begun; set its options before the \
                 first statement (or use engine.session_with(opts))",
            ));
        }
        self.opts = opts;
        Ok(())
    }

    /// Checks a connection out if none is yet.
    pub(crate) async fn connect(&mut self) -> Result<()> {
        if let Stage::Idle = self.stage {
            self.stage = Stage::Connected(self.pool.get().await?);
        }
        Ok(())
    }

    /// The dialect of the checked-out connection (see [`connect`](Self::connect)).
    pub(crate) fn dialect(&self) -> &dyn Dialect {
        match &self.stage {
            Stage::Idle => &Unconnected,
            Stage::Connected(conn) => conn.dialect(),
            Stage::Active(tx) => tx.dialect(),
        }
    }

    /// Takes the checked-out connection for BEGIN; afterwards the stage is Idle until the
    /// caller stores the transaction (so a cancelled BEGIN leaves nothing half-made: the
    /// dropped connection goes back to the pool, which cleans it).
    async fn take_connection(&mut self) -> Result<PooledConnection<C>> {
        self.connect().await?;
        match std::mem::replace(&mut self.stage, Stage::Idle) {
            Stage::Connected(conn) => Ok(conn),
            other => {
                self.stage = other;
                Err(Error::internal("the session's transaction is already open"))
            }
        }
    }

    /// The open transaction, begun now (BEGIN alone) if it was not yet.
    pub(crate) async fn transaction(&mut self) -> Result<&mut Transaction<'static, C>> {
        if !self.is_active() {
            let conn = self.take_connection().await?;
            self.stage = Stage::Active(Transaction::begin_pooled(conn, self.opts).await?);
        }
        match &mut self.stage {
            Stage::Active(tx) => Ok(tx),
            _ => Err(Error::internal("the session's transaction did not open")),
        }
    }

    /// Runs a query in the transaction, sending BEGIN with it if this is the first.
    pub(crate) async fn fetch_with(
        &mut self,
        opts: TxOptions,
        sql: &str,
        params: &[Value],
    ) -> Result<Vec<Row>> {
        if let Stage::Active(tx) = &mut self.stage {
            return tx.query(sql, params).await;
        }
        let conn = self.take_connection().await?;
        let (tx, rows) = Transaction::begin_pooled_with_query(conn, opts, sql, params).await?;
        self.stage = Stage::Active(tx);
        rows
    }

    /// Runs a statement in the transaction, sending BEGIN with it if this is the first.
    pub(crate) async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        if let Stage::Active(tx) = &mut self.stage {
            return tx.execute(sql, params).await;
        }
        let conn = self.take_connection().await?;
        let (tx, count) =
            Transaction::begin_pooled_with_execute(conn, self.opts, sql, params).await?;
        self.stage = Stage::Active(tx);
        count
    }

    /// A locking read on SQLite: the database write lock is taken with the read. A session
    /// not yet begun begins IMMEDIATE (unless it asked for EXCLUSIVE), with the read in the
    /// same command; one already begun takes the lock now with the no-op write core uses
    /// for SQLite table locks (which fails at once with a busy-snapshot error if another
    /// connection wrote since this transaction first read: then retry the unit of work).
    pub(crate) async fn fetch_write_locked(
        &mut self,
        table: &str,
        sql: &str,
        params: &[Value],
    ) -> Result<Vec<Row>> {
        if let Stage::Active(tx) = &mut self.stage {
            tx.lock_table(table, &TableLock::exclusive()).await?;
            return tx.query(sql, params).await;
        }
        let opts = match self.opts.sqlite() {
            Some(SqliteBehavior::Exclusive) => self.opts,
            _ => self.opts.sqlite_behavior(SqliteBehavior::Immediate),
        };
        self.fetch_with(opts, sql, params).await
    }

    /// The open transaction, if BEGIN was sent, taken out of the session (which is then
    /// idle).
    pub(crate) fn take_transaction(&mut self) -> Option<Transaction<'static, C>> {
        match std::mem::replace(&mut self.stage, Stage::Idle) {
            Stage::Active(tx) => Some(tx),
            other => {
                self.stage = other;
                None
            }
        }
    }

    /// Ends the session's use of the database: the open transaction, if BEGIN was sent
    /// (a connection checked out without BEGIN simply goes back to the pool).
    pub(crate) fn into_transaction(self) -> Option<Transaction<'static, C>> {
        match self.stage {
            Stage::Active(tx) => Some(tx),
            Stage::Idle | Stage::Connected(_) => None,
        }
    }
}

impl<C: Connection> Executor for Lazy<C> {
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
        let opts = self.opts;
        self.fetch_with(opts, sql, params)
    }

    async fn run_many(&mut self, sql: &str, rows: &[&[Value]]) -> Result<Vec<u64>> {
        self.transaction().await?.execute_many(sql, rows).await
    }
}
