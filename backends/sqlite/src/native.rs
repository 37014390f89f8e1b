//! [`Native`]: the rusqlite connection as the thread that runs it holds it (the caller's
//! with inline execution, a worker's with thread execution), and every operation the async
//! side can ask of it. Nothing here is async. (Not "session": that is txkit's unit of work.)

use std::sync::Arc;

use rusqlite::Statement;
use txkit_core::dialects::sqlite::code_name;
use txkit_core::{Error, ErrorKind, Result, Row, Value};

use crate::checkpointer::SAFETY_NET_PAGES;
use crate::codes::SQLITE_READONLY;
use crate::error::map_error;
use crate::file_locks::{FileLocks, GatePermit};
use crate::options::{JournalMode, OpenMode, SqliteConnectOptions};
use crate::setup;
use crate::value::{from_sql, to_sql};

/// The rusqlite connection and what it remembers between commands.
pub(crate) struct Native {
    conn: rusqlite::Connection,
    options: SqliteConnectOptions,
    /// A read-only transaction is open: `PRAGMA query_only` is on until it ends.
    read_only_tx: bool,
    /// This connection's place at its file's write gate.
    turn: Turn,
}

impl Native {
    /// Opens the database as `options` say (on the worker thread).
    pub(crate) fn open(options: SqliteConnectOptions) -> Result<Self> {
        let conn = setup::open(&options)?;
        // After opening, so that the file exists and its path resolves to the same key
        // for every connection (the first one may have just created it).
        let locks = options.filename().map(FileLocks::for_file);
        if let Some(locks) = &locks
            && options.effective_journal_mode() == Some(JournalMode::Wal)
            && options.mode != OpenMode::ReadOnly
            && locks.checkpoint_in_background()
        {
            // Checkpoints run on the file's own thread; this is only a safety net.
            conn.pragma_update(None, "wal_autocheckpoint", SAFETY_NET_PAGES)
                .map_err(|e| map_error(e).context("setting wal_autocheckpoint"))?;
        }
        Ok(Self {
            conn,
            options,
            read_only_tx: false,
            turn: Turn {
                locks,
                permit: None,
                wanted: false,
            },
        })
    }

    /// The locks this connection shares with the process's other connections to its file.
    pub(crate) fn locks(&self) -> Option<&FileLocks> {
        self.turn.locks.as_ref()
    }

    /// Switches how this connection waits for another's lock while it runs on a blocking
    /// thread: SQLite's sleeping busy handler (`true`), or back to the inline one.
    pub(crate) fn sleep_on_busy(&mut self, sleeping: bool) -> Result<()> {
        if sleeping {
            crate::busy::take_calls();
        } else {
            self.count_busy_waits();
        }
        setup::set_busy_mode(&self.conn, &self.options, sleeping)
    }

    /// Adds the busy-handler calls this thread saw during the last step to the file's count.
    pub(crate) fn count_busy_waits(&self) {
        let calls = crate::busy::take_calls();
        if let Some(locks) = &self.turn.locks {
            locks.note_busy_waits(calls);
        }
    }

    /// Hands this connection the write gate's permit the async side waited for.
    pub(crate) fn hold_gate(&mut self, permit: GatePermit) {
        self.turn.permit = Some(permit);
    }

    /// Whether the last step stopped before running because it needed the write gate, which
    /// another connection held (and clears the mark).
    pub(crate) fn take_gate_wanted(&mut self) -> bool {
        std::mem::take(&mut self.turn.wanted)
    }

