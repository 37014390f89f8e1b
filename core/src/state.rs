//! A connection's transaction state: one enum, changed in one function.

use std::num::NonZeroU32;

use crate::error::ErrorKind;

/// Where a connection stands, as txkit knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxState {
    /// No transaction open.
    Idle,
    /// A transaction is open; `depth` 1 is the transaction itself, each savepoint adds one.
    InTransaction {
        /// How many levels are open.
        depth: NonZeroU32,
    },
    /// A guard was dropped unfinished (or the server doomed the transaction): before the
    /// connection runs anything else, it must roll back to level `to` (0 = the whole
    /// transaction).
    RollbackOwed {
        /// How many levels are open now.
        depth: NonZeroU32,
        /// How many levels remain after the owed rollback.
        to: u32,
    },
    /// The connection cannot be trusted (lost, or a reset failed); it must be closed.
    Broken,
}

/// What happened to a connection; the only input to [`TxBook::transition`].
#[derive(Debug, Clone)]
pub(crate) enum TxEvent {
    /// A request is about to be sent: until [`Answered`](Self::Answered), the connection's
    /// place in the protocol is unknown if the caller goes away.
    Sent,
    /// The whole answer to the request in flight was read.
    Answered,
    /// BEGIN succeeded.
    Begun,
    /// SAVEPOINT `name` succeeded.
    SavepointSet(String),
    /// SAVEPOINT `name` succeeded, opening a restart savepoint (see [`Level::restart`]).
    RestartSavepointSet(String),
    /// The innermost savepoint was released.
    Released,
    /// The transaction is over (COMMIT or ROLLBACK answered).
    Ended,
    /// ROLLBACK TO the savepoint that opened level `level` (1-based depth) succeeded; that
    /// level and all above it are gone.
    RolledBackTo { level: u32 },
    /// The guard of level `level` (with serial `serial`) was dropped unfinished.
    GuardDropped { level: u32, serial: u64 },
    /// The server ended, or will only roll back, the whole transaction.
    Doomed(ErrorKind),
    /// A connection-level failure: the connection must be discarded.
    Broke,
    /// An abandoned operation was recovered: the server is idle.
    Recovered,
}

/// One open level: the transaction (level 1) or a savepoint.
#[derive(Debug, Clone)]
pub(crate) struct Level {
    pub(crate) serial: u64,
    pub(crate) savepoint: Option<String>,
    /// A restart savepoint, opened by a retry loop that rolls back to it and runs its body
    /// again (CockroachDB's `cockroach_restart` protocol): a conflict inside it — the
    /// failures that otherwise doom the whole transaction — dooms only this savepoint.
    pub(crate) restart: bool,
}

/// The bookkeeping behind [`TxState`]: the state, the open levels with their savepoint
/// names, and the in-flight mark.
#[derive(Debug)]
pub(crate) struct TxBook {
    state: TxState,
    levels: Vec<Level>,
    next_serial: u64,
    /// Set by [`TxEvent::Sent`], cleared by [`TxEvent::Answered`] or [`TxEvent::Recovered`];
    /// still set after a drop means the connection's position in the protocol is unknown.
    in_flight: bool,
    /// Why the last transaction (or restart savepoint) was ended by txkit rather than by
    /// its guard: the kind a guard used afterwards reports, and the reason in words.
    pub(crate) abort: Option<(ErrorKind, String)>,
    /// Set when the connection ran SQL that may have changed its session state (a `SET`,
    /// a temporary table, `USE`, `PREPARE`, `ATTACH`, a `PRAGMA`, or anything txkit cannot
    /// classify); cleared by a full reset. A pool resets such a connection on return.
    pub(crate) session_changed: bool,
}

impl TxBook {
    pub(crate) fn new() -> Self {
        Self {
            state: TxState::Idle,
            levels: Vec::new(),
            next_serial: 1,
            in_flight: false,
            abort: None,
            session_changed: false,
        }
    }

    pub(crate) fn state(&self) -> TxState {
        self.state
    }

    pub(crate) fn depth(&self) -> u32 {
        u32::try_from(self.levels.len()).unwrap_or(u32::MAX)
    }

    /// The serial the next level will get.
    pub(crate) fn peek_serial(&self) -> u64 {
        self.next_serial
    }

    /// Whether the level a guard holds is still open and usable.
    pub(crate) fn is_live(&self, level: u32, serial: u64) -> bool {
        matches!(self.state, TxState::InTransaction { .. })
            && level >= 1
            && self
                .levels
                .get(level as usize - 1)
                .is_some_and(|l| l.serial == serial)
            && self.depth() == level
    }

    /// Whether a guard's level is open at all (it may have children above it).
    pub(crate) fn holds(&self, level: u32, serial: u64) -> bool {
        level >= 1
            && self
                .levels
                .get(level as usize - 1)
                .is_some_and(|l| l.serial == serial)
    }

