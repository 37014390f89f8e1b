//! [`PgWireConnection`]: txkit's [`Connection`] on its own PostgreSQL protocol layer.

use std::fmt;
use std::sync::Arc;

use smallvec::SmallVec;

use txkit_core::dialects::asks_nowait;
use txkit_core::dialects::postgres::{PgDialect, sqlstate};
use txkit_core::{Connection, Dialect, Error, ErrorKind, ResetMode, Result, Row, TxOptions, Value};

use super::exchange::{Answer, Shapes, Tag, bind, exchange, parse_bind};
use super::io::Wire;
use super::statements::{Prepared, Statements};
use crate::encode::{encode_all, encode_untyped};
use crate::hosts::READ_ONLY_SQL_TRANSACTION;
use crate::options::PgConnectOptions;
use crate::pooler::Pooler;
use txkit_core::dialects::placeholders;

/// A PostgreSQL connection speaking the protocol itself (URL option `driver=txkit`), with
/// its socket read and written on the caller's task. A pipeline — BEGIN with the first
/// statement, or a flush's statements with COMMIT — ends with one Sync, so the server
/// answers it in one flush.
///
/// Made by [`PostgresWire`](crate::PostgresWire) (the engine picks it for `driver=txkit`).
/// It authenticates with SCRAM-SHA-256 (channel-bound over TLS), MD5 or a cleartext
/// password, speaks TLS with the `tls` feature under the same `sslmode` rules as the
/// tokio-postgres driver, and reads types it does not know as text.
pub struct PgWireConnection {
    wire: Wire,
    statements: Statements,
    /// What stands between this connection and the server, as settled at connect.
    pooler: Pooler,
    /// Whether the connection was opened for a server that takes writes (see the
    /// tokio-postgres connection's field of that name).
    wants_writes: bool,
}

impl fmt::Debug for PgWireConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgWireConnection")
            .field("target", &self.wire.target)
            .field("status", &char::from(self.wire.status))
            .field("cached_statements", &self.statements.len())
            .field("pooler", &self.pooler)
            .field("broken", &self.wire.broken)
            .finish()
    }
}

impl PgWireConnection {
    /// Opens a connection as `opts` say, on txkit's own protocol layer whatever their
    /// `driver` (the engine picks this for `driver=txkit`).
    pub async fn connect(opts: &PgConnectOptions) -> Result<Self> {
        crate::hosts::connect_to_any(opts, |one| async move { Self::connect_one(&one).await }).await
    }

    /// Opens a connection to `opts`' first host.
    async fn connect_one(opts: &PgConnectOptions) -> Result<Self> {
        let mut conn = Self {
            wire: super::startup::open(opts).await?,
            statements: Statements::new(opts.get_statement_cache_size()),
            // Unnamed until settled: the question below must not leave a statement behind.
            pooler: Pooler::Transaction,
            wants_writes: opts.get_target_session_attrs().wants_writes(),
        };
        conn.pooler = match opts.get_pooler() {
            Pooler::Auto => {
                let pooled = conn.session_pid().await? != conn.wire.backend_pid;
                Pooler::Auto.settle(pooled, &conn.wire.target)
            }
            set => set,
        };
        Ok(conn)
    }

    /// The session's `pg_backend_pid()`: the cancel key's process id on a direct connection,
    /// another behind a pooler (whose key is its own).
    async fn session_pid(&mut self) -> Result<Option<u32>> {
        let answer = self
            .run("SELECT pg_backend_pid() AS pid", &[], true)
            .await?;
        let rows = rows_of(answer, "SELECT pg_backend_pid()")?;
        Ok(rows
            .first()
            .and_then(|row| row.get::<i64>("pid").ok())
            .and_then(|pid| u32::try_from(pid).ok()))
    }

    /// How many prepared statements this connection keeps now.
    pub fn cached_statements(&self) -> usize {
        self.statements.len()
    }

    fn in_transaction(&self) -> bool {
        self.wire.status != b'I'
    }

    /// ROLLBACK when the server's last ReadyForQuery, once every owed answer is read, says a
    /// transaction is open; on an idle session it would cost a round trip and draw the
    /// server's warning "there is no transaction in progress".
    async fn rollback_if_open(&mut self) -> Result<()> {
        self.wire.settle().await?;
        if self.in_transaction() {
            self.simple("ROLLBACK").await?;
        }
        Ok(())
    }

