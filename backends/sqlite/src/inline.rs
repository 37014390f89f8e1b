//! Inline execution ([`Execution::Inline`](crate::Execution::Inline)): the rusqlite
//! connection lives inside the [`SqliteConnection`](crate::SqliteConnection), and each
//! statement runs on the thread of the task that awaits it. No thread hop per statement;
//! the runtime thread is busy for as long as the statement runs.
//!
//! Waiting for another connection's lock must not hold the runtime thread, so SQLite's
//! own busy handler (which sleeps) is replaced by [`decline_busy`]: it notes that SQLite
//! asked to wait and declines. The statement then fails with SQLITE_BUSY, and [`Inline::run`]
//! yields to the runtime a few times, then sleeps asynchronously on SQLite's own schedule
//! of pauses, running the statement again after each, until busy_timeout has passed. SQLite calls the handler only where waiting and trying again is
//! safe (acquiring a lock the statement needs before it changes anything, or at COMMIT,
//! which stays pending); where waiting could deadlock it returns SQLITE_BUSY without calling
//! it, and that error reaches the caller at once, exactly as with a sleeping handler.

use std::cell::Cell;
use std::time::{Duration, Instant};

use txkit_core::{Error, ErrorKind, Result};

use crate::options::SqliteConnectOptions;
use crate::session::Session;

thread_local! {
    /// Set by [`decline_busy`] while a statement runs on this thread.
    static BUSY_DECLINED: Cell<bool> = const { Cell::new(false) };
}

/// The busy handler of an inline connection: records that SQLite wanted to wait for a
/// lock, and declines, so that the wait happens asynchronously in [`Inline::run`].
pub(crate) fn decline_busy(_attempts: i32) -> bool {
    BUSY_DECLINED.with(|declined| declined.set(true));
    false
}

/// SQLite's default busy handler's pauses, in milliseconds; after the last, 100 ms each.
const PAUSES_MS: [u64; 12] = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

/// Tries made after only yielding to the runtime, before the first pause. The lock's
/// holder is often another inline connection of this process, whose task runs as soon as
/// this one yields: a transaction without awaits in between takes microseconds, far less
/// than the shortest pause.
const YIELDS: usize = 16;

/// How long to wait before try `tries + 1`, `waited` after the first SQLITE_BUSY: a yield
/// (`Some(ZERO)`) for the first [`YIELDS`] tries, then SQLite's pauses, the last cut to
/// what is left of busy_timeout; `None` once busy_timeout has passed.
fn next_pause(tries: usize, waited: Duration, busy_timeout: Duration) -> Option<Duration> {
    let left = busy_timeout.checked_sub(waited).filter(|d| !d.is_zero())?;
    let Some(sleeps) = tries.checked_sub(YIELDS) else {
        return Some(Duration::ZERO);
    };
    let pause = Duration::from_millis(PAUSES_MS.get(sleeps).copied().unwrap_or(100));
    Some(pause.min(left))
}

/// An inline connection: the session, and whether it can still be trusted.
pub(crate) struct Inline {
    session: Session,
    busy_timeout: Duration,
    broken: bool,
}

