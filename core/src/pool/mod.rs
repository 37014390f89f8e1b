//! The connection pool: SQLAlchemy's knobs (size, overflow, timeout, recycle, pre-ping,
//! LIFO/FIFO, reset on return, events) with a check-in that never lets a dirty connection
//! back in.
//!
//! A connection is returned as it is only when txkit knows it is clean (no transaction, no
//! request in flight, not broken): that costs no round trip. Otherwise a task rolls it back
//! (or recovers it) before it becomes idle again, still holding its slot, so no other caller
//! can check it out in between; if that fails, the connection is closed.

mod config;
mod connector;
mod events;
mod hooks;
mod maintain;
mod pooled;
mod slots;
mod stats;

use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use slots::{Grant, Slots, Surplus, Take};

pub use config::{PoolConfig, PoolKind, PoolOrder};
pub use connector::Connect;
pub use events::{CloseReason, EventListener, PoolEvent};
pub use hooks::{ConnectionHook, PoolHooks};
pub use pooled::PooledConnection;
pub use stats::PoolStats;

use crate::connection::{AnyConnection, Connection};
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

/// A pooled connection with what the pool knows about it, boxed: a checkout and its return
/// move the slot several times (out of the idle queue, into the checkout's handle, back),
/// and moving a pointer costs less than copying the entry's 144 bytes each time.
pub(crate) type Slot<C> = Box<SlotEntry<C>>;

/// What [`Slot`] points to.
pub(crate) struct SlotEntry<C: Connection> {
    pub(crate) conn: ManagedConnection<C>,
    pub(crate) id: u64,
    /// When it was opened, in nanoseconds since the pool's epoch.
    created_ns: u64,
    /// When it was last returned (only kept when a setting needs the clock).
    returned: Option<Instant>,
}

/// Where and when a connection was checked out, for leak warnings.
struct Checkout {
    at: Instant,
    location: &'static Location<'static>,
    warned: bool,
}

pub(crate) struct Inner<C: Connection> {
    connector: Box<dyn Connect<C>>,
    hooks: PoolHooks<C>,
    config: PoolConfig,
    defaults: TxOptions,
    label: String,
    /// The label, shared by every Connect event.
    address: Arc<str>,
    epoch: Instant,
    slots: Slots<C>,
    open: AtomicUsize,
    checked_out: AtomicUsize,
    next_id: AtomicU64,
    first_connect: AtomicBool,
    /// Whether the maintenance task runs (and so closes lingering overflow connections).
    reaping: AtomicBool,
    /// Nanoseconds since the epoch of the last lost connection (0: none); connections
    /// opened before it are pinged before reuse.
    disconnect_ns: AtomicU64,
    listeners: RwLock<Vec<EventListener>>,
    has_listeners: AtomicBool,
    stats: stats::Stats,
    checkouts: Mutex<HashMap<u64, Checkout>>,
}

/// A snapshot of a pool's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections the pool keeps.
    pub size: usize,
    /// Extra connections it may open under load.
    pub max_overflow: usize,
    /// Connections open now (idle, checked out, or being cleaned).
    pub open: usize,
    /// Connections checked out now (including returned ones still being cleaned).
    pub checked_out: usize,
    /// Open connections beyond `size`.
    pub overflow: usize,
    /// Idle connections ready for checkout.
    pub idle: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

