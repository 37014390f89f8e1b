//! [`Session`]: the rusqlite connection as its worker thread holds it, and every operation
//! the async side can ask of it. Nothing here is async; everything runs on the worker.

use std::sync::Arc;

use rusqlite::Statement;
use txkit_core::dialects::sqlite::code_name;
use txkit_core::{Error, ErrorKind, Result, Row, Value};

use crate::codes::SQLITE_READONLY;
use crate::error::map_error;
use crate::options::SqliteConnectOptions;
use crate::setup;
use crate::value::{from_sql, to_sql};

/// The worker thread's connection and what it remembers between commands.
pub(crate) struct Session {
    conn: rusqlite::Connection,
    options: SqliteConnectOptions,
    /// A read-only transaction is open: `PRAGMA query_only` is on until it ends.
    read_only_tx: bool,
}

impl Session {
    /// Opens the database as `options` say (on the worker thread).
    pub(crate) fn open(options: SqliteConnectOptions) -> Result<Self> {
        let conn = setup::open(&options)?;
        Ok(Self {
            conn,
            options,
            read_only_tx: false,
        })
    }

    /// Whether a transaction is open, by SQLite's own autocommit flag.
    pub(crate) fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// Runs one statement; returns the rows it changed (0 for statements that change none).
    pub(crate) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let before = self.conn.total_changes();
        step_all(&self.conn, sql, params).map_err(|e| self.annotate(e))?;
        Ok(changed_since(&self.conn, before))
    }

    /// The options the connection was opened with.
    pub(crate) fn options(&self) -> &SqliteConnectOptions {
        &self.options
    }

    /// Runs `statements[counts.len()..]` in order, pushing each one's changed-row count
    /// onto `counts`; consecutive statements with the same SQL share one prepared statement
    /// (bound and stepped again, not looked up again). Stops at the first error, with
    /// `counts` saying how far it got, so a caller can run it again to go on from there.
    pub(crate) fn execute_each<S, P>(
        &mut self,
        statements: &[(S, P)],
        counts: &mut Vec<u64>,
    ) -> Result<()>
    where
        S: AsRef<str>,
        P: AsRef<[Value]>,
    {
        while let Some((sql, _)) = statements.get(counts.len()) {
            let sql = sql.as_ref();
            let run = statements[counts.len()..]
                .iter()
                .take_while(|(s, _)| s.as_ref() == sql)
                .map(|(_, params)| params.as_ref());
            self.run_same(sql, run, counts)?;
        }
        Ok(())
    }

    /// Runs `sql` once for each of `rows[counts.len()..]` on one prepared statement,
    /// pushing each run's changed-row count onto `counts`; resumable like
    /// [`execute_each`](Self::execute_each).
    pub(crate) fn execute_many<P: AsRef<[Value]>>(
        &mut self,
        sql: &str,
        rows: &[P],
        counts: &mut Vec<u64>,
    ) -> Result<()> {
        let rest = rows.get(counts.len()..).unwrap_or_default();
        self.run_same(sql, rest.iter().map(AsRef::as_ref), counts)
    }

    /// `sql` prepared (from the cache) once, then bound and run for each parameter set.
    fn run_same<'p>(
        &self,
        sql: &str,
        rows: impl Iterator<Item = &'p [Value]>,
        counts: &mut Vec<u64>,
    ) -> Result<()> {
        let conn = &self.conn;
        let mut stmt = conn
            .prepare_cached(sql)
            .map_err(|e| self.annotate(map_error(e)))?;
        for params in rows {
            let before = conn.total_changes();
            run_bound(&mut stmt, params).map_err(|e| self.annotate(e))?;
            counts.push(changed_since(conn, before));
        }
        Ok(())
    }

    /// Runs one query; returns its rows, all sharing one list of column names.
    pub(crate) fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        read_rows(&self.conn, sql, params).map_err(|e| self.annotate(e))
    }

    /// Runs statement text without parameters (one or more statements).
    pub(crate) fn batch(&mut self, sql: &str) -> Result<()> {
        self.conn
            .execute_batch(sql)
            .map_err(|e| self.annotate(map_error(e)))
    }

    /// Begins a transaction with `begin_sql`; a read-only one also turns `query_only` on,
    /// in the same command, so the transaction never runs without it.
    pub(crate) fn begin(&mut self, begin_sql: &str, read_only: bool) -> Result<()> {
        if self.in_transaction() {
            return Err(Error::config(
                "a transaction is already open on this SQLite connection; commit or roll it \
                 back first, or use a savepoint for a nested one",
            ));
        }
        self.run_cached(begin_sql)?;
        if read_only {
            // After BEGIN: query_only refuses BEGIN IMMEDIATE/EXCLUSIVE themselves.
            if let Err(e) = self.set_query_only(true) {
                let _ = self.run_cached("ROLLBACK");
                return Err(e.context("making the transaction read-only"));
            }
            self.read_only_tx = true;
        }
        Ok(())
    }

    /// Commits. When SQLite refuses (BUSY: a reader holds its lock in rollback-journal
    /// mode), the transaction stays open and the error says so by its code.
    pub(crate) fn commit(&mut self) -> Result<()> {
        self.run_cached("COMMIT")
    }

    /// Rolls back the open transaction, if any; succeeds when none is open.
    pub(crate) fn rollback(&mut self) -> Result<()> {
        if self.in_transaction() {
            self.run_cached("ROLLBACK")?;
        }
        Ok(())
    }

    /// The cheapest check that the database handle works.
    pub(crate) fn ping(&mut self) -> Result<()> {
        let mut stmt = self.conn.prepare_cached("SELECT 1").map_err(map_error)?;
        stmt.query_row([], |_| Ok(())).map_err(map_error)
    }

    /// A full reset: rolls back, drops cached statements, detaches attached databases,
    /// drops temporary tables, views and triggers, and re-applies the connection settings
    /// (busy_timeout, foreign_keys, synchronous, query_only off).
    pub(crate) fn reset_full(&mut self) -> Result<()> {
        self.rollback()?;
        self.conn.flush_prepared_statement_cache();
        setup::clear_session_objects(&self.conn)?;
        self.set_query_only(false)?;
        self.read_only_tx = false;
        setup::apply_session_settings(&self.conn, &self.options)
    }

    /// Runs after every command: once a read-only transaction has ended (by commit,
    /// rollback, or SQLite rolling it back on its own), `query_only` goes off again.
    pub(crate) fn after_command(&mut self) -> Result<()> {
        if self.read_only_tx && !self.in_transaction() {
            self.set_query_only(false)?;
            self.read_only_tx = false;
        }
        Ok(())
    }

    /// Closes the connection (rolling back anything open).
    pub(crate) fn close(self) {
        if let Err((_, e)) = self.conn.close() {
            tracing::warn!(error = %e, "closing a SQLite connection failed; it was dropped");
        }
    }

    fn set_query_only(&self, on: bool) -> Result<()> {
        self.run_cached(if on {
            "PRAGMA query_only = ON"
        } else {
            "PRAGMA query_only = OFF"
        })
    }

    /// Runs a parameterless control statement (BEGIN, COMMIT, …) from the statement
    /// cache, sparing it a parse on every transaction.
    fn run_cached(&self, sql: &str) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_error)?;
        stmt.raw_execute().map(drop).map_err(map_error)
    }

    /// Says why a write failed inside a read-only transaction.
    fn annotate(&self, e: Error) -> Error {
        if self.read_only_tx && e.code() == Some(code_name(SQLITE_READONLY).as_str()) {
            e.context("this transaction is read-only")
        } else {
            e
        }
    }
}

