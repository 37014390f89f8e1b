//! Pool events, delivered to callbacks and as `tracing` events.

use std::fmt;
use std::sync::Arc;

/// Why the pool closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CloseReason {
    /// An overflow connection came back while `size` were open.
    Overflow,
    /// Older than `recycle`.
    Recycled,
    /// Idle longer than `idle_timeout`.
    IdleTimeout,
    /// Its pre-ping failed.
    PrePingFailed,
    /// It failed with a lost connection or was otherwise broken.
    Broken,
    /// Cleaning it on return failed or timed out.
    ResetFailed,
    /// A Null pool closes every connection on return.
    NotPooled,
    /// The pool was closed.
    PoolClosed,
    /// An `after_connect`, `on_checkout` or `on_checkin` hook failed on it.
    HookFailed,
}

impl CloseReason {
    /// Every reason, in order.
    pub const ALL: [CloseReason; 9] = [
        Self::Overflow,
        Self::Recycled,
        Self::IdleTimeout,
        Self::PrePingFailed,
        Self::Broken,
        Self::ResetFailed,
        Self::NotPooled,
        Self::PoolClosed,
        Self::HookFailed,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// A short name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Overflow => "overflow",
            Self::Recycled => "recycled",
            Self::IdleTimeout => "idle timeout",
            Self::PrePingFailed => "pre-ping failed",
            Self::Broken => "broken",
            Self::ResetFailed => "reset failed",
            Self::NotPooled => "not pooled",
            Self::PoolClosed => "pool closed",
            Self::HookFailed => "hook failed",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened to one of the pool's connections (`id` numbers them from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolEvent {
    /// A connection was opened.
    Connect {
        /// The connection.
        id: u64,
        /// The server's own number for the session (PostgreSQL's backend pid, MySQL's
        /// connection id), to find it in `pg_stat_activity` or the process list; `None` on
        /// SQLite.
        server_session: Option<u64>,
        /// Where it connects: the engine's URL with the password hidden.
        address: Arc<str>,
    },
    /// The pool's first connection was opened (fires once, after its `Connect`).
    FirstConnect {
        /// The connection.
        id: u64,
    },
    /// A connection was handed to a caller.
    Checkout {
        /// The connection.
        id: u64,
    },
    /// A connection came back from a caller.
    Checkin {
        /// The connection.
        id: u64,
    },
    /// A returned connection was rolled back or reset before reuse.
    Reset {
        /// The connection.
        id: u64,
    },
    /// A connection was found unusable (lost, failed ping, failed reset).
    Invalidate {
        /// The connection.
        id: u64,
        /// Why.
        reason: CloseReason,
    },
    /// A connection was closed.
    Close {
        /// The connection.
        id: u64,
        /// Why.
        reason: CloseReason,
    },
}

/// A callback for pool events. Runs on the task that caused the event: keep it short.
pub type EventListener = Arc<dyn Fn(&PoolEvent) + Send + Sync>;

pub(crate) fn trace(label: &str, event: &PoolEvent) {
    match event {
        PoolEvent::Checkout { id } => tracing::trace!(pool = label, id, "txkit pool checkout"),
        PoolEvent::Checkin { id } => tracing::trace!(pool = label, id, "txkit pool checkin"),
        PoolEvent::Connect {
            id, server_session, ..
        } => tracing::debug!(pool = label, id, server_session, "txkit pool connect"),
        PoolEvent::FirstConnect { id } => {
            tracing::debug!(pool = label, id, "txkit pool first connect");
        }
        PoolEvent::Reset { id } => tracing::debug!(pool = label, id, "txkit pool reset"),
        PoolEvent::Invalidate { id, reason } => {
            tracing::info!(pool = label, id, %reason, "txkit pool invalidate");
        }
        PoolEvent::Close { id, reason } => {
            tracing::debug!(pool = label, id, %reason, "txkit pool close");
        }
    }
}
