//! A transaction dropped unfinished is rolled back before its connection is used again.

use txkit::core::TxState;
use txkit::params;

use crate::common::{TestDb, count, people_table};

crate::matrix!(
    sea_orm:
    dropped_transaction_is_invisible_to_next_user,
    rollback_is_clean
);

async fn dropped_transaction_is_invisible_to_next_user(db: TestDb) {
    let engine = db.builder().pool_size(1).build().await.unwrap();
    let t = people_table(&db, &engine).await;
    {
        let mut tx = engine.begin().await.unwrap();
        tx.execute(
            &format!("INSERT INTO {t} (name) VALUES (?)"),
            &params!["ghost"],
        )
        .await
        .unwrap();
        // dropped: no commit
    }
    // The only pooled connection is the one that held the transaction.
    let mut conn = engine.connection().await.unwrap();
    assert_eq!(conn.tx_state(), TxState::Idle);
    assert!(!conn.server_in_transaction().await.unwrap());
    let n: i64 = conn
        .query(&format!("SELECT count(*) AS n FROM {t}"), &[])
        .await
        .unwrap()[0]
        .get("n")
        .unwrap();
    assert_eq!(n, 0);
    drop(conn);

    // A connection-level guard dropped the same way.
    let mut conn = engine.connection().await.unwrap();
    {
        let mut tx = conn.begin().await.unwrap();
        tx.execute(
            &format!("INSERT INTO {t} (name) VALUES (?)"),
            &params!["ghost2"],
        )
        .await
        .unwrap();
    }
    assert!(matches!(conn.tx_state(), TxState::RollbackOwed { .. }));
    assert!(!conn.server_in_transaction().await.unwrap());
    drop(conn);
    assert_eq!(count(&engine, &t).await, 0);
    db.assert_no_idle_in_transaction().await;
}

async fn rollback_is_clean(db: TestDb) {
    let engine = db.builder().pool_size(1).build().await.unwrap();
    let t = people_table(&db, &engine).await;
    let mut tx = engine.begin().await.unwrap();
    tx.execute(&format!("INSERT INTO {t} (name) VALUES (?)"), &params!["x"])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let mut conn = engine.connection().await.unwrap();
    assert!(!conn.server_in_transaction().await.unwrap());
    drop(conn);
    assert_eq!(count(&engine, &t).await, 0);
    // Transaction control sent as plain SQL is refused, so it cannot escape tracking.
    for sql in ["BEGIN", "commit", "  ROLLBACK", "START TRANSACTION"] {
        let err = engine.execute(sql, &[]).await.unwrap_err();
        assert_eq!(err.kind(), txkit::ErrorKind::Usage, "{sql}");
    }
}
