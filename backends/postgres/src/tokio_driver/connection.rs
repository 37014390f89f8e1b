//! [`PgConnection`]: one tokio-postgres client behind txkit's [`Connection`] trait.
//!
//! Cancel-safety: tokio-postgres hands each whole request to the connection's background
//! task, which reads every answer to its end even when the future that asked was dropped.
//! So a dropped future never leaves the protocol out of step; what it may leave is an open
//! transaction (and, for a dropped prepare, a statement the server keeps until the session
//! ends). [`recover`](Connection::recover) rolls back.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_postgres::{Client, SimpleQueryMessage, Statement};
use txkit_core::dialects::first_keyword;
use txkit_core::dialects::postgres::{PgDialect, classify, sqlstate};
use txkit_core::{Connection, Dialect, Error, ErrorKind, ResetMode, Result, Row, TxOptions, Value};

use super::error::{is_connection_error, is_stale_plan, map_error, sqlstate_of, statement_error};
use super::send::{Ready, Reply, send};
use crate::decode;
use crate::hosts::READ_ONLY_SQL_TRANSACTION;
use crate::pooler::Pooler;
use crate::shared::{
    BACKEND, FULL_RESET, already_failed, opens_transaction, outcome_unknown_message,
};
use crate::statement_cache::StatementCache;
use txkit_core::dialects::placeholders;

/// Whether the server is inside a transaction block, sent as a simple query (one protocol
/// message): `now()` is fixed when the transaction starts, and outside a block that is the
/// moment this message arrived, which is also `statement_timestamp()`; inside a block the
/// transaction started with an earlier message (BEGIN, at least), so the two differ. They
/// could be equal inside a block only if BEGIN and this message arrived within the same
/// microsecond, which cannot happen: BEGIN's answer is awaited before this is sent. (The
/// extended protocol would not do: it moves `statement_timestamp()` at each of its messages
/// within one implicit transaction.)
const IN_TRANSACTION_PROBE: &str = "SELECT now() <> statement_timestamp()";

/// A connection to PostgreSQL. Made by [`PgConnectOptions::connect`](crate::PgConnectOptions::connect).
pub struct PgConnection {
    pub(crate) client: Client,
    broken: Arc<AtomicBool>,
    pub(crate) statements: StatementCache,
    /// txkit's view: a BEGIN was sent and no COMMIT/ROLLBACK answered since. Decides only
    /// whether a statement whose cached plan went stale may be re-run at once.
    pub(crate) in_transaction: bool,
    /// Whether the open transaction may have failed unseen: a statement in it returned an
    /// error, or the tokio-postgres client was lent out ([`PgConnection::client`]). Only
    /// then does COMMIT need the `SELECT 1` probe to learn whether it committed; otherwise
    /// every statement answered without error, so the transaction cannot be in the failed
    /// state, and COMMIT's own answer is the whole truth.
    pub(crate) doubt: AtomicBool,
    pub(crate) target: String,
    /// The server's process id for this session (`pg_backend_pid()`), read at connect.
    pub(crate) backend_pid: Option<u32>,
    /// What stands between this connection and the server, as settled at connect.
    pub(crate) pooler: Pooler,
    /// Whether the connection was opened for a server that takes writes
    /// (`target_session_attrs` read-write or primary): a write refused as read-only then
    /// breaks it, so the pool opens another, on whichever host is now the primary.
    pub(crate) wants_writes: bool,
}

impl fmt::Debug for PgConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConnection")
            .field("target", &self.target)
            .field("in_transaction", &self.in_transaction)
            .field("cached_statements", &self.statements.len())
            .field("pooler", &self.pooler)
            .field("broken", &self.is_broken())
            .finish()
    }
}

impl PgConnection {
    pub(crate) fn new(
        client: Client,
        broken: Arc<AtomicBool>,
        cache: usize,
        target: String,
    ) -> Self {
        Self {
            client,
            broken,
            statements: StatementCache::new(cache),
            in_transaction: false,
            doubt: AtomicBool::new(false),
            target,
            backend_pid: None,
            pooler: Pooler::None,
            wants_writes: false,
        }
    }

