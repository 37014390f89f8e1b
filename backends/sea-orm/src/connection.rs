//! [`SeaOrmConnection`]: txkit's [`Connection`] over a sea-orm `DatabaseConnection`.
//!
//! A txkit connection here is a handle on sea-orm's pool, not a socket: outside a
//! transaction each statement runs on whichever pooled connection sea-orm lends; `begin`
//! takes one connection from sea-orm's pool as a `DatabaseTransaction` and keeps it until
//! COMMIT or ROLLBACK. So there is one pool — sea-orm's — and the engine over it keeps none
//! of its own (its connections are handles, opened per checkout).

use std::sync::Mutex;

use sea_orm::{
    AccessMode as SeaAccess, ConnectionTrait, DbBackend, DbErr, ExecResult,
    IsolationLevel as SeaIsolation, QueryResult, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
};
use txkit_core::dialects::{asks_nowait, mysql, postgres};
use txkit_core::{
    AccessMode, Connection, Dialect, Error, ErrorKind, IsolationLevel, ResetMode, Result, Row,
    SqliteBehavior, TxOptions, Value,
};

use crate::backend::{Ready, SeaDialect};
use crate::classify::{error_kind_of, to_txkit_error};
use crate::shield::{SharedTx, spawned};
use crate::{decode, statement};

/// What went wrong inside the open transaction, remembered until it ends.
#[derive(Debug, Default)]
pub(crate) struct Failure {
    /// PostgreSQL: a statement failed, so the server will turn COMMIT into ROLLBACK (until a
    /// ROLLBACK TO SAVEPOINT recovers the transaction). The server's message.
    aborted: Option<String>,
    /// A deadlock, serialization failure or lock timeout: the unit of work is over, and the
    /// error is repeated for every later statement and for COMMIT, so a retry loop sees it.
    doomed: Option<DbErr>,
}

/// One txkit connection over sea-orm's pool (see the module docs). Every sea-orm call it
/// makes runs to completion on a task of its own (see `shield`), so a dropped txkit future
/// never stops sqlx half-way.
pub struct SeaOrmConnection {
    ready: Ready,
    tx: Option<SharedTx>,
    failure: Mutex<Failure>,
    broken: bool,
}

impl std::fmt::Debug for SeaOrmConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaOrmConnection")
            .field("backend", &self.backend())
            .field("in_transaction", &self.tx.is_some())
            .finish_non_exhaustive()
    }
}

impl SeaOrmConnection {
    pub(crate) fn new(ready: Ready) -> Self {
        Self {
            ready,
            tx: None,
            failure: Mutex::new(Failure::default()),
            broken: false,
        }
    }

    /// The database behind this connection.
    pub fn backend(&self) -> DbBackend {
        self.ready.db.get_database_backend()
    }

    /// This connection's dialect.
    pub(crate) fn dialect_ref(&self) -> &dyn Dialect {
        self.ready.dialect.as_dyn()
    }

    /// The open transaction, for running sea-orm code in it.
    pub(crate) fn transaction(&self) -> Option<&SharedTx> {
        self.tx.as_ref()
    }

    fn failure(&self) -> std::sync::MutexGuard<'_, Failure> {
        self.failure.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The error a statement must return instead of running, when the transaction is doomed.
    pub(crate) fn doomed(&self) -> Option<DbErr> {
        self.failure().doomed.clone()
    }

    /// Notes what `err`, from a statement in the open transaction `tx`, does to it. A MySQL
    /// lock wait timeout undoes only the statement; the whole transaction is rolled back
    /// here, as txkit's MySQL backend does, so a retry never builds on half of it.
    pub(crate) async fn note_failure(&self, tx: &SharedTx, err: &DbErr, nowait: bool) {
        let kind = error_kind_of(err, nowait);
        let backend = self.backend();
        if backend == DbBackend::MySql && mysql::needs_full_rollback(kind) {
            let _ = tx
                .run(|t| async move { t.execute_unprepared("ROLLBACK").await })
                .await;
        }
        let mut failure = self.failure();
        if backend == DbBackend::Postgres && failure.aborted.is_none() {
            failure.aborted = Some(err.to_string());
        }
        if matches!(
            kind,
            ErrorKind::Deadlock | ErrorKind::SerializationFailure | ErrorKind::LockTimeout
        ) || (kind == ErrorKind::LockNotAvailable && backend == DbBackend::MySql)
        {
            failure.doomed.get_or_insert_with(|| err.clone());
        }
    }

