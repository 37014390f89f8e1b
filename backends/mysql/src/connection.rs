//! [`MySqlConnection`]: one mysql_async connection behind txkit's [`Connection`] trait.

use std::fmt;
use std::future::Future;

use mysql_async::Conn;
use txkit_core::{
    Connection, DatabaseUrl, Dialect, Error, ErrorKind, ResetMode, Result, Row, TxOptions, Value,
};

use crate::MySqlDialect;
use crate::ServerInfo;
use crate::conn_or_op::{ConnOrOp, OpOutput};
use crate::ops;
use crate::options::MySqlConnectOptions;
use crate::value::to_params;

/// One connection to a MySQL or MariaDB server.
///
/// - [`execute`](Connection::execute) and [`query`](Connection::query) go through
///   mysql_async's prepared-statement cache (binary protocol, `?` placeholders; a wrong
///   parameter count is a Config error and the connection stays usable); a statement the
///   server cannot prepare runs as text when it has no parameters.
///   [`batch`](Connection::batch), BEGIN, COMMIT and ROLLBACK are text statements.
/// - [`begin`](Connection::begin) sends `SET TRANSACTION …; START TRANSACTION …` as one
///   text in one round trip.
/// - [`server_in_transaction`](Connection::server_in_transaction) reads
///   `SERVER_STATUS_IN_TRANS` from the status flags of the server's last OK packet: no round
///   trip, and it works on MySQL 8 (which has no `@@in_transaction`) as on MariaDB. After an
///   error (whose packet carries no flags) it sends `COM_PING` and reads the flag there.
/// - Cancel-safety: an operation whose future is dropped keeps running to its end inside
///   the connection (see the `conn_or_op` module); [`recover`](Connection::recover) finishes it,
///   then rolls back. Nothing is ever left half-read.
/// - A lock wait timeout (1205) makes InnoDB undo only the statement; this connection then
///   rolls back the whole transaction before returning the LockTimeout error.
pub struct MySqlConnection {
    pub(crate) link: ConnOrOp,
    dialect: MySqlDialect,
    id: u32,
    /// Set while a [`with_table_locks`](Self::with_table_locks) unit holds LOCK TABLES
    /// with autocommit off; still set afterwards means the unit was abandoned.
    pub(crate) table_locks_held: bool,
    /// See [`MySqlConnectOptions::idle_ping_after`].
    idle_ping_after: std::time::Duration,
}

impl fmt::Debug for MySqlConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MySqlConnection")
            .field("id", &self.id)
            .field("server", self.dialect.server())
            .field("busy", &self.link.is_busy())
            .field("broken", &self.is_broken())
            .finish()
    }
}

/// The error for an operation outcome of the wrong shape (a bug, never expected).
fn unexpected() -> Error {
    Error::internal("txkit-mysql: an operation returned an unexpected outcome")
}

impl MySqlConnection {
    pub(crate) fn new(conn: Conn, server: ServerInfo) -> Self {
        let id = conn.id();
        Self {
            link: ConnOrOp::new(conn),
            dialect: MySqlDialect::new(server),
            id,
            table_locks_held: false,
            idle_ping_after: std::time::Duration::from_secs(1),
        }
    }

    /// Sets how long this connection may sit idle in a pool before its checkout pings it.
    pub(crate) fn with_idle_ping_after(mut self, idle: std::time::Duration) -> Self {
        self.idle_ping_after = idle;
        self
    }

    /// Connects to `url` (`mysql://…` or `mariadb://…`; see [`MySqlConnectOptions::from_url`]).
    pub async fn connect(url: &DatabaseUrl) -> Result<Self> {
        MySqlConnectOptions::from_url(url)?.connect().await
    }

    /// The server this connection talks to.
    pub fn server(&self) -> &ServerInfo {
        self.dialect.server()
    }

    /// This connection's dialect, with the MySQL-specific
    /// [`lock_tables_sql`](MySqlDialect::lock_tables_sql).
    pub fn mysql_dialect(&self) -> &MySqlDialect {
        &self.dialect
    }

    /// The server's id for this connection (`CONNECTION_ID()`, the id `KILL` takes).
    pub fn connection_id(&self) -> u32 {
        self.id
    }

    /// The `AUTO_INCREMENT` value the last statement generated, if any.
    pub fn last_insert_id(&self) -> Option<u64> {
        self.link.conn().and_then(Conn::last_insert_id)
    }

