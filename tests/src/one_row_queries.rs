//! `query_one` and `query_opt`, on a transaction and on a connection in autocommit mode: the
//! row when the count is right, and otherwise a Usage error that says how many rows came —
//! which leaves the transaction open and usable.

use txkit::ErrorKind;

use crate::common::TestDb;

crate::matrix!(sea_orm: one_row_queries_say_how_many_came);

const ONE: &str = "SELECT v FROM (SELECT 7 AS v) t";
const NONE: &str = "SELECT v FROM (SELECT 7 AS v) t WHERE v = 0";
const TWO: &str = "SELECT v FROM (SELECT 1 AS v UNION ALL SELECT 2) t";

/// Asserts `result` is a Usage error naming `count` rows.
fn usage_naming<T: std::fmt::Debug>(result: txkit::Result<T>, count: usize, what: &str) {
    let e = result.expect_err(what);
    assert_eq!(e.kind(), ErrorKind::Usage, "{what}: {e}");
    assert!(
        e.to_string().contains(&format!("returned {count}")),
        "{what}: {e}"
    );
}

async fn one_row_queries_say_how_many_came(db: TestDb) {
    let engine = db.builder().pool_size(1).build().await.unwrap();
    let mut conn = engine.connection().await.unwrap();
    assert_eq!(conn.query_one(ONE, &[]).await.unwrap().len(), 1);
    usage_naming(
        conn.query_one(NONE, &[]).await,
        0,
        "connection, one of none",
    );
    usage_naming(conn.query_one(TWO, &[]).await, 2, "connection, one of two");
    assert!(conn.query_opt(NONE, &[]).await.unwrap().is_none());
    assert!(conn.query_opt(ONE, &[]).await.unwrap().is_some());
    usage_naming(
        conn.query_opt(TWO, &[]).await,
        2,
        "connection, at most one of two",
    );

    let mut tx = conn.begin().await.unwrap();
    usage_naming(tx.query_one(TWO, &[]).await, 2, "transaction, one of two");
    usage_naming(tx.query_one(NONE, &[]).await, 0, "transaction, one of none");
    usage_naming(
        tx.query_opt(TWO, &[]).await,
        2,
        "transaction, at most one of two",
    );
    assert!(tx.query_opt(NONE, &[]).await.unwrap().is_none());
    // The miscounts did not end the transaction.
    assert_eq!(tx.query_one(ONE, &[]).await.unwrap().len(), 1);
    tx.commit().await.unwrap();
    drop(conn);
    engine.close().await;
}