    /// Maps `err` from running `sql`, noting its effect on an open transaction.
    async fn failed(&mut self, err: DbErr, sql: &str) -> Error {
        let nowait = asks_nowait(sql);
        if let Some(tx) = &self.tx {
            self.note_failure(tx, &err, nowait).await;
        }
        let error = to_txkit_error(err, nowait);
        if error.kind() == ErrorKind::ConnectionLost && self.tx.is_some() {
            self.broken = true;
        }
        error
    }

    async fn exec(&mut self, stmt: Statement) -> Result<ExecResult> {
        let sql = stmt.sql.clone();
        let result = match &self.tx {
            Some(tx) => tx.run(|t| async move { t.execute_raw(stmt).await }).await,
            None => {
                let db = self.ready.db.clone();
                spawned(async move { db.execute_raw(stmt).await }).await
            }
        };
        match result {
            Ok(r) => Ok(r),
            Err(e) => Err(self.failed(e, &sql).await),
        }
    }

    async fn fetch(&mut self, stmt: Statement) -> Result<Vec<QueryResult>> {
        let sql = stmt.sql.clone();
        let result = match &self.tx {
            Some(tx) => tx.run(|t| async move { t.query_all_raw(stmt).await }).await,
            None => {
                let db = self.ready.db.clone();
                spawned(async move { db.query_all_raw(stmt).await }).await
            }
        };
        match result {
            Ok(r) => Ok(r),
            Err(e) => Err(self.failed(e, &sql).await),
        }
    }

    /// sea-orm's options for a transaction with `opts`, which the dialect has accepted.
    fn sea_options(&self, opts: &TxOptions) -> Result<TransactionOptions> {
        let mut options = TransactionOptions::default();
        match &*self.ready.dialect {
            // Set inside the transaction, in one statement (see `begin`).
            SeaDialect::Postgres(_) => {}
            SeaDialect::MySql(_) => {
                options.isolation_level = opts.isolation_level().map(|level| match level {
                    IsolationLevel::ReadUncommitted => SeaIsolation::ReadUncommitted,
                    IsolationLevel::ReadCommitted => SeaIsolation::ReadCommitted,
                    IsolationLevel::RepeatableRead => SeaIsolation::RepeatableRead,
                    IsolationLevel::Serializable => SeaIsolation::Serializable,
                });
                options.access_mode = opts.access().map(|mode| match mode {
                    AccessMode::ReadOnly => SeaAccess::ReadOnly,
                    AccessMode::ReadWrite => SeaAccess::ReadWrite,
                });
            }
            SeaDialect::Sqlite(_) => {
                if opts.access() == Some(AccessMode::ReadOnly) {
                    return Err(Error::unsupported(
                        "a read-only SQLite transaction through sea-orm is not offered: txkit \
                         makes one with PRAGMA query_only, which would stay set on a \
                         connection of sea-orm's pool if the transaction were abandoned; use \
                         txkit's own SQLite backend (sqlite://) for read-only transactions",
                    ));
                }
                options.sqlite_transaction_mode = Some(match opts.sqlite().unwrap_or_default() {
                    SqliteBehavior::Deferred => SqliteTransactionMode::Deferred,
                    SqliteBehavior::Immediate => SqliteTransactionMode::Immediate,
                    SqliteBehavior::Exclusive => SqliteTransactionMode::Exclusive,
                });
            }
        }
        Ok(options)
    }

    /// Rolls back the open transaction, if any, and forgets its failures.
    async fn end_with_rollback(&mut self) -> Result<()> {
        *self.failure() = Failure::default();
        let Some(tx) = self.tx.take() else {
            return Ok(());
        };
        let rolled_back = async move {
            let tx = tx.into_inner().await?;
            spawned(async move { tx.rollback().await }).await
        };
        rolled_back.await.map_err(|e| {
            self.broken = true;
            to_txkit_error(e, false).context("ROLLBACK failed")
        })
    }
}