    /// The server's transaction flag as of its last answer, without a round trip; `None`
    /// when the last answer was an error or an operation is unfinished.
    pub fn status_in_transaction(&self) -> Option<bool> {
        self.link.conn().and_then(ops::in_transaction)
    }

    pub(crate) async fn run_text(&mut self, sql: &str) -> Result<()> {
        let sql = sql.to_owned();
        let outcome = self
            .link
            .run(move |mut conn| async move {
                let result = ops::text(&mut conn, &sql).await;
                (conn, result)
            })
            .await?;
        match outcome {
            OpOutput::Done => Ok(()),
            _ => Err(unexpected()),
        }
    }

    /// The statements that bring the session back to idle: ROLLBACK, and whatever else the
    /// server's status or an abandoned table-lock unit shows is needed. `None` when the
    /// server's last answer says there is nothing to undo.
    pub(crate) fn cleanup_sql(&self) -> Option<&'static str> {
        if self.table_locks_held {
            return Some("ROLLBACK; UNLOCK TABLES; SET autocommit = 1");
        }
        let conn = self.link.conn()?;
        match (ops::in_transaction(conn), ops::autocommit(conn)) {
            (Some(false), Some(true)) => None,
            (_, Some(false)) => Some("ROLLBACK; SET autocommit = 1"),
            _ => Some("ROLLBACK"),
        }
    }

    /// Finishes abandoned work, then rolls back (and restores autocommit, and releases
    /// table locks) as needed. Any failure marks the connection broken.
    async fn back_to_idle(&mut self) -> Result<()> {
        self.link.finish_abandoned().await?;
        if let Some(sql) = self.cleanup_sql() {
            if let Err(e) = self.run_text(sql).await {
                self.link.mark_broken();
                return Err(e.context("rolling back to bring the connection back to idle"));
            }
        }
        self.table_locks_held = false;
        Ok(())
    }

    async fn begin_inner(&mut self, opts: &TxOptions) -> Result<()> {
        let sql = self.dialect.begin_sql(opts)?;
        self.link.finish_abandoned().await?;
        if self.table_locks_held {
            return Err(Error::usage(
                "cannot begin a transaction inside with_table_locks: START TRANSACTION would \
                 release the table locks; the unit already runs as one transaction",
            ));
        }
        if self.status_in_transaction() == Some(true) {
            return Err(Error::usage(
                "the server reports a transaction already open on this connection (after SET \
                 autocommit = 0, for example); START TRANSACTION would commit it implicitly. \
                 Commit or roll it back first",
            ));
        }
        self.run_text(&sql).await
    }

    async fn commit_inner(&mut self) -> Result<()> {
        // A connection already known lost never sent COMMIT: the server rolls back.
        self.link.finish_abandoned().await?;
        match self.run_text("COMMIT").await {
            Err(e) if e.kind() == ErrorKind::ConnectionLost => {
                Err(e.with_kind(ErrorKind::CommitOutcomeUnknown).context(
                    "the connection was lost while waiting for COMMIT's answer; the \
                     transaction may or may not have committed",
                ))
            }
            other => other,
        }
    }

    async fn server_in_transaction_inner(&mut self) -> Result<bool> {
        self.link.finish_abandoned().await?;
        if let Some(flag) = self.status_in_transaction() {
            return Ok(flag);
        }
        let outcome = self
            .link
            .run(|mut conn| async move {
                let result = ops::ping_in_transaction(&mut conn).await;
                (conn, result)
            })
            .await?;
        match outcome {
            OpOutput::InTransaction(flag) => Ok(flag),
            _ => Err(unexpected()),
        }
    }

    async fn reset_inner(&mut self, mode: ResetMode) -> Result<()> {
        match mode {
            ResetMode::None => self.link.finish_abandoned().await,
            ResetMode::Rollback => self.back_to_idle().await,
            ResetMode::Full => {
                let result = self
                    .link
                    .run(|mut conn| async move {
                        let result = ops::reset(&mut conn).await;
                        (conn, result)
                    })
                    .await;
                match result {
                    Ok(_) => {
                        self.table_locks_held = false;
                        Ok(())
                    }
                    Err(e) => {
                        self.link.mark_broken();
                        Err(e)
                    }
                }
            }
        }
    }
}

