//! [`NestedSession`]: a savepoint of a session that also scopes pending work.

use std::fmt;

use super::lazy::locks_by_write_lock;
use super::pending::{Delete, Insert, Pending, Update};
use super::query::{Query, Render, Runner};
use crate::connection::{AnyConnection, BoxFuture, Connection};
use crate::entity::Entity;
use crate::error::Result;
use crate::lock::TableLock;
use crate::row::Row;
use crate::transaction::Transaction;
use crate::value::Value;

/// A savepoint opened by [`Session::begin_nested`](super::Session::begin_nested) (or by
/// another nested scope), with its own pending work: [`commit`](Self::commit) flushes it
/// and releases the savepoint; [`rollback`](Self::rollback) — or dropping it — discards it
/// and rolls back to the savepoint, leaving the enclosing scope's work as it was. `'b` is
/// how long the entities handed to it are borrowed.
#[must_use = "a nested session is rolled back to its savepoint when dropped"]
pub struct NestedSession<'s, 'b, C: Connection = AnyConnection> {
    sp: Transaction<'s, C>,
    pending: Pending<'b, Transaction<'s, C>>,
}

impl<C: Connection> fmt::Debug for NestedSession<'_, '_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NestedSession")
            .field("depth", &self.sp.depth())
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl<'s, 'b, C: Connection> NestedSession<'s, 'b, C> {
    pub(crate) fn new(sp: Transaction<'s, C>) -> Self {
        Self {
            sp,
            pending: Pending::new(),
        }
    }

    /// How deep the savepoint is (2 for the first inside the transaction).
    pub fn depth(&self) -> u32 {
        self.sp.depth()
    }

    /// How many writes wait for the next flush.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// INSERTs `entity` at the next flush of this scope.
    pub fn add<E: Entity>(&mut self, entity: &'b mut E) {
        self.pending.push(Insert(entity));
    }

    /// [`add`](Self::add) for each entity, in order.
    pub fn add_all<E: Entity>(&mut self, entities: impl IntoIterator<Item = &'b mut E>) {
        for entity in entities {
            self.add(entity);
        }
    }

    /// UPDATEs `entity`'s row at the next flush of this scope.
    pub fn update<E: Entity>(&mut self, entity: &'b mut E) {
        self.pending.push(Update(entity));
    }

    /// DELETEs `entity`'s row at the next flush of this scope.
    pub fn delete<E: Entity>(&mut self, entity: &'b E) {
        self.pending.push(Delete(entity));
    }

    /// Writes this scope's pending work now.
    pub async fn flush(&mut self) -> Result<()> {
        self.pending.flush(&mut self.sp).await
    }

    /// Flushes, then releases the savepoint into the enclosing scope. After a failed
    /// flush it rolls back to the savepoint instead and returns the error.
    pub async fn commit(mut self) -> Result<()> {
        let flushed = self.flush().await;
        match flushed.and_then(|()| self.pending.check_not_failed()) {
            Ok(()) => self.sp.commit().await,
            Err(e) => {
                if let Err(rollback) = self.sp.rollback().await {
                    tracing::warn!(error = %rollback, "rolling back a savepoint after a failed flush");
                }
                Err(e)
            }
        }
    }

    /// Discards this scope's pending work and rolls back to the savepoint.
    pub async fn rollback(mut self) -> Result<()> {
        self.pending.discard();
        self.sp.rollback().await
    }

    /// Runs a statement (after flushing this scope); rows affected.
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.flush().await?;
        self.sp.execute(sql, params).await
    }

    /// Runs a query (after flushing this scope); its rows.
    pub async fn query_sql(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        self.flush().await?;
        self.sp.query(sql, params).await
    }

    /// A query over entity `E`, as [`Session::query`](super::Session::query).
    pub fn query<E: Entity>(&mut self) -> Query<'_, E> {
        Query::new(self)
    }

    /// Locks `E`'s table until the transaction ends, as
    /// [`Session::lock_table`](super::Session::lock_table).
    pub async fn lock_table<E: Entity>(&mut self, lock: TableLock) -> Result<()> {
        self.flush().await?;
        self.sp.lock_table(E::TABLE, &lock).await
    }

    /// Flushes, then opens a savepoint inside this one.
    pub async fn begin_nested<'c>(&mut self) -> Result<NestedSession<'_, 'c, C>> {
        self.flush().await?;
        Ok(NestedSession::new(self.sp.savepoint().await?))
    }
}

impl<C: Connection> Runner for NestedSession<'_, '_, C> {
    fn run_select<'r>(
        &'r mut self,
        table: &'static str,
        locking: bool,
        render: Render<'r>,
    ) -> BoxFuture<'r, Result<Vec<Row>>> {
        Box::pin(async move {
            self.flush().await?;
            let (sql, write_lock) = {
                let dialect = self.sp.dialect();
                (render(dialect)?, locking && locks_by_write_lock(dialect))
            };
            if write_lock {
                self.sp.lock_table(table, &TableLock::share()).await?;
            }
            self.sp.query(&sql.text, &sql.params).await
        })
    }
}
