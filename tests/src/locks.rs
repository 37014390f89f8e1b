//! Row and table locks between two transactions: blocking, NOWAIT, SKIP LOCKED, shared
//! locks. A statement "blocks" when the database's own lock view shows it waiting
//! ([`assert_waits_for_lock`]); every wait, expected or not, is bounded.

use std::time::Duration;

use txkit::{Engine, ErrorKind, RowLock, SqliteBehavior, TableLock, TxOptions, params};

use crate::common::{Kind, TestDb, assert_waits_for_lock, bounded, unique};

crate::matrix!(sea_orm: row_locks, table_locks);

/// How long a statement that must not wait may take (NOWAIT, a second shared lock, a
/// reader under a table lock).
const AT_ONCE: Duration = Duration::from_secs(10);

/// A new table with rows 1 and 2 (`id`, `v`).
pub(crate) async fn two_rows(engine: &Engine) -> String {
    let t = unique("locked");
    engine
        .execute(
            &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"),
            &[],
        )
        .await
        .unwrap();
    engine
        .execute(
            &format!("INSERT INTO {t} (id, v) VALUES (1, 0), (2, 0)"),
            &[],
        )
        .await
        .unwrap();
    t
}

/// `SELECT … WHERE <filter> <lock clause>` through transaction `tx`'s dialect.
fn locking_select(engine_kind: Kind, t: &str, filter: &str, clause: &str) -> String {
    let _ = engine_kind;
    format!("SELECT id FROM {t} WHERE {filter} ORDER BY id {clause}")
}

async fn row_locks(db: TestDb) {
    let engine = db.builder().pool_size(4).build().await.unwrap();
    let t = two_rows(&engine).await;
    let mut t1 = engine.begin().await.unwrap();
    let update = match t1.dialect().row_lock_clause(&RowLock::update()) {
        Ok(clause) => clause,
        Err(e) => {
            // SQLite has no row locks, and says so rather than dropping the clause.
            assert_eq!(db.kind, Kind::Sqlite, "{e}");
            assert_eq!(e.kind(), ErrorKind::Unsupported);
            drop(t1);
            return sqlite_write_lock_blocks(&db, &engine, &t).await;
        }
    };
    let nowait = t1
        .dialect()
        .row_lock_clause(&RowLock::update().nowait())
        .unwrap();
    let skip = t1
        .dialect()
        .row_lock_clause(&RowLock::update().skip_locked())
        .unwrap();
    let share = t1.dialect().row_lock_clause(&RowLock::share()).unwrap();

    // FOR UPDATE blocks a second FOR UPDATE until commit.
    t1.query(&locking_select(db.kind, &t, "id = 1", &update), &[])
        .await
        .unwrap();
    let second = {
        let (engine, sql) = (
            engine.clone(),
            locking_select(db.kind, &t, "id = 1", &update),
        );
        tokio::spawn(async move {
            let mut t2 = engine.begin().await?;
            let rows = t2.query(&sql, &[]).await?;
            t2.commit().await?;
            Ok::<usize, txkit::Error>(rows.len())
        })
    };
    assert_waits_for_lock(&db, &t, &second).await;

    // NOWAIT fails at once (a NOWAIT that waits fails here, bounded, instead of hanging);
    // SKIP LOCKED skips the locked row.
    let mut t3 = engine.begin().await.unwrap();
    let err = tokio::time::timeout(
        AT_ONCE,
        t3.query(&locking_select(db.kind, &t, "id = 1", &nowait), &[]),
    )
    .await
    .expect("NOWAIT waited for the lock")
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LockNotAvailable, "{err}");
    drop(t3);
    let mut t4 = engine.begin().await.unwrap();
    let rows = tokio::time::timeout(
        AT_ONCE,
        t4.query(&locking_select(db.kind, &t, "1 = 1", &skip), &[]),
    )
    .await
    .expect("SKIP LOCKED waited for the locked row")
    .unwrap();
    let ids: Vec<i64> = rows.iter().map(|r| r.get("id").unwrap()).collect();
    assert_eq!(ids, [2], "SKIP LOCKED returns only the unlocked row");
    t4.rollback().await.unwrap();

    t1.commit().await.unwrap();
    assert_eq!(
        bounded("the blocked FOR UPDATE", second)
            .await
            .unwrap()
            .unwrap(),
        1,
        "the blocked FOR UPDATE went through"
    );

    // A shared lock admits another shared lock and blocks an update.
    let mut s1 = engine.begin().await.unwrap();
    s1.query(&locking_select(db.kind, &t, "id = 1", &share), &[])
        .await
        .unwrap();
    let mut s2 = engine.begin().await.unwrap();
    let shared = tokio::time::timeout(
        AT_ONCE,
        s2.query(&locking_select(db.kind, &t, "id = 1", &share), &[]),
    )
    .await
    .expect("a second shared lock must not wait")
    .unwrap();
    assert_eq!(shared.len(), 1);
    s2.rollback().await.unwrap();
    let writer = {
        let (engine, sql) = (
            engine.clone(),
            format!("UPDATE {t} SET v = v + 1 WHERE id = 1"),
        );
        tokio::spawn(async move {
            let mut w = engine.begin().await?;
            let n = w.execute(&sql, &[]).await?;
            w.commit().await?;
            Ok::<u64, txkit::Error>(n)
        })
    };
    assert_waits_for_lock(&db, &t, &writer).await;
    s1.commit().await.unwrap();
    assert_eq!(
        bounded("the update after the shared lock", writer)
            .await
            .unwrap()
            .unwrap(),
        1
    );
    db.assert_no_idle_in_transaction().await;
}