    /// The tokio-postgres client, for backend-specific calls (LISTEN, COPY, …). Do not open or
    /// end transactions through it: txkit would not know. A statement failing through it
    /// would go unseen, so the transaction's COMMIT then checks for that first.
    pub fn client(&self) -> &Client {
        self.doubt.store(true, Ordering::Relaxed);
        &self.client
    }

    /// Starts txkit's view of a new transaction: open, nothing failed.
    fn opened(&mut self) {
        self.in_transaction = true;
        *self.doubt.get_mut() = false;
    }

    /// Passes `result` through, noting an error: the transaction may have failed.
    fn noting<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            *self.doubt.get_mut() = true;
            if self.wants_writes && e.code() == Some(READ_ONLY_SQL_TRANSACTION) {
                tracing::debug!(target = %self.target, "a write refused as read-only: the \
                    server is no longer the kind asked for, the connection is given up");
                self.broken.store(true, Ordering::Release);
            }
        }
        result
    }

    /// How many prepared statements this connection keeps now.
    pub fn cached_statements(&self) -> usize {
        self.statements.len()
    }

    /// The statement for `sql` (as the caller wrote it, `?` placeholders and all): behind
    /// a pooler its text to send unnamed, else prepared, from the cache or now. The cache is
    /// keyed by that text, so a hit costs no placeholder rewrite.
    pub(crate) async fn prepare(&mut self, sql: &str) -> Result<Ready> {
        if let Some(ready) = self.ready(sql) {
            return Ok(ready);
        }
        let stmt = prepare_on(&self.client, sql)
            .await
            .map_err(|e| statement_error(e, sql))?;
        let names = decode::column_names(stmt.columns());
        self.statements
            .insert(sql, (stmt.clone(), Arc::clone(&names)));
        Ok(Ready::Named(stmt, names))
    }

    /// The statement for `sql` when it needs no round trip to prepare: unnamed behind a
    /// pooler, or cached.
    pub(crate) fn ready(&mut self, sql: &str) -> Option<Ready> {
        if self.pooler.unnamed() {
            return Some(Ready::Unnamed(placeholders::rewrite(sql).into()));
        }
        self.statements
            .get(sql)
            .map(|(stmt, names)| Ready::Named(stmt, names))
    }

    /// Runs `sql` with `params`, re-preparing once when its cached plan went stale outside a
    /// transaction.
    async fn run(&mut self, sql: &str, params: &[Value], want_rows: bool) -> Result<Reply> {
        let mut retried = false;
        loop {
            let stmt = self.prepare(sql).await?;
            let encoded = stmt.encode(params)?;
            match send(&self.client, &stmt, &encoded, want_rows).await {
                Ok(outcome) => return Ok(outcome),
                // Outside a transaction nothing was aborted: prepare afresh and run it again.
                Err(e)
                    if is_stale_plan(&e)
                        && matches!(stmt, Ready::Named(..))
                        && !self.in_transaction
                        && !retried =>
                {
                    self.statements.remove(sql);
                    tracing::debug!(sql = %sql, "re-preparing a statement after a schema change");
                    retried = true;
                }
                Err(e) => return Err(self.statement_failed(e, sql)),
            }
        }
    }

    /// `e`, from running the cached statement for `sql`, as a txkit error. A stale plan
    /// (a table it reads changed shape since it was prepared) drops the statement from the
    /// cache, so the next use prepares it afresh; inside a transaction that error has
    /// aborted the transaction, and the error says how to go on.
    pub(crate) fn statement_failed(&mut self, e: tokio_postgres::Error, sql: &str) -> Error {
        if !is_stale_plan(&e) {
            return statement_error(e, sql);
        }
        self.statements.remove(sql);
        let error = statement_error(e, sql);
        if self.in_transaction {
            error.context(
                "the cached statement was dropped; if a table it reads changed shape since it \
                 was prepared, roll the transaction back and run it again",
            )
        } else {
            error
        }
    }

    /// BEGIN and a first statement in one round trip: both requests are handed to the
    /// connection task before either answer is awaited (tokio-postgres pipelines requests
    /// whose futures are polled together), so they leave in one write. A statement not yet
    /// prepared is prepared in that same trip and run in a second one. The outer error is
    /// BEGIN's: BEGIN text is generated by txkit, so in practice only a lost connection
    /// fails it (and then the statement failed too).
    async fn begin_then(
        &mut self,
        opts: &TxOptions,
        sql: &str,
        params: &[Value],
        want_rows: bool,
    ) -> Result<Result<Reply>> {
        self.pooler.check_begin()?;
        self.pooler.check_statement(sql)?;
        let begin = PgDialect.begin_sql(opts)?;
        self.opened();
        let Some(stmt) = self.ready(sql) else {
            let (begun, prepared) = futures_util::future::join(
                self.client.batch_execute(&begin),
                prepare_on(&self.client, sql),
            )
            .await;
            if let Err(e) = begun {
                self.in_transaction = false;
                return Err(map_error(e, false));
            }
            let stmt = match prepared {
                Ok(stmt) => stmt,
                Err(e) => return Ok(Err(statement_error(e, sql))),
            };
            let names = decode::column_names(stmt.columns());
            self.statements.insert(sql, (stmt, names));
            return Ok(self.run(sql, params, want_rows).await);
        };
        let encoded = stmt.encode(params).inspect_err(|_| {
            // Nothing was sent, BEGIN included: no transaction is open.
            self.in_transaction = false;
        })?;
        let statement = async { send(&self.client, &stmt, &encoded, want_rows).await };
        let (begun, result) =
            futures_util::future::join(self.client.batch_execute(&begin), statement).await;
        if let Err(e) = begun {
            self.in_transaction = false;
            return Err(map_error(e, false));
        }
        Ok(result.map_err(|e| self.statement_failed(e, sql)))
    }

    /// Runs control SQL through the simple-query protocol.
    async fn simple(&mut self, sql: &str) -> Result<()> {
        self.client
            .batch_execute(sql)
            .await
            .map_err(|e| statement_error(e, sql))
    }

    /// Marks txkit's view of the transaction after control SQL sent by [`Connection::batch`]
    /// ended one (a BEGIN was marked before it was sent).
    fn note_control(&mut self, sql: &str) {
        if ends_transaction(sql) {
            self.in_transaction = false;
        }
    }

    pub(crate) fn lost(&self, what: &str) -> Error {
        Error::connection_lost(format!(
            "the connection to {} is closed, so {what}; open a new connection",
            self.target
        ))
    }

    async fn commit_inner(&mut self) -> Result<()> {
        if self.is_broken() {
            return Err(self.lost(
                "COMMIT was not sent (the server rolls back an open transaction when its \
                 session ends)",
            ));
        }
        // One round trip: the probe when owed, then COMMIT.
        let probe = self.probe_if_in_doubt();
        let commit = self.client.simple_query("COMMIT");
        let (probe, commit) = futures_util::future::join(probe, commit).await;
        self.in_transaction = false;
        commit_answer(probe, commit.map(drop), &self.target)
    }

    /// The `SELECT 1` probe to send with COMMIT when the transaction may have failed
    /// unseen ([`doubt`](Self::doubt)): in a failed transaction it fails with 25P02 and the
    /// server answers COMMIT with ROLLBACK — a tag tokio-postgres does not show, so the probe
    /// is how txkit knows nothing was committed. Otherwise every statement answered without
    /// error, COMMIT's answer says all, and this sends nothing.
    pub(crate) fn probe_if_in_doubt(
        &self,
    ) -> impl Future<Output = std::result::Result<(), tokio_postgres::Error>> + '_ {
        let in_doubt = self.doubt.load(Ordering::Relaxed);
        async move {
            if in_doubt {
                Box::pin(self.client.query_typed("SELECT 1", &[]))
                    .await
                    .map(drop)
            } else {
                Ok(())
            }
        }
    }
}

