//! The exchanges with the server, each run on a `Conn` the operation owns (see
//! [`conn_or_op`](crate::conn_or_op)): statements through the prepared-statement cache, text
//! statements, ping, reset, and the server's own transaction status.

use std::sync::Arc;

use mysql_async::consts::StatusFlags;
use mysql_async::prelude::{Protocol, Queryable};
use mysql_async::{ChangeUserOpts, Conn, Params, QueryResult, Statement};
use mysql_common::named_params::ParsedNamedParams;
use txkit_core::{Error, ErrorKind, Result, Row};

use crate::conn_or_op::OpOutput;
use crate::error::{
    ER_GET_ERRNO, ER_LOCK_WAIT_TIMEOUT, ER_UNKNOWN_ERROR, ER_UNSUPPORTED_PS, map_error,
    mentions_nowait, needs_full_rollback, server_code,
};
use crate::value::{column_names, decode_row};

/// The server's status flags from its last OK packet, if the last answer was one.
fn status(conn: &Conn) -> Option<StatusFlags> {
    conn.last_ok_packet().map(|ok| ok.status_flags())
}

/// Whether the server reported an open transaction in its last answer
/// (`SERVER_STATUS_IN_TRANS`); `None` after an error, when the last answer had no status.
pub(crate) fn in_transaction(conn: &Conn) -> Option<bool> {
    status(conn).map(|s| s.contains(StatusFlags::SERVER_STATUS_IN_TRANS))
}

/// Whether autocommit is on (`SERVER_STATUS_AUTOCOMMIT`), as of the last answer.
pub(crate) fn autocommit(conn: &Conn) -> Option<bool> {
    status(conn).map(|s| s.contains(StatusFlags::SERVER_STATUS_AUTOCOMMIT))
}

fn param_count(params: &Params) -> usize {
    match params {
        Params::Positional(values) => values.len(),
        Params::Named(map) => map.len(),
        Params::Empty => 0,
    }
}

/// A txkit error for `err`, after rolling back the whole transaction when InnoDB undid
/// only the failed statement (a lock wait timeout). If that ROLLBACK fails too, the error
/// is ConnectionLost: the connection is discarded and the server rolls back on disconnect.
async fn fail(conn: &mut Conn, err: mysql_async::Error, sql: &str) -> Error {
    let nowait = matches!(
        server_code(&err),
        Some(ER_LOCK_WAIT_TIMEOUT | ER_GET_ERRNO | ER_UNKNOWN_ERROR)
    ) && mentions_nowait(sql);
    let error = map_error(err, nowait);
    if !needs_full_rollback(error.kind()) {
        return error;
    }
    match conn.query_drop("ROLLBACK").await {
        Ok(()) => error.context(
            "txkit rolled back the whole transaction (InnoDB had undone only the failed \
             statement)",
        ),
        Err(rollback) => Error::connection_lost(format!(
            "{error}; the ROLLBACK txkit sent after it failed too ({rollback}), so the \
             connection is given up and the server rolls the transaction back"
        ))
        .with_source(rollback),
    }
}

/// How a statement will be run.
enum Prepared {
    /// Through the prepared-statement cache (binary protocol).
    Statement(Statement),
    /// As text: the server cannot prepare it, and it has no parameters.
    Text,
}

/// Refuses `:name` placeholders: mysql_async would read them as named parameters, which
/// txkit does not bind (and on a mismatch it closes the connection).
fn check_placeholders(sql: &str) -> Result<()> {
    // A named placeholder needs a ':'; most statements have none, and are not parsed here
    // before mysql_async parses them again.
    if !sql.contains(':') {
        return Ok(());
    }
    let named = match ParsedNamedParams::parse(sql.as_bytes()) {
        Ok(parsed) => !parsed.params().is_empty(),
        Err(_) => true,
    };
    if named {
        return Err(Error::config(
            "the statement has a :name placeholder outside quotes; txkit binds positional \
             `?` parameters only (quote a literal ':' or write it as a parameter)",
        ));
    }
    Ok(())
}

async fn prepare(conn: &mut Conn, sql: &str, count: usize) -> Result<Prepared> {
    check_placeholders(sql)?;
    match conn.prep(sql).await {
        Ok(stmt) if usize::from(stmt.num_params()) == count => Ok(Prepared::Statement(stmt)),
        Ok(stmt) => Err(Error::config(format!(
            "the statement has {} `?` placeholders but {count} parameters were given",
            stmt.num_params()
        ))),
        Err(e) if count == 0 && server_code(&e) == Some(ER_UNSUPPORTED_PS) => Ok(Prepared::Text),
        Err(e) => Err(fail(conn, e, sql).await),
    }
}

/// Runs a statement; returns rows affected (rows matched, with `CLIENT_FOUND_ROWS`).
pub(crate) async fn execute(conn: &mut Conn, sql: &str, params: Params) -> Result<OpOutput> {
    let prepared = prepare(conn, sql, param_count(&params)).await?;
    let result = run_prepared(conn, &prepared, sql, params).await;
    release(conn, prepared).await;
    match result {
        Ok(affected) => Ok(OpOutput::Affected(affected)),
        Err(e) => Err(fail(conn, e, sql).await),
    }
}

/// Runs the prepared `sql` once with `params`; the rows it affected, once every answer is
/// read.
async fn run_prepared(
    conn: &mut Conn,
    prepared: &Prepared,
    sql: &str,
    params: Params,
) -> mysql_async::Result<u64> {
    match prepared {
        Prepared::Statement(stmt) => affected(conn.exec_iter(stmt, params).await?).await,
        Prepared::Text => affected(conn.query_iter(sql).await?).await,
    }
}

