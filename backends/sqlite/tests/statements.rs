//! Statements and queries: values in and out, rows, affected-row counts, batches.

#![allow(clippy::unwrap_used)]

mod common;

use common::{exec, memory};
use txkit_core::{Connection, ResetMode, Value, params};

#[tokio::test]
async fn values_round_trip() {
    let mut conn = memory().await;
    exec(
        &mut conn,
        "CREATE TABLE v (i INTEGER, f REAL, t TEXT, b BLOB, n, flag INTEGER)",
    )
    .await;
    let n = conn
        .execute(
            "INSERT INTO v VALUES (?, ?, ?, ?, ?, ?)",
            &params![
                i64::MAX,
                0.5_f64,
                "héllo",
                vec![0_u8, 1, 255],
                None::<i64>,
                true
            ],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let rows = conn.query("SELECT * FROM v", &[]).await.unwrap();
    assert_eq!(
        rows[0].values(),
        &[
            Value::Int(i64::MAX),
            Value::Float(0.5),
            Value::Text("héllo".into()),
            Value::Bytes(vec![0, 1, 255]),
            Value::Null,
            Value::Int(1),
        ]
    );
    assert!(rows[0].get::<bool>("flag").unwrap());
    assert_eq!(rows[0].columns(), ["i", "f", "t", "b", "n", "flag"]);
}

#[tokio::test]
async fn rows_share_their_column_names() {
    let mut conn = memory().await;
    let rows = conn
        .query("SELECT 1 AS a UNION ALL SELECT 2 UNION ALL SELECT 3", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(std::ptr::eq(rows[0].columns(), rows[2].columns()));
    let empty = conn.query("SELECT 1 WHERE 0", &[]).await.unwrap();
    assert!(empty.is_empty());
}

#[tokio::test]
async fn affected_row_counts() {
    let mut conn = memory().await;
    assert_eq!(
        exec(&mut conn, "CREATE TABLE t (id INTEGER PRIMARY KEY, x)").await,
        0
    );
    for i in 1..=3 {
        conn.execute("INSERT INTO t (x) VALUES (?)", &params![i])
            .await
            .unwrap();
    }
    assert_eq!(exec(&mut conn, "UPDATE t SET x = x + 1").await, 3);
    // Statements that change nothing report 0, not the last UPDATE's count.
    assert_eq!(exec(&mut conn, "CREATE INDEX t_x ON t (x)").await, 0);
    assert_eq!(exec(&mut conn, "SELECT * FROM t").await, 0);
    assert_eq!(exec(&mut conn, "UPDATE t SET x = 0 WHERE id > 99").await, 0);
    // Statements returning rows run to their end.
    assert_eq!(
        exec(&mut conn, "DELETE FROM t WHERE id < 3 RETURNING id").await,
        2
    );
    let rows = conn
        .query("INSERT INTO t (x) VALUES (?) RETURNING id", &params![9])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<i64>("id").unwrap(), 4);
}

#[tokio::test]
async fn batch_runs_several_statements() {
    let mut conn = memory().await;
    conn.batch("CREATE TABLE t (x); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);")
        .await
        .unwrap();
    let rows = conn.query("SELECT sum(x) FROM t", &[]).await.unwrap();
    assert_eq!(rows[0].get::<i64>(0).unwrap(), 3);
}

#[tokio::test]
async fn the_same_statement_runs_many_times() {
    let mut conn = memory().await;
    exec(&mut conn, "CREATE TABLE t (x)").await;
    for i in 0..200 {
        conn.execute("INSERT INTO t VALUES (?)", &params![i])
            .await
            .unwrap();
    }
    let rows = conn
        .query("SELECT count(*), sum(x) FROM t", &[])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<i64>(0).unwrap(), 200);
    assert_eq!(rows[0].get::<i64>(1).unwrap(), 199 * 200 / 2);
}

#[tokio::test]
async fn ping_and_reset() {
    let mut conn = memory().await;
    conn.ping().await.unwrap();
    exec(&mut conn, "CREATE TABLE t (x)").await;
    for mode in [ResetMode::Rollback, ResetMode::Full, ResetMode::None] {
        conn.begin(&txkit_core::TxOptions::new().read_only())
            .await
            .unwrap();
        if mode == ResetMode::None {
            conn.rollback().await.unwrap();
        }
        conn.reset(mode).await.unwrap();
        assert!(!conn.server_in_transaction().await.unwrap(), "{mode:?}");
        exec(&mut conn, "INSERT INTO t VALUES (1)").await;
    }
    let rows = conn.query("PRAGMA foreign_keys", &[]).await.unwrap();
    assert_eq!(rows[0].get::<i64>(0).unwrap(), 1);
}
