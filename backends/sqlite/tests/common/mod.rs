//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tempfile::TempDir;
use txkit_core::{Connection, Value};
use txkit_sqlite::{SqliteConnectOptions, SqliteConnection};

/// A bound on every wait in these tests.
pub const BOUND: Duration = Duration::from_secs(20);

/// A fresh directory and the path of a database file inside it.
pub fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("test.db");
    (dir, path)
}

/// Opens a file database with default options.
pub async fn open(path: &Path) -> SqliteConnection {
    SqliteConnectOptions::new(path)
        .connect()
        .await
        .expect("connect")
}

/// Opens a file database with a busy_timeout.
pub async fn open_with_timeout(path: &Path, timeout: Duration) -> SqliteConnection {
    SqliteConnectOptions::new(path)
        .busy_timeout(timeout)
        .connect()
        .await
        .expect("connect")
}

/// An in-memory database.
pub async fn memory() -> SqliteConnection {
    SqliteConnectOptions::memory()
        .connect()
        .await
        .expect("connect")
}

/// The single integer a query returns.
pub async fn scalar(conn: &mut SqliteConnection, sql: &str) -> i64 {
    let rows = conn.query(sql, &[]).await.expect(sql);
    rows[0].get::<i64>(0).expect("integer")
}

/// The single text a query returns.
pub async fn text(conn: &mut SqliteConnection, sql: &str) -> String {
    let rows = conn.query(sql, &[]).await.expect(sql);
    rows[0].get::<String>(0).expect("text")
}

/// Runs a statement without parameters.
pub async fn exec(conn: &mut SqliteConnection, sql: &str) -> u64 {
    conn.execute(sql, &[] as &[Value]).await.expect(sql)
}

/// Polls a future exactly once.
pub async fn poll_once<F: Future>(mut fut: Pin<&mut F>) -> Poll<F::Output> {
    std::future::poll_fn(move |cx| Poll::Ready(fut.as_mut().poll(cx))).await
}

/// Opens a file database with `execution`.
pub async fn open_as(path: &Path, execution: txkit_sqlite::Execution) -> SqliteConnection {
    SqliteConnectOptions::new(path)
        .execution(execution)
        .connect()
        .await
        .expect("connect")
}

/// Waits, boundedly ([`BOUND`]), until `ready()` holds, yielding to other tasks between
/// looks; panics naming `what` if it never does.
pub async fn until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + BOUND;
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {BOUND:?}"
        );
        tokio::task::yield_now().await;
    }
}

/// A plain rusqlite connection to `path` with no busy_timeout: it reports SQLite's own
/// lock state (`BEGIN IMMEDIATE` fails with SQLITE_BUSY at once while another connection
/// holds the write lock).
pub fn probe(path: &Path) -> txkit_sqlite::rusqlite::Connection {
    let probe = txkit_sqlite::rusqlite::Connection::open(path).expect("probe");
    // rusqlite opens with a busy_timeout of 5 s: the probe must answer at once.
    probe
        .busy_timeout(Duration::ZERO)
        .expect("probe busy_timeout");
    probe
}

/// Whether some connection holds the database's write lock, by SQLite's own answer.
pub fn write_locked(probe: &txkit_sqlite::rusqlite::Connection) -> bool {
    match probe.execute_batch("BEGIN IMMEDIATE; ROLLBACK") {
        Ok(()) => false,
        Err(txkit_sqlite::rusqlite::Error::SqliteFailure(e, _))
            if e.code == txkit_sqlite::rusqlite::ErrorCode::DatabaseBusy =>
        {
            true
        }
        Err(e) => panic!("probe: {e}"),
    }
}
