//! [`LockSignal`]: word, shared by the inline connections of this process to one database
//! file, that one of them may have released its lock (a transaction ended, or a statement
//! ran outside one). An inline connection waiting out SQLITE_BUSY wakes on it at once
//! instead of at its next pause; a lock held by another process, or by a connection on a
//! thread of its own, is still waited out on the pauses. It also counts the waiting
//! connections, so that a connection about to start new work lets them run first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use tokio::sync::Notify;

/// One signal per database file, for as long as a connection holds it.
static SIGNALS: LazyLock<Mutex<HashMap<PathBuf, Weak<Shared>>>> = LazyLock::new(Mutex::default);

/// What the connections to one file share.
#[derive(Debug, Default)]
struct Shared {
    notify: Notify,
    /// Connections now waiting out SQLITE_BUSY.
    waiting: AtomicUsize,
}

/// The signal of one database file.
#[derive(Debug, Clone)]
pub(crate) struct LockSignal(Arc<Shared>);

/// A connection counted as waiting for as long as this lives.
#[derive(Debug)]
pub(crate) struct Waiting(LockSignal);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl LockSignal {
    /// The signal for the file at `path` (the same for every spelling of the path that
    /// resolves to the same file, once it exists).
    pub(crate) fn for_file(path: &Path) -> Self {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        let mut signals = SIGNALS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = signals.get(&key).and_then(Weak::upgrade) {
            return Self(shared);
        }
        signals.retain(|_, weak| weak.strong_count() > 0);
        let shared = Arc::new(Shared::default());
        signals.insert(key, Arc::downgrade(&shared));
        Self(shared)
    }

    /// The [`Notify`] to wait on (register with `notified().enable()` before trying the
    /// lock, so that a release in between is not missed).
    pub(crate) fn notify(&self) -> &Notify {
        &self.0.notify
    }

    /// Wakes every connection waiting on this file: a lock may be free. Costs one atomic
    /// load when none waits, so it can follow every statement. A waiter counts itself
    /// (SeqCst) before it tries the lock, and a release is read here (SeqCst) after the
    /// lock was freed, so a waiter that could have missed the lock is seen; should a wake
    /// still be missed, the waiter's next pause ends its wait anyway.
    pub(crate) fn released(&self) {
        if self.has_waiters() {
            self.0.notify.notify_waiters();
        }
    }

    /// Counts this connection as waiting until the guard is dropped. Take it before trying
    /// the lock again.
    pub(crate) fn waiting(&self) -> Waiting {
        self.0.waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(self.clone())
    }

    /// Whether some connection to this file is waiting out SQLITE_BUSY.
    pub(crate) fn has_waiters(&self) -> bool {
        self.0.waiting.load(Ordering::SeqCst) > 0
    }

    /// Whether `self` and `other` are the signal of one file, for tests.
    #[cfg(test)]
    pub(crate) fn same_as(&self, other: &LockSignal) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_signal_per_file_whatever_the_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.db");
        std::fs::write(&file, b"").unwrap();
        let a = LockSignal::for_file(&file);
        let b = LockSignal::for_file(&dir.path().join(".").join("a.db"));
        assert!(a.same_as(&b));
        let other = LockSignal::for_file(&dir.path().join("b.db"));
        assert!(!a.same_as(&other));
    }

    #[test]
    fn waiters_are_counted_while_their_guard_lives() {
        let dir = tempfile::tempdir().unwrap();
        let signal = LockSignal::for_file(&dir.path().join("d.db"));
        assert!(!signal.has_waiters());
        let first = signal.waiting();
        let second = signal.clone().waiting();
        drop(first);
        assert!(signal.has_waiters());
        drop(second);
        assert!(!signal.has_waiters());
    }

    #[tokio::test]
    async fn a_registered_waiter_is_woken() {
        let dir = tempfile::tempdir().unwrap();
        let signal = LockSignal::for_file(&dir.path().join("c.db"));
        let _waiting = signal.waiting();
        let mut notified = std::pin::pin!(signal.notify().notified());
        notified.as_mut().enable();
        signal.clone().released();
        tokio::time::timeout(std::time::Duration::from_secs(10), notified)
            .await
            .unwrap();
    }
}
