//! Work a scope (a session, or a nested savepoint of one) holds until it flushes: inserts
//! and deletes of the objects the session owns, and writes of borrowed entities, in the
//! order they were asked for; type-erased so one list holds entities of every type.

use std::marker::PhantomData;

use super::changes;
use super::identity::{IdentityMap, Status};
use crate::connection::BoxFuture;
use crate::entity::exec::Executor;
use crate::entity::write::{RowImage, delete_row};
use crate::entity::{Entity, ops};
use crate::error::Result;
use crate::value::Value;

/// One pending write, run against `X` (the session's lazy transaction or a savepoint).
pub(crate) trait PendingOp<X>: Send {
    /// Writes it: generated keys and new versions are stored into the entity.
    fn apply<'t>(&'t mut self, x: &'t mut X, map: &'t mut IdentityMap)
    -> BoxFuture<'t, Result<()>>;

    /// Puts back what [`apply`](Self::apply) stored into a borrowed entity, once the write
    /// was rolled back: no generated key or version of a row that does not exist.
    fn undo(&mut self) {}
}

/// INSERT of a borrowed entity, and what it held before.
pub(crate) struct BorrowedInsert<'e, E> {
    pub(crate) entity: &'e mut E,
    pub(crate) before: Option<Vec<Value>>,
}

/// UPDATE of a borrowed entity (version-checked when versioned), and its version before.
pub(crate) struct BorrowedUpdate<'e, E> {
    pub(crate) entity: &'e mut E,
    pub(crate) before: Option<Value>,
}

/// DELETE of a borrowed entity's row.
pub(crate) struct BorrowedDelete<'e, E>(pub(crate) &'e E);

/// INSERT of an object the session owns.
pub(crate) struct OwnedInsert<E> {
    pub(crate) slot: usize,
    pub(crate) _entity: PhantomData<fn() -> E>,
}

/// DELETE of an object the session owns (its row as loaded, version-checked).
pub(crate) struct OwnedDelete<E> {
    pub(crate) slot: usize,
    pub(crate) _entity: PhantomData<fn() -> E>,
}

impl<X: Executor, E: Entity> PendingOp<X> for BorrowedInsert<'_, E> {
    fn apply<'t>(&'t mut self, x: &'t mut X, _: &'t mut IdentityMap) -> BoxFuture<'t, Result<()>> {
        self.before = Some(self.entity.values());
        Box::pin(ops::insert(x, &mut *self.entity))
    }

    fn undo(&mut self) {
        let Some(before) = self.before.take() else {
            return;
        };
        for (column, value) in E::COLUMNS.iter().zip(before) {
            let restored = if column.auto_increment {
                self.entity.set_generated(column.name, value)
            } else if column.version {
                self.entity.set_version(value)
            } else {
                Ok(())
            };
            if let Err(e) = restored {
                tracing::warn!(table = E::TABLE, error = %e, "restoring an entity after rollback");
            }
        }
    }
}

impl<X: Executor, E: Entity> PendingOp<X> for BorrowedUpdate<'_, E> {
    fn apply<'t>(&'t mut self, x: &'t mut X, _: &'t mut IdentityMap) -> BoxFuture<'t, Result<()>> {
        self.before = self.entity.version();
        Box::pin(ops::update(x, &mut *self.entity))
    }

    fn undo(&mut self) {
        if let Some(before) = self.before.take()
            && let Err(e) = self.entity.set_version(before)
        {
            tracing::warn!(table = E::TABLE, error = %e, "restoring an entity after rollback");
        }
    }
}

impl<X: Executor, E: Entity> PendingOp<X> for BorrowedDelete<'_, E> {
    fn apply<'t>(&'t mut self, x: &'t mut X, _: &'t mut IdentityMap) -> BoxFuture<'t, Result<()>> {
        Box::pin(ops::delete(x, self.0))
    }
}

