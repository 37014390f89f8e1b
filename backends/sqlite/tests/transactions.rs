//! Transactions through txkit's guards (`ManagedConnection`) and the raw connection:
//! begin behaviours, isolation, read-only, savepoints, dropped guards, commit under BUSY.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{exec, memory, open, open_with_timeout, scalar, temp_db};
use txkit_core::{
    Connection, ErrorKind, IsolationLevel, ManagedConnection, SqliteBehavior, TxOptions, TxState,
    params,
};
use txkit_sqlite::{JournalMode, SqliteConnectOptions};

async fn managed_with_table() -> ManagedConnection<txkit_sqlite::SqliteConnection> {
    let mut conn = ManagedConnection::new(memory().await);
    conn.execute("CREATE TABLE t (x INTEGER)", &[])
        .await
        .unwrap();
    conn
}

async fn count(conn: &mut ManagedConnection<txkit_sqlite::SqliteConnection>) -> i64 {
    let rows = conn.query("SELECT count(*) FROM t", &[]).await.unwrap();
    rows[0].get::<i64>(0).unwrap()
}

#[tokio::test]
async fn commit_keeps_and_rollback_discards() {
    let mut conn = managed_with_table().await;
    let mut tx = conn.begin().await.unwrap();
    tx.execute("INSERT INTO t VALUES (?)", &params![1])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    tx.execute("INSERT INTO t VALUES (?)", &params![2])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(count(&mut conn).await, 1);
    assert_eq!(conn.tx_state(), TxState::Idle);
    assert!(!conn.server_in_transaction().await.unwrap());
}

#[tokio::test]
async fn dropped_guard_rolls_back() {
    let mut conn = managed_with_table().await;
    {
        let mut tx = conn.begin().await.unwrap();
        tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
        assert!(tx.tx_state() != TxState::Idle);
    }
    assert!(matches!(conn.tx_state(), TxState::RollbackOwed { .. }));
    assert_eq!(count(&mut conn).await, 0);
    assert_eq!(conn.tx_state(), TxState::Idle);
    assert!(!conn.server_in_transaction().await.unwrap());
}

#[tokio::test]
async fn savepoints_nest_commit_and_roll_back() {
    let mut conn = managed_with_table().await;
    let mut tx = conn.begin().await.unwrap();
    tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    {
        let mut sp = tx.savepoint().await.unwrap();
        sp.execute("INSERT INTO t VALUES (2)", &[]).await.unwrap();
        sp.rollback().await.unwrap();
    }
    {
        let mut sp = tx.savepoint_named("outer_sp").await.unwrap();
        sp.execute("INSERT INTO t VALUES (3)", &[]).await.unwrap();
        {
            let mut inner = sp.savepoint().await.unwrap();
            assert_eq!(inner.depth(), 3);
            inner
                .execute("INSERT INTO t VALUES (4)", &[])
                .await
                .unwrap();
            // dropped: rolled back to `inner` before the next statement
        }
        sp.execute("INSERT INTO t VALUES (5)", &[]).await.unwrap();
        sp.commit().await.unwrap();
    }
    tx.commit().await.unwrap();
    let rows = conn.query("SELECT x FROM t ORDER BY x", &[]).await.unwrap();
    let xs: Vec<i64> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    assert_eq!(xs, vec![1, 3, 5]);
}

#[tokio::test]
async fn every_isolation_level_is_accepted() {
    let mut conn = managed_with_table().await;
    for level in IsolationLevel::ALL {
        let mut tx = conn
            .begin_with(TxOptions::new().isolation(level))
            .await
            .unwrap();
        tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(count(&mut conn).await, 4);
}

#[tokio::test]
async fn read_only_transactions_refuse_writes() {
    let mut conn = managed_with_table().await;
    for behavior in [
        SqliteBehavior::Deferred,
        SqliteBehavior::Immediate,
        SqliteBehavior::Exclusive,
    ] {
        let opts = TxOptions::new().read_only().sqlite_behavior(behavior);
        let mut tx = conn.begin_with(opts).await.unwrap();
        tx.query("SELECT count(*) FROM t", &[]).await.unwrap();
        let e = tx
            .execute("INSERT INTO t VALUES (1)", &[])
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("SQLITE_READONLY"), "{behavior:?}: {e}");
        assert!(e.to_string().contains("read-only"), "{e}");
        tx.rollback().await.unwrap();
        // query_only ended with the transaction.
        conn.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    }
    // Ending by COMMIT turns it off too.
    let mut tx = conn
        .begin_with(TxOptions::new().read_only().deferrable())
        .await
        .unwrap();
    tx.query("SELECT 1", &[]).await.unwrap();
    tx.commit().await.unwrap();
    let rows = conn.query("PRAGMA query_only", &[]).await.unwrap();
    assert_eq!(rows[0].get::<i64>(0).unwrap(), 0);
    conn.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    assert_eq!(count(&mut conn).await, 4);
}