impl Connection for SeaOrmConnection {
    fn dialect(&self) -> &dyn Dialect {
        self.ready.dialect.as_dyn()
    }

    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let stmt = statement::statement(self.backend(), sql, params)?;
        Ok(self.exec(stmt).await?.rows_affected())
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let stmt = statement::statement(self.backend(), sql, params)?;
        decode::rows(self.fetch(stmt).await?)
    }

    async fn batch(&mut self, sql: &str) -> Result<()> {
        let text = sql.to_owned();
        let result = match &self.tx {
            Some(tx) => {
                tx.run(|t| async move { t.execute_unprepared(&text).await })
                    .await
            }
            None => {
                let db = self.ready.db.clone();
                spawned(async move { db.execute_unprepared(&text).await }).await
            }
        };
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(self.failed(e, sql).await),
        }
    }

    async fn begin(&mut self, opts: &TxOptions) -> Result<()> {
        if self.tx.is_some() {
            return Err(Error::usage(
                "a transaction is already open on this connection; use a savepoint for a \
                 nested one",
            ));
        }
        // The dialect decides what is accepted, exactly as on txkit's native backends.
        let begin_sql = self.dialect().begin_sql(opts)?;
        let options = self.sea_options(opts)?;
        // sqlx sends a plain BEGIN on PostgreSQL; the characteristics follow in one
        // statement, on the same task (so a dropped caller never leaves BEGIN half-done).
        let set = match &*self.ready.dialect {
            SeaDialect::Postgres(_) => {
                let characteristics = begin_sql.strip_prefix("BEGIN").unwrap_or("").trim();
                (!characteristics.is_empty()).then(|| format!("SET TRANSACTION {characteristics}"))
            }
            _ => None,
        };
        let db = self.ready.db.clone();
        let tx = spawned(async move {
            let tx = db.begin_with_options(options).await?;
            if let Some(set) = set
                && let Err(e) = tx.execute_unprepared(&set).await
            {
                let _ = tx.rollback().await;
                return Err(e);
            }
            Ok(tx)
        })
        .await
        .map_err(|e| to_txkit_error(e, false).context("BEGIN failed"))?;
        *self.failure() = Failure::default();
        self.tx = Some(SharedTx::new(tx));
        Ok(())
    }

    async fn commit(&mut self) -> Result<()> {
        let failure = std::mem::take(&mut *self.failure());
        let Some(tx) = self.tx.take() else {
            return Err(Error::usage(
                "COMMIT without an open transaction; begin one first",
            ));
        };
        let tx = match tx.into_inner().await {
            Ok(tx) => tx,
            Err(e) => return Err(to_txkit_error(e, false).context("COMMIT was not sent")),
        };
        if failure.doomed.is_some() || failure.aborted.is_some() {
            let _ = spawned(async move { tx.rollback().await }).await;
        } else {
            return spawned(async move { tx.commit().await })
                .await
                .map_err(|e| {
                    let error = to_txkit_error(e, false);
                    if error.kind() == ErrorKind::ConnectionLost {
                        self.broken = true;
                        error.with_kind(ErrorKind::CommitOutcomeUnknown).context(
                            "the connection was lost while COMMIT was in flight: the transaction \
                         may or may not have committed",
                        )
                    } else {
                        error.context("COMMIT failed")
                    }
                });
        }
        if let Some(doomed) = failure.doomed {
            return Err(to_txkit_error(doomed, false).context(
                "the transaction was rolled back by this earlier error; nothing was committed",
            ));
        }
        let message = failure.aborted.unwrap_or_default();
        Err(Error::database(
            ErrorKind::Database,
            "postgres",
            postgres::sqlstate::IN_FAILED_SQL_TRANSACTION,
            format!(
                "the transaction had already failed (a statement in it returned an error: \
                 {message}), so it was rolled back instead of committed; nothing was \
                 committed"
            ),
        ))
    }

    async fn rollback(&mut self) -> Result<()> {
        self.end_with_rollback().await
    }

    async fn rollback_to_savepoint(&mut self, name: &str) -> Result<()> {
        let sql = self.dialect().rollback_to_savepoint_sql(name)?;
        self.batch(&sql).await?;
        // The server has recovered the transaction (PostgreSQL leaves its aborted state).
        self.failure().aborted = None;
        Ok(())
    }

    async fn ping(&mut self) -> Result<()> {
        let result = match &self.tx {
            Some(tx) => {
                tx.run(|t| async move { t.execute_unprepared("SELECT 1").await.map(drop) })
                    .await
            }
            None => {
                let db = self.ready.db.clone();
                spawned(async move { db.ping().await }).await
            }
        };
        result.map_err(|e| to_txkit_error(e, false))
    }

    /// Whether this handle holds an open transaction: outside one it holds no server
    /// session of its own, so there is nothing else to ask.
    async fn server_in_transaction(&mut self) -> Result<bool> {
        Ok(self.tx.is_some())
    }

    async fn recover(&mut self) -> Result<()> {
        self.end_with_rollback().await
    }

    /// Rolls back an open transaction whatever `mode` says: a handle that goes back keeps
    /// no server session, so there is no session state to reset beyond that.
    async fn reset(&mut self, _mode: ResetMode) -> Result<()> {
        self.end_with_rollback().await
    }

    fn is_broken(&self) -> bool {
        self.broken
    }

    async fn close(mut self) {
        let _ = self.end_with_rollback().await;
    }
}
