//! `execute_many`: one statement run for many parameter sets in a transaction — each run's
//! count in order, the first failure stopping it (and nothing committed once the caller
//! rolls back), bad input refused before anything runs, and on PostgreSQL every run in one
//! round trip.

use std::sync::atomic::Ordering;

use txkit::{Engine, ErrorKind, Value, params};

use crate::common::{Kind, TestDb, host_port, unique};
use crate::session_lazy_begin::{proxy, through};

crate::matrix!(sea_orm: execute_many_runs_each_set_in_order);

async fn items(engine: &Engine) -> String {
    let table = unique("many_items");
    engine
        .execute(
            &format!("CREATE TABLE {table} (id BIGINT PRIMARY KEY, tag BIGINT NOT NULL)"),
            &[],
        )
        .await
        .unwrap();
    table
}

async fn rows(engine: &Engine, table: &str) -> Vec<(i64, i64)> {
    engine
        .query(&format!("SELECT id, tag FROM {table} ORDER BY id"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<i64>("id").unwrap(), r.get::<i64>("tag").unwrap()))
        .collect()
}

async fn execute_many_runs_each_set_in_order(db: TestDb) {
    let engine = db.builder().pool_size(1).build().await.unwrap();
    let table = items(&engine).await;
    let insert = format!("INSERT INTO {table} (id, tag) VALUES (?, ?)");
    let bump = format!("UPDATE {table} SET tag = tag + 1 WHERE id <= ?");

    // Inserts, then an UPDATE whose runs match 2 rows and none: counts in order.
    let mut tx = engine.begin().await.unwrap();
    let counts = tx
        .execute_many(&insert, &[params![1, 10], params![2, 20], params![3, 30]])
        .await
        .unwrap();
    assert_eq!(counts, [1, 1, 1]);
    let counts = tx
        .execute_many(&bump, &[params![2], params![0]])
        .await
        .unwrap();
    assert_eq!(counts, [2, 0]);
    let nothing: &[Vec<txkit::Value>] = &[];
    assert!(tx.execute_many(&insert, nothing).await.unwrap().is_empty());
    tx.commit().await.unwrap();
    assert_eq!(
        rows(&engine, &table).await,
        [(1, 11), (2, 21), (3, 30)],
        "every run committed"
    );

    // The second run hits a taken id: that error comes back, and after the rollback the
    // first run is gone too.
    let mut tx = engine.begin().await.unwrap();
    let err = tx
        .execute_many(&insert, &[params![4, 40], params![1, 99], params![5, 50]])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UniqueViolation, "{err}");
    tx.rollback().await.unwrap();
    assert_eq!(rows(&engine, &table).await, [(1, 11), (2, 21), (3, 30)]);

    // Bad input: transaction control, and parameter sets of the wrong size.
    let mut tx = engine.begin().await.unwrap();
    let err = tx.execute_many("COMMIT", &[params![]]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Usage, "{err}");
    let err = tx
        .execute_many(&insert, &[params![6, 60], params![7]])
        .await
        .unwrap_err();
    // Refused before it is sent on every backend, sea-orm's included (where sqlx would
    // otherwise hang on MySQL, lose the connection on PostgreSQL, bind NULL on SQLite):
    // the transaction goes on, and what it commits holds nothing of the refused call.
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    tx.commit().await.unwrap();
    assert_eq!(rows(&engine, &table).await, [(1, 11), (2, 21), (3, 30)]);
    if db.kind == Kind::Postgres && !db.sea_orm {
        // PostgreSQL's drivers encode every value for its column's type before sending:
        // bytes meant for a BIGINT in the second set refuse the whole call.
        let mut tx = engine.begin().await.unwrap();
        let bytes = vec![Value::Int(7), Value::Bytes(vec![7])];
        let err = tx
            .execute_many(&insert, &[params![6, 60], bytes])
            .await
            .unwrap_err();
        if db.pooled {
            // Behind a pooler statements go unnamed, their values as text the server parses
            // for the types it infers: the server refuses the bytes, which fails the
            // transaction, so nothing of the call is committed either.
            assert_eq!(err.kind(), ErrorKind::Database, "{err}");
            assert_eq!(err.code(), Some("22P02"), "{err}");
            assert!(tx.commit().await.is_err());
        } else {
            assert_eq!(err.kind(), ErrorKind::Config, "{err}");
            tx.commit().await.unwrap();
        }
        assert_eq!(rows(&engine, &table).await, [(1, 11), (2, 21), (3, 30)]);
    }

    // Dropped part-way (after one poll), with its transaction: nothing is committed, and
    // the connection comes back clean for the next user.
    let sets: Vec<_> = (100..150).map(|id| params![id, 1]).collect();
    let mut tx = engine.begin().await.unwrap();
    let dropped = crate::common::poll_then_drop(tx.execute_many(&insert, &sets), 1).await;
    if let Some(finished) = dropped {
        // Inline SQLite runs them all within the one poll.
        assert_eq!(finished.unwrap().len(), 50);
    }
    drop(tx);
    assert_eq!(rows(&engine, &table).await, [(1, 11), (2, 21), (3, 30)]);

    // Through a session, whose transaction begins with it — not with a refused call.
    let mut s = engine.session();
    let err = s
        .execute_many(&insert, &[params![8, 80], params![9]])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(!s.is_active(), "BEGIN was sent for a refused call");
    let counts = s
        .execute_many(&insert, &[params![8, 80], params![9, 90]])
        .await
        .unwrap();
    assert_eq!(counts, [1, 1]);
    s.commit().await.unwrap();
    assert_eq!(rows(&engine, &table).await.len(), 5);
    engine.close().await;
    db.assert_no_idle_in_transaction().await;
}

/// A hundred INSERTs through `execute_many` cost one round trip on PostgreSQL once the
/// statement is prepared (counted by a TCP proxy), and the pool's request counter agrees.
#[tokio::test(flavor = "current_thread")]
async fn execute_many_is_one_round_trip_on_postgres() {
    let Some(db) = TestDb::new(Kind::Postgres) else {
        return;
    };
    let (addr, turns) = proxy(host_port(&db.url)).await;
    let url = through(&db.url, &addr);
    let engine = Engine::builder(&url).pool_size(1).build().await.unwrap();
    let table = items(&engine).await;
    let insert = format!("INSERT INTO {table} (id, tag) VALUES (?, ?)");
    let batch = |from: i64| {
        (from..from + 100)
            .map(|id| params![id, 1])
            .collect::<Vec<_>>()
    };
    let many = |from: i64| {
        let (engine, insert, rows) = (&engine, &insert, batch(from));
        async move {
            let mut tx = engine.begin().await.unwrap();
            let counts = tx.execute_many(insert, &rows).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(counts, vec![1; 100]);
        }
    };
    many(0).await; // prepares the statement
    let (t0, r0) = (turns.turns.load(Ordering::SeqCst), engine.stats().requests);
    many(100).await;
    let (t1, r1) = (turns.turns.load(Ordering::SeqCst), engine.stats().requests);
    // BEGIN, the hundred runs, COMMIT.
    assert_eq!((t1 - t0, r1 - r0), (3, 3), "round trips, requests counted");
    assert_eq!(rows(&engine, &table).await.len(), 200);
    engine.close().await;
}