    /// Runs control SQL (one or more statements, no parameters) as a simple Query.
    async fn simple(&mut self, sql: &str) -> Result<Tag> {
        self.wire.settle().await?;
        self.wire.query(sql)?;
        self.wire.flush().await?;
        let mut tag = Tag::default();
        let mut failure: Option<super::server_error::ServerError> = None;
        while self.wire.owed > 0 {
            let message = match self.wire.next().await {
                Ok(message) => message,
                // A server (or pooler) that ends the session says why first.
                Err(lost) => {
                    return Err(match failure {
                        Some(e) => e.or_lost(lost),
                        None => lost,
                    });
                }
            };
            match message {
                postgres_protocol::message::backend::Message::CommandComplete(body) => {
                    tag = Tag::parse(body.tag().unwrap_or_default());
                }
                postgres_protocol::message::backend::Message::ErrorResponse(body) => {
                    failure = Some(super::server_error::ServerError::parse(&body));
                }
                postgres_protocol::message::backend::Message::CopyInResponse(_) => {
                    super::exchange::refuse_copy_in(&mut self.wire, false).await?;
                }
                _ => {}
            }
        }
        match failure {
            Some(e) => Err(e.into_error(asks_nowait(sql))),
            None => Ok(tag),
        }
    }

    /// Runs `statements` in one pipeline: under one Sync, or with `sync_each` a Sync after
    /// each (so each stands alone), all in one write.
    async fn pipeline(
        &mut self,
        statements: &[(&str, &[Value])],
        want_rows: bool,
        sync_each: bool,
    ) -> Result<Vec<Answer>> {
        self.wire.settle().await?;
        let prepared = if self.pooler.unnamed() {
            Vec::new()
        } else {
            let texts: SmallVec<[&str; 8]> = statements.iter().map(|(sql, _)| *sql).collect();
            self.statements.prepare_all(&mut self.wire, &texts).await?
        };
        // Should a value not encode, or a Bind not fit the protocol, nothing of this
        // pipeline may be left queued: nothing queued is sent before the flush below.
        let (mark, owed) = (self.wire.out.len(), self.wire.owed);
        let queued = if self.pooler.unnamed() {
            self.queue_unnamed(statements, sync_each)
        } else {
            self.queue(statements, &prepared, sync_each)
        };
        if let Err(e) = queued {
            self.wire.out.truncate(mark);
            self.wire.owed = owed;
            return Err(e);
        }
        let shapes = if self.pooler.unnamed() {
            Shapes::Described(statements.len())
        } else {
            Shapes::Prepared(&prepared)
        };
        exchange(&mut self.wire, shapes, want_rows, sync_each).await
    }

    /// A write refused as read-only on a connection opened for a server that takes writes:
    /// the server is no longer the kind asked for, so the connection is given up and the
    /// pool's next one chooses its host again.
    fn give_up_if_read_only(&mut self, answer: &Answer) {
        if let Answer::Failed(e) = answer
            && self.wants_writes
            && e.code == READ_ONLY_SQL_TRANSACTION
        {
            tracing::debug!(target = %self.wire.target, "a write refused as read-only: the \
                server is no longer the kind asked for, the connection is given up");
            self.wire.broken = true;
        }
    }

    /// Queues each statement unnamed — Parse, Bind, Describe, Execute — with its parameters
    /// as text of unspecified types, and the pipeline's Sync(s): nothing outlives it on the
    /// server session.
    fn queue_unnamed(&mut self, statements: &[(&str, &[Value])], sync_each: bool) -> Result<()> {
        for (sql, params) in statements {
            let sql = placeholders::rewrite(sql);
            parse_bind(&mut self.wire, &sql, &encode_untyped(&sql, params)?)?;
            if sync_each {
                self.wire.sync();
            }
        }
        if !sync_each {
            self.wire.sync();
        }
        Ok(())
    }

    /// Queues each statement's Bind and Execute with its parameters encoded for
    /// `prepared`'s types, and the pipeline's Sync(s).
    fn queue(
        &mut self,
        statements: &[(&str, &[Value])],
        prepared: &[Arc<Prepared>],
        sync_each: bool,
    ) -> Result<()> {
        for ((_, params), statement) in statements.iter().zip(prepared) {
            let encoded = encode_all(params, &statement.params)?;
            bind(&mut self.wire, statement, &encoded)?;
            if sync_each {
                self.wire.sync();
            }
        }
        if !sync_each {
            self.wire.sync();
        }
        Ok(())
    }