    /// The savepoint name of level `level` (2 and up).
    pub(crate) fn savepoint_name(&self, level: u32) -> crate::Result<String> {
        (level as usize)
            .checked_sub(1)
            .and_then(|i| self.levels.get(i))
            .and_then(|l| l.savepoint.clone())
            .ok_or_else(|| {
                crate::Error::internal(format!(
                    "txkit lost track of the savepoint of level {level}"
                ))
            })
    }

    /// Whether a request was sent and its answer not yet read in full.
    pub(crate) fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// Whether something must be paid before the connection runs anything else: a
    /// cancelled request to recover from, an owed rollback, or a broken connection to
    /// report. (What [`ManagedConnection::settle`](crate::ManagedConnection::settle) pays.)
    pub(crate) fn owes(&self) -> bool {
        self.in_flight || matches!(self.state, TxState::Broken | TxState::RollbackOwed { .. })
    }

    /// Whether the connection is clean enough to hand to another user as it is.
    pub(crate) fn is_clean(&self) -> bool {
        self.state == TxState::Idle && !self.in_flight
    }

    fn set_depth(&mut self, depth: usize) {
        self.levels.truncate(depth);
        self.state = match u32::try_from(depth).ok().and_then(NonZeroU32::new) {
            Some(depth) => TxState::InTransaction { depth },
            None => TxState::Idle,
        };
    }

    /// The one place the state changes.
    pub(crate) fn transition(&mut self, event: TxEvent) {
        let before = self.state;
        match event {
            // The in-flight mark brackets every request (the hot path: matched first), and
            // is kept even on a broken connection.
            TxEvent::Sent => self.in_flight = true,
            TxEvent::Answered => self.in_flight = false,
            _ if before == TxState::Broken => {}
            TxEvent::Begun => {
                self.levels.clear();
                self.abort = None;
                self.push(None, false);
            }
            TxEvent::SavepointSet(name) => self.push(Some(name), false),
            TxEvent::RestartSavepointSet(name) => self.push(Some(name), true),
            TxEvent::Released => {
                let depth = self.levels.len().saturating_sub(1).max(1);
                self.set_depth(depth);
            }
            TxEvent::Ended => self.set_depth(0),
            TxEvent::Recovered => {
                self.in_flight = false;
                if !self.levels.is_empty() {
                    self.abort = Some((
                        ErrorKind::Database,
                        "the transaction was rolled back because an operation on it was \
                         cancelled before it finished"
                            .to_owned(),
                    ));
                }
                self.set_depth(0);
            }
            TxEvent::RolledBackTo { level } => {
                self.set_depth((level as usize).saturating_sub(1));
            }
            TxEvent::GuardDropped { level, serial } => {
                if self.holds(level, serial) {
                    let to = level - 1;
                    let to = match before {
                        TxState::RollbackOwed { to: owed, .. } => owed.min(to),
                        _ => to,
                    };
                    self.owe(to);
                }
            }
            TxEvent::Doomed(kind) => {
                // The innermost restart savepoint absorbs the conflict; without one, the
                // whole transaction goes.
                match self.levels.iter().rposition(|l| l.restart) {
                    Some(index) => {
                        self.abort = Some((
                            kind,
                            format!("the savepoint was rolled back after a {kind}"),
                        ));
                        let to = u32::try_from(index).unwrap_or(u32::MAX);
                        let to = match before {
                            TxState::RollbackOwed { to: owed, .. } => owed.min(to),
                            _ => to,
                        };
                        self.owe(to);
                    }
                    None if !self.levels.is_empty() => {
                        self.abort = Some((
                            kind,
                            format!("the transaction was rolled back after a {kind}"),
                        ));
                        self.owe(0);
                    }
                    None => {}
                }
            }
            TxEvent::Broke => {
                self.levels.clear();
                self.state = TxState::Broken;
            }
        }
        if before != self.state {
            tracing::trace!(?before, after = ?self.state, "txkit transaction state");
        }
    }

    fn owe(&mut self, to: u32) {
        if let Some(depth) = NonZeroU32::new(self.depth()) {
            self.state = TxState::RollbackOwed { depth, to };
        }
    }

