//! The pool's slots, its idle connections and its waiters under one lock. A returned slot
//! goes straight to the longest waiter (with its connection when that is reusable), so a
//! checkout and a return each take the lock once and waiters are served first come, first
//! served.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::oneshot;

use super::{PoolOrder, Slot};
use crate::connection::Connection;

/// What a checkout receives: a slot, with an idle connection when there is one.
pub(crate) type Grant<C> = Option<Slot<C>>;

/// Why a connection given back is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surplus {
    /// The pool is closed.
    PoolClosed,
    /// The pool already keeps as many idle connections as its size, and nobody waits.
    Overflow,
}

/// The outcome of asking for a slot.
pub(crate) enum Take<C: Connection> {
    /// A slot was free.
    Now(Grant<C>),
    /// None was: the grant arrives on this channel (dropped unsent when the pool closes).
    Wait(oneshot::Receiver<Grant<C>>),
    /// The pool is closed.
    Closed,
}

pub(crate) struct Slots<C: Connection> {
    state: Mutex<State<C>>,
}

struct State<C: Connection> {
    idle: VecDeque<Slot<C>>,
    /// Slots not in use (each idle connection sits in one of them).
    free: usize,
    /// Checkouts waiting, oldest first; a sender whose receiver is gone is skipped.
    waiters: VecDeque<oneshot::Sender<Grant<C>>>,
    closed: bool,
}

impl<C: Connection> Slots<C> {
    pub(crate) fn new(slots: usize, kept: usize) -> Self {
        Self {
            state: Mutex::new(State {
                idle: VecDeque::with_capacity(kept),
                free: slots,
                waiters: VecDeque::new(),
                closed: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<C>> {
        // Every change is a few field updates with nothing that can panic in between.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a free slot (and an idle connection, if any), or joins the queue.
    pub(crate) fn take(&self, order: PoolOrder) -> Take<C> {
        let mut st = self.lock();
        if st.closed {
            return Take::Closed;
        }
        // A live waiter exists only while no slot is free (`give` serves waiters first).
        if st.free > 0 {
            st.free -= 1;
            return Take::Now(st.pop(order));
        }
        let (tx, rx) = oneshot::channel();
        st.waiters.push_back(tx);
        Take::Wait(rx)
    }

    /// A free slot with no connection in it, for opening one in the background.
    pub(crate) fn take_empty(&self) -> bool {
        let mut st = self.lock();
        if st.closed || st.free <= st.idle.len() {
            return false;
        }
        st.free -= 1;
        true
    }

    /// Another idle connection for a slot already held.
    pub(crate) fn pop_idle(&self, order: PoolOrder) -> Option<Slot<C>> {
        self.lock().pop(order)
    }

    /// Gives a slot back, with a clean connection or none: to the oldest waiter first (a
    /// connection handed over, not closed and reopened), else to the pool, which keeps at
    /// most `keep` idle connections (an overflow connection is closed only when nobody
    /// waits and the pool already holds `keep` idle; `keep` is unbounded when idle
    /// overflow connections linger, for the maintenance task to close). Returns the
    /// connection the caller must close, and why: the pool is closed, or it is surplus.
    pub(crate) fn give(&self, mut grant: Grant<C>, keep: usize) -> Option<(Slot<C>, Surplus)> {
        loop {
            let waiter = {
                let mut st = self.lock();
                if st.closed {
                    st.free += 1;
                    return grant.map(|slot| (slot, Surplus::PoolClosed));
                }
                match st.waiters.pop_front() {
                    Some(waiter) => waiter,
                    None => {
                        st.free += 1;
                        let slot = grant?;
                        if st.idle.len() >= keep {
                            return Some((slot, Surplus::Overflow));
                        }
                        st.idle.push_back(slot);
                        return None;
                    }
                }
            };
            // Sent outside the lock; a waiter that gave up hands the grant back.
            match waiter.send(grant) {
                Ok(()) => return None,
                Err(back) => grant = back,
            }
        }
    }

    /// Refuses new checkouts, wakes every waiter with an error, and returns the idle
    /// connections for closing.
    pub(crate) fn close(&self) -> Vec<Slot<C>> {
        let (idle, waiters) = {
            let mut st = self.lock();
            st.closed = true;
            st.free += st.idle.len();
            (
                st.idle.drain(..).collect::<Vec<_>>(),
                std::mem::take(&mut st.waiters),
            )
        };
        drop(waiters);
        idle
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// (idle connections, live waiters).
    pub(crate) fn counts(&self) -> (usize, usize) {
        let st = self.lock();
        let waiting = st.waiters.iter().filter(|w| !w.is_closed()).count();
        (st.idle.len(), waiting)
    }

    /// Like [`pop_stale`](Self::pop_stale), only while more than `keep` are idle.
    pub(crate) fn pop_stale_beyond(
        &self,
        keep: usize,
        stale: impl Fn(&Slot<C>) -> bool,
    ) -> Option<Slot<C>> {
        let mut st = self.lock();
        if st.idle.len() <= keep || !st.idle.front().is_some_and(stale) {
            return None;
        }
        st.idle.pop_front()
    }

    /// Takes the least recently returned idle connection out of its slot (which stays
    /// free) when `stale` says it has been idle too long.
    pub(crate) fn pop_stale(&self, stale: impl Fn(&Slot<C>) -> bool) -> Option<Slot<C>> {
        let mut st = self.lock();
        if !st.idle.front().is_some_and(stale) {
            return None;
        }
        st.idle.pop_front()
    }
}

impl<C: Connection> State<C> {
    fn pop(&mut self, order: PoolOrder) -> Option<Slot<C>> {
        match order {
            PoolOrder::Lifo => self.idle.pop_back(),
            PoolOrder::Fifo => self.idle.pop_front(),
        }
    }
}