impl Connection for MySqlConnection {
    fn dialect(&self) -> &dyn Dialect {
        &self.dialect
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> impl Future<Output = Result<u64>> + Send {
        let sql = sql.to_owned();
        let params = to_params(params);
        async move {
            let outcome = self
                .link
                .run(move |mut conn| async move {
                    let result = ops::execute(&mut conn, &sql, params).await;
                    (conn, result)
                })
                .await?;
            match outcome {
                OpOutput::Affected(n) => Ok(n),
                _ => Err(unexpected()),
            }
        }
    }

    /// Every run in one operation on the connection, on one prepared statement (a round
    /// trip each: the classic protocol answers one command before taking the next).
    fn execute_many(
        &mut self,
        sql: &str,
        rows: &[&[Value]],
    ) -> impl Future<Output = Result<Vec<u64>>> + Send {
        let sql = sql.to_owned();
        let rows: Vec<_> = rows.iter().map(|params| to_params(params)).collect();
        async move {
            let outcome = self
                .link
                .run(move |mut conn| async move {
                    let result = ops::execute_many(&mut conn, &sql, rows).await;
                    (conn, result)
                })
                .await?;
            match outcome {
                OpOutput::AffectedEach(counts) => Ok(counts),
                _ => Err(unexpected()),
            }
        }
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Vec<Row>>> + Send {
        let sql = sql.to_owned();
        let params = to_params(params);
        async move {
            let outcome = self
                .link
                .run(move |mut conn| async move {
                    let result = ops::query(&mut conn, &sql, params).await;
                    (conn, result)
                })
                .await?;
            match outcome {
                OpOutput::Rows(rows) => Ok(rows),
                _ => Err(unexpected()),
            }
        }
    }

    async fn batch(&mut self, sql: &str) -> Result<()> {
        self.run_text(sql).await
    }

    async fn begin(&mut self, opts: &TxOptions) -> Result<()> {
        self.begin_inner(opts).await
    }

    fn commit(&mut self) -> impl Future<Output = Result<()>> + Send {
        self.commit_inner()
    }

    async fn rollback(&mut self) -> Result<()> {
        self.run_text("ROLLBACK").await
    }

    async fn ping(&mut self) -> Result<()> {
        self.link
            .run(|mut conn| async move {
                let result = ops::ping(&mut conn).await;
                (conn, result)
            })
            .await
            .map(|_| ())
    }

    fn server_in_transaction(&mut self) -> impl Future<Output = Result<bool>> + Send {
        self.server_in_transaction_inner()
    }

    /// Finishes any abandoned operation (reading every answer the server owes), then rolls
    /// back whatever is open, restores autocommit if something turned it off, and releases
    /// the table locks of an abandoned [`with_table_locks`](Self::with_table_locks) unit.
    /// Waiting for the abandoned operation can take as long as that statement runs (up to
    /// `innodb_lock_wait_timeout` for a lock wait); bound it with a timeout and discard the
    /// connection when it fires.
    fn recover(&mut self) -> impl Future<Output = Result<()>> + Send {
        self.back_to_idle()
    }

    /// `None`: only finishes abandoned work. `Rollback`: as [`recover`](Self::recover) —
    /// free when the server's last answer shows no transaction and autocommit on.
    /// `Full`: `COM_RESET_CONNECTION`.
    fn reset(&mut self, mode: ResetMode) -> impl Future<Output = Result<()>> + Send {
        self.reset_inner(mode)
    }

    /// True when the connection was lost, killed, or failed a rollback — and also when a
    /// [`with_table_locks`](Self::with_table_locks) unit was abandoned (its table locks and
    /// `autocommit = 0` are still on the session; `recover` undoes them).
    fn is_broken(&self) -> bool {
        self.link.is_broken() || self.table_locks_held
    }

    fn server_session_id(&self) -> Option<u64> {
        self.link.session_id()
    }

    /// mysql_async keeps its socket private (no peek, no file descriptor), so a server that
    /// closed this connection while it sat idle cannot be seen without a round trip: the
    /// pool pings it at checkout once it has been idle this long
    /// ([`MySqlConnectOptions::idle_ping_after`]).
    fn ping_after_idle(&self) -> Option<std::time::Duration> {
        Some(self.idle_ping_after)
    }

    fn close(self) -> impl Future<Output = ()> + Send {
        let mut this = self;
        async move {
            if let Some(conn) = this.link.take_for_close() {
                if let Err(e) = conn.disconnect().await {
                    tracing::debug!(error = %e, "closing a MySQL connection");
                }
            }
        }
    }
}
