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