impl fmt::Display for PoolStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pool size {} (+{} overflow): {} open, {} checked out, {} overflow, {} idle, {} waiting",
            self.size,
            self.max_overflow,
            self.open,
            self.checked_out,
            self.overflow,
            self.idle,
            self.waiting
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
    ///
    /// When the settings need background work (`idle_timeout`, `min_idle`,
    /// `leak_threshold`), call this inside a tokio runtime: the pool starts a maintenance
    /// task there, which ends when the pool is dropped or closed.
    pub fn new(
        connector: Box<dyn Connect<C>>,
        config: PoolConfig,
        defaults: TxOptions,
        label: impl Into<String>,
    ) -> Self {
        Self::with_hooks(connector, config, defaults, label, PoolHooks::default())
    }

    /// [`new`](Self::new), with hooks run on each new connection, each checkout and each
    /// return ([`PoolHooks`]).
    pub fn with_hooks(
        connector: Box<dyn Connect<C>>,
        config: PoolConfig,
        defaults: TxOptions,
        label: impl Into<String>,
        hooks: PoolHooks<C>,
    ) -> Self {
        let mut config = config;
        config.size = config.size.max(1);
        if config.kind == PoolKind::Static {
            config.size = 1;
            config.max_overflow = 0;
        }
        let label: String = label.into();
        let inner = Arc::new(Inner {
            connector,
            hooks,
            defaults,
            address: Arc::from(label.as_str()),
            label,
            epoch: Instant::now(),
            slots: Slots::new(config.max_open(), config.size),
            open: AtomicUsize::new(0),
            checked_out: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            first_connect: AtomicBool::new(false),
            reaping: AtomicBool::new(false),
            disconnect_ns: AtomicU64::new(0),
            listeners: RwLock::new(Vec::new()),
            has_listeners: AtomicBool::new(false),
            stats: stats::Stats::new(),
            checkouts: Mutex::new(HashMap::new()),
            config,
        });
        maintain::start(&inner);
        Self { inner }
    }

    /// The pool's settings.
    pub fn config(&self) -> &PoolConfig {
        &self.inner.config
    }

    /// The transaction options each checked-out connection starts with.
    pub fn defaults(&self) -> TxOptions {
        self.inner.defaults
    }

    /// Calls `listener` for every event from now on (and emits each as a `tracing` event
    /// whether or not a listener is set).
    pub fn on_event(&self, listener: impl Fn(&PoolEvent) + Send + Sync + 'static) {
        let mut listeners = self
            .inner
            .listeners
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        listeners.push(Arc::new(listener));
        self.inner.has_listeners.store(true, Ordering::Release);
    }

    /// Current counts.
    pub fn status(&self) -> PoolStatus {
        let c = &self.inner.config;
        let open = self.inner.open.load(Ordering::Acquire);
        let (idle, waiting) = self.inner.slots.counts();
        PoolStatus {
            size: c.kept().max(if c.kind == PoolKind::Null { 0 } else { 1 }),
            max_overflow: c.max_overflow,
            open,
            checked_out: self.inner.checked_out.load(Ordering::Acquire),
            overflow: open.saturating_sub(c.kept()),
            idle,
            waiting,
        }
    }

    /// What the pool has done since it was made.
    pub fn stats(&self) -> PoolStats {
        self.inner.stats.snapshot()
    }

    /// Checks a connection out, waiting up to the pool timeout for one to be free. The
    /// caller's source location is kept for leak warnings.
    #[track_caller]
    pub fn get(&self) -> impl Future<Output = Result<PooledConnection<C>>> + Send + '_ {
        self.get_at(Location::caller())
    }

    /// [`get`](Self::get), naming the caller's location explicitly (for wrappers that are
    /// themselves `#[track_caller]`).
    pub async fn get_at(
        &self,
        location: &'static Location<'static>,
    ) -> Result<PooledConnection<C>> {
        let inner = &self.inner;
        let (permit, mut first, mut waited_until) = inner.acquire(self).await?;
        // Each idle connection is tried at most once; then a new one is opened.
        loop {
            let candidate = first
                .take()
                .or_else(|| inner.slots.pop_idle(inner.config.order));
            let Some(slot) = candidate else {
                let mut taken = Taken {
                    inner,
                    slot: Some(inner.open_new().await?),
                };
                inner.before_checkout(&mut taken).await?;
                return Ok(inner.hand_out(taken.keep(), permit, location));
            };
            let mut taken = Taken {
                inner,
                slot: Some(slot),
            };
            let now = if inner.config.needs_clock()
                || taken.slot().conn.raw.ping_after_idle().is_some()
            {
                Some(waited_until.take().unwrap_or_else(Instant::now))
            } else {
                None
            };
            if let Some(reason) = inner.expired(taken.slot(), now) {
                taken.close(reason, false);
                continue;
            }
            if inner.needs_ping(taken.slot(), now) {
                let ping = taken.slot_mut().conn.ping();
                let ok = matches!(
                    tokio::time::timeout(inner.config.validation_timeout, ping).await,
                    Ok(Ok(()))
                );
                if !ok {
                    taken.close(CloseReason::PrePingFailed, true);
                    continue;
                }
            }
            if !taken.slot().conn.is_clean() && taken.slot_mut().conn.settle().await.is_err() {
                taken.close(CloseReason::Broken, true);
                continue;
            }
            inner.before_checkout(&mut taken).await?;
            return Ok(inner.hand_out(taken.keep(), permit, location));
        }
    }

    /// Closes every idle connection and refuses new checkouts; checked-out connections are
    /// closed as they come back.
    pub async fn close(&self) {
        for slot in self.inner.slots.close() {
            let conn = self.inner.forget(slot, CloseReason::PoolClosed, false);
            conn.close().await;
        }
    }
}