impl std::fmt::Debug for Inline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inline")
            .field("busy_timeout", &self.busy_timeout)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl Inline {
    /// Opens the database on a blocking thread (opening and switching to WAL touch the disk
    /// and may wait for locks), then keeps the connection here.
    pub(crate) async fn open(options: SqliteConnectOptions) -> Result<Self> {
        let busy_timeout = options.busy_timeout;
        let session = tokio::task::spawn_blocking(move || Session::open(options))
            .await
            .map_err(|e| {
                Error::connection_lost(format!("opening the SQLite database failed: {e}"))
            })??;
        Ok(Self {
            session,
            busy_timeout,
            broken: false,
        })
    }

    /// Runs `step` on this thread; while it fails because SQLite declined to wait for a
    /// lock, pauses (asynchronously) and runs it again, up to busy_timeout. `step` must be
    /// one statement (or one that changes nothing when it fails with SQLITE_BUSY).
    pub(crate) async fn run<T>(
        &mut self,
        mut step: impl FnMut(&mut Session) -> Result<T>,
    ) -> Result<T> {
        if self.broken {
            return Err(broken_error());
        }
        let mut first_busy: Option<Instant> = None;
        let mut tries = 0;
        loop {
            let was_in_transaction = self.session.in_transaction();
            BUSY_DECLINED.with(|declined| declined.set(false));
            let result = step(&mut self.session);
            let declined = BUSY_DECLINED.with(|declined| declined.replace(false));
            if let Err(e) = self.session.after_command() {
                tracing::error!(error = %e, "txkit-sqlite could not end a read-only \
                                             transaction cleanly; the connection is broken");
                self.broken = true;
            }
            match result {
                // SQLite may roll a whole transaction back on BUSY; then nothing is retried.
                Err(e)
                    if declined
                        && e.kind() == ErrorKind::LockTimeout
                        && was_in_transaction == self.session.in_transaction() =>
                {
                    let waited = first_busy.get_or_insert_with(Instant::now).elapsed();
                    let Some(pause) = next_pause(tries, waited, self.busy_timeout) else {
                        return Err(e.context(format!(
                            "waited {} ms (busy_timeout) for another connection's lock",
                            waited.as_millis()
                        )));
                    };
                    if pause.is_zero() {
                        tokio::task::yield_now().await;
                    } else {
                        tokio::time::sleep(pause).await;
                    }
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    /// Whether the connection can no longer be trusted.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken
    }

    /// Marks the connection broken, for tests.
    #[cfg(test)]
    pub(crate) fn mark_broken(&mut self) {
        self.broken = true;
    }

    /// Closes the database on a blocking thread (closing the last connection of a WAL
    /// database checkpoints it, which writes to disk).
    pub(crate) async fn close(self) {
        let session = self.session;
        if tokio::task::spawn_blocking(move || session.close())
            .await
            .is_err()
        {
            tracing::warn!("closing a SQLite connection failed: its blocking task ended early");
        }
    }
}

fn broken_error() -> Error {
    Error::connection_lost(
        "this SQLite connection could not end a read-only transaction cleanly and can no \
         longer be trusted; open a new connection",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yields_then_pauses_as_sqlite_then_stops_at_the_timeout() {
        let timeout = Duration::from_millis(10);
        let ms = Duration::from_millis;
        assert_eq!(next_pause(0, Duration::ZERO, timeout), Some(Duration::ZERO));
        assert_eq!(next_pause(YIELDS - 1, ms(0), timeout), Some(Duration::ZERO));
        assert_eq!(next_pause(YIELDS, ms(0), timeout), Some(ms(1)));
        assert_eq!(next_pause(YIELDS + 2, ms(3), timeout), Some(ms(5)));
        // Cut to what is left, then nothing.
        assert_eq!(next_pause(YIELDS + 3, ms(8), timeout), Some(ms(2)));
        assert_eq!(next_pause(YIELDS + 4, timeout, timeout), None);
        assert_eq!(next_pause(0, Duration::ZERO, Duration::ZERO), None);
        // Past the table: 100 ms each.
        assert_eq!(
            next_pause(YIELDS + 40, ms(0), Duration::from_secs(60)),
            Some(ms(100))
        );
    }

    #[test]
    fn declining_is_noted_on_this_thread_only() {
        BUSY_DECLINED.with(|d| d.set(false));
        assert!(!decline_busy(0));
        assert!(BUSY_DECLINED.with(Cell::get));
        let other = std::thread::spawn(|| BUSY_DECLINED.with(Cell::get))
            .join()
            .unwrap();
        assert!(!other);
        BUSY_DECLINED.with(|d| d.set(false));
    }
}
