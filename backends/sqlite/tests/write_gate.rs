//! The write gate: writers of one process to one file queue, in line and asynchronously,
//! at an in-process gate instead of meeting SQLITE_BUSY and sleeping in SQLite's busy
//! handler. Checked on both executions by SQLite's own lock state (a probe connection),
//! the file's count of busy-handler waits, and the gate's line — never by elapsed time.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{BOUND, exec, open_as, probe, scalar, temp_db, until, write_locked};
use tokio::sync::Barrier;
use tokio::time::timeout;
use txkit_core::{Connection, ErrorKind, SqliteBehavior, TxOptions, params};
use txkit_sqlite::Execution;

fn immediate() -> TxOptions {
    TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate)
}

const WRITERS: usize = 8;
const PER_WRITER: i64 = 60;

/// Eight connections writing at once — IMMEDIATE transactions, DEFERRED ones whose first
/// statement writes, and single statements outside a transaction — never wait in SQLite's
/// busy handler, and nothing reaches a caller as SQLITE_BUSY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_of_one_process_never_wait_in_sqlite() {
    for execution in Execution::ALL {
        let (_dir, path) = temp_db();
        let mut setup = open_as(&path, execution).await;
        exec(&mut setup, "CREATE TABLE t (w INTEGER, n INTEGER)").await;
        let before = setup.busy_waits();
        let start = Arc::new(Barrier::new(WRITERS));
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let (path, start) = (path.clone(), Arc::clone(&start));
            tasks.push(tokio::spawn(async move {
                let mut conn = open_as(&path, execution).await;
                start.wait().await;
                for n in 0..PER_WRITER {
                    let insert = "INSERT INTO t (w, n) VALUES (?, ?)";
                    match n % 3 {
                        0 => {
                            conn.begin(&immediate()).await?;
                            conn.execute(insert, &params![w as i64, n]).await?;
                            conn.commit().await?;
                        }
                        1 => {
                            conn.begin(&TxOptions::new()).await?;
                            conn.execute(insert, &params![w as i64, n]).await?;
                            conn.execute("UPDATE t SET n = n WHERE w = ?", &params![w as i64])
                                .await?;
                            conn.commit().await?;
                        }
                        _ => {
                            conn.execute(insert, &params![w as i64, n]).await?;
                        }
                    }
                }
                conn.close().await;
                Ok::<_, txkit_core::Error>(())
            }));
        }
        for task in tasks {
            timeout(BOUND, task).await.unwrap().unwrap().unwrap();
        }
        let rows = scalar(&mut setup, "SELECT count(*) FROM t").await;
        assert_eq!(rows, WRITERS as i64 * PER_WRITER, "{execution:?}");
        assert_eq!(
            setup.busy_waits() - before,
            0,
            "{execution:?}: a writer of this process waited in SQLite's busy handler"
        );
        setup.close().await;
    }
}

/// While one connection holds the write lock, another's BEGIN IMMEDIATE waits in line at
/// the gate — holding no SQLite lock and not in SQLite's busy handler — and goes through
/// once the first commits. A wait past busy_timeout is SQLITE_BUSY (LockTimeout) that
/// names the file.
#[tokio::test]
async fn a_second_writer_waits_in_line_then_goes_through() {
    for execution in Execution::ALL {
        let (_dir, path) = temp_db();
        let mut a = open_as(&path, execution).await;
        exec(&mut a, "CREATE TABLE t (x INTEGER)").await;
        let mut b = open_as(&path, execution).await;
        let probe = probe(&path);
        let waits = a.busy_waits();

        a.begin(&immediate()).await.unwrap();
        a.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
        assert!(
            write_locked(&probe),
            "{execution:?}: a holds SQLite's write lock"
        );
        let second = tokio::spawn(async move {
            b.begin(&immediate()).await?;
            b.execute("INSERT INTO t VALUES (2)", &[]).await?;
            b.commit().await?;
            Ok::<_, txkit_core::Error>(b)
        });
        until("b in line at the gate", || a.writers_waiting() == 1).await;
        assert!(!second.is_finished());
        a.commit().await.unwrap();
        let mut b = timeout(BOUND, second).await.unwrap().unwrap().unwrap();
        assert_eq!(a.writers_waiting(), 0);
        assert_eq!(scalar(&mut a, "SELECT count(*) FROM t").await, 2);
        assert_eq!(
            a.busy_waits(),
            waits,
            "{execution:?}: nobody slept in SQLite"
        );
        assert!(!write_locked(&probe));

        // busy_timeout bounds the wait in line.
        let mut c = common::open_with_timeout(&path, std::time::Duration::from_millis(30)).await;
        b.begin(&immediate()).await.unwrap();
        let e = c.begin(&immediate()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LockTimeout, "{execution:?}: {e}");
        assert_eq!(e.code(), Some("SQLITE_BUSY"));
        assert!(e.to_string().contains("test.db"), "{e}");
        b.rollback().await.unwrap();
        for conn in [a, b, c] {
            conn.close().await;
        }
    }
}

/// A reader that asks to write while another connection holds the write lock is answered
/// by SQLite at once (BUSY: its snapshot would go stale), exactly as without the gate:
/// waiting in line would only delay that answer.
#[tokio::test]
async fn a_reader_upgrading_is_answered_by_sqlite_at_once() {
    for execution in Execution::ALL {
        let (_dir, path) = temp_db();
        let mut a = open_as(&path, execution).await;
        exec(&mut a, "CREATE TABLE t (x INTEGER)").await;
        let mut b = open_as(&path, execution).await;
        b.begin(&TxOptions::new()).await.unwrap();
        assert_eq!(scalar(&mut b, "SELECT count(*) FROM t").await, 0);
        a.begin(&immediate()).await.unwrap();
        let e = timeout(BOUND, b.execute("INSERT INTO t VALUES (1)", &[]))
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(
                e.kind(),
                ErrorKind::LockTimeout | ErrorKind::SerializationFailure
            ),
            "{execution:?}: {e}"
        );
        assert_eq!(a.writers_waiting(), 0, "b never queued");
        b.rollback().await.unwrap();
        a.rollback().await.unwrap();
        a.close().await;
        b.close().await;
    }
}

/// A read-only transaction never queues for the gate: its write is refused by SQLite as
/// read-only, whoever holds the gate at the time.
#[tokio::test]
async fn a_read_only_transaction_never_waits_for_the_gate() {
    for execution in Execution::ALL {
        let (_dir, path) = temp_db();
        let mut a = open_as(&path, execution).await;
        exec(&mut a, "CREATE TABLE t (x INTEGER)").await;
        let mut b = open_as(&path, execution).await;
        a.begin(&immediate()).await.unwrap();
        b.begin(&TxOptions::new().read_only()).await.unwrap();
        let e = timeout(BOUND, b.execute("INSERT INTO t VALUES (1)", &[]))
            .await
            .unwrap()
            .unwrap_err();
        assert!(e.to_string().contains("read-only"), "{execution:?}: {e}");
        assert_eq!(a.writers_waiting(), 0, "{execution:?}");
        b.rollback().await.unwrap();
        a.rollback().await.unwrap();
        a.close().await;
        b.close().await;
    }
}
