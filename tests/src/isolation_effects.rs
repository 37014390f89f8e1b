//! Isolation levels take effect: two transactions, ordered by barriers, show what each
//! level lets one see of the other.

use std::sync::Arc;

use tokio::sync::Barrier;
use txkit::{Engine, ErrorKind, IsolationLevel, TxOptions, params};

use crate::common::{Kind, TestDb, unique};

crate::matrix!(sea_orm: non_repeatable_read_by_level, write_skew_by_level);

async fn single_row_table(db: &TestDb, engine: &Engine) -> String {
    let t = unique("iso");
    engine
        .execute(
            &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"),
            &[],
        )
        .await
        .unwrap();
    engine
        .execute(&format!("INSERT INTO {t} (id, v) VALUES (1, 1)"), &[])
        .await
        .unwrap();
    let _ = db;
    t
}

/// T1 reads, T2 changes the row and commits, T1 reads again: READ COMMITTED sees the new
/// value, REPEATABLE READ and SERIALIZABLE keep the first (SQLite is always serializable).
async fn non_repeatable_read_by_level(db: TestDb) {
    let engine = db.builder().pool_size(3).build().await.unwrap();
    let t = single_row_table(&db, &engine).await;
    let levels = [
        IsolationLevel::ReadCommitted,
        IsolationLevel::RepeatableRead,
    ];
    for (round, level) in levels.into_iter().enumerate() {
        let mut t1 = engine
            .begin_with(TxOptions::new().isolation(level))
            .await
            .unwrap();
        let read = format!("SELECT v FROM {t} WHERE id = 1");
        let first: i64 = t1.query_one(&read, &[]).await.unwrap().get("v").unwrap();
        let next = first + 1;
        engine
            .execute(
                &format!("UPDATE {t} SET v = ? WHERE id = 1"),
                &params![next],
            )
            .await
            .unwrap();
        let second: i64 = t1.query_one(&read, &[]).await.unwrap().get("v").unwrap();
        t1.commit().await.unwrap();
        let sees_change = match (db.kind, level) {
            (Kind::Sqlite, _) => false,
            (_, IsolationLevel::ReadCommitted) => true,
            _ => false,
        };
        let expect = if sees_change { next } else { first };
        assert_eq!(second, expect, "round {round} at {level}");
    }
}

/// Two doctors on call; each transaction checks that two are on call and takes one off.
/// REPEATABLE READ lets both commit on PostgreSQL and MariaDB (write skew: nobody on call);
/// SERIALIZABLE refuses one of them with a retryable error (PostgreSQL: serialization
/// failure; MariaDB: its locking reads deadlock; SQLite: a stale snapshot, at any level).
async fn write_skew_by_level(db: TestDb) {
    let engine = db.builder().pool_size(4).build().await.unwrap();
    for level in [IsolationLevel::RepeatableRead, IsolationLevel::Serializable] {
        let t = unique("doctors");
        engine
            .execute(
                &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, on_call INTEGER NOT NULL)"),
                &[],
            )
            .await
            .unwrap();
        engine
            .execute(
                &format!("INSERT INTO {t} (id, on_call) VALUES (1, 1), (2, 1)"),
                &[],
            )
            .await
            .unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let mut tasks = Vec::new();
        for me in [1_i64, 2] {
            let (engine, barrier, t) = (engine.clone(), Arc::clone(&barrier), t.clone());
            tasks.push(tokio::spawn(async move {
                let mut tx = engine.begin_with(TxOptions::new().isolation(level)).await?;
                let on_call: i64 = tx
                    .query_one(
                        &format!("SELECT count(*) AS n FROM {t} WHERE on_call = 1"),
                        &[],
                    )
                    .await?
                    .get("n")?;
                barrier.wait().await;
                if on_call >= 2 {
                    tx.execute(
                        &format!("UPDATE {t} SET on_call = 0 WHERE id = ?"),
                        &params![me],
                    )
                    .await?;
                }
                tx.commit().await
            }));
        }
        let mut committed = 0;
        let mut refused = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => committed += 1,
                Err(e) => refused.push(e),
            }
        }
        let on_call: i64 = engine
            .query(
                &format!("SELECT count(*) AS n FROM {t} WHERE on_call = 1"),
                &[],
            )
            .await
            .unwrap()[0]
            .get("n")
            .unwrap();
        let serializable = level == IsolationLevel::Serializable || db.kind == Kind::Sqlite;
        if serializable {
            assert_eq!(committed, 1, "{level}: {refused:?}");
            let e = &refused[0];
            assert!(e.is_retryable(), "{level}: {e}");
            // SQLite refuses to upgrade a read transaction while another writer holds the
            // lock with SQLITE_BUSY at once (waiting could deadlock), or with BUSY_SNAPSHOT
            // once that writer committed.
            let sqlite_busy = db.kind == Kind::Sqlite && e.kind() == ErrorKind::LockTimeout;
            assert!(
                sqlite_busy
                    || matches!(
                        e.kind(),
                        ErrorKind::SerializationFailure | ErrorKind::Deadlock
                    ),
                "{level}: {e}"
            );
            assert_eq!(on_call, 1, "{level}: the invariant holds");
        } else {
            assert_eq!(committed, 2, "{level}: {refused:?}");
            assert_eq!(on_call, 0, "{level}: write skew is allowed");
        }
    }
}
