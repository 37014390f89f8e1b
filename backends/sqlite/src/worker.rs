//! The worker thread: one per connection, owning the rusqlite connection and running the
//! commands sent to it, in order, one at a time. Answers go back over oneshot channels, so
//! the async side never blocks.
//!
//! A command whose caller stopped waiting (its future was dropped) still runs to its end;
//! the next command queues behind it. That is what makes recovery simple: a rollback sent
//! after an abandoned command runs after it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use tokio::sync::oneshot;
use txkit_core::{Error, Result};

use crate::file_locks::{FileLocks, GatePermit};
use crate::native::Native;
use crate::options::SqliteConnectOptions;

/// A unit of work for the worker thread.
type Job = Box<dyn FnOnce(&mut Native) + Send>;

enum Message {
    Run(Job),
    /// Close the connection, then signal the sender.
    Close(oneshot::Sender<()>),
}

/// Why a command got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gone {
    /// The thread had ended before the command was sent: it never ran.
    NotSent,
    /// The thread ended after the command was sent: it may or may not have run.
    NoAnswer,
}

impl Gone {
    /// The ConnectionLost error for an operation.
    pub(crate) fn into_error(self) -> Error {
        Error::connection_lost(match self {
            Gone::NotSent => {
                "the SQLite connection's worker thread has ended (the connection was closed or \
                 failed); open a new connection"
            }
            Gone::NoAnswer => {
                "the SQLite connection's worker thread ended before answering; open a new \
                 connection"
            }
        })
    }
}

/// The async side's handle on a worker thread.
#[derive(Debug)]
pub(crate) struct Worker {
    sender: mpsc::Sender<Message>,
    /// Set when the thread has ended (or its connection can no longer be trusted).
    broken: Arc<AtomicBool>,
    /// The file's locks, shared with the process's other connections to it (none for
    /// `:memory:`): the write gate is waited for here, off the thread.
    locks: Option<FileLocks>,
    /// How long to wait for the write gate.
    busy_timeout: Duration,
}

/// Sets the broken flag when dropped: at the end of the thread, including by a panic.
struct MarkBrokenOnExit(Arc<AtomicBool>);

impl Drop for MarkBrokenOnExit {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl Worker {
    /// Starts a thread, which opens the database; returns once it is open.
    pub(crate) async fn start(options: SqliteConnectOptions) -> Result<Self> {
        let (sender, receiver) = mpsc::channel();
        let broken = Arc::new(AtomicBool::new(false));
        let (opened, open_result) = oneshot::channel();
        let flag = Arc::clone(&broken);
        let busy_timeout = options.busy_timeout;
        thread::Builder::new()
            .name("txkit-sqlite".to_owned())
            .spawn(move || run(options, receiver, flag, opened))
            .map_err(|e| {
                Error::connection_lost(format!("could not start a SQLite worker thread: {e}"))
                    .with_source(e)
            })?;
        match open_result.await {
            Ok(Ok(locks)) => Ok(Self {
                sender,
                broken,
                locks,
                busy_timeout,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Gone::NoAnswer.into_error()),
        }
    }

    /// Runs `f` on the thread and waits for its answer, and whether it stopped for the
    /// write gate ([`Native::take_gate_wanted`]). `permit`, when given, is handed to the
    /// session first. If this future is dropped after the command was sent, the command
    /// still runs.
    pub(crate) async fn call_with<R, F>(
        &self,
        permit: Option<GatePermit>,
        f: F,
    ) -> Result<(R, bool), Gone>
    where
        R: Send + 'static,
        F: FnOnce(&mut Native) -> R + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |session| {
            if let Some(permit) = permit {
                session.hold_gate(permit);
            }
            let value = f(session);
            let wanted = session.take_gate_wanted();
            // Before the answer: a caller that goes on to another connection of the file
            // must find the gate free once this connection's write transaction has ended.
            session.leave_gate_if_done();
            // The caller may have gone; the work is done either way.
            let _ = reply.send((value, wanted));
        });
        if self.is_broken() || self.sender.send(Message::Run(job)).is_err() {
            return Err(Gone::NotSent);
        }
        answer.await.map_err(|_| Gone::NoAnswer)
    }

    /// Runs `f` on the thread and waits for its answer (for steps that never need the
    /// write gate: COMMIT, ROLLBACK, ping, …).
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<Result<T>, Gone>
    where
        T: Send + 'static,
        F: FnOnce(&mut Native) -> Result<T> + Send + 'static,
    {
        self.call_with(None, f).await.map(|(value, _)| value)
    }

    /// Runs the step `make()` gives on the thread; when it stopped for the write gate,
    /// waits in line for the gate here and sends a fresh step with it.
    pub(crate) async fn run<T, G>(&self, make: impl Fn() -> G) -> Result<T>
    where
        T: Send + 'static,
        G: FnOnce(&mut Native) -> Result<T> + Send + 'static,
    {
        let mut permit = None;
        loop {
            let (result, wanted) = self
                .call_with(permit.take(), make())
                .await
                .map_err(Gone::into_error)?;
            if !wanted {
                return result;
            }
            permit = self.gate().await?;
        }
    }

    /// The file's locks (none for `:memory:`).
    pub(crate) fn locks(&self) -> Option<&FileLocks> {
        self.locks.as_ref()
    }

    /// Waits, in line, for the file's write gate (up to busy_timeout).
    pub(crate) async fn gate(&self) -> Result<Option<GatePermit>> {
        match &self.locks {
            Some(locks) => locks.gate(self.busy_timeout).await.map(Some),
            None => Ok(None),
        }
    }

    /// Whether the thread has ended or its connection can no longer be trusted.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Acquire)
    }

    /// The flag [`is_broken`](Self::is_broken) reads, for tests.
    #[cfg(test)]
    pub(crate) fn broken_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.broken)
    }

    /// Ends the thread after any queued commands; returns once the database connection is
    /// closed (or the thread was already gone).
    pub(crate) async fn close(self) {
        let Self { sender, locks, .. } = self;
        // The thread's session may be the file's last holder of its locks (see
        // `FileLocks::closed`).
        drop(locks);
        let (done, closed) = oneshot::channel();
        if sender.send(Message::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }
}

/// The thread's body.
fn run(
    options: SqliteConnectOptions,
    receiver: mpsc::Receiver<Message>,
    broken: Arc<AtomicBool>,
    opened: oneshot::Sender<Result<Option<FileLocks>>>,
) {
    let exit_mark = MarkBrokenOnExit(Arc::clone(&broken));
    let mut session = match Native::open(options) {
        Ok(session) => session,
        Err(e) => {
            let _ = opened.send(Err(e));
            return;
        }
    };
    if opened.send(Ok(session.locks().cloned())).is_err() {
        // connect() was abandoned: nobody will use this connection.
        session.close();
        return;
    }
    let mut on_closed = None;
    // Ends when every sender is gone (the connection was dropped) or on Close.
    while let Ok(message) = receiver.recv() {
        match message {
            Message::Run(job) => {
                job(&mut session);
                session.count_busy_waits();
                if let Err(e) = session.after_command() {
                    tracing::error!(error = %e, "txkit-sqlite could not end a read-only \
                                                 transaction cleanly; the connection is broken");
                    broken.store(true, Ordering::Release);
                }
                // Wakes inline connections waiting out a lock this one may have released.
                if !session.in_transaction()
                    && let Some(locks) = session.locks()
                {
                    locks.released();
                }
            }
            Message::Close(done) => {
                on_closed = Some(done);
                break;
            }
        }
    }
    session.close();
    drop(exit_mark);
    if let Some(done) = on_closed {
        let _ = done.send(());
    }
}
