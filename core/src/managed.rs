//! [`ManagedConnection`]: a driver connection plus txkit's transaction bookkeeping. Every
//! operation first pays what earlier abandoned work left owed, so a dropped guard or a
//! cancelled future never lets its effects leak into the next use.

use crate::connection::{AnyConnection, Connection};
use crate::control_filter::reject_transaction_control;
use crate::dialect::Dialect;
use crate::error::{Error, ErrorKind, Result};
use crate::isolation::{IsolationLevel, TxOptions};
use crate::row::Row;
use crate::session_sql::may_change_session;
use crate::state::{TxBook, TxEvent, TxState};
use crate::transaction::Transaction;
use crate::value::Value;

/// Runs one driver call with the in-flight mark set around it, and records what its result
/// means for the transaction state. If the future is dropped at the `.await`, the mark stays
/// set and the next [`settle`](ManagedConnection::settle) recovers the connection.
macro_rules! tracked {
    ($self:ident, $call:expr) => {{
        $self.book.transition($crate::state::TxEvent::Sent);
        $self.requests += 1;
        let result = $call.await;
        $self.book.transition($crate::state::TxEvent::Answered);
        $self.observe(result)
    }};
}
pub(crate) use tracked;

/// A connection with txkit's transaction bookkeeping: its [`TxState`], the savepoints it has
/// open, and the defaults for new transactions.
///
/// Obtained from a pool (`engine.connection()`), or made directly from a backend connection
/// with [`ManagedConnection::new`].
pub struct ManagedConnection<C: Connection = AnyConnection> {
    pub(crate) raw: C,
    pub(crate) book: TxBook,
    defaults: TxOptions,
    base_defaults: TxOptions,
    /// Requests sent to the driver since the last [`take_requests`](Self::take_requests).
    pub(crate) requests: u64,
}

impl<C: Connection> std::fmt::Debug for ManagedConnection<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedConnection")
            .field("backend", &self.raw.dialect().name())
            .field("state", &self.book.state())
            .field("in_flight", &self.book.in_flight())
            .field("defaults", &self.defaults)
            .finish()
    }
}

impl<C: Connection> ManagedConnection<C> {
    /// Wraps a driver connection, with no default transaction options.
    pub fn new(raw: C) -> Self {
        Self::with_defaults(raw, TxOptions::new())
    }

    /// Wraps a driver connection; `defaults` apply to every transaction that does not say
    /// otherwise, and are restored by [`restore_defaults`](Self::restore_defaults).
    pub fn with_defaults(raw: C, defaults: TxOptions) -> Self {
        Self {
            raw,
            book: TxBook::new(),
            defaults,
            base_defaults: defaults,
            requests: 0,
        }
    }

    /// How many requests this connection has sent to its driver since the last call, and
    /// resets the count. A request is one exchange with the server: one round trip on the
    /// network backends (statements pipelined together count once; a statement prepared for
    /// the first time costs one more round trip, not counted here), one command to the
    /// worker thread on SQLite.
    pub fn take_requests(&mut self) -> u64 {
        std::mem::take(&mut self.requests)
    }

    /// The transaction state as txkit knows it.
    pub fn tx_state(&self) -> TxState {
        self.book.state()
    }

    /// This connection's SQL dialect.
    pub fn dialect(&self) -> &dyn Dialect {
        self.raw.dialect()
    }

    /// Sets this connection's default isolation level for the transactions it begins. A
    /// pooled connection gets the engine's default back when it returns to the pool.
    pub fn set_isolation(&mut self, level: IsolationLevel) {
        self.defaults = self.defaults.isolation(level);
    }

    /// Replaces this connection's default transaction options.
    pub fn set_default_options(&mut self, opts: TxOptions) {
        self.defaults = opts;
    }

    /// The options a transaction begun here gets when it asks for nothing.
    pub fn default_options(&self) -> TxOptions {
        self.defaults
    }

    /// Puts back the defaults the connection was made with.
    pub fn restore_defaults(&mut self) {
        self.defaults = self.base_defaults;
    }