#[tokio::test]
async fn dropped_read_only_guard_clears_query_only() {
    let mut conn = managed_with_table().await;
    {
        let _tx = conn.begin_with(TxOptions::new().read_only()).await.unwrap();
    }
    conn.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    assert_eq!(count(&mut conn).await, 1);
}

#[tokio::test]
async fn deferrable_needs_read_only() {
    let mut conn = managed_with_table().await;
    let e = conn
        .begin_with(TxOptions::new().deferrable())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.to_string().contains("read_only()"), "{e}");
    assert_eq!(conn.tx_state(), TxState::Idle);
    assert!(!conn.server_in_transaction().await.unwrap());
}

#[tokio::test]
async fn begin_behaviours_take_their_locks() {
    let (_dir, path) = temp_db();
    let mut a = open(&path).await;
    exec(&mut a, "CREATE TABLE t (x INTEGER)").await;
    let mut b = open_with_timeout(&path, Duration::from_millis(20)).await;

    // DEFERRED takes no lock at BEGIN: another connection can still write.
    a.begin(&TxOptions::new()).await.unwrap();
    exec(&mut b, "INSERT INTO t VALUES (1)").await;
    a.rollback().await.unwrap();

    for behavior in [SqliteBehavior::Immediate, SqliteBehavior::Exclusive] {
        a.begin(&TxOptions::new().sqlite_behavior(behavior))
            .await
            .unwrap();
        let e = b
            .execute("INSERT INTO t VALUES (2)", &[])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LockTimeout, "{behavior:?}");
        a.commit().await.unwrap();
    }
    assert_eq!(scalar(&mut a, "SELECT count(*) FROM t").await, 1);
}

#[tokio::test]
async fn raw_transaction_primitives() {
    let mut conn = memory().await;
    // ROLLBACK with nothing open succeeds.
    conn.rollback().await.unwrap();
    assert!(!conn.server_in_transaction().await.unwrap());
    conn.begin(&TxOptions::new()).await.unwrap();
    assert!(conn.server_in_transaction().await.unwrap());
    // A second BEGIN is refused and leaves the first open.
    let e = conn.begin(&TxOptions::new().read_only()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(conn.server_in_transaction().await.unwrap());
    conn.savepoint("sp1").await.unwrap();
    conn.rollback_to_savepoint("sp1").await.unwrap();
    conn.release_savepoint("sp1").await.unwrap();
    conn.commit().await.unwrap();
    assert!(!conn.server_in_transaction().await.unwrap());
    conn.rollback().await.unwrap();
    let e = conn.commit().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Database, "{e}");
}

/// In rollback-journal mode a reader's SHARED lock makes COMMIT wait, then fail with BUSY;
/// the transaction is still open and can commit once the reader is gone.
#[tokio::test]
async fn commit_busy_leaves_the_transaction_open() {
    let (_dir, path) = temp_db();
    let options = SqliteConnectOptions::new(&path)
        .journal_mode(JournalMode::Delete)
        .busy_timeout(Duration::from_millis(20));
    let mut writer = options.connect().await.unwrap();
    let mut reader = options.connect().await.unwrap();
    exec(&mut writer, "CREATE TABLE t (x INTEGER)").await;

    writer.begin(&TxOptions::new()).await.unwrap();
    exec(&mut writer, "INSERT INTO t VALUES (1)").await;
    reader.begin(&TxOptions::new()).await.unwrap();
    assert_eq!(scalar(&mut reader, "SELECT count(*) FROM t").await, 0);

    let e = writer.commit().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LockTimeout, "{e}");
    assert!(writer.server_in_transaction().await.unwrap());

    reader.commit().await.unwrap();
    writer.commit().await.unwrap();
    assert_eq!(scalar(&mut reader, "SELECT count(*) FROM t").await, 1);
}

/// The same through the guard: a failed COMMIT is rolled back by txkit, leaving the
/// connection idle.
#[tokio::test]
async fn guard_commit_busy_rolls_back() {
    let (_dir, path) = temp_db();
    let options = SqliteConnectOptions::new(&path)
        .journal_mode(JournalMode::Delete)
        .busy_timeout(Duration::from_millis(20));
    let mut writer = ManagedConnection::new(options.connect().await.unwrap());
    let mut reader = options.connect().await.unwrap();
    writer
        .execute("CREATE TABLE t (x INTEGER)", &[])
        .await
        .unwrap();

    let mut tx = writer.begin().await.unwrap();
    tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    reader.begin(&TxOptions::new()).await.unwrap();
    scalar(&mut reader, "SELECT count(*) FROM t").await;
    let e = tx.commit().await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    reader.rollback().await.unwrap();
    assert_eq!(writer.tx_state(), TxState::Idle);
    assert!(!writer.server_in_transaction().await.unwrap());
    let rows = writer.query("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(rows[0].get::<i64>(0).unwrap(), 0);
}
