//! Work a session holds until it flushes: inserts, updates and deletes of borrowed
//! entities, type-erased so one list holds entities of every type.

use crate::connection::BoxFuture;
use crate::entity::exec::Executor;
use crate::entity::{Entity, ops};
use crate::error::Result;

/// One pending write, run against `X` (the session's lazy transaction or a savepoint).
pub(crate) trait PendingOp<X>: Send {
    /// Writes it; generated keys and new versions are stored into the borrowed entity.
    fn apply<'t>(&'t mut self, x: &'t mut X) -> BoxFuture<'t, Result<()>>;
}

/// INSERT at flush.
pub(crate) struct Insert<'e, E>(pub(crate) &'e mut E);

/// UPDATE at flush (version-checked for a versioned entity).
pub(crate) struct Update<'e, E>(pub(crate) &'e mut E);

/// DELETE at flush.
pub(crate) struct Delete<'e, E>(pub(crate) &'e E);

impl<X: Executor, E: Entity> PendingOp<X> for Insert<'_, E> {
    fn apply<'t>(&'t mut self, x: &'t mut X) -> BoxFuture<'t, Result<()>> {
        Box::pin(ops::insert(x, &mut *self.0))
    }
}

impl<X: Executor, E: Entity> PendingOp<X> for Update<'_, E> {
    fn apply<'t>(&'t mut self, x: &'t mut X) -> BoxFuture<'t, Result<()>> {
        Box::pin(ops::update(x, &mut *self.0))
    }
}

impl<X: Executor, E: Entity> PendingOp<X> for Delete<'_, E> {
    fn apply<'t>(&'t mut self, x: &'t mut X) -> BoxFuture<'t, Result<()>> {
        Box::pin(ops::delete(x, self.0))
    }
}

/// The pending writes of one scope (the session, or a nested savepoint), in order, and
/// whether a flush of them failed.
pub(crate) struct Pending<'e, X> {
    ops: Vec<Box<dyn PendingOp<X> + 'e>>,
    failed: Option<String>,
}

impl<'e, X: Executor> Pending<'e, X> {
    pub(crate) fn new() -> Self {
        Self {
            ops: Vec::new(),
            failed: None,
        }
    }

    pub(crate) fn push(&mut self, op: impl PendingOp<X> + 'e) {
        self.ops.push(Box::new(op));
    }

    pub(crate) fn len(&self) -> usize {
        self.ops.len()
    }

    /// Writes everything pending, in the order it was added. On an error the writes not
    /// yet made are discarded and the scope remembers the failure, so its commit refuses.
    pub(crate) async fn flush(&mut self, x: &mut X) -> Result<()> {
        let ops = std::mem::take(&mut self.ops);
        for mut op in ops {
            if let Err(e) = op.apply(x).await {
                self.failed = Some(e.to_string());
                return Err(e);
            }
        }
        Ok(())
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
}
