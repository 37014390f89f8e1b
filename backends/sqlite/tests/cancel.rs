//! A future dropped mid-command leaves the connection recoverable: the command finishes on
//! the worker thread, and `recover()` (queued behind it) rolls back what it left open.
//! Steps are ordered with locks held by another connection, never with sleeps.

#![allow(clippy::unwrap_used)]

mod common;

use std::pin::pin;
use std::time::Duration;

use common::{BOUND, exec, open, open_with_timeout, poll_once, scalar, temp_db};
use tokio::time::timeout;
use txkit_core::{Connection, ManagedConnection, SqliteBehavior, TxOptions, TxState};

/// Connection `a` (long busy_timeout) and `b`, on one file with table `t`.
async fn pair() -> (
    tempfile::TempDir,
    txkit_sqlite::SqliteConnection,
    txkit_sqlite::SqliteConnection,
) {
    let (dir, path) = temp_db();
    let mut a = open_with_timeout(&path, BOUND).await;
    exec(&mut a, "CREATE TABLE t (x INTEGER)").await;
    let b = open(&path).await;
    (dir, a, b)
}

fn immediate() -> TxOptions {
    TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate)
}

#[tokio::test]
async fn dropped_execute_then_recover_rolls_back() {
    let (_dir, mut a, mut b) = pair().await;
    b.begin(&immediate()).await.unwrap(); // holds the write lock
    a.begin(&TxOptions::new()).await.unwrap();
    {
        let fut = pin!(a.execute("INSERT INTO t VALUES (1)", &[]));
        // The INSERT waits on b's lock on a's worker thread.
        assert!(poll_once(fut).await.is_pending());
    } // dropped mid-command
    b.commit().await.unwrap(); // the abandoned INSERT can now finish, inside a's transaction
    timeout(BOUND, a.recover()).await.unwrap().unwrap();
    assert!(!a.server_in_transaction().await.unwrap());
    assert_eq!(scalar(&mut a, "SELECT count(*) FROM t").await, 0);
    assert_eq!(scalar(&mut b, "SELECT count(*) FROM t").await, 0);
}

#[tokio::test]
async fn dropped_commit_then_recover() {
    let (_dir, mut a, mut b) = pair().await;
    a.begin(&TxOptions::new()).await.unwrap();
    exec(&mut a, "INSERT INTO t VALUES (1)").await;
    {
        let fut = pin!(a.commit());
        let _ = poll_once(fut).await;
    }
    timeout(BOUND, a.recover()).await.unwrap().unwrap();
    assert!(!a.server_in_transaction().await.unwrap());
    // The COMMIT ran to its end, so recover found nothing to roll back.
    assert_eq!(scalar(&mut b, "SELECT count(*) FROM t").await, 1);
}

#[tokio::test]
async fn dropped_begin_then_recover() {
    let (_dir, mut a, mut b) = pair().await;
    b.begin(&immediate()).await.unwrap();
    {
        let opts = immediate();
        let fut = pin!(a.begin(&opts));
        assert!(poll_once(fut).await.is_pending()); // BEGIN IMMEDIATE waits on b
    }
    b.rollback().await.unwrap();
    timeout(BOUND, a.recover()).await.unwrap().unwrap();
    assert!(!a.server_in_transaction().await.unwrap());
    // a holds no lock: b can write.
    exec(&mut b, "INSERT INTO t VALUES (1)").await;
}

/// Through txkit's guards: cancel the statement after k polls for every k, then use the
/// connection again; it must be idle with nothing of the cancelled transaction kept.
#[tokio::test]
async fn managed_cancel_at_every_poll() {
    for polls in 0..=1 {
        let (_dir, a, mut b) = pair().await;
        let mut a = ManagedConnection::new(a);
        b.begin(&immediate()).await.unwrap();
        {
            let mut tx = a.begin().await.unwrap();
            let mut fut = pin!(tx.execute("INSERT INTO t VALUES (1)", &[]));
            for _ in 0..polls {
                assert!(poll_once(fut.as_mut()).await.is_pending());
            }
        } // statement future and guard dropped
        b.commit().await.unwrap();
        let in_tx = timeout(BOUND, a.server_in_transaction())
            .await
            .unwrap()
            .unwrap();
        assert!(!in_tx, "polls={polls}");
        assert_eq!(a.tx_state(), TxState::Idle);
        assert!(a.is_clean());
        let rows = a.query("SELECT count(*) FROM t", &[]).await.unwrap();
        assert_eq!(rows[0].get::<i64>(0).unwrap(), 0, "polls={polls}");
    }
}

/// An abandoned command that fails (busy_timeout expires) leaves the connection usable.
#[tokio::test]
async fn abandoned_failing_command() {
    let (_dir, path) = temp_db();
    let mut a = open_with_timeout(&path, Duration::from_millis(30)).await;
    exec(&mut a, "CREATE TABLE t (x INTEGER)").await;
    let mut b = open(&path).await;
    b.begin(&immediate()).await.unwrap();
    {
        let fut = pin!(a.execute("INSERT INTO t VALUES (1)", &[]));
        let _ = poll_once(fut).await;
    }
    timeout(BOUND, a.recover()).await.unwrap().unwrap();
    assert!(!a.is_broken());
    b.rollback().await.unwrap();
    exec(&mut a, "INSERT INTO t VALUES (1)").await;
    assert_eq!(scalar(&mut a, "SELECT count(*) FROM t").await, 1);
}