impl<X: Executor, E: Entity> PendingOp<X> for OwnedInsert<E> {
    fn apply<'t>(
        &'t mut self,
        x: &'t mut X,
        map: &'t mut IdentityMap,
    ) -> BoxFuture<'t, Result<()>> {
        Box::pin(async move {
            // Expunged, or deleted before it was ever written: nothing to insert.
            if map.entry(self.slot).map(|e| e.status) != Some(Status::New) {
                return Ok(());
            }
            if let Some(entity) = map.get_mut::<E>(self.slot) {
                ops::insert(x, entity).await?;
            }
            map.persisted(self.slot);
            Ok(())
        })
    }
}

impl<X: Executor, E: Entity> PendingOp<X> for OwnedDelete<E> {
    fn apply<'t>(
        &'t mut self,
        x: &'t mut X,
        map: &'t mut IdentityMap,
    ) -> BoxFuture<'t, Result<()>> {
        Box::pin(async move {
            let Some(entry) = map.entry(self.slot) else {
                return Ok(());
            };
            if entry.status != Status::Deleted {
                return Ok(());
            }
            let flavor = ops::flavor_for::<E>(x.sql_dialect())?;
            let plan = delete_row(
                flavor,
                &RowImage {
                    table: E::TABLE,
                    columns: E::COLUMNS,
                    values: &entry.snapshot,
                },
            )?;
            ops::write_row(x, &plan, "deleted").await?;
            if let Some(entry) = map.entry_mut(self.slot) {
                entry.status = Status::Gone;
            }
            Ok(())
        })
    }
}

/// The pending writes of one scope, in order; the writes of borrowed entities already
/// made (to undo if the scope does not commit); and whether a flush failed.
pub(crate) struct Pending<'e, X> {
    ops: Vec<Box<dyn PendingOp<X> + 'e>>,
    done: Vec<Box<dyn PendingOp<X> + 'e>>,
    failed: Option<String>,
    kept: bool,
}

impl<'e, X: Executor> Pending<'e, X> {
    pub(crate) fn new() -> Self {
        Self {
            ops: Vec::new(),
            done: Vec::new(),
            failed: None,
            kept: false,
        }
    }

    pub(crate) fn push(&mut self, op: impl PendingOp<X> + 'e) {
        self.ops.push(Box::new(op));
    }

    pub(crate) fn len(&self) -> usize {
        self.ops.len()
    }

    /// Writes everything pending, in the order it was asked for, then every change made
    /// to the objects of `map` since they were loaded. On an error the writes not yet
    /// made are discarded and the scope remembers the failure, so its commit refuses.
    pub(crate) async fn flush(&mut self, x: &mut X, map: &mut IdentityMap) -> Result<()> {
        let result = self.write(x, map).await;
        if let Err(e) = &result {
            self.failed = Some(e.to_string());
        }
        result
    }

    async fn write(&mut self, x: &mut X, map: &mut IdentityMap) -> Result<()> {
        let ops = std::mem::take(&mut self.ops);
        for mut op in ops {
            let applied = op.apply(x, map).await;
            self.done.push(op);
            applied?;
        }
        changes::write_changes(x, map).await
    }

    /// Whether there is anything to write: pending operations, or changed objects.
    pub(crate) fn is_clean(&self, map: &IdentityMap) -> bool {
        self.ops.is_empty() && !changes::any_changed(map)
    }

    /// The error a commit gets after a failed flush.
    pub(crate) fn check_not_failed(&self) -> Result<()> {
        match &self.failed {
            Some(reason) => Err(crate::Error::new(
                crate::ErrorKind::Database,
                format!(
                    "a flush of this session failed ({reason}), so part of its work may be \
                     missing; it was rolled back instead of committed"
                ),
            )),
            None => Ok(()),
        }
    }

    /// Drops everything pending.
    pub(crate) fn discard(&mut self) {
        self.ops.clear();
    }

    /// The scope's work is committed (or may be): borrowed entities keep what was stored
    /// into them.
    pub(crate) fn keep(&mut self) {
        self.kept = true;
    }
}

impl<X> Drop for Pending<'_, X> {
    fn drop(&mut self) {
        if !self.kept {
            for op in self.done.iter_mut().rev() {
                op.undo();
            }
        }
    }
}
