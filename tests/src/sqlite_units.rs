//! SQLite's one-hop units of work (`Engine::sqlite_transaction`) and the write gate, seen
//! from the engine: a unit commits or rolls back whole, waits in line for another writer of
//! the process (proven by the gate's line and SQLite's own lock state, never by time), and
//! a unit or a writer cancelled while in line, or while running on its thread, never leaves
//! a dirty connection in the pool. On the other backends the unit is refused.

use std::sync::mpsc;
use std::time::Duration;

use txkit::core::TxState;
use txkit::{Engine, ErrorKind, SqliteBehavior, TxOptions, params};

use crate::common::{Kind, TestDb, poll_then_drop, sqlite_watcher, sqlite_write_locked, unique};

crate::matrix!(without_thread: sqlite_transaction_is_sqlite_only);

/// A bound on every wait here.
const BOUND: Duration = Duration::from_secs(20);

fn immediate() -> TxOptions {
    TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate)
}

async fn sqlite_transaction_is_sqlite_only(db: TestDb) {
    let engine = db.engine().await;
    let result = engine
        .sqlite_transaction(TxOptions::new(), |tx| {
            tx.query("SELECT 1", &[])?;
            Ok(7)
        })
        .await;
    match db.kind {
        Kind::Sqlite => assert_eq!(result.unwrap(), 7),
        Kind::Postgres | Kind::MySql => {
            let e = result.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
            assert!(e.to_string().contains("engine.begin()"), "{e}");
        }
    }
    engine.close().await;
}

/// A file database on `execution` (`inline` or `thread`), a table `t`, and an engine of
/// exactly `pool` connections: no overflow, so "the connection's next user" is the next
/// caller, not a fresh connection opened beside a busy one.
async fn engine_on(
    dir: &tempfile::TempDir,
    execution: &str,
    pool: usize,
) -> (Engine, String, std::path::PathBuf) {
    let path = dir.path().join("units.db");
    let url = format!("sqlite://{}?execution={execution}", path.display());
    let engine = Engine::builder(&url)
        .pool_size(pool)
        .max_overflow(0)
        .build()
        .await
        .unwrap();
    let t = unique("units");
    engine
        .execute(
            &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, v INTEGER)"),
            &[],
        )
        .await
        .unwrap();
    (engine, t, path)
}

async fn until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + BOUND;
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {BOUND:?}"
        );
        tokio::task::yield_now().await;
    }
}

async fn count(engine: &Engine, t: &str) -> i64 {
    let rows = engine
        .query(&format!("SELECT count(*) FROM {t}"), &[])
        .await
        .unwrap();
    rows[0].get::<i64>(0).unwrap()
}

