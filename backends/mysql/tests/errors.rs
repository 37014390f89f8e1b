//! Errors provoked on a live server, and their kinds.

mod common;

use common::{another, connect, count, drop_table, make_table, scalar, table, until_running};
use txkit_core::{Connection, ErrorKind, RowLock, TxOptions, Value};

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlock_victim_is_told_and_may_retry() {
    let mut observer = connect().await;
    let t = table("deadlock");
    make_table(&mut observer, &t, &[1, 2]).await;
    let mut a = another().await;
    let mut b = another().await;
    a.begin(&TxOptions::new()).await.expect("a begin");
    b.begin(&TxOptions::new()).await.expect("b begin");
    let update = |id: i64| format!("UPDATE {t} SET v = v + 1 WHERE id = {id}");
    a.execute(&update(1), &[]).await.expect("a locks 1");
    b.execute(&update(2), &[]).await.expect("b locks 2");
    // Each now asks for the other's row, concurrently: whichever asks first waits, and
    // the second closes the cycle.
    let (a_sql, b_sql) = (update(2), update(1));
    let a_task = tokio::spawn(async move {
        let result = a.execute(&a_sql, &[]).await;
        (a, result)
    });
    let b_task = tokio::spawn(async move {
        let result = b.execute(&b_sql, &[]).await;
        (b, result)
    });
    let (mut a, a_result) = a_task.await.expect("task a");
    let (mut b, b_result) = b_task.await.expect("task b");
    let (victim, survivor) = match (a_result, b_result) {
        (Err(e), Ok(_)) => (e, &mut b),
        (Ok(_), Err(e)) => (e, &mut a),
        other => panic!("expected exactly one deadlock victim, got {other:?}"),
    };
    assert_eq!(victim.kind(), ErrorKind::Deadlock, "{victim}");
    assert!(victim.is_retryable() && victim.is_deadlock());
    assert_eq!(victim.code(), Some("1213"));
    survivor.commit().await.expect("survivor commits");
    a.rollback().await.expect("rollback a");
    b.rollback().await.expect("rollback b");
    drop_table(&mut observer, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn nowait_on_a_locked_row_is_lock_not_available() {
    let mut a = connect().await;
    let mut b = another().await;
    let t = table("nowait");
    make_table(&mut a, &t, &[1, 2]).await;
    a.begin(&TxOptions::new()).await.expect("begin a");
    a.query(&format!("SELECT * FROM {t} WHERE id = 1 FOR UPDATE"), &[])
        .await
        .expect("lock row 1");
    b.begin(&TxOptions::new()).await.expect("begin b");
    b.execute(&format!("UPDATE {t} SET v = 20 WHERE id = 2"), &[])
        .await
        .expect("b writes row 2");
    for lock in [RowLock::update().nowait(), RowLock::share().nowait()] {
        let clause = b.dialect().row_lock_clause(&lock).expect("clause");
        let e = b
            .query(&format!("SELECT * FROM {t} WHERE id = 1 {clause}"), &[])
            .await
            .expect_err("nowait");
        assert_eq!(e.kind(), ErrorKind::LockNotAvailable, "{clause}: {e}");
        assert!(e.is_retryable());
        let expected = if b.server().is_mariadb() {
            "1205"
        } else {
            "3572"
        };
        assert_eq!(e.code(), Some(expected));
    }
    // Only the statement failed: b's transaction and its write are still there.
    assert!(b.server_in_transaction().await.expect("in tx"));
    assert_eq!(
        scalar(&mut b, &format!("SELECT v FROM {t} WHERE id = 2")).await,
        20
    );
    let clause = b
        .dialect()
        .row_lock_clause(&RowLock::update().skip_locked())
        .expect("skip locked");
    let rows = b
        .query(&format!("SELECT id FROM {t} ORDER BY id {clause}"), &[])
        .await
        .expect("skip locked");
    assert_eq!(rows.len(), 1, "row 1 skipped, row 2 (b's own) kept");
    b.rollback().await.expect("rollback b");
    a.rollback().await.expect("rollback a");
    drop_table(&mut a, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn lock_wait_timeout_rolls_back_the_whole_transaction() {
    let mut a = connect().await;
    let mut b = another().await;
    let t = table("lockwait");
    make_table(&mut a, &t, &[1]).await;
    a.begin(&TxOptions::new()).await.expect("begin a");
    a.execute(&format!("UPDATE {t} SET v = 10 WHERE id = 1"), &[])
        .await
        .expect("a locks 1");
    b.execute("SET SESSION innodb_lock_wait_timeout = 1", &[])
        .await
        .expect("timeout 1s");
    b.begin(&TxOptions::new()).await.expect("begin b");
    b.execute(&format!("INSERT INTO {t} VALUES (2, 2)"), &[])
        .await
        .expect("earlier write");
    let e = b
        .execute(&format!("UPDATE {t} SET v = 11 WHERE id = 1"), &[])
        .await
        .expect_err("times out");
    assert_eq!(e.kind(), ErrorKind::LockTimeout, "{e}");
    assert_eq!(e.code(), Some("1205"));
    assert!(e.is_retryable());
    assert!(
        e.to_string().contains("rolled back the whole transaction"),
        "{e}"
    );
    assert!(!b.server_in_transaction().await.expect("status"));
    assert_eq!(scalar(&mut b, "SELECT @@in_transaction").await, 0);
    a.rollback().await.expect("rollback a");
    assert_eq!(count(&mut a, &t).await, 1, "b's earlier insert is gone");
    drop_table(&mut a, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn unique_violation() {
    let mut a = connect().await;
    let t = table("unique");
    make_table(&mut a, &t, &[1]).await;
    let e = a
        .execute(
            &format!("INSERT INTO {t} VALUES (?, ?)"),
            &[Value::Int(1), Value::Int(1)],
        )
        .await
        .expect_err("dup");
    assert_eq!(e.kind(), ErrorKind::UniqueViolation);
    assert_eq!(e.code(), Some("1062"));
    assert!(!e.is_retryable());
    drop_table(&mut a, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn killed_connection_is_lost_and_broken() {
    let mut victim = connect().await;
    let mut killer = another().await;
    killer
        .execute(&format!("KILL {}", victim.connection_id()), &[])
        .await
        .expect("kill");
    let e = victim.query("SELECT 1", &[]).await.expect_err("killed");
    assert_eq!(e.kind(), ErrorKind::ConnectionLost, "{e}");
    assert!(victim.is_broken());
    let e = victim.ping().await.expect_err("still broken");
    assert_eq!(e.kind(), ErrorKind::ConnectionLost);
    let e = victim
        .commit()
        .await
        .expect_err("commit on a broken connection");
    assert_eq!(
        e.kind(),
        ErrorKind::ConnectionLost,
        "COMMIT was never sent, so the outcome is known: {e}"
    );
    victim.close().await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_query_interrupts_the_statement_only() {
    let mut holder = connect().await;
    let mut killer = another().await;
    let mut waiter = another().await;
    let waiter_id = waiter.connection_id();
    let t = table("killq");
    make_table(&mut holder, &t, &[1]).await;
    holder.begin(&TxOptions::new()).await.expect("begin");
    holder
        .execute(&format!("UPDATE {t} SET v = 5 WHERE id = 1"), &[])
        .await
        .expect("lock");
    let sql = format!("SELECT * FROM {t} WHERE id = 1 FOR UPDATE");
    let task = tokio::spawn(async move {
        let result = waiter.query(&sql, &[]).await;
        (waiter, result)
    });
    until_running(&mut killer, waiter_id, "FOR UPDATE").await;
    killer
        .execute(&format!("KILL QUERY {waiter_id}"), &[])
        .await
        .expect("kill query");
    let (mut waiter, result) = task.await.expect("task");
    let e = result.expect_err("interrupted");
    assert_eq!(e.code(), Some("1317"), "{e}");
    assert_eq!(e.kind(), ErrorKind::Database);
    assert!(!waiter.is_broken());
    waiter.ping().await.expect("connection lives");
    holder.rollback().await.expect("rollback");
    drop_table(&mut holder, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn connection_lost_during_commit_is_outcome_unknown() {
    let mut victim = connect().await;
    let mut killer = another().await;
    let t = table("commit_lost");
    make_table(&mut killer, &t, &[]).await;
    victim.begin(&TxOptions::new()).await.expect("begin");
    victim
        .execute(&format!("INSERT INTO {t} VALUES (1, 1)"), &[])
        .await
        .expect("insert");
    killer
        .execute(&format!("KILL {}", victim.connection_id()), &[])
        .await
        .expect("kill");
    let e = victim.commit().await.expect_err("lost");
    assert_eq!(e.kind(), ErrorKind::CommitOutcomeUnknown, "{e}");
    assert!(!e.is_retryable());
    assert!(victim.is_broken());
    assert_eq!(
        count(&mut killer, &t).await,
        0,
        "here the server rolled back"
    );
    drop_table(&mut killer, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn snapshot_isolation_conflict_is_a_serialization_failure() {
    let mut a = connect().await;
    // MariaDB 10.6.18+/10.11.8+ only.
    if a.execute("SET SESSION innodb_snapshot_isolation = ON", &[])
        .await
        .is_err()
    {
        println!("skipping: no innodb_snapshot_isolation on {}", a.server());
        return;
    }
    let mut b = another().await;
    let t = table("checkread");
    make_table(&mut b, &t, &[1]).await;
    a.begin(&TxOptions::new()).await.expect("begin");
    a.execute(&format!("INSERT INTO {t} VALUES (2, 2)"), &[])
        .await
        .expect("earlier write");
    assert_eq!(
        scalar(&mut a, &format!("SELECT v FROM {t} WHERE id = 1")).await,
        1
    );
    b.execute(&format!("UPDATE {t} SET v = 10 WHERE id = 1"), &[])
        .await
        .expect("concurrent commit");
    let e = a
        .execute(&format!("UPDATE {t} SET v = v + 1 WHERE id = 1"), &[])
        .await
        .expect_err("lost update refused");
    assert_eq!(e.kind(), ErrorKind::SerializationFailure, "{e}");
    assert_eq!(e.code(), Some("1020"));
    assert!(e.is_retryable());
    assert!(!a.server_in_transaction().await.expect("status"));
    assert_eq!(count(&mut b, &t).await, 1, "the earlier write is gone");
    drop_table(&mut b, &t).await;
}