/// An idle connection taken off the queue: closed (and counted) if dropped before it is
/// handed out, so a cancelled checkout keeps the counts exact.
struct Taken<'p, C: Connection> {
    inner: &'p Inner<C>,
    slot: Option<Slot<C>>,
}

impl<C: Connection> Taken<'_, C> {
    fn slot(&self) -> &Slot<C> {
        self.slot
            .as_ref()
            .unwrap_or_else(|| unreachable!("taken slot used after keep"))
    }

    fn slot_mut(&mut self) -> &mut Slot<C> {
        self.slot
            .as_mut()
            .unwrap_or_else(|| unreachable!("taken slot used after keep"))
    }

    fn keep(mut self) -> Slot<C> {
        self.slot
            .take()
            .unwrap_or_else(|| unreachable!("taken slot kept twice"))
    }

    fn close(mut self, reason: CloseReason, invalid: bool) {
        if let Some(slot) = self.slot.take() {
            self.inner.discard(slot, reason, invalid);
        }
    }
}

impl<C: Connection> Drop for Taken<'_, C> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            // Dropped mid-check (the checkout was cancelled during a ping or a reset).
            self.inner.discard(slot, CloseReason::Broken, true);
        }
    }
}

/// A slot held by a checkout in progress: given back (empty) if the checkout fails or is
/// cancelled before it hands a connection out.
struct Permit<'p, C: Connection> {
    inner: &'p Inner<C>,
    armed: bool,
}

impl<C: Connection> Permit<'_, C> {
    /// The slot now belongs to a [`PooledConnection`], which gives it back on return.
    fn hand_over(mut self) {
        self.armed = false;
    }
}

impl<C: Connection> Drop for Permit<'_, C> {
    fn drop(&mut self) {
        if self.armed {
            self.inner.release(None);
        }
    }
}

/// A queued checkout: if it is dropped (timed out or cancelled) after a grant was sent,
/// the grant goes back to the pool.
struct Waiter<'p, C: Connection> {
    rx: tokio::sync::oneshot::Receiver<Grant<C>>,
    inner: &'p Inner<C>,
    done: bool,
}

impl<C: Connection> Drop for Waiter<'_, C> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.rx.close();
        if let Ok(grant) = self.rx.try_recv() {
            self.inner.release(grant);
        }
    }
}

impl<C: Connection> Inner<C> {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    pub(crate) fn emit(&self, event: PoolEvent) {
        events::trace(&self.label, &event);
        if self.has_listeners.load(Ordering::Acquire) {
            let listeners = self
                .listeners
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for listener in listeners.iter() {
                listener(&event);
            }
        }
    }

