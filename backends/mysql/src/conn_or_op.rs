//! [`ConnOrOp`]: how a mysql_async exchange survives the caller's future being dropped.
//!
//! mysql_async is not cancel-safe mid-exchange: a future dropped after sending a command
//! but before reading its answer leaves the connection out of step with the server (it marks
//! itself "disconnected", and the next command would read the old answer). So txkit never
//! lets such a future be dropped while the connection lives. Each operation is a boxed
//! future that *owns* the `Conn` and hands it back with the result; it is stored where the
//! connection was, and the caller merely polls it there. If the caller's future is dropped,
//! the operation stays there, and the next use of the connection (or
//! [`recover`](txkit_core::Connection::recover)) drives it to its end first — reading
//! every answer the server owes — so the protocol is always in step.
//!
//! Costs: one allocation per operation (mysql_async boxes its futures anyway) and owned
//! copies of SQL text and parameters.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};

use mysql_async::Conn;
use txkit_core::{Error, Result, Row};

/// What an operation produced.
pub(crate) enum OpOutput {
    /// A statement without a result to speak of.
    Done,
    /// Rows affected.
    Affected(u64),
    /// Rows affected by each run of one statement.
    AffectedEach(Vec<u64>),
    /// Rows of a query.
    Rows(Vec<Row>),
    /// Whether the server has a transaction open.
    InTransaction(bool),
}

/// An operation: owns the connection while it runs and gives it back with its result.
pub(crate) type OpFuture = Pin<Box<dyn Future<Output = (Conn, Result<OpOutput>)> + Send>>;

enum State {
    /// Idle, with the connection at hand.
    Ready(Conn),
    /// An operation is running (or was abandoned by its caller and still owes answers).
    Busy(OpFuture),
    /// The connection was handed out for closing.
    Closed,
}

/// The connection, or the operation that holds it.
pub(crate) struct ConnOrOp {
    state: State,
    broken: bool,
    /// The server's connection (thread) id, read once at connect.
    session_id: u32,
}

impl ConnOrOp {
    pub(crate) fn new(conn: Conn) -> Self {
        Self {
            session_id: conn.id(),
            state: State::Ready(conn),
            broken: false,
        }
    }

    /// The idle connection, for reading its status without a round trip.
    pub(crate) fn conn(&self) -> Option<&Conn> {
        match &self.state {
            State::Ready(conn) => Some(conn),
            _ => None,
        }
    }

    /// The server's connection (thread) id (`CONNECTION_ID()`).
    pub(crate) fn session_id(&self) -> Option<u64> {
        Some(u64::from(self.session_id))
    }

    /// Whether an abandoned operation still holds the connection.
    pub(crate) fn is_busy(&self) -> bool {
        matches!(self.state, State::Busy(_))
    }

    /// Whether the connection is lost or closed (a local check).
    pub(crate) fn is_broken(&self) -> bool {
        self.broken
            || match &self.state {
                State::Ready(conn) => conn.is_disconnected(),
                State::Busy(_) => false,
                State::Closed => true,
            }
    }

    /// Marks the connection as not to be trusted.
    pub(crate) fn mark_broken(&mut self) {
        self.broken = true;
    }

    /// Drives an abandoned operation to its end, discarding its result. Errs only when the
    /// connection did not survive it.
    pub(crate) async fn finish_abandoned(&mut self) -> Result<()> {
        if self.is_busy() {
            if let Err(e) = self.wait().await {
                tracing::debug!(error = %e, "an abandoned MySQL operation ended with an error");
            }
        }
        self.check_usable()
    }

    /// An error when the connection cannot take a new command.
    pub(crate) fn check_usable(&self) -> Result<()> {
        if self.is_broken() {
            Err(Error::connection_lost(
                "this MySQL connection is broken (lost, killed, or left mid-protocol); \
                 open a new one",
            ))
        } else {
            Ok(())
        }
    }

    /// Runs one operation: finishes any abandoned one first, then starts `op` with the
    /// connection and waits for it. Dropping the returned future leaves `op` in place.
    pub(crate) async fn run<F, Fut>(&mut self, op: F) -> Result<OpOutput>
    where
        F: FnOnce(Conn) -> Fut + Send,
        Fut: Future<Output = (Conn, Result<OpOutput>)> + Send + 'static,
    {
        self.finish_abandoned().await?;
        let conn = match std::mem::replace(&mut self.state, State::Closed) {
            State::Ready(conn) => conn,
            other => {
                self.state = other;
                return Err(Error::connection_lost(
                    "the MySQL connection is not available",
                ));
            }
        };
        self.state = State::Busy(Box::pin(op(conn)));
        self.wait().await
    }

    /// Polls the running operation to its end.
    async fn wait(&mut self) -> Result<OpOutput> {
        poll_fn(|cx| self.poll_op(cx))
            .await
            .unwrap_or_else(|| Err(Error::internal("txkit-mysql: no operation was running")))
    }

    /// One poll of the running operation; on completion the connection is back in place
    /// before the result leaves, so no drop can come in between.
    fn poll_op(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<OpOutput>>> {
        let State::Busy(op) = &mut self.state else {
            return Poll::Ready(None);
        };
        let Poll::Ready((conn, result)) = op.as_mut().poll(cx) else {
            return Poll::Pending;
        };
        let lost = result.as_ref().is_err_and(Error::is_connection_lost);
        if lost || conn.is_disconnected() {
            self.broken = true;
        }
        self.state = State::Ready(conn);
        Poll::Ready(Some(result))
    }

    /// Hands out the idle connection for closing; `None` if an operation still holds it.
    pub(crate) fn take_for_close(&mut self) -> Option<Conn> {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Ready(conn) => Some(conn),
            _ => None,
        }
    }
}
