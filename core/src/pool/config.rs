//! Pool settings.

use std::time::Duration;

use crate::connection::ResetMode;

/// How a pool hands out connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolKind {
    /// Keeps up to `size` connections, opens up to `max_overflow` more on demand (closed on
    /// return), and makes further callers wait up to `timeout`, first come first served.
    #[default]
    Queue,
    /// No pooling: a new connection per checkout, closed when it is returned. At most
    /// `size + max_overflow` are open at once.
    Null,
    /// One connection, shared by every checkout in turn and never closed by the pool: the
    /// way to use a private SQLite `:memory:` database from many checkouts.
    Static,
}

/// Which idle connection a checkout takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolOrder {
    /// The most recently returned (keeps a warm few busy and lets the rest age out).
    #[default]
    Lifo,
    /// The least recently returned (spreads use evenly).
    Fifo,
}

/// The settings of a [`Pool`](crate::Pool). Every field has a default; see each field.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Queue, Null or Static (default Queue).
    pub kind: PoolKind,
    /// How many connections the pool keeps (default 5).
    pub size: usize,
    /// How many more it may open under load (default 10). An overflow connection goes back
    /// to a waiting caller first; with nobody waiting and `size` connections already idle,
    /// it is kept idle for [`overflow_idle`](Self::overflow_idle) and then closed.
    pub max_overflow: usize,
    /// How long an overflow connection may sit idle before it is closed (default 5 s), so
    /// a burst of load that stops and starts again reuses its connections instead of
    /// opening them again. Zero closes it as soon as it comes back to a pool already
    /// holding `size` idle connections, as SQLAlchemy's QueuePool does.
    pub overflow_idle: Duration,
    /// How long a checkout waits for a free connection before PoolTimeout (default 30 s).
    pub timeout: Duration,
    /// Connections older than this are closed at checkout and replaced (default: never).
    pub recycle: Option<Duration>,
    /// Ping a connection at checkout when it has been idle for at least
    /// [`pre_ping_idle`](Self::pre_ping_idle) (default off).
    pub pre_ping: bool,
    /// How long a connection must have been idle before a pre-ping checks it (default 1 s;
    /// zero pings at every checkout, as SQLAlchemy does). A ping costs a round trip, many
    /// times the cost of a checkout.
    pub pre_ping_idle: Duration,
    /// How long a pre-ping may take before the connection is given up (default 5 s).
    pub validation_timeout: Duration,
    /// Which idle connection a checkout takes (default LIFO).
    pub order: PoolOrder,
    /// How a returned connection is cleaned (default: roll back what is open).
    pub reset_on_return: ResetMode,
    /// How long cleaning a returned connection may take before it is closed instead
    /// (default 5 s).
    pub reset_timeout: Duration,
    /// Idle connections unused for this long are closed, down to `min_idle` (default:
    /// never).
    pub idle_timeout: Option<Duration>,
    /// Connections the pool keeps open even when idle, opened in the background (default 0).
    pub min_idle: usize,
    /// How long opening a connection may take (default 30 s).
    pub connect_timeout: Duration,
    /// Warn (naming where it was checked out) when a connection is held longer than this
    /// (default: off).
    pub leak_threshold: Option<Duration>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            kind: PoolKind::Queue,
            size: 5,
            max_overflow: 10,
            overflow_idle: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            recycle: None,
            pre_ping: false,
            pre_ping_idle: Duration::from_secs(1),
            validation_timeout: Duration::from_secs(5),
            order: PoolOrder::Lifo,
            reset_on_return: ResetMode::Rollback,
            reset_timeout: Duration::from_secs(5),
            idle_timeout: None,
            min_idle: 0,
            connect_timeout: Duration::from_secs(30),
            leak_threshold: None,
        }
    }
}

impl PoolConfig {
    /// The most connections open at once.
    pub fn max_open(&self) -> usize {
        match self.kind {
            PoolKind::Static => 1,
            PoolKind::Queue | PoolKind::Null => self.size + self.max_overflow,
        }
    }

    /// How many connections are kept when idle.
    pub fn kept(&self) -> usize {
        match self.kind {
            PoolKind::Static => 1,
            PoolKind::Queue => self.size,
            PoolKind::Null => 0,
        }
    }

    /// Whether idle overflow connections linger ([`overflow_idle`](Self::overflow_idle))
    /// rather than close on return.
    pub(crate) fn lingers(&self) -> bool {
        self.kind == PoolKind::Queue && self.max_overflow > 0 && !self.overflow_idle.is_zero()
    }

    /// Whether checkout or check-in needs the time (age, idleness, leak checks).
    pub(crate) fn needs_clock(&self) -> bool {
        self.recycle.is_some()
            || self.pre_ping
            || self.idle_timeout.is_some()
            || self.leak_threshold.is_some()
    }
}