    fn push(&mut self, savepoint: Option<String>, restart: bool) {
        let serial = self.next_serial;
        self.next_serial += 1;
        self.levels.push(Level {
            serial,
            savepoint,
            restart,
        });
        self.set_depth(self.levels.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("nonzero")
    }

    #[test]
    fn a_request_left_unanswered_is_owed_until_recovered() {
        let mut b = TxBook::new();
        b.transition(TxEvent::Begun);
        b.transition(TxEvent::Sent);
        assert!(b.in_flight() && b.owes() && !b.is_clean());
        b.transition(TxEvent::Answered);
        assert!(!b.in_flight() && !b.owes());
        // Dropped mid-request: the mark stays until the connection is recovered, which
        // also ends the transaction the cancelled request was part of.
        b.transition(TxEvent::Sent);
        b.transition(TxEvent::Recovered);
        assert!(!b.in_flight() && b.is_clean());
        assert_eq!(b.abort.as_ref().map(|a| a.0), Some(ErrorKind::Database));
        // A broken connection still tracks the mark, and stays owed either way.
        b.transition(TxEvent::Broke);
        b.transition(TxEvent::Sent);
        assert!(b.in_flight());
        b.transition(TxEvent::Answered);
        assert!(b.owes() && !b.is_clean());
    }

    #[test]
    fn nesting_and_owed_rollbacks() {
        let mut b = TxBook::new();
        b.transition(TxEvent::Begun);
        let s1 = b.peek_serial();
        b.transition(TxEvent::SavepointSet("a".into()));
        let s2 = b.peek_serial();
        b.transition(TxEvent::SavepointSet("b".into()));
        assert_eq!(b.state(), TxState::InTransaction { depth: depth(3) });
        assert!(b.is_live(3, s2));
        b.transition(TxEvent::GuardDropped {
            level: 3,
            serial: s2,
        });
        assert_eq!(
            b.state(),
            TxState::RollbackOwed {
                depth: depth(3),
                to: 2
            }
        );
        // a deeper debt wins
        b.transition(TxEvent::GuardDropped {
            level: 2,
            serial: s1,
        });
        assert_eq!(
            b.state(),
            TxState::RollbackOwed {
                depth: depth(3),
                to: 1
            }
        );
        b.transition(TxEvent::RolledBackTo { level: 2 });
        assert_eq!(b.state(), TxState::InTransaction { depth: depth(1) });
        assert!(!b.holds(2, s1));
        b.transition(TxEvent::Ended);
        assert!(b.is_clean());
    }

    #[test]
    fn stale_guard_does_not_touch_a_new_level() {
        let mut b = TxBook::new();
        b.transition(TxEvent::Begun);
        let old = b.peek_serial();
        b.transition(TxEvent::SavepointSet("a".into()));
        b.transition(TxEvent::RolledBackTo { level: 2 });
        b.transition(TxEvent::SavepointSet("b".into()));
        b.transition(TxEvent::GuardDropped {
            level: 2,
            serial: old,
        });
        assert_eq!(b.state(), TxState::InTransaction { depth: depth(2) });
    }

    #[test]
    fn a_conflict_dooms_the_whole_transaction() {
        let mut b = TxBook::new();
        b.transition(TxEvent::Begun);
        b.transition(TxEvent::SavepointSet("a".into()));
        b.transition(TxEvent::Doomed(ErrorKind::Deadlock));
        assert_eq!(
            b.state(),
            TxState::RollbackOwed {
                depth: depth(2),
                to: 0
            }
        );
    }

    #[test]
    fn a_conflict_inside_a_restart_savepoint_dooms_only_it() {
        let mut b = TxBook::new();
        b.transition(TxEvent::Begun);
        let restart = b.peek_serial();
        b.transition(TxEvent::RestartSavepointSet("cockroach_restart".into()));
        b.transition(TxEvent::SavepointSet("inner".into()));
        b.transition(TxEvent::Doomed(ErrorKind::SerializationFailure));
        // roll back to the restart savepoint (level 2): level 1 stays
        assert_eq!(
            b.state(),
            TxState::RollbackOwed {
                depth: depth(3),
                to: 1
            }
        );
        assert!(
            b.abort.as_ref().is_some_and(|(kind, r)| {
                *kind == ErrorKind::SerializationFailure && r.contains("savepoint")
            }),
            "{:?}",
            b.abort
        );
        // dropping the restart guard owes the same rollback
        b.transition(TxEvent::GuardDropped {
            level: 2,
            serial: restart,
        });
        assert_eq!(
            b.state(),
            TxState::RollbackOwed {
                depth: depth(3),
                to: 1
            }
        );
        b.transition(TxEvent::RolledBackTo { level: 2 });
        assert_eq!(b.state(), TxState::InTransaction { depth: depth(1) });
        // the restart level is gone: the next conflict dooms the transaction
        b.transition(TxEvent::Doomed(ErrorKind::Deadlock));
        assert_eq!(
            b.state(),
            TxState::RollbackOwed {
                depth: depth(1),
                to: 0
            }
        );
    }

    #[test]
    fn a_whole_rollback_already_owed_is_kept() {
        let mut b = TxBook::new();
        b.transition(TxEvent::Begun);
        let outer = b.peek_serial() - 1;
        b.transition(TxEvent::RestartSavepointSet("cockroach_restart".into()));
        b.transition(TxEvent::GuardDropped {
            level: 1,
            serial: outer,
        });
        b.transition(TxEvent::Doomed(ErrorKind::Deadlock));
        assert_eq!(
            b.state(),
            TxState::RollbackOwed {
                depth: depth(2),
                to: 0
            }
        );
    }

    #[test]
    fn broken_is_final() {
        let mut b = TxBook::new();
        b.transition(TxEvent::Broke);
        b.transition(TxEvent::Recovered);
        assert_eq!(b.state(), TxState::Broken);
        assert!(!b.is_clean());
    }
}
