//! Futures dropped part-way, and txkit's guards over a PostgreSQL connection.

use txkit_core::{Connection, ManagedConnection, TxOptions, TxState, Value, params};

use super::support::{connect, connect_with, count, exec, poll_then_drop, table};

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_query_then_recover_at_every_poll() {
    super::support::require_server();
    let mut c = connect().await;
    let t = table("cancel_raw");
    exec(&mut c, &format!("CREATE TABLE {t} (a int4)")).await;
    let slow = "SELECT pg_sleep(0.02), ?::int8";
    let mut finished = None;
    for polls in 1..=50 {
        c.begin(&TxOptions::new()).await.unwrap();
        exec(&mut c, &format!("INSERT INTO {t} VALUES (1)")).await;
        let out = poll_then_drop(
            c.query(slow, &params![u32::try_from(polls).unwrap()]),
            polls,
        )
        .await;
        c.recover().await.unwrap();
        assert!(
            !c.server_in_transaction().await.unwrap(),
            "after {polls} polls"
        );
        assert_eq!(count(&mut c, &t).await, 0, "after {polls} polls");
        let rows = c.query(slow, &params![7]).await.unwrap();
        assert_eq!(rows[0].value(1).unwrap(), &Value::Int(7));
        if out.is_some() {
            finished = Some(polls);
            break;
        }
    }
    finished.expect("the query never completed within the polls tried");
    // And one drop surely mid-flight: the server is still sleeping after the first poll.
    c.begin(&TxOptions::new()).await.unwrap();
    exec(&mut c, &format!("INSERT INTO {t} VALUES (1)")).await;
    let sleep = "SELECT pg_sleep(?)";
    c.query(sleep, &params![0.0]).await.unwrap(); // prepared: the next call only executes
    let out = poll_then_drop(c.query(sleep, &params![0.3]), 1).await;
    assert!(out.is_none());
    c.recover().await.unwrap();
    assert!(!c.server_in_transaction().await.unwrap());
    assert_eq!(count(&mut c, &t).await, 0);
    exec(&mut c, &format!("DROP TABLE {t}")).await;
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_operation_in_a_managed_transaction_is_rolled_back() {
    super::support::require_server();
    let mut setup = connect().await;
    let t = table("cancel_managed");
    exec(&mut setup, &format!("CREATE TABLE {t} (a int4)")).await;
    let mut mc = ManagedConnection::new(connect().await);
    let insert = format!("INSERT INTO {t} VALUES (?)");
    let mut finished = None;
    for polls in 1..=50 {
        let mut tx = mc.begin().await.unwrap();
        tx.execute(&insert, &params![1]).await.unwrap();
        let out = poll_then_drop(tx.execute(&insert, &params![2]), polls).await;
        drop(tx);
        mc.settle().await.unwrap();
        assert_eq!(mc.tx_state(), TxState::Idle);
        assert!(!mc.server_in_transaction().await.unwrap());
        assert_eq!(count(&mut setup, &t).await, 0, "after {polls} polls");
        if out.is_some() {
            finished = Some(polls);
            break;
        }
    }
    finished.expect("the statement never completed within the polls tried");
    // And one drop surely mid-flight.
    let mut tx = mc.begin().await.unwrap();
    tx.execute(&insert, &params![1]).await.unwrap();
    let slow = format!("INSERT INTO {t} SELECT 3 FROM pg_sleep(?)");
    tx.execute(&slow, &params![0.0]).await.unwrap(); // prepared: the next call only executes
    assert!(
        poll_then_drop(tx.execute(&slow, &params![0.3]), 1)
            .await
            .is_none()
    );
    drop(tx);
    mc.settle().await.unwrap();
    assert_eq!(mc.tx_state(), TxState::Idle);
    assert!(!mc.server_in_transaction().await.unwrap());
    assert_eq!(count(&mut setup, &t).await, 0);
    exec(&mut setup, &format!("DROP TABLE {t}")).await;
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_transactions_savepoints_and_dropped_guards() {
    super::support::require_server();
    let app = format!("txpg_managed_{}", std::process::id());
    let mut watcher = connect().await;
    let t = table("managed");
    exec(&mut watcher, &format!("CREATE TABLE {t} (a int4)")).await;
    let raw = connect_with(&format!("sslmode=disable&application_name={app}")).await;
    let mut mc = ManagedConnection::new(raw);
    let insert = format!("INSERT INTO {t} VALUES (?)");

    // Savepoint rolled back, transaction committed: only the outer row stays.
    let mut tx = mc.begin().await.unwrap();
    tx.execute(&insert, &params![1]).await.unwrap();
    {
        let mut sp = tx.savepoint().await.unwrap();
        sp.execute(&insert, &params![2]).await.unwrap();
        sp.rollback().await.unwrap();
    }
    {
        let mut sp = tx.savepoint().await.unwrap();
        sp.execute(&insert, &params![3]).await.unwrap();
        sp.commit().await.unwrap();
    }
    tx.commit().await.unwrap();
    let rows = mc
        .query(&format!("SELECT a FROM {t} ORDER BY a"), &[])
        .await
        .unwrap();
    let got: Vec<i64> = rows.iter().map(|r| r.get::<i64>(0).unwrap()).collect();
    assert_eq!(got, [1, 3]);

    // A failed statement inside a savepoint is undone by rolling back to it.
    let mut tx = mc
        .begin_with(TxOptions::new().isolation(txkit_core::IsolationLevel::RepeatableRead))
        .await
        .unwrap();
    {
        let mut sp = tx.savepoint().await.unwrap();
        assert!(sp.execute("SELECT 1/0", &[]).await.is_err());
        sp.rollback().await.unwrap();
    }
    tx.execute(&insert, &params![4]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count(&mut watcher, &t).await, 3);

    // A dropped guard (with a dropped savepoint inside) rolls everything back.
    {
        let mut tx = mc.begin().await.unwrap();
        tx.execute(&insert, &params![5]).await.unwrap();
        let mut sp = tx.savepoint().await.unwrap();
        sp.execute(&insert, &params![6]).await.unwrap();
    }
    assert!(matches!(mc.tx_state(), TxState::RollbackOwed { .. }));
    mc.settle().await.unwrap();
    assert_eq!(mc.tx_state(), TxState::Idle);
    assert_eq!(count(&mut watcher, &t).await, 3);

    let idle_in_tx = watcher
        .query(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = ? \
             AND state LIKE 'idle in transaction%'",
            &params![app.as_str()],
        )
        .await
        .unwrap();
    assert_eq!(idle_in_tx[0].get::<i64>(0).unwrap(), 0);
    let sessions = watcher
        .query(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = ?",
            &params![app.as_str()],
        )
        .await
        .unwrap();
    assert_eq!(
        sessions[0].get::<i64>(0).unwrap(),
        1,
        "the managed session is still there"
    );
    mc.close().await;
    exec(&mut watcher, &format!("DROP TABLE {t}")).await;
}
