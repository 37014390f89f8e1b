//! Cancel-safety: every operation dropped after k polls, for every k until it completes;
//! afterwards `recover` must bring the connection back to idle with nothing of the
//! cancelled transaction left.

mod common;

use common::{
    MAX_POLLS, another, connect, count, drop_table, make_table, poll_k_then_drop, scalar, table,
};
use txkit_core::{Connection, ManagedConnection, TxOptions, Value};
use txkit_mysql::MySqlConnection;

/// The connection is idle by its own status flag and by `@@in_transaction`, and healthy.
async fn assert_idle(conn: &mut MySqlConnection) {
    assert!(!conn.is_broken());
    assert!(!conn.server_in_transaction().await.expect("status"));
    assert_eq!(scalar(conn, "SELECT @@in_transaction").await, 0);
    assert_eq!(scalar(conn, "SELECT @@autocommit").await, 1);
}

/// For k = 0, 1, …: `$prepare` opens a transaction and writes, `$op` is polled k times and
/// dropped, then `recover` runs. Nothing the transaction wrote may stay visible unless the
/// cancelled operation was the COMMIT and it completed.
macro_rules! cancel_everywhere {
    ($test:ident, $may_commit:expr, |$c:ident, $t:ident, $k:ident| $prepare:expr, $op:expr) => {
        #[cfg_attr(
            txkit_skip_mysql,
            ignore = "server test: set TXKIT_MYSQL_URL to run it"
        )]
        #[tokio::test]
        async fn $test() {
            let mut observer = connect().await;
            let table_name = table(stringify!($test));
            make_table(&mut observer, &table_name, &[]).await;
            let mut conn = another().await;
            let mut completed = false;
            for polls in 0..MAX_POLLS {
                let $k = polls as i64;
                let $t = table_name.as_str();
                {
                    #[allow(unused_variables)]
                    let $c = &mut conn;
                    $prepare;
                }
                let finished = {
                    let $c = &mut conn;
                    poll_k_then_drop(async { $op }, polls).await.is_some()
                };
                conn.recover().await.expect("recover");
                assert_idle(&mut conn).await;
                let visible = count(&mut observer, &table_name).await;
                if $may_commit {
                    // A COMMIT that reached the server completes: all of the transaction
                    // or none of it.
                    assert!(visible == 0 || visible == 1, "k = {polls}: {visible} rows");
                } else {
                    assert_eq!(
                        visible, 0,
                        "k = {polls}: the cancelled transaction left rows"
                    );
                }
                observer
                    .execute(&format!("DELETE FROM {table_name}"), &[])
                    .await
                    .expect("clean");
                if finished {
                    println!("{} completed after {polls} polls", stringify!($test));
                    completed = true;
                    break;
                }
            }
            assert!(completed, "never completed within {MAX_POLLS} polls");
            drop_table(&mut observer, &table_name).await;
        }
    };
}

async fn begin_and_insert(conn: &mut MySqlConnection, t: &str, k: i64) {
    conn.begin(&TxOptions::new()).await.expect("begin");
    conn.execute(
        &format!("INSERT INTO {t} VALUES (?, ?)"),
        &[Value::Int(k * 2), Value::Int(0)],
    )
    .await
    .expect("insert");
}

cancel_everywhere!(
    cancelled_execute,
    false,
    |c, t, k| begin_and_insert(c, t, k).await,
    c.execute(
        &format!("INSERT INTO {t} VALUES (?, ?)"),
        &[Value::Int(k * 2 + 1), Value::Int(1)],
    )
    .await
);

cancel_everywhere!(
    cancelled_query,
    false,
    |c, t, k| begin_and_insert(c, t, k).await,
    c.query(&format!("SELECT * FROM {t} FOR UPDATE"), &[]).await
);

cancel_everywhere!(
    cancelled_commit,
    true,
    |c, t, k| begin_and_insert(c, t, k).await,
    c.commit().await
);

cancel_everywhere!(cancelled_begin, false, |c, t, k| assert!(!c.is_broken()), {
    c.begin(&TxOptions::new().isolation(txkit_core::IsolationLevel::Serializable))
        .await
        .expect("begin");
    c.execute(&format!("INSERT INTO {t} VALUES (?, 0)"), &[Value::Int(k)])
        .await
});

cancel_everywhere!(
    cancelled_savepoint,
    false,
    |c, t, k| begin_and_insert(c, t, k).await,
    {
        c.savepoint("sp1").await.expect("savepoint");
        c.rollback_to_savepoint("sp1").await
    }
);

cancel_everywhere!(
    cancelled_ping_and_status,
    false,
    |c, t, k| begin_and_insert(c, t, k).await,
    {
        c.ping().await.expect("ping");
        c.server_in_transaction().await
    }
);

cancel_everywhere!(
    cancelled_rollback,
    false,
    |c, t, k| begin_and_insert(c, t, k).await,
    c.rollback().await
);

/// Through txkit's bookkeeping: a cancelled statement inside a transaction guard, then
/// the guard dropped; the next use recovers and rolls back.
#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn cancelled_inside_a_managed_transaction() {
    let mut observer = connect().await;
    let t = table("c_managed");
    make_table(&mut observer, &t, &[]).await;
    let mut conn = ManagedConnection::new(another().await);
    let mut completed = false;
    for k in 0..MAX_POLLS {
        let finished = {
            let mut tx = conn.begin().await.expect("begin");
            tx.execute(
                &format!("INSERT INTO {t} VALUES (?, 0)"),
                &[Value::Int(k as i64 * 2)],
            )
            .await
            .expect("insert");
            let sql = format!("INSERT INTO {t} VALUES (?, 1)");
            let params = [Value::Int(k as i64 * 2 + 1)];
            poll_k_then_drop(tx.execute(&sql, &params), k)
                .await
                .is_some()
        };
        assert!(!conn.server_in_transaction().await.expect("settled"));
        assert_eq!(conn.tx_state(), txkit_core::TxState::Idle);
        let rows = conn
            .query("SELECT @@in_transaction", &[])
            .await
            .expect("in_transaction");
        assert_eq!(rows[0].get::<i64>(0).expect("int"), 0);
        assert_eq!(count(&mut observer, &t).await, 0, "k = {k}");
        if finished {
            completed = true;
            break;
        }
    }
    assert!(completed);
    drop_table(&mut observer, &t).await;
}

cancel_everywhere!(
    cancelled_first_execution_of_a_statement,
    false,
    |c, t, k| begin_and_insert(c, t, k).await,
    // A text never seen before: prepare and execute, two exchanges.
    c.execute(&format!("INSERT INTO {t} VALUES ({}, 1)", k * 2 + 1), &[])
        .await
);

cancel_everywhere!(
    cancelled_large_result,
    false,
    |c, t, k| begin_and_insert(c, t, k).await,
    {
        let rows = c
            .query(
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 900) \
                 SELECT n, REPEAT('x', 1000) AS pad FROM s",
                &[],
            )
            .await
            .expect("rows");
        assert_eq!(rows.len(), 900);
    }
);
