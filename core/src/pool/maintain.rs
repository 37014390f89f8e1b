//! The pool's background work: closing connections idle past `idle_timeout`, keeping
//! `min_idle` open, and warning about connections held past `leak_threshold`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::{CloseReason, Inner, Permit, PoolKind};
use crate::connection::Connection;

/// Starts the maintenance task when a setting needs one and a tokio runtime is running.
pub(super) fn start<C: Connection>(inner: &Arc<Inner<C>>) {
    let c = &inner.config;
    let needed =
        c.idle_timeout.is_some() || c.min_idle > 0 || c.leak_threshold.is_some() || c.lingers();
    if !needed || c.kind == PoolKind::Null {
        return;
    }
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(
            "txkit pool made outside a tokio runtime: idle_timeout, min_idle and leak detection are off"
        );
        return;
    };
    let linger = c.lingers().then_some(c.overflow_idle);
    let period = [c.idle_timeout, c.leak_threshold, linger]
        .into_iter()
        .flatten()
        .map(|d| d / 2)
        .chain([Duration::from_secs(1)])
        .min()
        .unwrap_or(Duration::from_secs(1))
        .max(Duration::from_millis(10));
    let weak = Arc::downgrade(inner);
    inner.reaping.store(true, Ordering::Release);
    handle.spawn(run(weak, period));
}

async fn run<C: Connection>(pool: Weak<Inner<C>>, period: Duration) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = pool.upgrade() else { return };
        if inner.slots.is_closed() {
            return;
        }
        inner.reap_idle();
        inner.reap_overflow();
        inner.warn_leaks();
        inner.top_up().await;
    }
}

impl<C: Connection> Inner<C> {
    /// Closes idle connections unused for `idle_timeout`, oldest first, keeping `min_idle`.
    fn reap_idle(&self) {
        let Some(limit) = self.config.idle_timeout else {
            return;
        };
        let now = Instant::now();
        loop {
            if self.open.load(Ordering::Acquire) <= self.config.min_idle {
                return;
            }
            let stale = |s: &super::Slot<C>| {
                s.returned
                    .is_some_and(|r| now.saturating_duration_since(r) >= limit)
            };
            let Some(slot) = self.slots.pop_stale(stale) else {
                return;
            };
            self.discard(slot, CloseReason::IdleTimeout, false);
        }
    }

    /// Closes idle connections beyond the pool's size that have lingered for
    /// `overflow_idle`, oldest first.
    fn reap_overflow(&self) {
        if !self.config.lingers() {
            return;
        }
        let (limit, keep) = (self.config.overflow_idle, self.config.kept());
        let now = Instant::now();
        let stale = |s: &super::Slot<C>| {
            s.returned
                .is_some_and(|r| now.saturating_duration_since(r) >= limit)
        };
        while let Some(slot) = self.slots.pop_stale_beyond(keep, stale) {
            self.discard(slot, CloseReason::Overflow, false);
        }
    }

    /// Opens connections until `min_idle` are open, using free slots only.
    async fn top_up(self: &Arc<Self>) {
        while self.open.load(Ordering::Acquire) < self.config.min_idle.min(self.config.kept()) {
            if !self.slots.take_empty() {
                return;
            }
            // Gives the slot back if opening fails or this task is dropped mid-connect.
            let permit = Permit {
                inner: self,
                armed: true,
            };
            match self.open_new().await {
                Ok(slot) => {
                    permit.hand_over();
                    self.put_back(slot);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "txkit pool could not open a min_idle connection");
                    return;
                }
            }
        }
    }

    /// Warns once for each connection held longer than `leak_threshold`.
    fn warn_leaks(&self) {
        let Some(limit) = self.config.leak_threshold else {
            return;
        };
        let mut checkouts = self
            .checkouts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (id, checkout) in checkouts.iter_mut() {
            if !checkout.warned && checkout.at.elapsed() >= limit {
                checkout.warned = true;
                tracing::warn!(
                    pool = %self.label,
                    id,
                    held = ?checkout.at.elapsed(),
                    checked_out_at = %checkout.location,
                    "txkit connection held longer than the leak threshold ({limit:?}); \
                     was it checked out at {} and never returned?",
                    checkout.location
                );
            }
        }
    }
}
