//! Units of work under LOCK TABLES.

mod common;

use common::{
    MAX_POLLS, another, connect, count, drop_table, make_table, poll_k_then_drop, scalar, table,
};
use txkit_core::{Connection, Error, ErrorKind, TableLock, TxOptions, Value};

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn unit_commits_and_unlocks() {
    let mut observer = connect().await;
    let t = table("tl_ok");
    let other = table("tl_other");
    make_table(&mut observer, &t, &[1]).await;
    make_table(&mut observer, &other, &[1]).await;
    let mut conn = another().await;
    let (tw, tr) = (t.clone(), other.clone());
    let n = conn
        .with_table_locks(
            &[
                (&t, TableLock::access_exclusive()),
                (&other, TableLock::share()),
            ],
            |c| {
                Box::pin(async move {
                    let seen = c.query(&format!("SELECT COUNT(*) FROM {tr}"), &[]).await?;
                    let n: i64 = seen[0].get(0)?;
                    c.execute(
                        &format!("INSERT INTO {tw} VALUES (?, 0)"),
                        &[Value::Int(n + 1)],
                    )
                    .await
                })
            },
        )
        .await
        .expect("unit");
    assert_eq!(n, 1);
    assert!(!conn.is_broken());
    assert_eq!(scalar(&mut conn, "SELECT @@autocommit").await, 1);
    assert!(!conn.server_in_transaction().await.expect("status"));
    // Committed, and the locks are gone: another session writes at once.
    assert_eq!(count(&mut observer, &t).await, 2);
    observer
        .execute(&format!("INSERT INTO {t} VALUES (9, 9)"), &[])
        .await
        .expect("unlocked");
    drop_table(&mut observer, &t).await;
    drop_table(&mut observer, &other).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn failed_unit_rolls_back_and_unlocks() {
    let mut observer = connect().await;
    let t = table("tl_fail");
    make_table(&mut observer, &t, &[]).await;
    let mut conn = another().await;
    let tw = t.clone();
    let e = conn
        .with_table_locks(&[(&t, TableLock::access_exclusive())], |c| {
            Box::pin(async move {
                c.execute(&format!("INSERT INTO {tw} VALUES (1, 0)"), &[])
                    .await?;
                Err::<(), _>(Error::config("the work changed its mind"))
            })
        })
        .await
        .expect_err("fails");
    assert!(e.to_string().contains("changed its mind"));
    assert_eq!(count(&mut observer, &t).await, 0);
    assert_eq!(scalar(&mut conn, "SELECT @@autocommit").await, 1);
    drop_table(&mut observer, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn refused_inside_a_transaction_and_begin_refused_inside_a_unit() {
    let mut conn = connect().await;
    let t = table("tl_refuse");
    make_table(&mut conn, &t, &[1]).await;
    conn.begin(&TxOptions::new()).await.expect("begin");
    let e = conn
        .with_table_locks(&[(&t, TableLock::access_exclusive())], |_| {
            Box::pin(async { Ok(()) })
        })
        .await
        .expect_err("in tx");
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(conn.server_in_transaction().await.expect("still open"));
    conn.rollback().await.expect("rollback");
    let e = conn
        .with_table_locks(&[(&t, TableLock::access_exclusive())], |c| {
            Box::pin(async move { c.begin(&TxOptions::new()).await })
        })
        .await
        .expect_err("begin inside");
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(!conn.is_broken());
    drop_table(&mut conn, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn nowait_on_a_locked_table() {
    let mut holder = connect().await;
    if !holder.server().supports_lock_tables_nowait() {
        return;
    }
    let t = table("tl_nowait");
    make_table(&mut holder, &t, &[1]).await;
    holder
        .execute(&format!("LOCK TABLES {t} WRITE"), &[])
        .await
        .expect("hold");
    let mut conn = another().await;
    let e = conn
        .with_table_locks(&[(&t, TableLock::access_exclusive().nowait())], |_| {
            Box::pin(async { Ok(()) })
        })
        .await
        .expect_err("locked");
    assert_eq!(e.kind(), ErrorKind::LockNotAvailable, "{e}");
    assert!(!conn.is_broken());
    assert_eq!(scalar(&mut conn, "SELECT @@autocommit").await, 1);
    holder.execute("UNLOCK TABLES", &[]).await.expect("unlock");
    drop_table(&mut holder, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn abandoned_unit_is_broken_until_recovered() {
    let mut observer = connect().await;
    let t = table("tl_cancel");
    make_table(&mut observer, &t, &[]).await;
    let mut conn = another().await;
    let mut completed = false;
    for k in 0..MAX_POLLS {
        let tw = t.clone();
        let tables = [(t.as_str(), TableLock::access_exclusive())];
        let unit = conn.with_table_locks(&tables, move |c| {
            Box::pin(async move {
                c.execute(
                    &format!("INSERT INTO {tw} VALUES (?, 0)"),
                    &[Value::Int(k as i64)],
                )
                .await
            })
        });
        let finished = poll_k_then_drop(unit, k).await.is_some();
        if !finished && k > 0 {
            assert!(
                conn.is_broken(),
                "k = {k}: an abandoned unit must not look clean"
            );
        }
        conn.recover().await.expect("recover");
        assert!(!conn.is_broken());
        assert_eq!(scalar(&mut conn, "SELECT @@autocommit").await, 1);
        assert!(!conn.server_in_transaction().await.expect("status"));
        let visible = count(&mut observer, &t).await;
        // Once the closing COMMIT was sent, recovery reads its answer: all or nothing.
        assert!(visible == 0 || visible == 1, "k = {k}: {visible}");
        if finished {
            assert_eq!(visible, 1);
        }
        observer
            .execute(&format!("DELETE FROM {t}"), &[])
            .await
            .expect("unlocked and clean");
        if finished {
            completed = true;
            break;
        }
    }
    assert!(completed);
    drop_table(&mut observer, &t).await;
}