    /// A slot in the pool (with an idle connection when there is one), waiting fairly
    /// (first come, first served) up to the timeout; with the time it came when it waited.
    async fn acquire(&self, pool: &Pool<C>) -> Result<(Permit<'_, C>, Grant<C>, Option<Instant>)> {
        // The permit stands for a slot this checkout holds, so it is made only once one is
        // held: a checkout cancelled while it waits holds none (its `Waiter` gives back a
        // grant that arrived meanwhile), and must give none back.
        let held = || Permit {
            inner: self,
            armed: true,
        };
        let rx = match self.slots.take(self.config.order) {
            Take::Now(grant) => return Ok((held(), grant, None)),
            Take::Closed => return Err(closed_error()),
            Take::Wait(rx) => rx,
        };
        let mut waiter = Waiter {
            rx,
            inner: self,
            done: false,
        };
        let started = Instant::now();
        // A timeout too large to add to the clock means no limit (30 years, as tokio does).
        let deadline = started
            .checked_add(self.config.timeout)
            .unwrap_or_else(|| started + Duration::from_secs(86_400 * 365 * 30));
        let deadline = tokio::time::Instant::from_std(deadline);
        match tokio::time::timeout_at(deadline, &mut waiter.rx).await {
            Ok(Ok(grant)) => {
                waiter.done = true;
                let now = Instant::now();
                self.stats.waited(now.saturating_duration_since(started));
                Ok((held(), grant, Some(now)))
            }
            Ok(Err(_)) => Err(closed_error()),
            Err(_) => {
                self.stats.timeout();
                Err(pool.timeout_error())
            }
        }
    }

    /// Why an idle connection must not be reused, if it must not.
    fn expired(&self, slot: &Slot<C>, now: Option<Instant>) -> Option<CloseReason> {
        if self.config.kind == PoolKind::Static {
            return None;
        }
        let now = now?;
        if let Some(recycle) = self.config.recycle {
            let now_ns = u64::try_from(now.saturating_duration_since(self.epoch).as_nanos())
                .unwrap_or(u64::MAX);
            let age = Duration::from_nanos(now_ns.saturating_sub(slot.created_ns));
            if age >= recycle {
                return Some(CloseReason::Recycled);
            }
        }
        if let (Some(limit), Some(returned)) = (self.config.idle_timeout, slot.returned) {
            if now.saturating_duration_since(returned) >= limit {
                return Some(CloseReason::IdleTimeout);
            }
        }
        None
    }

    /// Runs the `on_checkout` hook, bounded by the pool timeout; a failure discards the
    /// connection and is the caller's error.
    async fn before_checkout(&self, taken: &mut Taken<'_, C>) -> Result<()> {
        let Some(hook) = &self.hooks.on_checkout else {
            return Ok(());
        };
        let Some(slot) = taken.slot.as_mut() else {
            return Ok(());
        };
        let result = hook
            .run("on_checkout", &mut slot.conn, self.config.timeout)
            .await;
        if result.is_err()
            && let Some(slot) = taken.slot.take()
        {
            self.discard(slot, CloseReason::HookFailed, true);
        }
        result
    }

    fn needs_ping(&self, slot: &Slot<C>, now: Option<Instant>) -> bool {
        let disconnect = self.disconnect_ns.load(Ordering::Acquire);
        if disconnect != 0 && slot.created_ns < disconnect {
            return true;
        }
        // A backend that cannot see a closed socket asks for a ping after its own idle time,
        // with or without pre-ping.
        let idle = match (self.config.pre_ping, slot.conn.raw.ping_after_idle()) {
            (true, Some(own)) => Some(own.min(self.config.pre_ping_idle)),
            (true, None) => Some(self.config.pre_ping_idle),
            (false, own) => own,
        };
        match (idle, now, slot.returned) {
            (Some(idle), Some(now), Some(returned)) => {
                now.saturating_duration_since(returned) >= idle
            }
            (Some(_), _, None) => true,
            (None, ..) | (Some(_), None, Some(_)) => false,
        }
    }

