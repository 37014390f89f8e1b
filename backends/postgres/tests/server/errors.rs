//! Each mapped error provoked on a real server.

use std::sync::Arc;

use tokio::sync::Barrier;
use txkit_core::{Connection, ErrorKind, IsolationLevel, TxOptions, params};

use super::support::{backend_pid, connect, count, exec, table, wait_until};

async fn two_row_table(what: &str) -> (txkit_postgres::PgConnection, String) {
    let mut c = connect().await;
    let t = table(what);
    exec(
        &mut c,
        &format!("CREATE TABLE {t} (id int4 PRIMARY KEY, v int4 NOT NULL)"),
    )
    .await;
    exec(&mut c, &format!("INSERT INTO {t} VALUES (1, 0), (2, 0)")).await;
    (c, t)
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlock_is_detected_and_retryable() {
    super::support::require_server();
    let (mut setup, t) = two_row_table("deadlock").await;
    let barrier = Arc::new(Barrier::new(2));
    let mut tasks = Vec::new();
    for (first, second) in [(1, 2), (2, 1)] {
        let barrier = Arc::clone(&barrier);
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = connect().await;
            c.batch("SET deadlock_timeout = '100ms'").await.unwrap();
            c.begin(&TxOptions::new()).await.unwrap();
            let update = format!("UPDATE {t} SET v = v + 1 WHERE id = ?");
            c.execute(&update, &params![first]).await.unwrap();
            barrier.wait().await; // both hold their first row
            let result = c.execute(&update, &params![second]).await;
            match &result {
                Ok(_) => c.commit().await.unwrap(),
                Err(_) => c.rollback().await.unwrap(),
            }
            result
        }));
    }
    let mut errors = Vec::new();
    for task in tasks {
        if let Err(e) = task.await.unwrap() {
            errors.push(e);
        }
    }
    assert_eq!(errors.len(), 1, "exactly one victim: {errors:?}");
    let e = &errors[0];
    assert_eq!(e.kind(), ErrorKind::Deadlock, "{e}");
    assert_eq!(e.code(), Some("40P01"));
    assert!(e.is_retryable());
    exec(&mut setup, &format!("DROP TABLE {t}")).await;
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_skew_under_serializable_fails_one() {
    super::support::require_server();
    let (mut setup, t) = two_row_table("skew").await;
    let serializable = TxOptions::new().isolation(IsolationLevel::Serializable);
    let mut a = connect().await;
    let mut b = connect().await;
    a.begin(&serializable).await.unwrap();
    b.begin(&serializable).await.unwrap();
    let sum = format!("SELECT sum(v) FROM {t}");
    a.query(&sum, &[]).await.unwrap();
    b.query(&sum, &[]).await.unwrap();
    let update = format!("UPDATE {t} SET v = 1 WHERE id = ?");
    a.execute(&update, &params![1]).await.unwrap();
    let b_update = b.execute(&update, &params![2]).await;
    a.commit().await.unwrap();
    let e = match b_update {
        Err(e) => e,
        Ok(_) => b.commit().await.unwrap_err(),
    };
    assert_eq!(e.kind(), ErrorKind::SerializationFailure, "{e}");
    assert_eq!(e.code(), Some("40001"));
    assert!(e.is_retryable());
    b.rollback().await.unwrap();
    exec(&mut setup, &format!("DROP TABLE {t}")).await;
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nowait_and_lock_timeout() {
    super::support::require_server();
    let (mut holder, t) = two_row_table("locks").await;
    holder.begin(&TxOptions::new()).await.unwrap();
    let lock = format!("SELECT id FROM {t} WHERE id = 1 FOR UPDATE");
    holder.query(&lock, &[]).await.unwrap();

    let mut other = connect().await;
    other.begin(&TxOptions::new()).await.unwrap();
    let e = other
        .query(&format!("{lock} NOWAIT"), &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LockNotAvailable, "{e}");
    assert_eq!(e.code(), Some("55P03"));
    assert!(e.is_retryable());
    other.rollback().await.unwrap();

    other.begin(&TxOptions::new()).await.unwrap();
    other
        .batch("SET LOCAL lock_timeout = '200ms'")
        .await
        .unwrap();
    let e = other.query(&lock, &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LockTimeout, "{e}");
    assert_eq!(e.code(), Some("55P03"));
    assert!(e.is_retryable());
    other.rollback().await.unwrap();

    // SKIP LOCKED leaves the locked row out instead.
    let rows = other
        .query(
            &format!("SELECT id FROM {t} ORDER BY id FOR UPDATE SKIP LOCKED"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    holder.rollback().await.unwrap();
    exec(&mut holder, &format!("DROP TABLE {t}")).await;
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_violation_and_aborted_transaction() {
    super::support::require_server();
    let (mut c, t) = two_row_table("unique").await;
    let insert = format!("INSERT INTO {t} VALUES (?, 0)");
    let e = c.execute(&insert, &params![1]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UniqueViolation, "{e}");
    assert_eq!(e.code(), Some("23505"));
    assert!(!e.is_retryable());
    assert!(
        e.to_string()
            .contains("detail: Key (id)=(1) already exists"),
        "{e}"
    );

    c.begin(&TxOptions::new()).await.unwrap();
    assert!(c.execute(&insert, &params![2]).await.is_err());
    let e = c.execute(&insert, &params![3]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Database);
    assert_eq!(e.code(), Some("25P02"));
    assert!(
        e.to_string().contains("must be rolled back") || e.to_string().contains("roll it back"),
        "{e}"
    );
    c.rollback().await.unwrap();
    assert_eq!(count(&mut c, &t).await, 2);
    exec(&mut c, &format!("DROP TABLE {t}")).await;
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_connection_is_lost_and_broken() {
    super::support::require_server();
    let mut victim = connect().await;
    let mut killer = connect().await;
    let pid = backend_pid(&mut victim).await;
    assert!(!victim.is_broken());
    killer
        .query("SELECT pg_terminate_backend(?::int4)", &params![pid])
        .await
        .unwrap();
    wait_until("the killed connection is seen as broken", || {
        std::future::ready(victim.is_broken())
    })
    .await;
    let e = victim.query("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionLost, "{e}");
    assert!(e.is_connection_lost());
    assert!(victim.ping().await.is_err());
    assert_eq!(
        victim.recover().await.unwrap_err().kind(),
        ErrorKind::ConnectionLost
    );
    victim.close().await;
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_is_not_retryable() {
    super::support::require_server();
    let mut c = connect().await;
    c.batch("SET statement_timeout = '50ms'").await.unwrap();
    let e = c.query("SELECT pg_sleep(5)", &[]).await.unwrap_err();
    assert_eq!(e.code(), Some("57014"));
    assert_eq!(e.kind(), ErrorKind::Database);
    assert!(!e.is_retryable());
}