/// Prepares `sql` (txkit's `?` placeholders, rewritten to `$n`) on the server, uncached.
/// Boxed: tokio-postgres's prepare future is about a kilobyte, and held inline it would make
/// the future of every statement that may prepare that size, cache hit or not.
pub(crate) fn prepare_on<'a>(
    client: &'a Client,
    sql: &'a str,
) -> futures_util::future::BoxFuture<'a, std::result::Result<Statement, tokio_postgres::Error>> {
    Box::pin(async move { client.prepare(&placeholders::rewrite(sql)).await })
}

/// What a probe (`SELECT 1`) and COMMIT sent together say: success only when both
/// succeeded. In a failed transaction the probe fails with 25P02 and the server answers
/// COMMIT with ROLLBACK — a tag tokio-postgres does not show, so the probe is how txkit
/// knows nothing was committed.
pub(crate) fn commit_answer(
    probe: std::result::Result<(), tokio_postgres::Error>,
    commit: std::result::Result<(), tokio_postgres::Error>,
    target: &str,
) -> Result<()> {
    match commit {
        Err(e) if is_connection_error(&e) => Err(commit_outcome_unknown(e, target)),
        Err(e) => {
            Err(map_error(e, false)
                .context("COMMIT failed and the server rolled the transaction back"))
        }
        Ok(()) => match probe {
            Ok(()) => Ok(()),
            Err(e) => {
                let code = sqlstate_of(&e).unwrap_or(sqlstate::IN_FAILED_SQL_TRANSACTION);
                let kind = match code {
                    sqlstate::IN_FAILED_SQL_TRANSACTION => ErrorKind::Database,
                    other => classify(other, "", false),
                };
                Err(already_failed(kind, code).with_source(e))
            }
        },
    }
}

