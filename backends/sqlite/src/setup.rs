//! Opening a database and applying [`SqliteConnectOptions`] to the new connection. Runs off
//! the async runtime (on the worker thread, or a blocking thread for inline execution),
//! since opening and switching to WAL touch the disk and may wait on locks.

use rusqlite::{Connection, OpenFlags};
use txkit_core::{Error, Result};

use crate::busy::{decline_busy, set_timeout, sleeping_busy};
use crate::error::map_error;
use crate::file;
use crate::options::{Execution, JournalMode, OpenMode, SqliteConnectOptions, Target};

/// Opens the database and applies every setting.
pub(crate) fn open(options: &SqliteConnectOptions) -> Result<Connection> {
    options.validate()?;
    let flags = open_flags(options.mode);
    let conn = match &options.target {
        Target::Memory => Connection::open_in_memory_with_flags(flags)
            .map_err(|e| map_error(e).context("opening an in-memory SQLite database"))?,
        Target::File(path) => {
            file::prepare(path, options.mode)?;
            Connection::open_with_flags(path, flags).map_err(|e| {
                map_error(e).context(format!("opening SQLite database {}", path.display()))
            })?
        }
    };
    conn.set_prepared_statement_cache_capacity(options.statement_cache_capacity);
    // A sleeping busy handler first, so switching the journal mode waits for other
    // connections (this runs off the async runtime in either execution mode).
    set_busy_timeout(&conn, options)?;
    if let Some(mode) = options.effective_journal_mode() {
        set_journal_mode(&conn, mode)?;
    }
    apply_session_settings(&conn, options)?;
    Ok(conn)
}

/// A busy handler that sleeps SQLite's pauses up to busy_timeout, as SQLite's own does,
/// and counts its waits ([`crate::busy`]). It runs on the thread that runs the statements,
/// which is told the timeout here. (SQLite's `PRAGMA busy_timeout` then reads 0: the
/// timeout is the connection's option.)
fn set_busy_timeout(conn: &Connection, options: &SqliteConnectOptions) -> Result<()> {
    set_timeout(options.busy_timeout);
    conn.busy_handler(Some(sleeping_busy))
        .map_err(|e| map_error(e).context("setting the busy handler"))
}

/// The settings that live on the connection rather than in the file: how lock waits are
/// made (busy_timeout, or for inline execution a handler that leaves the wait to async
/// code), foreign_keys and synchronous (applied again by a full reset).
pub(crate) fn apply_session_settings(
    conn: &Connection,
    options: &SqliteConnectOptions,
) -> Result<()> {
    set_busy_mode(conn, options, options.execution == Execution::Thread)?;
    conn.pragma_update(None, "foreign_keys", options.foreign_keys)
        .map_err(|e| map_error(e).context("setting foreign_keys"))?;
    conn.pragma_update(
        None,
        "synchronous",
        options.effective_synchronous().as_str(),
    )
    .map_err(|e| map_error(e).context("setting synchronous"))
}

/// How lock waits are made: SQLite's sleeping busy handler up to busy_timeout
/// (`sleeping`, for a thread of the connection's own), or the inline handler that declines
/// and leaves the wait to async code.
pub(crate) fn set_busy_mode(
    conn: &Connection,
    options: &SqliteConnectOptions,
    sleeping: bool,
) -> Result<()> {
    if sleeping {
        set_busy_timeout(conn, options)
    } else {
        conn.busy_handler(Some(decline_busy))
            .map_err(|e| map_error(e).context("setting the busy handler"))
    }
}

fn open_flags(mode: OpenMode) -> OpenFlags {
    // No SQLITE_OPEN_URI: a path is always a path. No mutex: one thread owns the connection.
    let access = match mode {
        OpenMode::ReadWriteCreate => {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        }
        OpenMode::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
        OpenMode::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
    };
    access | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

/// Sets the journal mode and checks SQLite took it: SQLite answers with the mode in force
/// and does not report a refusal otherwise.
fn set_journal_mode(conn: &Connection, mode: JournalMode) -> Result<()> {
    let got: String = conn
        .pragma_update_and_check(None, "journal_mode", mode.as_str(), |row| row.get(0))
        .map_err(|e| map_error(e).context(format!("setting journal_mode={}", mode.as_str())))?;
    if got.eq_ignore_ascii_case(mode.as_str()) {
        Ok(())
    } else {
        Err(Error::config(format!(
            "journal_mode={} was asked for but SQLite kept journal_mode={got} (an in-memory \
             or read-only database, or a file system without shared memory, cannot switch)",
            mode.as_str()
        )))
    }
}

/// Undoes what SQL can leave on a connection beyond txkit's own settings: detaches every
/// attached database and drops every temporary view, trigger and table (with their
/// indexes). Other `PRAGMA`s a user set stay; [`apply_session_settings`] puts back the
/// ones txkit sets.
pub(crate) fn clear_session_objects(conn: &rusqlite::Connection) -> Result<()> {
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    let attached: Vec<String> = collect(
        conn,
        "SELECT name FROM pragma_database_list WHERE name NOT IN ('main', 'temp')",
    )?;
    for name in attached {
        conn.execute_batch(&format!("DETACH DATABASE {}", quote(&name)))
            .map_err(map_error)?;
    }
    for kind in ["view", "trigger", "table"] {
        let names = collect(
            conn,
            &format!(
                "SELECT name FROM temp.sqlite_master WHERE type = '{kind}' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            ),
        )?;
        for name in names {
            conn.execute_batch(&format!("DROP {kind} IF EXISTS temp.{}", quote(&name)))
                .map_err(map_error)?;
        }
    }
    Ok(())
}

/// The first column of every row `sql` returns, as text.
fn collect(conn: &rusqlite::Connection, sql: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(sql).map_err(map_error)?;
    let rows = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(map_error)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(map_error)
}