    /// Runs one statement, preparing it again once when its plan went stale outside a
    /// transaction.
    async fn run(&mut self, sql: &str, params: &[Value], want_rows: bool) -> Result<Answer> {
        let mut retried = false;
        loop {
            let mut answers = self.pipeline(&[(sql, params)], want_rows, false).await?;
            let answer = answers.pop().unwrap_or(Answer::Skipped);
            self.give_up_if_read_only(&answer);
            match answer {
                Answer::Failed(e) if e.code == sqlstate::FEATURE_NOT_SUPPORTED => {
                    self.statements.remove(sql);
                    if !self.in_transaction() && !retried {
                        retried = true;
                        continue;
                    }
                    return Ok(Answer::Failed(e));
                }
                other => return Ok(other),
            }
        }
    }

    /// The statements of a flush and COMMIT under one Sync; on a failure, the rollback the
    /// server left to txkit.
    async fn flush_and_commit(&mut self, statements: &[(&str, &[Value])]) -> Result<Vec<u64>> {
        if self.wire.broken {
            return Err(self.wire.lost(
                "neither the statements nor COMMIT were sent (the server rolls back an open \
                 transaction when its session ends)",
            ));
        }
        let mut all: SmallVec<[(&str, &[Value]); 8]> = statements.iter().copied().collect();
        all.push(("COMMIT", &[]));
        let answers = match self.pipeline(&all, false, false).await {
            Ok(answers) => answers,
            Err(e) if e.kind() == ErrorKind::ConnectionLost && self.wire.broken => {
                return Err(outcome_unknown(&self.wire.target));
            }
            Err(e) => return Err(e),
        };
        let mut counts = Vec::with_capacity(statements.len());
        for (i, ((sql, _), answer)) in all.iter().zip(answers).enumerate() {
            match answer {
                // The last answer is COMMIT's.
                Answer::Done { tag, .. } if i == statements.len() => {
                    return if tag.rolled_back {
                        Err(already_failed())
                    } else {
                        Ok(counts)
                    };
                }
                Answer::Done { tag, .. } => counts.push(tag.count),
                Answer::Failed(e) => {
                    let error = e
                        .into_error(asks_nowait(sql))
                        .context("the flush failed, so nothing was committed");
                    // The failure skipped COMMIT: the transaction is still open, failed.
                    // Should this ROLLBACK fail, the connection is broken or unclean, and
                    // the pool recovers or discards it; the flush's error is the one to
                    // report.
                    if self.in_transaction() {
                        if let Err(e) = self.simple("ROLLBACK").await {
                            tracing::debug!(error = %e, "ROLLBACK after a failed flush");
                        }
                    }
                    return Err(error);
                }
                Answer::Skipped => break,
            }
        }
        Err(Error::new(
            ErrorKind::Database,
            "COMMIT was not answered; nothing was committed",
        ))
    }

    /// BEGIN and a first statement under one Sync. The outer error is BEGIN's; the inner,
    /// the statement's. A statement not prepared yet follows BEGIN in its own round trips
    /// (so that, as when it runs, a failure to prepare it fails the open transaction).
    async fn begin_then(
        &mut self,
        opts: &TxOptions,
        sql: &str,
        params: &[Value],
        want_rows: bool,
    ) -> Result<Result<Answer>> {
        self.pooler.check_begin()?;
        self.pooler.check_statement(sql)?;
        let begin = PgDialect.begin_sql(opts)?;
        if !self.pooler.unnamed() && self.statements.get(sql).is_none() {
            self.simple(&begin).await?;
            return Ok(self.run(sql, params, want_rows).await);
        }
        let mut answers = self
            .pipeline(&[(&begin, &[]), (sql, params)], want_rows, false)
            .await?;
        let statement = answers.pop().unwrap_or(Answer::Skipped);
        self.give_up_if_read_only(&statement);
        match answers.pop() {
            Some(Answer::Failed(e)) => Err(e.into_error(false)),
            _ => Ok(Ok(statement)),
        }
    }
}

/// COMMIT answered with the tag ROLLBACK.
fn already_failed() -> Error {
    crate::shared::already_failed(ErrorKind::Database, sqlstate::IN_FAILED_SQL_TRANSACTION)
}

/// The connection was lost with COMMIT sent.
fn outcome_unknown(target: &str) -> Error {
    Error::new(
        ErrorKind::CommitOutcomeUnknown,
        crate::shared::outcome_unknown_message(target),
    )
}

/// An answer as rows.
fn rows_of(answer: Answer, sql: &str) -> Result<Vec<Row>> {
    match answer {
        Answer::Done { rows, .. } => Ok(rows),
        Answer::Failed(e) => Err(e.into_error(asks_nowait(sql))),
        Answer::Skipped => Err(skipped()),
    }
}

/// An answer as an affected-row count.
fn count_of(answer: Answer, sql: &str) -> Result<u64> {
    match answer {
        Answer::Done { tag, .. } => Ok(tag.count),
        Answer::Failed(e) => Err(e.into_error(asks_nowait(sql))),
        Answer::Skipped => Err(skipped()),
    }
}

