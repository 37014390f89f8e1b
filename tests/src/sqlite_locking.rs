//! SQLite's database-level write lock: an IMMEDIATE writer holds it; a second writer waits
//! out busy_timeout and gets a retryable LockTimeout.

use txkit::{Engine, ErrorKind, SqliteBehavior, TxOptions, params};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immediate_writer_holds_the_lock_and_second_writer_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?busy_timeout=200",
        dir.path().join("lock.db").display()
    );
    let engine = Engine::builder(&url).pool_size(2).build().await.unwrap();
    engine
        .execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)", &[])
        .await
        .unwrap();
    let immediate = TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate);

    let mut holder = engine.begin_with(immediate).await.unwrap();
    holder
        .execute("INSERT INTO t (v) VALUES (?)", &params![1])
        .await
        .unwrap();

    // Another IMMEDIATE transaction cannot even begin.
    let started = std::time::Instant::now();
    let err = engine.begin_with(immediate).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LockTimeout, "{err}");
    assert!(err.is_retryable());
    assert!(
        err.code().is_some_and(|c| c.starts_with("SQLITE_BUSY")),
        "{err:?}"
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(150),
        "waited busy_timeout"
    );

    // A plain autocommit write also waits and fails the same way.
    let err = engine
        .execute("INSERT INTO t (v) VALUES (?)", &params![2])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LockTimeout, "{err}");

    holder.commit().await.unwrap();
    // Once the holder commits, the second writer gets through.
    let mut tx = engine.begin_with(immediate).await.unwrap();
    tx.execute("INSERT INTO t (v) VALUES (?)", &params![3])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let n: i64 = engine
        .query("SELECT count(*) AS n FROM t", &[])
        .await
        .unwrap()[0]
        .get("n")
        .unwrap();
    assert_eq!(n, 2);
}
