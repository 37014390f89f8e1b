//! SQLite's database-level write lock, with statements on a connection thread and inline:
//! an IMMEDIATE writer holds it; a second writer waits out busy_timeout and gets a
//! retryable LockTimeout, or gets through once the holder commits.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use txkit::core::AnyConnection;
use txkit::{Engine, ErrorKind, SqliteBehavior, Transaction, TxOptions, params};

/// An engine of two connections on a new database file with table `t` (`options` are
/// added to the URL), and an IMMEDIATE transaction holding the write lock after one insert.
async fn engine_and_holder(
    dir: &tempfile::TempDir,
    options: &str,
) -> (Engine, Transaction<'static, AnyConnection>) {
    let url = format!(
        "sqlite://{}?{options}",
        dir.path().join("lock.db").display()
    );
    let engine = Engine::builder(&url).pool_size(2).build().await.unwrap();
    engine
        .execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)", &[])
        .await
        .unwrap();
    let mut holder = engine.begin_with(immediate()).await.unwrap();
    holder
        .execute("INSERT INTO t (v) VALUES (?)", &params![1])
        .await
        .unwrap();
    (engine, holder)
}

fn immediate() -> TxOptions {
    TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate)
}

async fn count(engine: &Engine) -> i64 {
    engine
        .query("SELECT count(*) AS n FROM t", &[])
        .await
        .unwrap()[0]
        .get("n")
        .unwrap()
}

async fn second_writer_times_out(execution: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (engine, holder) =
        engine_and_holder(&dir, &format!("busy_timeout=200&execution={execution}")).await;

    // Another IMMEDIATE transaction cannot even begin.
    let started = Instant::now();
    let err = engine.begin_with(immediate()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LockTimeout, "{err}");
    assert!(err.is_retryable());
    assert!(
        err.code().is_some_and(|c| c.starts_with("SQLITE_BUSY")),
        "{err:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(150),
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
    let mut tx = engine.begin_with(immediate()).await.unwrap();
    tx.execute("INSERT INTO t (v) VALUES (?)", &params![3])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count(&engine).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immediate_writer_holds_the_lock_and_second_writer_times_out() {
    second_writer_times_out("thread").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_second_writer_times_out_the_same_way() {
    second_writer_times_out("inline").await;
}

/// On a runtime of one thread: the waiter is polled once (it meets the lock and waits),
/// then the holder, on the same thread, commits, and the waiter gets through long before
/// busy_timeout. A wait that held the thread could never let the holder commit.
async fn waiter_gets_through_when_holder_commits(execution: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (engine, holder) =
        engine_and_holder(&dir, &format!("busy_timeout=30000&execution={execution}")).await;

    let started = Instant::now();
    let mut waiter = pin!(async {
        let mut tx = engine.begin_with(immediate()).await?;
        tx.execute("INSERT INTO t (v) VALUES (?)", &params![2])
            .await?;
        tx.commit().await
    });
    let mut cx = Context::from_waker(Waker::noop());
    assert!(
        waiter.as_mut().poll(&mut cx).is_pending(),
        "the waiter cannot have the lock yet"
    );
    holder.commit().await.unwrap();
    waiter.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the waiter got the lock once it was free, not at busy_timeout"
    );
    assert_eq!(count(&engine).await, 2);
}

#[tokio::test(flavor = "current_thread")]
async fn thread_waiter_gets_through_when_holder_commits() {
    waiter_gets_through_when_holder_commits("thread").await;
}

#[tokio::test(flavor = "current_thread")]
async fn inline_waiter_gets_through_when_holder_commits_on_the_same_thread() {
    waiter_gets_through_when_holder_commits("inline").await;
}