/// Runs a statement once per parameter set, on one prepared statement; returns each
/// run's affected rows. Every set must have as many values as the statement has
/// placeholders, checked before anything runs. The first failing run stops it.
pub(crate) async fn execute_many(
    conn: &mut Conn,
    sql: &str,
    rows: Vec<Params>,
) -> Result<OpOutput> {
    let count = rows.first().map_or(0, param_count);
    if let Some(i) = rows.iter().position(|p| param_count(p) != count) {
        return Err(Error::config(format!(
            "parameter set {i} has {} value(s) but the first has {count}; every run of one \
             statement takes the same number",
            param_count(&rows[i])
        )));
    }
    let prepared = prepare(conn, sql, count).await?;
    let mut counts = Vec::with_capacity(rows.len());
    let mut result = Ok(());
    for params in rows {
        match run_prepared(conn, &prepared, sql, params).await {
            Ok(n) => counts.push(n),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    release(conn, prepared).await;
    match result {
        Ok(()) => Ok(OpOutput::AffectedEach(counts)),
        Err(e) => Err(fail(conn, e, sql).await),
    }
}

/// Closes a statement that the cache does not keep (`statement_cache_size = 0`): mysql_async
/// would otherwise leave it open on the server. A failure here is an I/O failure, which
/// the connection's state already records.
async fn release(conn: &mut Conn, prepared: Prepared) {
    if let Prepared::Statement(stmt) = prepared {
        if conn.opts().stmt_cache_size() == 0 {
            if let Err(e) = conn.close(stmt).await {
                tracing::debug!(error = %e, "closing an uncached prepared statement");
            }
        }
    }
}

/// Rows affected by a statement, once every answer is read.
async fn affected<P: Protocol>(result: QueryResult<'_, 'static, P>) -> mysql_async::Result<u64> {
    let affected = result.affected_rows();
    result.drop_result().await?;
    Ok(affected)
}

/// Runs a query; returns the rows of its first result set.
pub(crate) async fn query(conn: &mut Conn, sql: &str, params: Params) -> Result<OpOutput> {
    let prepared = prepare(conn, sql, param_count(&params)).await?;
    let result = async {
        match &prepared {
            Prepared::Statement(stmt) => collect(conn.exec_iter(stmt, params).await?).await,
            Prepared::Text => collect(conn.query_iter(sql).await?).await,
        }
    }
    .await;
    release(conn, prepared).await;
    match result {
        Ok(rows) => Ok(OpOutput::Rows(rows)),
        Err(e) => Err(fail(conn, e, sql).await),
    }
}

/// The rows of the first result set, under one shared list of column names; any further
/// result sets are read and dropped.
async fn collect<P: Protocol>(
    mut result: QueryResult<'_, 'static, P>,
) -> mysql_async::Result<Vec<Row>> {
    let names: Arc<[String]> = result
        .columns()
        .map_or_else(|| Arc::from(Vec::new()), |columns| column_names(&columns));
    let rows: Vec<mysql_async::Row> = result.collect().await?;
    result.drop_result().await?;
    Ok(rows
        .into_iter()
        .map(|row| decode_row(row, &names))
        .collect())
}

/// Runs statement text (one or several statements, `;`-separated) and reads every result.
pub(crate) async fn text(conn: &mut Conn, sql: &str) -> Result<OpOutput> {
    match conn.query_drop(sql).await {
        Ok(()) => Ok(OpOutput::Done),
        Err(e) => Err(fail(conn, e, sql).await),
    }
}

/// `COM_PING`.
pub(crate) async fn ping(conn: &mut Conn) -> Result<OpOutput> {
    conn.ping()
        .await
        .map(|()| OpOutput::Done)
        .map_err(|e| map_error(e, false))
}

/// `COM_PING`, then the transaction flag of its OK packet.
pub(crate) async fn ping_in_transaction(conn: &mut Conn) -> Result<OpOutput> {
    ping(conn).await?;
    in_transaction(conn)
        .map(OpOutput::InTransaction)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Database,
                "the server's answer to COM_PING carried no status flags",
            )
        })
}

/// `COM_RESET_CONNECTION` (or `COM_CHANGE_USER` on servers without it): rolls back, drops
/// temporary tables, user variables and prepared statements (mysql_async empties its
/// statement cache with them), releases table and named locks, restores autocommit and
/// session variables. `COM_RESET_CONNECTION` keeps the current database, so a `USE` is
/// undone by selecting the configured database again (a second round trip); with none
/// configured, `COM_CHANGE_USER` is used instead, which leaves no database selected.
/// The server does not change, so the detected [`ServerInfo`](crate::ServerInfo) stays.
pub(crate) async fn reset(conn: &mut Conn) -> Result<OpOutput> {
    let database = conn.opts().db_name().map(str::to_owned);
    let result = match database {
        None => conn.change_user(ChangeUserOpts::default()).await,
        Some(db) => match conn.reset().await {
            Ok(true) => {
                let use_db = format!("USE `{}`", db.replace('`', "``"));
                conn.query_drop(use_db).await
            }
            Ok(false) => conn.change_user(ChangeUserOpts::default()).await,
            Err(e) => Err(e),
        },
    };
    result
        .map(|()| OpOutput::Done)
        .map_err(|e| map_error(e, false).context("resetting the session"))
}
