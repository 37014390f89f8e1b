//! The connection pool: at most `size` connections, checkouts that wait up to a timeout,
//! and check-in that never lets a dirty connection back in.
//!
//! A connection is returned as it is only when txkit knows it is clean (no transaction, no
//! request in flight, not broken): that costs no round trip. Otherwise a task rolls it back
//! (or recovers it) before it becomes idle again, still holding its slot, so no other caller
//! can check it out in between; if that fails, the connection is closed.

mod config;
mod connector;

use std::collections::VecDeque;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use config::{PoolConfig, PoolOrder};
pub use connector::Connect;

use crate::connection::{AnyConnection, Connection, ResetMode};
use crate::error::{Error, ErrorKind, Result};
use crate::isolation::TxOptions;
use crate::managed::ManagedConnection;

/// A pool of connections of type `C`. Cheap to clone; clones share the pool.
pub struct Pool<C: Connection = AnyConnection> {
    inner: Arc<Inner<C>>,
}

impl<C: Connection> Clone for Pool<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<C: Connection> {
    connector: Box<dyn Connect<C>>,
    config: PoolConfig,
    defaults: TxOptions,
    label: String,
    idle: Mutex<VecDeque<ManagedConnection<C>>>,
    slots: Arc<Semaphore>,
    open: AtomicUsize,
}

/// A snapshot of a pool's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// The most connections the pool keeps.
    pub size: usize,
    /// Connections open now (idle or checked out).
    pub open: usize,
    /// Connections checked out now.
    pub checked_out: usize,
    /// Idle connections ready for checkout.
    pub idle: usize,
}

impl fmt::Display for PoolStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pool size {}: {} open, {} checked out, {} idle",
            self.size, self.open, self.checked_out, self.idle
        )
    }
}

impl<C: Connection> fmt::Debug for Pool<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("database", &self.inner.label)
            .field("status", &self.status())
            .finish()
    }
}

impl<C: Connection> Pool<C> {
    /// A pool that opens connections with `connector`. `label` names the database in
    /// messages and must not contain a password; `defaults` are the transaction options
    /// each checked-out connection starts with.
    pub fn new(
        connector: impl Connect<C>,
        config: PoolConfig,
        defaults: TxOptions,
        label: impl Into<String>,
    ) -> Self {
        let size = config.size.max(1);
        Self {
            inner: Arc::new(Inner {
                connector: Box::new(connector),
                config: PoolConfig { size, ..config },
                defaults,
                label: label.into(),
                idle: Mutex::new(VecDeque::with_capacity(size)),
                slots: Arc::new(Semaphore::new(size)),
                open: AtomicUsize::new(0),
            }),
        }
    }

    /// The pool's settings.
    pub fn config(&self) -> &PoolConfig {
        &self.inner.config
    }

    /// The transaction options each checked-out connection starts with.
    pub fn defaults(&self) -> TxOptions {
        self.inner.defaults
    }

    /// Current counts.
    pub fn status(&self) -> PoolStatus {
        let size = self.inner.config.size;
        let idle = self.inner.idle().len();
        let free = self.inner.slots.available_permits();
        PoolStatus {
            size,
            open: self.inner.open.load(Ordering::Acquire),
            checked_out: size.saturating_sub(free).min(size),
            idle,
        }
    }

    /// Checks a connection out, waiting up to the pool timeout for one to be free.
    pub async fn get(&self) -> Result<PooledConnection<C>> {
        let inner = &self.inner;
        let wait = inner.config.timeout;
        let permit =
            match tokio::time::timeout(wait, Arc::clone(&inner.slots).acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_closed)) => {
                    return Err(Error::config("the pool is closed; create a new engine"));
                }
                Err(_elapsed) => return Err(self.timeout_error()),
            };
        let idle = {
            let mut idle = inner.idle();
            match inner.config.order {
                PoolOrder::Lifo => idle.pop_back(),
                PoolOrder::Fifo => idle.pop_front(),
            }
        };
        let mut conn = match idle {
            Some(conn) => conn,
            None => {
                let raw = inner.connector.connect().await?;
                inner.open.fetch_add(1, Ordering::AcqRel);
                tracing::debug!(database = %inner.label, "txkit pool opened a connection");
                ManagedConnection::with_defaults(raw, inner.defaults)
            }
        };
        if !conn.is_clean() {
            // Not expected (check-in cleans), but never hand out a dirty connection.
            if let Err(e) = conn.settle().await {
                inner.discard(conn);
                return Err(e);
            }
        }
        Ok(PooledConnection {
            conn: Some(conn),
            permit: Some(permit),
            pool: Arc::clone(&self.inner),
        })
    }

    fn timeout_error(&self) -> Error {
        let s = self.status();
        Error::new(
            ErrorKind::PoolTimeout,
            format!(
                "no connection to {} became free within {:?} (pool size {}, {} checked out, \
                 {} idle); raise pool_size or pool_timeout, hold connections for less time, \
                 or look for a task that holds one connection while asking for another",
                self.inner.label, self.inner.config.timeout, s.size, s.checked_out, s.idle
            ),
        )
    }

    /// Closes every idle connection and refuses new checkouts; checked-out connections are
    /// closed as they come back.
    pub async fn close(&self) {
        self.inner.slots.close();
        let idle: Vec<_> = self.inner.idle().drain(..).collect();
        for conn in idle {
            self.inner.open.fetch_sub(1, Ordering::AcqRel);
            conn.close().await;
        }
    }
}