    /// Runs a statement outside any transaction (autocommit); returns rows affected.
    /// Transaction-control statements are refused: use [`begin`](Self::begin). After
    /// [`set_isolation`](Self::set_isolation) (or
    /// [`set_default_options`](Self::set_default_options)) the statement runs in a
    /// transaction of its own with those options — BEGIN with it, then COMMIT — so the
    /// level asked for this connection applies to it too, rather than the server's default.
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.screen(sql)?;
        if let Some(opts) = self.own_options() {
            let (serial, count) = self.start_with_execute(opts, sql, params).await?;
            return Transaction::begun_borrowed(self, serial)
                .finish(count)
                .await;
        }
        self.settle().await?;
        tracked!(self, self.raw.execute(sql, params))
    }

    /// Runs a query outside any transaction; returns its rows (under this connection's own
    /// options, as [`execute`](Self::execute)).
    pub async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        self.screen(sql)?;
        if let Some(opts) = self.own_options() {
            let (serial, rows) = self.start_with_query(opts, sql, params).await?;
            return Transaction::begun_borrowed(self, serial).finish(rows).await;
        }
        self.settle().await?;
        tracked!(self, self.raw.query(sql, params))
    }

    /// Refuses transaction control sent as SQL, and marks the session changed when `sql`
    /// may change it (so a pool resets the connection on return). Every statement a user
    /// writes passes here.
    pub(crate) fn screen(&mut self, sql: &str) -> Result<()> {
        reject_transaction_control(sql)?;
        if !self.book.session_changed && may_change_session(sql) {
            self.book.session_changed = true;
        }
        Ok(())
    }

    /// Whether this connection ran SQL that may have changed its session state (settings,
    /// variables, temporary tables, prepared statements, the current database) since it was
    /// opened or last fully reset. A pool resets such a connection before its next checkout
    /// (unless `reset_on_return` is [`ResetMode::None`](crate::ResetMode::None)).
    pub fn session_changed(&self) -> bool {
        self.book.session_changed
    }

    /// The options an autocommit statement must run under: this connection's own, when
    /// they were changed from the engine's and ask for something a transaction carries
    /// (an isolation level, an access mode, DEFERRABLE).
    fn own_options(&self) -> Option<TxOptions> {
        let d = self.defaults;
        let asks = d.isolation_level().is_some() || d.access().is_some() || d.is_deferrable();
        (asks && d != self.base_defaults).then_some(d)
    }

    /// Checks the connection with one cheap round trip.
    pub async fn ping(&mut self) -> Result<()> {
        self.settle().await?;
        tracked!(self, self.raw.ping())
    }

    /// Asks the server whether a transaction is open (for checks and tests).
    pub async fn server_in_transaction(&mut self) -> Result<bool> {
        self.settle().await?;
        tracked!(self, self.raw.server_in_transaction())
    }

    /// Begins a transaction with this connection's default options.
    pub async fn begin(&mut self) -> Result<Transaction<'_, C>> {
        self.begin_with(TxOptions::new()).await
    }

    /// Begins a transaction; unset fields of `opts` come from this connection's defaults.
    pub async fn begin_with(&mut self, opts: TxOptions) -> Result<Transaction<'_, C>> {
        Transaction::begin_borrowed(self, opts).await
    }

    /// Starts the transaction at the driver; used by the guards.
    pub(crate) async fn start(&mut self, opts: TxOptions) -> Result<u64> {
        let (opts, serial) = self.ready_to_start(opts).await?;
        tracked!(self, self.raw.begin(&opts))?;
        self.book.transition(TxEvent::Begun);
        Ok(serial)
    }

    /// Checks the connection can begin: debts paid, no transaction open. Returns the
    /// options with this connection's defaults filled in, and the serial of the new level.
    async fn ready_to_start(&mut self, opts: TxOptions) -> Result<(TxOptions, u64)> {
        self.settle().await?;
        if self.book.state() != TxState::Idle {
            return Err(Error::usage(
                "a transaction is already open on this connection; use savepoint() for a \
                 nested one",
            ));
        }
        Ok((opts.or(self.defaults), self.book.peek_serial()))
    }

    /// Records the outcome of a BEGIN sent together with a first statement: BEGIN's error
    /// ends it there; otherwise the transaction is open and the statement's result is
    /// observed inside it (a deadlock in it dooms the transaction, as for any statement).
    fn started_with<T>(&mut self, begun: Result<Result<T>>) -> Result<Result<T>> {
        let first = self.observe(begun)?;
        self.book.transition(TxEvent::Begun);
        Ok(self.observe(first))
    }

    /// Starts the transaction at the driver together with the query `sql` (one round trip
    /// where the backend can); the outer error means no transaction was opened.
    pub(crate) async fn start_with_query(
        &mut self,
        opts: TxOptions,
        sql: &str,
        params: &[Value],
    ) -> Result<(u64, Result<Vec<Row>>)> {
        self.screen(sql)?;
        let (opts, serial) = self.ready_to_start(opts).await?;
        self.book.transition(TxEvent::Sent);
        self.requests += if self.raw.pipelines() { 1 } else { 2 };
        let begun = self.raw.begin_and_query(&opts, sql, params).await;
        self.book.transition(TxEvent::Answered);
        Ok((serial, self.started_with(begun)?))
    }

    /// [`start_with_query`](Self::start_with_query) for a statement (rows affected).
    pub(crate) async fn start_with_execute(
        &mut self,
        opts: TxOptions,
        sql: &str,
        params: &[Value],
    ) -> Result<(u64, Result<u64>)> {
        self.screen(sql)?;
        let (opts, serial) = self.ready_to_start(opts).await?;
        self.book.transition(TxEvent::Sent);
        self.requests += if self.raw.pipelines() { 1 } else { 2 };
        let begun = self.raw.begin_and_execute(&opts, sql, params).await;
        self.book.transition(TxEvent::Answered);
        Ok((serial, self.started_with(begun)?))
    }

    /// Whether the connection can go back to a pool as it is, with no round trip.
    pub fn is_clean(&self) -> bool {
        self.book.is_clean() && !self.raw.is_broken()
    }

    /// Whether the connection must be closed rather than reused.
    pub fn is_broken(&self) -> bool {
        self.book.state() == TxState::Broken || self.raw.is_broken()
    }

    /// Pays whatever abandoned work left owed: recovers from a dropped in-flight request,
    /// then performs an owed rollback (whole or to a savepoint). Afterwards the connection
    /// is idle or inside a live transaction; an error means it is broken.
    pub async fn settle(&mut self) -> Result<()> {
        if !self.book.owes() && !self.raw.is_broken() {
            return Ok(());
        }
        Box::pin(self.settle_owed()).await
    }

    /// [`settle`](Self::settle) when something may be owed: kept out of line (and its
    /// future off every statement's), since a connection almost never owes anything.
    async fn settle_owed(&mut self) -> Result<()> {
        if self.book.state() == TxState::Broken || self.raw.is_broken() {
            self.book.transition(TxEvent::Broke);
            return Err(Error::connection_lost(
                "this connection is broken (lost, or a reset failed); check out a new one",
            ));
        }
        if self.book.in_flight() {
            let depth = self.book.depth();
            match self.raw.recover().await {
                Ok(()) => {
                    self.book.transition(TxEvent::Recovered);
                    tracing::debug!(
                        depth,
                        "txkit recovered a connection after a cancelled operation"
                    );
                }
                Err(e) => {
                    self.book.transition(TxEvent::Broke);
                    return Err(e.context("recovering a connection after a cancelled operation"));
                }
            }
        }
        if let TxState::RollbackOwed { to, .. } = self.book.state() {
            if to == 0 {
                tracked!(self, self.raw.rollback()).map_err(|e| self.fail(e))?;
                self.book.transition(TxEvent::Ended);
            } else {
                let level = to + 1;
                let name = self.book.savepoint_name(level)?;
                tracked!(self, self.raw.rollback_to_savepoint(&name)).map_err(|e| self.fail(e))?;
                self.book.transition(TxEvent::RolledBackTo { level });
            }
        }
        Ok(())
    }

    /// Marks the connection broken after a failed rollback; returns the error.
    fn fail(&mut self, e: Error) -> Error {
        self.book.transition(TxEvent::Broke);
        e.context("an owed rollback failed, so the connection was marked broken")
    }

    /// Records what a driver result means for the state, and passes it on.
    pub(crate) fn observe<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            match e.kind() {
                // After txkit's own invariant broke, the connection's state is not known.
                ErrorKind::ConnectionLost
                | ErrorKind::CommitOutcomeUnknown
                | ErrorKind::Internal => {
                    self.book.transition(TxEvent::Broke);
                }
                kind @ (ErrorKind::Deadlock
                | ErrorKind::SerializationFailure
                | ErrorKind::LockTimeout) => self.book.transition(TxEvent::Doomed(kind)),
                _ if self.raw.is_broken() => self.book.transition(TxEvent::Broke),
                _ => {}
            }
        }
        result
    }

    /// The error a guard gets when its level is no longer open.
    pub(crate) fn not_live_error(&self) -> Error {
        let (kind, reason) = match &self.book.abort {
            Some((kind, reason)) => (*kind, reason.as_str()),
            None => (ErrorKind::Usage, "it was already rolled back"),
        };
        Error::new(
            kind,
            format!("this transaction is no longer open: {reason}; begin a new one"),
        )
    }

    /// Closes the connection.
    pub async fn close(self) {
        self.raw.close().await;
    }

    /// The driver connection, read-only.
    pub fn raw(&self) -> &C {
        &self.raw
    }

    /// The driver connection, bypassing txkit's bookkeeping; for backend-specific calls
    /// that do not open or end transactions. txkit cannot see what is sent through it, so
    /// the session counts as changed: a pool resets the connection on return.
    pub fn raw_mut(&mut self) -> &mut C {
        self.book.session_changed = true;
        &mut self.raw
    }
}
