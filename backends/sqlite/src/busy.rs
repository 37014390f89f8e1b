//! SQLite's busy handlers as txkit installs them, and what they tell the code that runs
//! statements. A handler is called by SQLite on the thread running the statement, so what
//! it notes lives in thread-locals, read back by that same code right after the step.
//!
//! - [`decline_busy`], for inline execution: notes that SQLite wanted to wait and declines,
//!   so that the wait happens asynchronously.
//! - [`sleeping_busy`], for a connection on a thread of its own (and for units of work on a
//!   blocking thread): sleeps SQLite's own pauses up to busy_timeout, as
//!   `sqlite3_busy_timeout` would, and counts each wait.
//!
//! Both count their calls ([`take_calls`]), which the connection adds to its file's count of
//! lock waits ([`FileLocks::busy_waits`](crate::file_locks::FileLocks::busy_waits)): with the
//! in-process write gate, only other processes' locks (and, outside WAL, readers') should
//! ever be waited for here.

use std::cell::Cell;
use std::time::Duration;

/// SQLite's default busy handler's pauses, in milliseconds; after the last, 100 ms each.
pub(crate) const PAUSES_MS: [u64; 12] = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

thread_local! {
    /// Set by [`decline_busy`] while a statement runs on this thread.
    static DECLINED: Cell<bool> = const { Cell::new(false) };
    /// Calls of either handler on this thread not yet taken.
    static CALLS: Cell<u64> = const { Cell::new(0) };
    /// The busy_timeout of the connection whose statements run on this thread, for
    /// [`sleeping_busy`].
    static TIMEOUT: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// The busy handler of an inline connection: records that SQLite wanted to wait for a
/// lock, and declines, so that the wait happens asynchronously.
pub(crate) fn decline_busy(_attempts: i32) -> bool {
    DECLINED.with(|declined| declined.set(true));
    CALLS.with(|calls| calls.set(calls.get() + 1));
    false
}

/// The busy handler of a connection on its own thread: SQLite's pauses (1, 2, 5 … 100 ms),
/// the last cut to what is left of busy_timeout ([`set_timeout`]); gives up once it has
/// passed. Counts each call.
pub(crate) fn sleeping_busy(attempts: i32) -> bool {
    CALLS.with(|calls| calls.set(calls.get() + 1));
    let timeout = TIMEOUT.with(Cell::get);
    let attempts = usize::try_from(attempts).unwrap_or(0);
    let waited: u64 = (0..attempts).map(pause_ms).sum();
    let left = u64::try_from(timeout.as_millis())
        .unwrap_or(u64::MAX)
        .saturating_sub(waited);
    let pause = pause_ms(attempts).min(left);
    if pause == 0 {
        return false;
    }
    std::thread::sleep(Duration::from_millis(pause));
    true
}

fn pause_ms(attempt: usize) -> u64 {
    PAUSES_MS.get(attempt).copied().unwrap_or(100)
}

/// Sets the busy_timeout [`sleeping_busy`] honours on this thread.
pub(crate) fn set_timeout(timeout: Duration) {
    TIMEOUT.with(|t| t.set(timeout));
}

/// Clears this thread's declined mark, before a step.
pub(crate) fn reset_declined() {
    DECLINED.with(|declined| declined.set(false));
}

/// Whether SQLite asked [`decline_busy`] to wait since [`reset_declined`] (and clears it).
pub(crate) fn take_declined() -> bool {
    DECLINED.with(|declined| declined.replace(false))
}

/// The handler calls on this thread since the last take.
pub(crate) fn take_calls() -> u64 {
    CALLS.with(|calls| calls.replace(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declining_is_noted_on_this_thread_only() {
        reset_declined();
        take_calls();
        assert!(!decline_busy(0));
        assert!(take_declined());
        assert!(!take_declined());
        assert_eq!(take_calls(), 1);
        let other = std::thread::spawn(|| {
            let declined = DECLINED.with(Cell::get);
            (declined, take_calls())
        })
        .join()
        .unwrap();
        assert_eq!(other, (false, 0));
    }

    #[test]
    fn sleeping_follows_sqlite_and_stops_at_the_timeout() {
        take_calls();
        set_timeout(Duration::from_millis(4));
        // 1 ms, then 2 ms (3 of 4 used), then 1 ms left, then none.
        assert!(sleeping_busy(0));
        assert!(sleeping_busy(1));
        assert!(sleeping_busy(2));
        assert!(!sleeping_busy(3));
        assert_eq!(take_calls(), 4);
        set_timeout(Duration::ZERO);
        assert!(!sleeping_busy(0));
    }
}