/// The error for a connection lost while COMMIT was in flight.
pub(crate) fn commit_outcome_unknown(e: tokio_postgres::Error, target: &str) -> Error {
    let code = sqlstate_of(&e).map(str::to_owned);
    let message = outcome_unknown_message(target);
    match code {
        Some(code) => Error::database(ErrorKind::CommitOutcomeUnknown, BACKEND, code, message),
        None => Error::new(ErrorKind::CommitOutcomeUnknown, message),
    }
    .with_source(e)
}

impl Connection for PgConnection {
    fn dialect(&self) -> &dyn Dialect {
        &PgDialect
    }

    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.pooler.check_statement(sql)?;
        let outcome = self.run(sql, params, false).await;
        self.noting(outcome).map(Reply::count)
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        self.pooler.check_statement(sql)?;
        let outcome = self.run(sql, params, true).await;
        match self.noting(outcome)? {
            Reply::Rows(rows, names) => decode::rows(&rows, &names),
            Reply::Count(_) => Ok(Vec::new()),
        }
    }

    async fn batch(&mut self, sql: &str) -> Result<()> {
        self.pooler.check_statement(sql)?;
        if opens_transaction(sql) {
            self.pooler.check_begin()?;
            // Marked before it is sent: should this be cancelled on the way, `recover`
            // still rolls back what BEGIN may have opened.
            self.opened();
        }
        let done = self.simple(sql).await;
        self.noting(done)?;
        self.note_control(sql);
        Ok(())
    }

    async fn begin(&mut self, opts: &TxOptions) -> Result<()> {
        self.pooler.check_begin()?;
        let sql = PgDialect.begin_sql(opts)?;
        self.opened();
        let begun = self.simple(&sql).await;
        self.noting(begun)
    }

    async fn begin_and_query(
        &mut self,
        opts: &TxOptions,
        sql: &str,
        params: &[Value],
    ) -> Result<Result<Vec<Row>>> {
        let outcome = self.begin_then(opts, sql, params, true).await?;
        Ok(match self.noting(outcome) {
            Ok(Reply::Rows(rows, names)) => decode::rows(&rows, &names),
            Ok(Reply::Count(_)) => Ok(Vec::new()),
            Err(e) => Err(e),
        })
    }

    async fn begin_and_execute(
        &mut self,
        opts: &TxOptions,
        sql: &str,
        params: &[Value],
    ) -> Result<Result<u64>> {
        let outcome = self.begin_then(opts, sql, params, false).await?;
        Ok(self.noting(outcome).map(Reply::count))
    }

    async fn commit(&mut self) -> Result<()> {
        self.commit_inner().await
    }

    async fn execute_all_and_commit(
        &mut self,
        statements: &[(&str, &[Value])],
    ) -> Result<Vec<u64>> {
        self.flush_and_commit(statements).await
    }

    /// Every run leaves in one write (`execute_pipelined`).
    async fn execute_many(&mut self, sql: &str, rows: &[&[Value]]) -> Result<Vec<u64>> {
        self.pooler.check_statement(sql)?;
        let counts = self.execute_pipelined(sql, rows).await;
        self.noting(counts)
    }

    /// BEGIN leaves with the first statement (`begin_then`), the runs of `execute_many`
    /// cost one round trip once the statement is prepared, and the statements, the probe
    /// and COMMIT leave in one write (`flush_and_commit`).
    fn pipelines(&self) -> bool {
        true
    }

    async fn rollback(&mut self) -> Result<()> {
        self.simple("ROLLBACK").await?;
        self.in_transaction = false;
        Ok(())
    }

    async fn ping(&mut self) -> Result<()> {
        self.client
            .check_connection()
            .await
            .map_err(|e| map_error(e, false))
    }

    async fn server_in_transaction(&mut self) -> Result<bool> {
        match self.client.simple_query(IN_TRANSACTION_PROBE).await {
            Ok(messages) => messages
                .iter()
                .find_map(|m| match m {
                    SimpleQueryMessage::Row(row) => row.get(0).map(|v| v == "t"),
                    _ => None,
                })
                .ok_or_else(|| {
                    Error::new(ErrorKind::Database, "the transaction probe returned no row")
                }),
            // Only a statement inside a failed transaction gets 25P02.
            Err(e) if sqlstate_of(&e) == Some(sqlstate::IN_FAILED_SQL_TRANSACTION) => Ok(true),
            Err(e) => Err(map_error(e, false)),
        }
    }

    /// ROLLBACK when a transaction may be open. txkit marks one open before it sends
    /// anything that may begin one, and clears the mark only once the server has answered
    /// its end, so with the mark clear and the raw client unused (no doubt) the session is
    /// idle: a ROLLBACK there would cost a round trip and draw the server's warning "there
    /// is no transaction in progress" after every operation cancelled outside a
    /// transaction. tokio-postgres's connection task drops the cancelled request's answer.
    async fn recover(&mut self) -> Result<()> {
        if self.is_broken() {
            return Err(self.lost("it cannot be recovered"));
        }
        if self.in_transaction || *self.doubt.get_mut() {
            self.rollback().await
        } else {
            Ok(())
        }
    }

    async fn reset(&mut self, mode: ResetMode) -> Result<()> {
        match mode {
            ResetMode::None => Ok(()),
            ResetMode::Rollback => self.rollback().await,
            ResetMode::Full => {
                if self.in_transaction {
                    self.rollback().await?;
                }
                self.simple(FULL_RESET).await
            }
        }
    }

    fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Acquire) || self.client.is_closed()
    }

    /// `None` behind a pooler: the server process changes from one transaction to the next.
    fn server_session_id(&self) -> Option<u64> {
        self.backend_pid
            .filter(|_| !self.pooler.unnamed())
            .map(u64::from)
    }

    async fn close(self) {
        // Dropping the client makes the background task send Terminate and close the socket.
        drop(self);
    }
}

