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

use tokio::sync::oneshot;
use txkit_core::{Error, Result};

use crate::options::SqliteConnectOptions;
use crate::session::Session;

/// A unit of work for the worker thread.
type Job = Box<dyn FnOnce(&mut Session) + Send>;

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
        thread::Builder::new()
            .name("txkit-sqlite".to_owned())
            .spawn(move || run(options, receiver, flag, opened))
            .map_err(|e| {
                Error::connection_lost(format!("could not start a SQLite worker thread: {e}"))
                    .with_source(e)
            })?;
        match open_result.await {
            Ok(Ok(())) => Ok(Self { sender, broken }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Gone::NoAnswer.into_error()),
        }
    }

    /// Runs `f` on the thread and waits for its answer. If this future is dropped after the
    /// command was sent, the command still runs.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<Result<T>, Gone>
    where
        T: Send + 'static,
        F: FnOnce(&mut Session) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |session| {
            // The caller may have gone; the work is done either way.
            let _ = reply.send(f(session));
        });
        if self.is_broken() || self.sender.send(Message::Run(job)).is_err() {
            return Err(Gone::NotSent);
        }
        answer.await.map_err(|_| Gone::NoAnswer)
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
        let (done, closed) = oneshot::channel();
        if self.sender.send(Message::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }
}

/// The thread's body.
fn run(
    options: SqliteConnectOptions,
    receiver: mpsc::Receiver<Message>,
    broken: Arc<AtomicBool>,
    opened: oneshot::Sender<Result<()>>,
) {
    let exit_mark = MarkBrokenOnExit(Arc::clone(&broken));
    let mut session = match Session::open(options) {
        Ok(session) => session,
        Err(e) => {
            let _ = opened.send(Err(e));
            return;
        }
    };
    if opened.send(Ok(())).is_err() {
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
                if let Err(e) = session.after_command() {
                    tracing::error!(error = %e, "txkit-sqlite could not end a read-only \
                                                 transaction cleanly; the connection is broken");
                    broken.store(true, Ordering::Release);
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