impl<C: Connection> Inner<C> {
    fn idle(&self) -> MutexGuard<'_, VecDeque<ManagedConnection<C>>> {
        // A panic while holding this lock cannot leave the queue half-changed (push and pop
        // are single calls), so a poisoned lock is safe to use.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn discard(&self, conn: ManagedConnection<C>) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        tracing::debug!(database = %self.label, "txkit pool closed a connection");
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(conn.close());
        }
    }

    fn put_back(&self, mut conn: ManagedConnection<C>) {
        if self.slots.is_closed() {
            self.discard(conn);
            return;
        }
        conn.restore_defaults();
        self.idle().push_back(conn);
    }

    /// Cleans a returned connection that is not known clean, then puts it back or closes
    /// it. Runs while the caller still holds the connection's slot.
    async fn clean(self: Arc<Self>, mut conn: ManagedConnection<C>, permit: OwnedSemaphorePermit) {
        let mode = self.config.reset_on_return;
        let work = async {
            conn.settle().await?;
            if mode == ResetMode::Full {
                conn.raw.reset(mode).await?;
            }
            Ok::<(), Error>(())
        };
        match tokio::time::timeout(self.config.reset_timeout, work).await {
            Ok(Ok(())) if conn.is_clean() => self.put_back(conn),
            Ok(Ok(())) => self.discard(conn),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "txkit pool closed a connection it could not reset");
                self.discard(conn);
            }
            Err(_) => {
                tracing::warn!(
                    timeout = ?self.config.reset_timeout,
                    "txkit pool closed a connection whose reset timed out"
                );
                self.discard(conn);
            }
        }
        drop(permit);
    }
}

/// A connection checked out of a [`Pool`]; goes back when dropped. Dereferences to
/// [`ManagedConnection`], so `conn.begin()`, `conn.execute(…)` work on it directly.
pub struct PooledConnection<C: Connection = AnyConnection> {
    conn: Option<ManagedConnection<C>>,
    permit: Option<OwnedSemaphorePermit>,
    pool: Arc<Inner<C>>,
}

impl<C: Connection> fmt::Debug for PooledConnection<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledConnection")
            .field("database", &self.pool.label)
            .field("conn", &self.conn)
            .finish()
    }
}

impl<C: Connection> PooledConnection<C> {
    fn managed(&self) -> &ManagedConnection<C> {
        // `conn` is Some from checkout until drop; nothing else takes it.
        self.conn
            .as_ref()
            .unwrap_or_else(|| unreachable!("connection taken before drop"))
    }
}

impl<C: Connection> Deref for PooledConnection<C> {
    type Target = ManagedConnection<C>;
    fn deref(&self) -> &Self::Target {
        self.managed()
    }
}

impl<C: Connection> DerefMut for PooledConnection<C> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.conn
            .as_mut()
            .unwrap_or_else(|| unreachable!("connection taken before drop"))
    }
}

impl<C: Connection> Drop for PooledConnection<C> {
    fn drop(&mut self) {
        let (Some(conn), Some(permit)) = (self.conn.take(), self.permit.take()) else {
            return;
        };
        let pool = Arc::clone(&self.pool);
        if conn.is_broken() {
            pool.discard(conn);
            drop(permit);
        } else if conn.is_clean() && pool.config.reset_on_return != ResetMode::Full {
            pool.put_back(conn);
            drop(permit);
        } else if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(pool.clean(conn, permit));
        } else {
            // No runtime to roll back on: closing is the only safe choice.
            pool.open.fetch_sub(1, Ordering::AcqRel);
            drop(conn);
            drop(permit);
        }
    }
}