    async fn open_new(&self) -> Result<Slot<C>> {
        let connect = self.connector.connect();
        let raw = match tokio::time::timeout(self.config.connect_timeout, connect).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(Error::connection_lost(format!(
                    "connecting to {} took longer than the connect timeout ({:?}); check the \
                     server is up and reachable, or raise connect_timeout",
                    self.label, self.config.connect_timeout
                )));
            }
        };
        let mut conn = ManagedConnection::with_defaults(raw, self.defaults);
        if let Some(hook) = &self.hooks.after_connect
            && let Err(e) = hook
                .run("after_connect", &mut conn, self.config.connect_timeout)
                .await
        {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(conn.close());
            }
            return Err(e);
        }
        // What after_connect set up is the connection's baseline, not a session change
        // to reset on return.
        conn.book.session_changed = false;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::AcqRel);
        self.stats.connect();
        self.emit(PoolEvent::Connect {
            id,
            server_session: conn.raw.server_session_id(),
            address: Arc::clone(&self.address),
        });
        if !self.first_connect.swap(true, Ordering::AcqRel) {
            self.emit(PoolEvent::FirstConnect { id });
        }
        Ok(Box::new(SlotEntry {
            conn,
            id,
            created_ns: self.now_ns(),
            returned: None,
        }))
    }

    fn hand_out(
        self: &Arc<Self>,
        slot: Slot<C>,
        permit: Permit<'_, C>,
        location: &'static Location<'static>,
    ) -> PooledConnection<C> {
        permit.hand_over();
        self.checked_out.fetch_add(1, Ordering::AcqRel);
        self.stats.checkout();
        self.emit(PoolEvent::Checkout { id: slot.id });
        if self.config.leak_threshold.is_some() {
            self.checkouts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(
                    slot.id,
                    Checkout {
                        at: Instant::now(),
                        location,
                        warned: false,
                    },
                );
        }
        PooledConnection::new(slot, Arc::clone(self))
    }

    /// Takes a connection out of the pool's count, records why, and returns it for closing.
    #[allow(
        clippy::boxed_local,
        reason = "slots stay boxed; unboxing to drop one copies it"
    )]
    fn forget(&self, slot: Slot<C>, reason: CloseReason, invalid: bool) -> ManagedConnection<C> {
        self.open.fetch_sub(1, Ordering::AcqRel);
        if invalid {
            self.emit(PoolEvent::Invalidate {
                id: slot.id,
                reason,
            });
        }
        if reason == CloseReason::Broken {
            // Connections opened before this one was lost may be dead too.
            self.disconnect_ns.store(self.now_ns(), Ordering::Release);
        }
        self.stats.closed(reason);
        self.emit(PoolEvent::Close {
            id: slot.id,
            reason,
        });
        slot.conn
    }

    /// Closes a connection in the background (it is already out of the pool's count).
    #[allow(
        clippy::boxed_local,
        reason = "slots stay boxed; unboxing to drop one copies it"
    )]
    pub(crate) fn discard(&self, slot: Slot<C>, reason: CloseReason, invalid: bool) {
        let conn = self.forget(slot, reason, invalid);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(conn.close());
        }
    }

    /// Puts a clean connection back on the idle queue.
    pub(crate) fn put_back(&self, mut slot: Slot<C>) {
        slot.conn.restore_defaults();
        if self.config.pre_ping
            || self.config.idle_timeout.is_some()
            || self.config.lingers()
            || slot.conn.raw.ping_after_idle().is_some()
        {
            slot.returned = Some(Instant::now());
        }
        self.release(Some(slot));
    }

    /// Gives a slot back, with a clean connection or none: to the longest waiter, else to
    /// the idle queue; a closed pool, or one that already keeps its size idle, closes the
    /// connection instead.
    pub(crate) fn release(&self, grant: Grant<C>) {
        // With the maintenance task running, idle overflow connections linger (it closes
        // them after overflow_idle); without one they close at once.
        let keep = if self.config.lingers() && self.reaping.load(Ordering::Acquire) {
            usize::MAX
        } else {
            self.config.kept()
        };
        match self.slots.give(grant, keep) {
            Some((slot, Surplus::PoolClosed)) => {
                self.discard(slot, CloseReason::PoolClosed, false);
            }
            Some((slot, Surplus::Overflow)) => self.discard(slot, CloseReason::Overflow, false),
            None => {}
        }
    }
}

fn closed_error() -> Error {
    Error::usage("the pool is closed; create a new engine")
}

impl<C: Connection> Pool<C> {
    fn timeout_error(&self) -> Error {
        let s = self.status();
        Error::new(
            ErrorKind::PoolTimeout,
            format!(
                "no connection to {} became free within {:?} ({s}); raise pool_size, \
                 max_overflow or pool_timeout, hold connections for less time, or look for a \
                 task that holds one connection while asking for another",
                self.inner.label, self.inner.config.timeout
            ),
        )
    }
}