/// The pool's connections are all idle, outside any transaction (pool of one).
async fn clean(engine: &Engine) {
    let mut conn = engine.connection().await.unwrap();
    assert_eq!(conn.tx_state(), TxState::Idle);
    assert!(!conn.server_in_transaction().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_commits_or_rolls_back_whole() {
    for execution in ["inline", "thread"] {
        let dir = tempfile::tempdir().unwrap();
        let (engine, t, _) = engine_on(&dir, execution, 1).await;
        let insert = format!("INSERT INTO {t} (v) VALUES (?)");

        let ins = insert.clone();
        let n = engine
            .sqlite_transaction(TxOptions::new(), move |tx| {
                let counts = tx.execute_many(&ins, &[&params![1], &params![2]])?;
                Ok(counts.iter().sum::<u64>())
            })
            .await
            .unwrap();
        assert_eq!((n, count(&engine, &t).await), (2, 2), "{execution}");

        let ins = insert.clone();
        let e = engine
            .sqlite_transaction(TxOptions::new(), move |tx| {
                tx.execute(&ins, &params![3])?;
                Err::<(), _>(txkit::Error::new(ErrorKind::Database, "the unit gave up"))
            })
            .await
            .unwrap_err();
        assert_eq!(
            e.message(),
            "the unit gave up",
            "{execution}: the unit's own error"
        );
        assert_eq!(
            count(&engine, &t).await,
            2,
            "{execution}: rolled back whole"
        );

        let ins = insert.clone();
        let e = engine
            .sqlite_transaction(TxOptions::new().read_only(), move |tx| {
                tx.execute(&ins, &params![4])
            })
            .await
            .unwrap_err();
        assert!(e.to_string().contains("read-only"), "{execution}: {e}");
        assert_eq!(count(&engine, &t).await, 2);
        clean(&engine).await;
        engine.close().await;
    }
}

/// While a transaction of the engine holds the write lock, a unit waits in line at the
/// gate — holding no SQLite lock, never in SQLite's busy handler — and runs once it is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_waits_in_line_for_another_writer() {
    for execution in ["inline", "thread"] {
        let dir = tempfile::tempdir().unwrap();
        let (engine, t, path) = engine_on(&dir, execution, 2).await;
        let watch = sqlite_watcher(&path).await;
        let waits = watch.busy_waits();
        let insert = format!("INSERT INTO {t} (v) VALUES (?)");

        let mut holder = engine.begin_with(immediate()).await.unwrap();
        holder.execute(&insert, &params![1]).await.unwrap();
        let unit = tokio::spawn({
            let (engine, insert) = (engine.clone(), insert.clone());
            async move {
                engine
                    .sqlite_transaction(TxOptions::new(), move |tx| {
                        tx.execute(&insert, &params![2])
                    })
                    .await
            }
        });
        until("the unit in line", || watch.writers_waiting() == 1).await;
        assert!(
            sqlite_write_locked(&path),
            "{execution}: the holder has SQLite's write lock"
        );
        holder.commit().await.unwrap();
        assert_eq!(
            tokio::time::timeout(BOUND, unit)
                .await
                .unwrap()
                .unwrap()
                .unwrap(),
            1
        );
        assert_eq!(count(&engine, &t).await, 2);
        assert_eq!(
            watch.busy_waits(),
            waits,
            "{execution}: nobody slept in SQLite"
        );
        engine.close().await;
    }
}

/// A unit dropped while in line, and a plain IMMEDIATE begin dropped while in line, leave
/// nothing behind: no row, no place in line, a clean connection in the pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_while_in_line() {
    for execution in ["inline", "thread"] {
        let dir = tempfile::tempdir().unwrap();
        let (engine, t, path) = engine_on(&dir, execution, 2).await;
        let watch = sqlite_watcher(&path).await;
        let insert = format!("INSERT INTO {t} (v) VALUES (?)");
        let mut holder = engine.begin_with(immediate()).await.unwrap();
        holder.execute(&insert, &params![1]).await.unwrap();

        {
            let ins = insert.clone();
            let unit = engine
                .sqlite_transaction(TxOptions::new(), move |tx| tx.execute(&ins, &params![2]));
            let mut unit = std::pin::pin!(unit);
            let polled = tokio::time::timeout(BOUND, async {
                loop {
                    if let Some(done) = poll_then_drop_ref(unit.as_mut()).await {
                        return Some(done);
                    }
                    if watch.writers_waiting() == 1 {
                        return None;
                    }
                }
            })
            .await
            .unwrap();
            assert!(
                polled.is_none(),
                "{execution}: the unit cannot run while the lock is held"
            );
        }
        assert_eq!(
            watch.writers_waiting(),
            0,
            "{execution}: the dropped unit left the line"
        );

        let begin = poll_then_drop(engine.begin_with(immediate()), 50).await;
        assert!(
            begin.is_none(),
            "{execution}: a writer cannot begin while the lock is held"
        );
        assert_eq!(watch.writers_waiting(), 0);

        holder.commit().await.unwrap();
        assert_eq!(
            count(&engine, &t).await,
            1,
            "{execution}: only the holder's row"
        );
        // Both connections are clean, and the next writer goes straight through.
        let mut a = engine.connection().await.unwrap();
        let mut b = engine.connection().await.unwrap();
        for conn in [&mut a, &mut b] {
            assert!(!conn.server_in_transaction().await.unwrap(), "{execution}");
        }
        drop((a, b));
        engine.execute(&insert, &params![3]).await.unwrap();
        assert_eq!(count(&engine, &t).await, 2);
        engine.close().await;
    }
}

/// Polls `fut` once; its output if it finished.
async fn poll_then_drop_ref<F: std::future::Future + Unpin>(fut: F) -> Option<F::Output> {
    poll_then_drop(fut, 1).await
}

/// A unit whose future is dropped while the unit runs on its thread still runs to its end
/// (COMMIT included, as documented); a second unit queued behind it on the same connection
/// and dropped there does nothing; the pool's next user of that connection waits for the
/// first and finds it outside any transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_while_running_on_its_thread_or_queued_behind_it() {
    for execution in ["inline", "thread"] {
        let dir = tempfile::tempdir().unwrap();
        let (engine, t, _) = engine_on(&dir, execution, 1).await;
        let insert = format!("INSERT INTO {t} (v) VALUES (?)");
        let (started_tx, started) = mpsc::channel::<()>();
        let (go_on, go) = mpsc::channel::<()>();
        {
            let insert = insert.clone();
            let unit = engine.sqlite_transaction(TxOptions::new(), move |tx| {
                tx.execute(&insert, &params![1])?;
                started_tx.send(()).ok();
                // Held here, on the unit's thread, until the test has dropped the future.
                go.recv_timeout(BOUND).ok();
                tx.execute(&insert, &params![2])
            });
            let mut unit = std::pin::pin!(unit);
            let dropped = tokio::time::timeout(BOUND, async {
                loop {
                    assert!(
                        poll_then_drop_ref(unit.as_mut()).await.is_none(),
                        "{execution}"
                    );
                    if started.try_recv().is_ok() {
                        break;
                    }
                }
            })
            .await;
            dropped.unwrap();
        }
        // The pool's one connection is being reset (after waiting for its unit, still
        // running): a second unit queues for it, and is dropped there.
        let queued = poll_then_drop(
            engine.sqlite_transaction(TxOptions::new(), {
                let insert = insert.clone();
                move |tx| tx.execute(&insert, &params![3])
            }),
            50,
        )
        .await;
        assert!(
            queued.is_none(),
            "{execution}: queued behind a running unit"
        );
        go_on.send(()).unwrap();
        // The next command waits for the first unit to finish.
        assert_eq!(
            count(&engine, &t).await,
            2,
            "{execution}: the first unit ran to its end"
        );
        let rows = engine
            .query(&format!("SELECT count(*) FROM {t} WHERE v = 3"), &[])
            .await
            .unwrap();
        assert_eq!(
            rows[0].get::<i64>(0).unwrap(),
            0,
            "{execution}: the dropped unit did nothing"
        );
        clean(&engine).await;
        engine.close().await;
    }
}
