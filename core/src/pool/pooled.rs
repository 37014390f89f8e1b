//! [`PooledConnection`] and check-in: what happens when a connection comes back.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{CloseReason, Inner, PoolEvent, PoolKind, Slot};
use crate::connection::{AnyConnection, Connection, ResetMode};
use crate::error::Error;
use crate::managed::ManagedConnection;

/// A connection checked out of a [`Pool`](crate::Pool); goes back when dropped.
/// Dereferences to [`ManagedConnection`], so `conn.begin()`, `conn.execute(…)` work on it.
pub struct PooledConnection<C: Connection = AnyConnection> {
    slot: Option<Slot<C>>,
    pool: Arc<Inner<C>>,
}

impl<C: Connection> fmt::Debug for PooledConnection<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledConnection")
            .field("database", &self.pool.label)
            .field("id", &self.id())
            .field("conn", &self.slot.as_ref().map(|s| &s.conn))
            .finish()
    }
}

impl<C: Connection> PooledConnection<C> {
    pub(crate) fn new(slot: Slot<C>, pool: Arc<Inner<C>>) -> Self {
        Self {
            slot: Some(slot),
            pool,
        }
    }

    /// The pool's number for this connection (as in pool events).
    pub fn id(&self) -> u64 {
        self.slot.as_ref().map_or(0, |s| s.id)
    }

    fn slot(&self) -> &Slot<C> {
        // `slot` is Some from checkout until drop; nothing else takes it.
        self.slot
            .as_ref()
            .unwrap_or_else(|| unreachable!("connection taken before drop"))
    }
}

impl<C: Connection> Deref for PooledConnection<C> {
    type Target = ManagedConnection<C>;
    fn deref(&self) -> &Self::Target {
        &self.slot().conn
    }
}

impl<C: Connection> DerefMut for PooledConnection<C> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self
            .slot
            .as_mut()
            .unwrap_or_else(|| unreachable!("connection taken before drop"))
            .conn
    }
}

impl<C: Connection> Drop for PooledConnection<C> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.pool.check_in(slot);
        }
    }
}

impl<C: Connection> Inner<C> {
    /// Decides the fate of a returned connection. Runs in `Drop`, so it never waits: a
    /// connection that needs a round trip to be clean is cleaned by a task that keeps its
    /// slot until done.
    fn check_in(self: &Arc<Self>, mut slot: Slot<C>) {
        self.stats.requests(slot.conn.take_requests());
        if self.config.leak_threshold.is_some() {
            self.checkouts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&slot.id);
        }
        if slot.conn.is_broken() {
            self.checked_in(slot.id);
            self.discard(slot, CloseReason::Broken, true);
            self.release(None);
        } else if slot.conn.is_clean()
            && !self.owes_session_reset(&slot)
            && self.hooks.on_checkin.is_none()
        {
            self.dispose(slot, false);
        } else {
            // Rolled back here even when it is about to be closed: a server that ends a
            // session inside a transaction rolls it back itself, but MariaDB lets snapshot
            // reads of other sessions see that transaction's writes while it does
            // (docs/reliability.md).
            self.clean_later(slot);
        }
    }

    /// Whether a returned connection must be reset fully before its next checkout: it ran
    /// SQL that may have changed its session state, and the pool resets on return at all.
    fn owes_session_reset(&self, slot: &Slot<C>) -> bool {
        slot.conn.book.session_changed && self.config.reset_on_return != ResetMode::None
    }

    /// Hands the connection to a task that rolls back or resets it (`clean`), still
    /// checked out (in status and events) until done. Without a runtime to do that on,
    /// closing is the only safe choice.
    fn clean_later(self: &Arc<Self>, slot: Slot<C>) {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(Arc::clone(self).clean(slot));
        } else {
            self.checked_in(slot.id);
            self.discard(slot, CloseReason::ResetFailed, true);
            self.release(None);
        }
    }

    /// Where a clean connection goes: closed when the pool keeps none (a null pool); reset
    /// first when the pool resets fully on return and `reset` has not happened yet;
    /// otherwise to the longest waiter, or back on the idle queue unless the pool already
    /// keeps its size idle (then it is closed as overflow: `release`).
    fn dispose(self: &Arc<Self>, slot: Slot<C>, reset: bool) {
        let id = slot.id;
        if self.config.kind == PoolKind::Null {
            self.checked_in(id);
            self.discard(slot, CloseReason::NotPooled, false);
            self.release(None);
        } else if self.config.reset_on_return == ResetMode::Full && !reset {
            self.clean_later(slot);
        } else {
            self.checked_in(id);
            self.put_back(slot);
        }
    }

    /// The connection is back: counted and announced together, so `status()` and the
    /// event stream always agree.
    fn checked_in(&self, id: u64) {
        self.checked_out.fetch_sub(1, Ordering::AcqRel);
        self.emit(PoolEvent::Checkin { id });
    }

    /// Rolls back or resets a returned connection, then disposes of it (back on the idle
    /// queue, or closed). Holds the connection's slot throughout, and counts it as checked
    /// out.
    async fn clean(self: Arc<Self>, mut slot: Slot<C>) {
        let full = self.config.reset_on_return == ResetMode::Full || self.owes_session_reset(&slot);
        let id = slot.id;
        // Only an on_checkin hook brings a clean connection here with nothing to reset.
        let resets = !slot.conn.is_clean() || full;
        let work = async {
            slot.conn.settle().await?;
            if full {
                slot.conn.raw.reset(ResetMode::Full).await?;
                slot.conn.book.session_changed = false;
            }
            Ok::<(), Error>(())
        };
        let cleaned = tokio::time::timeout(self.config.reset_timeout, work).await;
        if matches!(cleaned, Ok(Ok(()))) && slot.conn.is_clean() {
            // A full reset wiped what after_connect set up: set it up again.
            let hooks = [
                (full, "after_connect", &self.hooks.after_connect),
                (true, "on_checkin", &self.hooks.on_checkin),
            ];
            for (due, name, hook) in hooks {
                let Some(hook) = hook.as_ref().filter(|_| due) else {
                    continue;
                };
                if let Err(e) = hook
                    .run(name, &mut slot.conn, self.config.reset_timeout)
                    .await
                {
                    tracing::warn!(error = %e, "txkit pool closed a connection a hook failed on");
                    self.checked_in(id);
                    self.discard(slot, CloseReason::HookFailed, true);
                    self.release(None);
                    return;
                }
            }
            if full {
                // The hook's session state is the connection's own, not a change to undo.
                slot.conn.book.session_changed = false;
            }
        }
        match cleaned {
            Ok(Ok(())) if slot.conn.is_clean() => {
                if resets {
                    self.emit(PoolEvent::Reset { id });
                }
                self.dispose(slot, true);
                return;
            }
            Ok(Ok(())) => {
                tracing::warn!("txkit pool closed a connection still not clean after its reset");
                self.checked_in(id);
                self.discard(slot, CloseReason::ResetFailed, true);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "txkit pool closed a connection it could not reset");
                self.checked_in(id);
                self.discard(slot, CloseReason::ResetFailed, true);
            }
            Err(_) => {
                tracing::warn!(
                    timeout = ?self.config.reset_timeout,
                    "txkit pool closed a connection whose reset timed out"
                );
                self.checked_in(id);
                self.discard(slot, CloseReason::ResetFailed, true);
            }
        }
        self.release(None);
    }
}
