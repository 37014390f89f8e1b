//! [`SeaTx`]: a txkit transaction as a sea-orm connection, so an application's sea-orm
//! entities, queries and ActiveModels run inside it.

use std::future::Future;

use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, ExecResult, QueryResult, QueryTrait,
    RuntimeErr, Select, Statement,
};
use txkit_core::dialects::asks_nowait;
use txkit_core::{AnyConnection, Connection, LockWait, RowLock, TableLock, Transaction};

use crate::connection::SeaOrmConnection;
use crate::shield::SharedTx;

/// A txkit transaction (or savepoint) lent to sea-orm: pass `&tx` wherever sea-orm takes a
/// connection (`Entity::find().one(&tx)`, `model.update(&tx)`).
///
/// Statements run on the transaction's connection, and their failures count as they do in
/// txkit: after a deadlock, a serialization failure or a lock timeout every later statement
/// returns that same error (a `#[retry_on_deadlock]` function re-runs), and a PostgreSQL
/// transaction in which a statement failed is rolled back, not committed, at `commit()`.
///
/// Do not begin, commit or roll back through it (`TransactionTrait` is not offered): end
/// the txkit guard it came from, and use `savepoint()` there for nesting.
pub struct SeaTx<'t> {
    conn: &'t SeaOrmConnection,
    tx: &'t SharedTx,
}

impl std::fmt::Debug for SeaTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaTx")
            .field("backend", &self.conn.backend())
            .finish_non_exhaustive()
    }
}

/// Connection types a [`SeaTx`] can be made from: [`SeaOrmConnection`] itself, and an
/// [`AnyConnection`] holding one (what `Engine` hands out).
pub trait AsSeaOrm: Connection {
    /// The sea-orm connection inside, if this is one.
    fn as_sea_orm(&self) -> Option<&SeaOrmConnection>;
}

impl AsSeaOrm for SeaOrmConnection {
    fn as_sea_orm(&self) -> Option<&SeaOrmConnection> {
        Some(self)
    }
}

impl AsSeaOrm for AnyConnection {
    fn as_sea_orm(&self) -> Option<&SeaOrmConnection> {
        self.downcast_ref::<SeaOrmConnection>()
    }
}

/// `tx.sea_orm()` on a txkit [`Transaction`].
pub trait SeaOrmTransactionExt {
    /// This transaction as a sea-orm connection (see [`SeaTx`]). Fails when the engine is
    /// not a sea-orm one, when the level is no longer usable (a savepoint of it is open, or
    /// it was rolled back underneath), or with the earlier error that doomed it.
    fn sea_orm(&mut self) -> impl Future<Output = Result<SeaTx<'_>, DbErr>> + Send;
}

fn refused(message: String) -> DbErr {
    DbErr::Exec(RuntimeErr::Internal(message))
}

impl<C: AsSeaOrm> SeaOrmTransactionExt for Transaction<'_, C> {
    async fn sea_orm(&mut self) -> Result<SeaTx<'_>, DbErr> {
        let raw: &C = self
            .driver()
            .await
            .map_err(|e| refused(format!("the transaction cannot be used: {e}")))?;
        let conn = raw.as_sea_orm().ok_or_else(|| {
            refused(
                "this transaction is not on a sea-orm engine; make the engine with \
                 Engine::from_sea_orm(db) or a sea-orm+… URL"
                    .to_owned(),
            )
        })?;
        if let Some(doomed) = conn.doomed() {
            return Err(doomed);
        }
        let tx = conn
            .transaction()
            .ok_or_else(|| refused("no transaction is open on this connection".to_owned()))?;
        Ok(SeaTx { conn, tx })
    }
}

impl SeaTx<'_> {
    /// Runs `select` with the row lock `lock`, as txkit renders it for this database:
    /// `FOR UPDATE` / `FOR NO KEY UPDATE` / `FOR SHARE` on PostgreSQL, `LOCK IN SHARE MODE`
    /// where MariaDB needs it, `OF`, `NOWAIT` and `SKIP LOCKED` where the server has them —
    /// and a refusal where it does not, never a weaker lock. (sea-orm's own
    /// `lock_exclusive()` is dropped without a word on SQLite.)
    ///
    /// SQLite has no row locks: for an exclusive lock (`update()`, `no_key_update()`) the
    /// transaction takes the database's write lock before the read (what txkit's own SQLite
    /// backend does), which excludes every other writer — more than asked, never less; a
    /// shared lock takes none (the transaction's reads stay stable until it ends, see
    /// `RowLock::share`); NOWAIT is refused there (the wait is the busy timeout).
    pub async fn find_locked<E>(
        &self,
        select: Select<E>,
        lock: &RowLock,
    ) -> Result<Vec<E::Model>, DbErr>
    where
        E: EntityTrait,
    {
        self.check()?;
        let backend = self.get_database_backend();
        let mut stmt = select.build(backend);
        let dialect = self.conn.dialect_ref();
        let refused = |e: txkit_core::Error| DbErr::Custom(format!("txkit: {e}"));
        if backend == DbBackend::Sqlite {
            if lock.wait == LockWait::NoWait {
                return Err(DbErr::Custom(
                    "txkit: SQLite cannot take a lock with NOWAIT: a lock waits up to the \
                     busy timeout; open the pool with a busy timeout of 0 to fail at once"
                        .to_owned(),
                ));
            }
            // An exclusive row lock is met by the database write lock (EXCLUSIVE on SQLite);
            // a shared one by the transaction's own stable reads (RowLock::share).
            if lock.strength.is_exclusive() {
                let table = E::default().table_name().to_owned();
                for sql in dialect
                    .table_lock_sql(&table, &TableLock::exclusive())
                    .map_err(refused)?
                {
                    self.execute_unprepared(&sql).await?;
                }
            }
        } else {
            let clause = dialect.row_lock_clause(lock).map_err(refused)?;
            stmt.sql = format!("{} {clause}", stmt.sql);
        }
        E::find().from_raw_sql(stmt).all(self).await
    }

    fn check(&self) -> Result<(), DbErr> {
        match self.conn.doomed() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    async fn observe<T>(&self, sql: &str, result: Result<T, DbErr>) -> Result<T, DbErr> {
        if let Err(e) = &result {
            self.conn.note_failure(self.tx, e, asks_nowait(sql)).await;
        }
        result
    }
}

/// Each statement runs to completion on a task of its own (see `shield`), so sea-orm code
/// that gives up half-way never leaves the connection out of step.
#[async_trait::async_trait]
impl ConnectionTrait for SeaTx<'_> {
    fn get_database_backend(&self) -> DbBackend {
        self.tx.get().get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.check()?;
        let sql = stmt.sql.clone();
        let result = self
            .tx
            .run(|t| async move { t.execute_raw(stmt).await })
            .await;
        self.observe(&sql, result).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.check()?;
        let text = sql.to_owned();
        let result = self
            .tx
            .run(|t| async move { t.execute_unprepared(&text).await })
            .await;
        self.observe(sql, result).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.check()?;
        let sql = stmt.sql.clone();
        let result = self
            .tx
            .run(|t| async move { t.query_one_raw(stmt).await })
            .await;
        self.observe(&sql, result).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.check()?;
        let sql = stmt.sql.clone();
        let result = self
            .tx
            .run(|t| async move { t.query_all_raw(stmt).await })
            .await;
        self.observe(&sql, result).await
    }

    fn support_returning(&self) -> bool {
        self.tx.get().support_returning()
    }
}
