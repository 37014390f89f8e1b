//! A private SQLite `:memory:` database shared by every checkout through a Static pool.

use std::time::Duration;

use txkit::pool::PoolKind;
use txkit::{Engine, ErrorKind, params};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_database_is_shared_by_every_checkout() {
    let engine = Engine::builder("sqlite::memory:")
        .pool_timeout(Duration::from_millis(200))
        .build()
        .await
        .unwrap();
    assert_eq!(engine.pool().config().kind, PoolKind::Static);
    engine
        .execute("CREATE TABLE t (v INTEGER)", &[])
        .await
        .unwrap();
    for v in 0..5 {
        let mut tx = engine.begin().await.unwrap();
        tx.execute("INSERT INTO t (v) VALUES (?)", &params![v])
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    // Another checkout, the same database.
    let mut conn = engine.connection().await.unwrap();
    let n: i64 = conn
        .query("SELECT count(*) AS n FROM t", &[])
        .await
        .unwrap()[0]
        .get("n")
        .unwrap();
    assert_eq!(n, 5);
    // While it is held, others wait their turn (and time out here rather than get a
    // different, empty database).
    let err = engine.connection().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PoolTimeout);
    drop(conn);
    // Concurrent users take turns on the one connection.
    let mut tasks = Vec::new();
    for v in 10..20 {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            engine
                .execute("INSERT INTO t (v) VALUES (?)", &params![v])
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n: i64 = engine
        .query("SELECT count(*) AS n FROM t", &[])
        .await
        .unwrap()[0]
        .get("n")
        .unwrap();
    assert_eq!(n, 15);
    let s = engine.status();
    assert_eq!((s.open, s.size, s.max_overflow), (1, 1, 0), "{s}");
    assert_eq!(engine.stats().connects, 1);
}
