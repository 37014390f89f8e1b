//! The backend under txkit's bookkeeping: ManagedConnection and its Transaction guards.

mod common;

use common::{
    another, connect, count, drop_table, make_table, observed_level, refuses_writes, table,
};
use txkit_core::{
    Connection, ErrorKind, IsolationLevel, ManagedConnection, TxOptions, TxState, Value,
};

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn every_isolation_level_and_read_only() {
    let mut b = connect().await;
    let t = table("m_iso");
    make_table(&mut b, &t, &[1, 2]).await;
    let mut conn = ManagedConnection::new(another().await);
    for level in IsolationLevel::ALL {
        for read_only in [false, true] {
            let mut opts = TxOptions::new().isolation(level);
            if read_only {
                opts = opts.read_only();
            }
            let mut tx = conn.begin_with(opts).await.expect("begin");
            assert_eq!(observed_level(&mut tx, &mut b, &t).await, level);
            assert_eq!(refuses_writes(&mut tx, &t).await, read_only);
            tx.rollback().await.expect("rollback");
        }
    }
    // A connection default applies when the transaction asks for nothing.
    conn.set_isolation(IsolationLevel::ReadCommitted);
    let mut tx = conn.begin().await.expect("begin");
    assert_eq!(
        observed_level(&mut tx, &mut b, &t).await,
        IsolationLevel::ReadCommitted
    );
    tx.commit().await.expect("commit");
    drop_table(&mut b, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn savepoints_nest_and_roll_back() {
    let mut observer = connect().await;
    let t = table("m_sp");
    make_table(&mut observer, &t, &[]).await;
    let mut conn = ManagedConnection::new(another().await);
    let insert = format!("INSERT INTO {t} VALUES (?, 0)");
    let mut tx = conn.begin().await.expect("begin");
    tx.execute(&insert, &[Value::Int(1)]).await.expect("1");
    {
        let mut sp = tx.savepoint().await.expect("sp");
        sp.execute(&insert, &[Value::Int(2)]).await.expect("2");
        {
            let mut inner = sp.savepoint_named("inner_sp").await.expect("inner");
            inner.execute(&insert, &[Value::Int(3)]).await.expect("3");
            inner.commit().await.expect("release");
        }
        sp.rollback().await.expect("rollback to sp");
    }
    {
        let mut sp = tx.savepoint().await.expect("sp2");
        sp.execute(&insert, &[Value::Int(4)]).await.expect("4");
        sp.commit().await.expect("release");
    }
    {
        let mut dropped = tx.savepoint().await.expect("sp3");
        dropped.execute(&insert, &[Value::Int(5)]).await.expect("5");
    }
    tx.execute(&insert, &[Value::Int(6)]).await.expect("6");
    tx.commit().await.expect("commit");
    let rows = observer
        .query(&format!("SELECT id FROM {t} ORDER BY id"), &[])
        .await
        .expect("ids");
    let ids: Vec<i64> = rows.iter().map(|r| r.get(0).expect("id")).collect();
    assert_eq!(ids, vec![1, 4, 6]);
    drop_table(&mut observer, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn dropped_guard_rolls_back() {
    let mut observer = connect().await;
    let t = table("m_drop");
    make_table(&mut observer, &t, &[]).await;
    let mut conn = ManagedConnection::new(another().await);
    {
        let mut tx = conn.begin().await.expect("begin");
        tx.execute(&format!("INSERT INTO {t} VALUES (1, 0)"), &[])
            .await
            .expect("insert");
    }
    assert!(matches!(conn.tx_state(), TxState::RollbackOwed { .. }));
    assert!(!conn.server_in_transaction().await.expect("status"));
    assert_eq!(conn.tx_state(), TxState::Idle);
    assert_eq!(count(&mut observer, &t).await, 0);
    drop_table(&mut observer, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn lock_wait_timeout_dooms_the_transaction() {
    let mut holder = connect().await;
    let t = table("m_lockwait");
    make_table(&mut holder, &t, &[1]).await;
    let mut conn = ManagedConnection::new(another().await);
    conn.execute("SET SESSION innodb_lock_wait_timeout = 1", &[])
        .await
        .expect("timeout");
    let mut other = ManagedConnection::new(another().await);
    let mut lock = other.begin().await.expect("begin holder");
    lock.execute(&format!("UPDATE {t} SET v = 9 WHERE id = 1"), &[])
        .await
        .expect("hold row 1");

    let mut tx = conn.begin().await.expect("begin");
    tx.execute(&format!("INSERT INTO {t} VALUES (2, 0)"), &[])
        .await
        .expect("earlier write");
    let e = tx
        .execute(&format!("UPDATE {t} SET v = 1 WHERE id = 1"), &[])
        .await
        .expect_err("times out");
    assert_eq!(e.kind(), ErrorKind::LockTimeout);
    let again = tx
        .execute(&format!("INSERT INTO {t} VALUES (3, 0)"), &[])
        .await
        .expect_err("doomed");
    assert_eq!(again.kind(), ErrorKind::LockTimeout, "{again}");
    tx.rollback()
        .await
        .expect("rollback of a doomed transaction");
    assert_eq!(conn.tx_state(), TxState::Idle);
    assert!(!conn.server_in_transaction().await.expect("status"));
    lock.rollback().await.expect("release");
    assert_eq!(count(&mut holder, &t).await, 1, "the earlier write is gone");
    drop_table(&mut holder, &t).await;
}