fn skipped() -> Error {
    Error::new(
        ErrorKind::Database,
        "the statement was not run: BEGIN, sent with it, failed",
    )
}

impl Connection for PgWireConnection {
    fn dialect(&self) -> &dyn Dialect {
        &PgDialect
    }

    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.pooler.check_statement(sql)?;
        let answer = self.run(sql, params, false).await?;
        count_of(answer, sql)
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        self.pooler.check_statement(sql)?;
        let answer = self.run(sql, params, true).await?;
        rows_of(answer, sql)
    }

    async fn batch(&mut self, sql: &str) -> Result<()> {
        self.pooler.check_statement(sql)?;
        if crate::shared::opens_transaction(sql) {
            self.pooler.check_begin()?;
        }
        self.simple(sql).await.map(drop)
    }

    async fn begin(&mut self, opts: &TxOptions) -> Result<()> {
        self.pooler.check_begin()?;
        let sql = PgDialect.begin_sql(opts)?;
        self.simple(&sql).await.map(drop)
    }

    async fn begin_and_query(
        &mut self,
        opts: &TxOptions,
        sql: &str,
        params: &[Value],
    ) -> Result<Result<Vec<Row>>> {
        Ok(self
            .begin_then(opts, sql, params, true)
            .await?
            .and_then(|answer| rows_of(answer, sql)))
    }

    async fn begin_and_execute(
        &mut self,
        opts: &TxOptions,
        sql: &str,
        params: &[Value],
    ) -> Result<Result<u64>> {
        Ok(self
            .begin_then(opts, sql, params, false)
            .await?
            .and_then(|answer| count_of(answer, sql)))
    }

    async fn commit(&mut self) -> Result<()> {
        if self.wire.broken {
            return Err(self.wire.lost(
                "COMMIT was not sent (the server rolls back an open transaction when its \
                 session ends)",
            ));
        }
        match self.simple("COMMIT").await {
            Ok(tag) if tag.rolled_back => Err(already_failed()),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::ConnectionLost => {
                Err(outcome_unknown(&self.wire.target))
            }
            Err(e) => Err(e.context("COMMIT failed and the server rolled the transaction back")),
        }
    }

    async fn execute_all_and_commit(
        &mut self,
        statements: &[(&str, &[Value])],
    ) -> Result<Vec<u64>> {
        self.flush_and_commit(statements).await
    }

    /// Each run under its own Sync (so outside a transaction each commits on its own, as
    /// run one by one), all in one write.
    async fn execute_many(&mut self, sql: &str, rows: &[&[Value]]) -> Result<Vec<u64>> {
        self.pooler.check_statement(sql)?;
        let statements: Vec<(&str, &[Value])> = rows.iter().map(|p| (sql, *p)).collect();
        let answers = self.pipeline(&statements, false, true).await?;
        answers.into_iter().map(|a| count_of(a, sql)).collect()
    }

    /// BEGIN with the first statement, every run of `execute_many`, and the statements
    /// with COMMIT: each one write and one Sync.
    fn pipelines(&self) -> bool {
        true
    }

    async fn rollback(&mut self) -> Result<()> {
        self.simple("ROLLBACK").await.map(drop)
    }

    /// A Sync alone: the server answers with ReadyForQuery.
    async fn ping(&mut self) -> Result<()> {
        self.wire.settle().await?;
        self.wire.sync();
        self.wire.settle().await
    }

    /// The transaction status of a fresh ReadyForQuery.
    async fn server_in_transaction(&mut self) -> Result<bool> {
        self.ping().await?;
        Ok(self.in_transaction())
    }

    async fn recover(&mut self) -> Result<()> {
        if self.wire.broken {
            return Err(self.wire.lost("it cannot be recovered"));
        }
        self.rollback_if_open().await
    }

    async fn reset(&mut self, mode: ResetMode) -> Result<()> {
        match mode {
            ResetMode::None => Ok(()),
            ResetMode::Rollback => self.rollback_if_open().await,
            ResetMode::Full => {
                self.rollback_if_open().await?;
                self.simple(crate::shared::FULL_RESET).await.map(drop)
            }
        }
    }

    fn is_broken(&self) -> bool {
        self.wire.closed_while_idle()
    }

    /// `None` behind a pooler: the server process changes from one transaction to the next.
    fn server_session_id(&self) -> Option<u64> {
        self.wire
            .backend_pid
            .filter(|_| !self.pooler.unnamed())
            .map(u64::from)
    }

    async fn close(mut self) {
        self.wire.terminate().await;
    }
}
