//! [`NestedSession`]: a savepoint of a session that also scopes changes and pending work.

use std::fmt;

use super::identity::{IdentityMap, Mark};
use super::pending::Pending;
use super::query::{Query, QueryTarget, Render, select_in_transaction};
use crate::connection::{AnyConnection, BoxFuture, Connection};
use crate::entity::Entity;
use crate::error::Result;
use crate::lock::TableLock;
use crate::row::Row;
use crate::transaction::Transaction;
use crate::value::Value;

/// The session's identity map as a nested scope holds it: if the scope does not commit,
/// dropping this puts the objects back as they were when the scope began.
struct Scoped<'s> {
    map: &'s mut IdentityMap,
    mark: Option<Mark>,
}

impl Drop for Scoped<'_> {
    fn drop(&mut self) {
        if let Some(mark) = self.mark.take()
            && let Err(e) = self.map.restore(mark)
        {
            tracing::warn!(error = %e, "restoring a session's objects after a nested rollback");
        }
    }
}

/// A savepoint opened by [`Session::begin_nested`](super::Session::begin_nested) (or by
/// another nested scope). It sees and changes the session's objects and has pending work
/// of its own: [`commit`](Self::commit) flushes and releases the savepoint;
/// [`rollback`](Self::rollback) — or dropping it — rolls back to the savepoint and returns
/// every object of the session to what it was when the scope began (objects loaded or
/// added inside the scope leave the session). `'b` is how long entities lent with the
/// `_borrowed` methods are borrowed.
#[must_use = "a nested session is rolled back to its savepoint when dropped"]
pub struct NestedSession<'s, 'b, C: Connection = AnyConnection> {
    pub(super) pending: Pending<'b, Transaction<'s, C>>,
    sp: Transaction<'s, C>,
    scoped: Scoped<'s>,
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
    /// A scope over savepoint `sp`; `map` was just flushed, so it is marked as it stands.
    pub(crate) fn new(sp: Transaction<'s, C>, map: &'s mut IdentityMap) -> Self {
        let mark = Some(map.mark());
        Self {
            pending: Pending::new(),
            sp,
            scoped: Scoped { map, mark },
        }
    }

    /// How deep the savepoint is (2 for the first inside the transaction).
    pub fn depth(&self) -> u32 {
        self.sp.depth()
    }

    /// How many inserts and deletes wait for the next flush of this scope.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The session's identity map (for the methods it shares with the session).
    pub(super) fn objects(&mut self) -> &mut IdentityMap {
        self.scoped.map
    }

    /// Writes this scope's pending work and every changed object of the session now.
    pub async fn flush(&mut self) -> Result<()> {
        self.pending.flush(&mut self.sp, self.scoped.map).await
    }

    /// Flushes, then releases the savepoint into the enclosing scope, whose objects keep
    /// the changes. After a failed flush it rolls back to the savepoint instead and
    /// returns the error.
    pub async fn commit(mut self) -> Result<()> {
        let flushed = self.flush().await;
        match flushed.and_then(|()| self.pending.check_not_failed()) {
            Ok(()) => {
                self.sp.commit().await?;
                self.scoped.mark = None;
                self.pending.keep();
                Ok(())
            }
            Err(e) => {
                if let Err(rollback) = self.sp.rollback().await {
                    tracing::warn!(error = %rollback, "rolling back a savepoint after a failed flush");
                }
                Err(e)
            }
        }
    }

    /// Discards this scope's pending work, rolls back to the savepoint and returns the
    /// session's objects to what they were when the scope began.
    pub async fn rollback(mut self) -> Result<()> {
        self.pending.discard();
        self.sp.rollback().await
    }

    /// Runs a statement (after flushing); rows affected.
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.flush().await?;
        self.sp.execute(sql, params).await
    }

    /// Runs a query (after flushing); its rows.
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
        self.pending.check_not_failed()?;
        let sp = self.sp.savepoint().await?;
        Ok(NestedSession::new(sp, self.scoped.map))
    }
}

impl<C: Connection> QueryTarget for NestedSession<'_, '_, C> {
    fn run_select<'r>(
        &'r mut self,
        table: &'static str,
        locking: bool,
        render: Render<'r>,
    ) -> BoxFuture<'r, Result<Vec<Row>>> {
        Box::pin(async move {
            self.flush().await?;
            select_in_transaction(&mut self.sp, table, locking, render).await
        })
    }

    fn identity_map(&mut self) -> Option<&mut IdentityMap> {
        Some(self.scoped.map)
    }
}