/// The rows the statement just run changed, given `total_changes()` from before it.
/// changes() keeps its value from the last INSERT/UPDATE/DELETE; it is trusted only when
/// this statement changed something.
fn changed_since(conn: &rusqlite::Connection, before: u64) -> u64 {
    if conn.total_changes() == before {
        0
    } else {
        conn.changes()
    }
}

/// Runs a statement to its end, discarding any rows it returns (`RETURNING`, PRAGMA).
fn step_all(conn: &rusqlite::Connection, sql: &str, params: &[Value]) -> Result<()> {
    let mut stmt = conn.prepare_cached(sql).map_err(map_error)?;
    run_bound(&mut stmt, params)
}

/// Binds `params` and runs the prepared statement to its end, discarding any rows; the
/// statement is reset after, ready to be bound again.
fn run_bound(stmt: &mut Statement<'_>, params: &[Value]) -> Result<()> {
    bind(stmt, params)?;
    let mut rows = stmt.raw_query();
    while rows.next().map_err(map_error)?.is_some() {}
    Ok(())
}

/// Runs a query and reads every row.
fn read_rows(conn: &rusqlite::Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(sql).map_err(map_error)?;
    bind(&mut stmt, params)?;
    let columns: Arc<[String]> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let width = columns.len();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(map_error)? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(from_sql(row.get_ref(i).map_err(map_error)?));
        }
        out.push(Row::new(Arc::clone(&columns), values));
    }
    Ok(out)
}

/// Binds `params` to the statement's placeholders, in order.
fn bind(stmt: &mut Statement<'_>, params: &[Value]) -> Result<()> {
    let expected = stmt.parameter_count();
    if expected != params.len() {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "the statement has {expected} parameter placeholder(s) but {} value(s) were \
                 given",
                params.len()
            ),
        ));
    }
    for (i, value) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, to_sql(value))
            .map_err(map_error)?;
    }
    Ok(())
}