/// Whether control SQL sent through [`Connection::batch`] ends the transaction: COMMIT,
/// END, ABORT, or ROLLBACK other than ROLLBACK TO a savepoint.
fn ends_transaction(sql: &str) -> bool {
    let word = first_keyword(sql);
    ["COMMIT", "END", "ABORT"]
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w))
        || (word.eq_ignore_ascii_case("ROLLBACK")
            && !sql
                .split_ascii_whitespace()
                .any(|w| w.eq_ignore_ascii_case("TO")))
}

#[cfg(test)]
mod tests {
    use super::ends_transaction;
    use crate::shared::opens_transaction;

    #[test]
    fn begin_and_start_open_a_transaction() {
        for sql in [
            "BEGIN",
            " begin isolation level serializable",
            "START TRANSACTION",
        ] {
            assert!(opens_transaction(sql), "{sql}");
        }
        for sql in ["COMMIT", "SAVEPOINT a", "beginning", "SELECT 1; BEGIN", ""] {
            assert!(!opens_transaction(sql), "{sql}");
        }
    }

    #[test]
    fn commit_rollback_end_and_abort_end_it_but_not_rollback_to() {
        for sql in [
            "COMMIT",
            " end",
            "ABORT",
            "rollback",
            "ROLLBACK AND NO CHAIN",
        ] {
            assert!(ends_transaction(sql), "{sql}");
        }
        for sql in [
            "ROLLBACK TO SAVEPOINT \"a\"",
            "rollback\tto a",
            "RELEASE SAVEPOINT a",
            "COMMITTED",
            "BEGIN",
        ] {
            assert!(!ends_transaction(sql), "{sql}");
        }
    }
}
