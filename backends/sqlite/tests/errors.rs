//! Each SQLite error code that can be provoked, provoked on a real database, and the kind
//! txkit maps it to.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{exec, memory, open, open_with_timeout, temp_db};
use txkit_core::{
    Connection, ErrorKind, ManagedConnection, SqliteBehavior, TxOptions, Value, params,
};
use txkit_sqlite::{codes, map_error};

#[tokio::test]
async fn busy_is_a_retryable_lock_timeout() {
    let (_dir, path) = temp_db();
    let mut holder = open(&path).await;
    exec(&mut holder, "CREATE TABLE t (x INTEGER)").await;
    let mut waiter = open_with_timeout(&path, Duration::from_millis(50)).await;

    holder
        .begin(&TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate))
        .await
        .unwrap();
    let e = waiter
        .execute("INSERT INTO t VALUES (1)", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LockTimeout, "{e}");
    assert!(e.is_retryable());
    assert!(e.is_lock_failure());
    assert_eq!(e.code(), Some("SQLITE_BUSY"));
    assert_eq!(e.backend(), Some("sqlite"));
    assert!(e.message().starts_with("database is locked"), "{e}");
    holder.rollback().await.unwrap();

    // Once the lock is gone, the same write succeeds.
    assert_eq!(
        waiter
            .execute("INSERT INTO t VALUES (1)", &[])
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn busy_snapshot_is_a_serialization_failure() {
    let (_dir, path) = temp_db();
    let mut a = ManagedConnection::new(open(&path).await);
    let mut b = open(&path).await;
    a.execute("CREATE TABLE t (x INTEGER)", &[]).await.unwrap();

    let mut tx = a.begin().await.unwrap(); // DEFERRED
    tx.query("SELECT count(*) FROM t", &[]).await.unwrap(); // snapshot taken
    exec(&mut b, "INSERT INTO t VALUES (1)").await; // another writer commits
    let e = tx
        .execute("INSERT INTO t VALUES (2)", &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SerializationFailure, "{e}");
    assert!(e.is_retryable());
    assert_eq!(e.code(), Some("SQLITE_BUSY_SNAPSHOT"));
    tx.rollback().await.unwrap();
    assert!(!a.server_in_transaction().await.unwrap());

    // Retrying the whole transaction succeeds.
    let mut tx = a.begin().await.unwrap();
    tx.query("SELECT count(*) FROM t", &[]).await.unwrap();
    tx.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
    tx.commit().await.unwrap();
}

#[test]
fn locked_by_a_pending_statement_on_the_same_connection() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);")
        .unwrap();
    let mut stmt = conn.prepare("SELECT x FROM t").unwrap();
    let mut rows = stmt.query([]).unwrap();
    assert!(rows.next().unwrap().is_some());
    let e = map_error(conn.execute_batch("DROP TABLE t").unwrap_err());
    assert_eq!(e.kind(), ErrorKind::LockNotAvailable, "{e}");
    assert!(e.is_retryable());
    assert_eq!(e.code(), Some("SQLITE_LOCKED"));
}

#[test]
fn locked_sharedcache_between_connections_of_one_shared_cache() {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_SHARED_CACHE;
    let uri = "file:txkit_locked_sharedcache?mode=memory&cache=shared";
    let a = rusqlite::Connection::open_with_flags(uri, flags).unwrap();
    let b = rusqlite::Connection::open_with_flags(uri, flags).unwrap();
    a.execute_batch("CREATE TABLE t (x); BEGIN; INSERT INTO t VALUES (1);")
        .unwrap();
    let e = map_error(
        b.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
            .unwrap_err(),
    );
    assert_eq!(e.kind(), ErrorKind::LockNotAvailable, "{e}");
    assert_eq!(e.code(), Some("SQLITE_LOCKED_SHAREDCACHE"));
    a.execute_batch("ROLLBACK").unwrap();
}

async fn constraint_error(setup: &str, sql: &str) -> txkit_core::Error {
    let mut conn = memory().await;
    conn.batch(setup).await.unwrap();
    conn.execute(sql, &[]).await.unwrap_err()
}

#[tokio::test]
async fn constraints() {
    let cases: [(&str, &str, ErrorKind, &str, i32); 5] = [
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT UNIQUE); \
             INSERT INTO t VALUES (1, 'a@x');",
            "INSERT INTO t VALUES (2, 'a@x')",
            ErrorKind::UniqueViolation,
            "SQLITE_CONSTRAINT_UNIQUE",
            codes::SQLITE_CONSTRAINT_UNIQUE,
        ),
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT); \
             INSERT INTO t VALUES (1, 'a@x');",
            "INSERT INTO t VALUES (1, 'b@x')",
            ErrorKind::UniqueViolation,
            "SQLITE_CONSTRAINT_PRIMARYKEY",
            codes::SQLITE_CONSTRAINT_PRIMARYKEY,
        ),
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
            "INSERT INTO t (id) VALUES (1)",
            ErrorKind::Database,
            "SQLITE_CONSTRAINT_NOTNULL",
            codes::SQLITE_CONSTRAINT_NOTNULL,
        ),
        (
            "CREATE TABLE t (cents INTEGER CHECK (cents >= 0));",
            "INSERT INTO t VALUES (-1)",
            ErrorKind::Database,
            "SQLITE_CONSTRAINT_CHECK",
            codes::SQLITE_CONSTRAINT_CHECK,
        ),
        (
            "CREATE TABLE parent (id INTEGER PRIMARY KEY); \
             CREATE TABLE child (parent_id INTEGER REFERENCES parent (id));",
            "INSERT INTO child VALUES (42)",
            ErrorKind::Database,
            "SQLITE_CONSTRAINT_FOREIGNKEY",
            codes::SQLITE_CONSTRAINT_FOREIGNKEY,
        ),
    ];
    for (setup, sql, kind, code, number) in cases {
        let e = constraint_error(setup, sql).await;
        assert_eq!(e.kind(), kind, "{code}: {e}");
        assert_eq!(e.code(), Some(code), "{e}");
        assert!(!e.is_retryable());
        assert!(e.message().contains("constraint failed"), "{e}");
        let source = std::error::Error::source(&e).expect("rusqlite source");
        let raw = source
            .downcast_ref::<rusqlite::Error>()
            .and_then(rusqlite::Error::sqlite_error)
            .expect("sqlite failure");
        assert_eq!(raw.extended_code, number);
    }
}

#[tokio::test]
async fn syntax_errors_keep_sqlite_message() {
    let mut conn = memory().await;
    let e = conn.execute("SELEKT 1", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Database);
    assert_eq!(e.code(), Some("SQLITE_ERROR"));
    assert!(e.message().contains("syntax error"), "{e}");
}

#[tokio::test]
async fn not_a_database_is_config() {
    let (_dir, path) = temp_db();
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    let e = txkit_sqlite::SqliteConnectOptions::new(&path)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert_eq!(e.code(), Some("SQLITE_NOTADB"));
}

#[tokio::test]
async fn parameter_count_mismatch_is_config() {
    let mut conn = memory().await;
    let e = conn.execute("SELECT ?, ?", &params![1]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("2 parameter"), "{e}");
    let e = conn
        .execute("SELECT 1; SELECT 2", &[] as &[Value])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.to_string().contains("batch()"), "{e}");
}