    /// Whether a transaction is open, by SQLite's own autocommit flag.
    pub(crate) fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// Runs one statement; returns the rows it changed (0 for statements that change none).
    pub(crate) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let before = self.conn.total_changes();
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_error)?;
        self.turn
            .claim_for(&self.conn, &stmt, sql, self.read_only_tx)?;
        run_bound(&mut stmt, params).map_err(|e| self.annotate(e))?;
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
        &mut self,
        sql: &str,
        rows: impl Iterator<Item = &'p [Value]>,
        counts: &mut Vec<u64>,
    ) -> Result<()> {
        let conn = &self.conn;
        let mut stmt = conn
            .prepare_cached(sql)
            .map_err(|e| self.annotate(map_error(e)))?;
        self.turn.claim_for(conn, &stmt, sql, self.read_only_tx)?;
        for params in rows {
            let before = conn.total_changes();
            run_bound(&mut stmt, params).map_err(|e| self.annotate(e))?;
            counts.push(changed_since(conn, before));
        }
        Ok(())
    }

    /// Runs one query; returns its rows, all sharing one list of column names.
    pub(crate) fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_error)?;
        self.turn
            .claim_for(&self.conn, &stmt, sql, self.read_only_tx)?;
        read_rows(&mut stmt, params).map_err(|e| self.annotate(e))
    }

    /// Runs statement text without parameters (one or more statements).
    /// Takes the write gate first: a script is taken to write.
    pub(crate) fn batch(&mut self, sql: &str) -> Result<()> {
        self.turn.claim(&self.conn, !self.read_only_tx)?;
        self.conn
            .execute_batch(sql)
            .map_err(|e| self.annotate(map_error(e)))
    }

    /// Begins a transaction with `begin_sql`; a read-only one also turns `query_only` on,
    /// in the same command, so the transaction never runs without it.
    pub(crate) fn begin(&mut self, begin_sql: &str, read_only: bool) -> Result<()> {
        if self.in_transaction() {
            return Err(Error::usage(
                "a transaction is already open on this SQLite connection; commit or roll it \
                 back first, or use a savepoint for a nested one",
            ));
        }
        self.turn.claim(&self.conn, begins_writing(begin_sql))?;
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
    /// Outside a transaction it also gives back the write gate, letting the next writer
    /// of this process in.
    pub(crate) fn after_command(&mut self) -> Result<()> {
        self.leave_gate_if_done();
        if self.read_only_tx && !self.in_transaction() {
            self.set_query_only(false)?;
            self.read_only_tx = false;
        }
        Ok(())
    }

    /// Gives the write gate back once this connection's write transaction has ended (or a
    /// single statement outside one has run), letting the next writer of this process in.
    pub(crate) fn leave_gate_if_done(&mut self) {
        if !self.in_transaction()
            && self.turn.permit.take().is_some()
            && let Some(locks) = &self.turn.locks
        {
            locks.wrote();
        }
    }

    /// Closes the connection (rolling back anything open).
    /// The file's last connection of this process also waits for its checkpoint thread to
    /// close, so that the WAL has been folded into the file when this returns.
    pub(crate) fn close(mut self) {
        let locks = self.turn.locks.take();
        let permit = self.turn.permit.take();
        if let Err((_, e)) = self.conn.close() {
            tracing::warn!(error = %e, "closing a SQLite connection failed; it was dropped");
        }
        // The gate goes back once closing has rolled back whatever this connection wrote.
        drop(permit);
        if let Some(locks) = locks {
            // Closing rolled back anything open, releasing its lock.
            locks.released();
            locks.closed();
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

/// A connection's place at its file's write gate ([`FileLocks`]).
struct Turn {
    /// What this process's connections to the file share (none for `:memory:`).
    locks: Option<FileLocks>,
    /// The gate's permit, held until this connection's write transaction ends.
    permit: Option<GatePermit>,
    /// A statement needed the gate, found it taken, and did not run.
    wanted: bool,
}

impl Turn {
    /// [`claim`](Self::claim) for a prepared statement: it takes the write lock when it
    /// writes (by SQLite's own reading of it) or begins IMMEDIATE or EXCLUSIVE — unless the
    /// transaction is `read_only`, where SQLite refuses the write itself (SQLITE_READONLY)
    /// and waiting in line for it would only delay the refusal.
    fn claim_for(
        &mut self,
        conn: &rusqlite::Connection,
        stmt: &Statement<'_>,
        sql: &str,
        read_only: bool,
    ) -> Result<()> {
        if self.locks.is_none() || self.permit.is_some() || read_only {
            return Ok(());
        }
        self.claim(conn, !stmt.readonly() || begins_writing(sql))
    }

    /// Before a statement that takes SQLite's write lock when `writes`: makes sure this
    /// connection holds the file's write gate. Without waiting: taken at once when free;
    /// when another connection holds it, an error that marks the gate as wanted, so that the
    /// step is sent again once the async side has waited its turn. Not needed for
    /// `:memory:`; and not waited for by a transaction that already holds a lock: one that
    /// holds the write lock needs nothing more, and one that has read and now writes while
    /// another holds the write lock gets SQLITE_BUSY from SQLite at once (its refusal of a
    /// deadlock, or of a write on a snapshot about to go stale), which waiting in line would
    /// only delay — and outside WAL the gate's holder may be waiting for its shared lock.
    fn claim(&mut self, conn: &rusqlite::Connection, writes: bool) -> Result<()> {
        let Some(locks) = &self.locks else {
            return Ok(());
        };
        if !writes || self.permit.is_some() {
            return Ok(());
        }
        if let Some(permit) = locks.try_gate() {
            self.permit = Some(permit);
            return Ok(());
        }
        let state = conn.transaction_state(None::<&str>).map_err(map_error)?;
        match state {
            rusqlite::TransactionState::None => {
                self.wanted = true;
                Err(Error::new(
                    ErrorKind::LockTimeout,
                    "another connection of this process holds the write gate; the statement \
                     did not run and is sent again once it is this connection's turn",
                ))
            }
            // SQLite answers these itself, at once.
            _ => Ok(()),
        }
    }
}

/// Whether `sql` is a BEGIN that takes the write lock at once (IMMEDIATE or EXCLUSIVE),
/// which SQLite's `readonly()` counts as not writing.
fn begins_writing(sql: &str) -> bool {
    let mut words = sql.split_ascii_whitespace();
    words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("BEGIN"))
        && words.next().is_some_and(|w| {
            w.eq_ignore_ascii_case("IMMEDIATE") || w.eq_ignore_ascii_case("EXCLUSIVE")
        })
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

/// Binds `params` and runs the prepared statement to its end, discarding any rows; the
/// statement is reset after, ready to be bound again.
fn run_bound(stmt: &mut Statement<'_>, params: &[Value]) -> Result<()> {
    bind(stmt, params)?;
    let mut rows = stmt.raw_query();
    while rows.next().map_err(map_error)?.is_some() {}
    Ok(())
}

/// Runs a prepared query and reads every row.
fn read_rows(stmt: &mut Statement<'_>, params: &[Value]) -> Result<Vec<Row>> {
    bind(stmt, params)?;
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