/// SQLite's equivalent of a row lock: an IMMEDIATE transaction holds the database's write
/// lock, so a second IMMEDIATE transaction waits until the first commits.
async fn sqlite_write_lock_blocks(db: &TestDb, engine: &Engine, t: &str) {
    let immediate = TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate);
    let mut t1 = engine.begin_with(immediate).await.unwrap();
    t1.query(&format!("SELECT id FROM {t} WHERE id = 1"), &[])
        .await
        .unwrap();
    let second = {
        let (engine, sql) = (
            engine.clone(),
            format!("UPDATE {t} SET v = v + 1 WHERE id = 1"),
        );
        tokio::spawn(async move {
            let mut t2 = engine.begin_with(immediate).await?;
            let n = t2.execute(&sql, &[]).await?;
            t2.commit().await?;
            Ok::<u64, txkit::Error>(n)
        })
    };
    assert_waits_for_lock(db, t, &second).await;
    t1.commit().await.unwrap();
    let n = bounded("the second IMMEDIATE transaction", second).await;
    assert_eq!(n.unwrap().unwrap(), 1);
}

async fn table_locks(db: TestDb) {
    let engine = db.builder().pool_size(4).build().await.unwrap();
    let t = two_rows(&engine).await;
    let mut t1 = engine.begin().await.unwrap();
    // SQLite's one writer-excluding lock conflicts with itself, so SHARE (which admits a
    // second SHARE locker) is refused there with the alternative: EXCLUSIVE.
    let lock = if db.kind == Kind::Sqlite {
        let e = t1.lock_table(&t, &TableLock::share()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
        assert!(e.to_string().contains("TableLock::exclusive()"), "{e}");
        TableLock::exclusive()
    } else {
        TableLock::share()
    };
    match t1.lock_table(&t, &lock).await {
        Ok(()) => {}
        Err(e) => {
            // MySQL's LOCK TABLES would commit the open transaction: refused, not faked.
            assert_eq!(db.kind, Kind::MySql, "{e}");
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
            return;
        }
    }
    // Readers are admitted (on every backend) …
    let n: i64 = tokio::time::timeout(
        AT_ONCE,
        engine.query(&format!("SELECT count(*) AS n FROM {t}"), &[]),
    )
    .await
    .expect("a SHARE or EXCLUSIVE table lock must admit readers")
    .unwrap()[0]
        .get("n")
        .unwrap();
    assert_eq!(n, 2);
    // … writers wait until the lock holder ends.
    let writer = {
        let (engine, sql) = (
            engine.clone(),
            format!("INSERT INTO {t} (id, v) VALUES (?, 0)"),
        );
        tokio::spawn(async move { engine.execute(&sql, &params![3]).await })
    };
    assert_waits_for_lock(&db, &t, &writer).await;
    if db.kind == Kind::Postgres {
        // NOWAIT fails at once.
        let mut t2 = engine.begin().await.unwrap();
        let err = tokio::time::timeout(
            AT_ONCE,
            t2.lock_table(&t, &TableLock::access_exclusive().nowait()),
        )
        .await
        .expect("LOCK TABLE … NOWAIT waited")
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::LockNotAvailable, "{err}");
    }
    t1.commit().await.unwrap();
    let n = bounded("the writer after the table lock", writer).await;
    assert_eq!(n.unwrap().unwrap(), 1);
    // Names are quoted by the dialect, never spliced: a hostile name is one identifier.
    let mut tx = engine.begin().await.unwrap();
    let err = tx
        .lock_table(&format!("{t}; DROP TABLE {t}"), &TableLock::share())
        .await
        .unwrap_err();
    assert_ne!(err.kind(), ErrorKind::Config, "{err}");
    drop(tx);
    let n: i64 = engine
        .query(&format!("SELECT count(*) AS n FROM {t}"), &[])
        .await
        .unwrap()[0]
        .get("n")
        .unwrap();
    assert_eq!(n, 3);
    db.assert_no_idle_in_transaction().await;
}
