//! Row and table locks through sessions, two sessions at a time. Steps are ordered by
//! awaiting each one before starting the next; a statement "blocks" when the database says
//! so ([`assert_waits_for_lock_at`]: PostgreSQL's and InnoDB's lock views, SQLite's write
//! lock held and txkit's writer in line at the write gate), and must then return within
//! [`BOUND`] once the lock holder ends.
//!
//! SQLite has no row locks: an exclusive locking read takes the database write lock (the
//! session begins IMMEDIATE), so there the second exclusive locker always waits, SKIP
//! LOCKED skips nothing once it has the lock, and NOWAIT is Unsupported. A shared locking
//! read takes no lock at all (the DEFERRED transaction's reads stay stable): two shared
//! readers both proceed, and in WAL mode a writer is not blocked, but the holder's own
//! later write fails as a serialization failure instead of building on a stale read.

use tokio::task::JoinHandle;
use txkit::{Engine, ErrorKind, RowLock, TableLock};

use crate::common::{BOUND, Kind, TestDb, assert_waits_for_lock_at, bounded};
use crate::entities::Isolated;
use crate::session::{Acct, seeded};

/// The table every session here locks (in a schema or database of the test's own).
const TABLE: &str = "session_accounts";

crate::matrix!(
    sea_orm:
    for_update_blocks_a_second_locker,
    nowait_fails_with_lock_not_available,
    skip_locked_returns_the_unlocked_rows,
    shared_locks_coexist_and_block_writers,
    table_lock_blocks_writers,
);

/// Asserts the database shows `task` waiting for a lock on [`TABLE`] of `iso`; gives it
/// back.
async fn assert_blocked<T>(db: &TestDb, iso: &Isolated, task: JoinHandle<T>) -> JoinHandle<T> {
    assert_waits_for_lock_at(db, &iso.url, TABLE, &task).await;
    task
}

/// Awaits `task`, which must finish within [`BOUND`].
async fn finishes<T>(task: JoinHandle<T>) -> T {
    bounded("the blocked statement, after the lock was released", task)
        .await
        .expect("task")
}

/// A task locking the row `id` with `lock` in a session of its own, then committing;
/// returns the owners it read (or the error).
fn lock_in_task(
    engine: &Engine,
    ids: Vec<i64>,
    lock: RowLock,
) -> JoinHandle<txkit::Result<Vec<String>>> {
    let engine = engine.clone();
    tokio::spawn(async move {
        let mut s = engine.session();
        let owners = s
            .query::<Acct>()
            .filter(Acct::ID.in_(ids))
            .with_for_update(lock)
            .all()
            .await?
            .into_iter()
            .map(|a| a.owner.clone())
            .collect();
        s.commit().await?;
        Ok(owners)
    })
}

async fn for_update_blocks_a_second_locker(db: TestDb) {
    let (iso, ids) = seeded(&db, 4, &["a", "b"]).await;
    let mut holder = iso.engine.session();
    let row = holder
        .query::<Acct>()
        .filter(Acct::ID.eq(ids[0]))
        .with_for_update(RowLock::update())
        .one()
        .await
        .unwrap();
    assert_eq!(row.owner, "a");
    let waiter = lock_in_task(&iso.engine, vec![ids[0]], RowLock::update());
    let waiter = assert_blocked(&db, &iso, waiter).await;
    holder.commit().await.unwrap();
    assert_eq!(finishes(waiter).await.unwrap(), ["a"]);
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

async fn nowait_fails_with_lock_not_available(db: TestDb) {
    let (iso, ids) = seeded(&db, 4, &["a"]).await;
    let mut holder = iso.engine.session();
    holder
        .query::<Acct>()
        .filter(Acct::ID.eq(ids[0]))
        .with_for_update(RowLock::update())
        .all()
        .await
        .unwrap();
    let result = tokio::time::timeout(
        BOUND,
        lock_in_task(&iso.engine, vec![ids[0]], RowLock::update().nowait()),
    )
    .await
    .expect("NOWAIT must not wait")
    .unwrap();
    let e = result.unwrap_err();
    let want = match db.kind {
        Kind::Sqlite => ErrorKind::Unsupported,
        Kind::Postgres | Kind::MySql => ErrorKind::LockNotAvailable,
    };
    assert_eq!(e.kind(), want, "{e}");
    holder.commit().await.unwrap();
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

async fn skip_locked_returns_the_unlocked_rows(db: TestDb) {
    let (iso, ids) = seeded(&db, 4, &["a", "b", "c", "d"]).await;
    let mut holder = iso.engine.session();
    let locked = holder
        .query::<Acct>()
        .filter(Acct::ID.in_([ids[0], ids[1]]))
        .with_for_update(RowLock::update())
        .all()
        .await
        .unwrap();
    assert_eq!(locked.len(), 2);
    let skipper = lock_in_task(&iso.engine, ids.clone(), RowLock::update().skip_locked());
    if db.kind == Kind::Sqlite {
        // The write lock is the only lock: the skipper waits for it, then nothing is
        // locked by anyone else, so it skips nothing.
        let skipper = assert_blocked(&db, &iso, skipper).await;
        holder.commit().await.unwrap();
        assert_eq!(finishes(skipper).await.unwrap(), ["a", "b", "c", "d"]);
    } else {
        assert_eq!(finishes(skipper).await.unwrap(), ["c", "d"]);
        holder.commit().await.unwrap();
    }
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

async fn shared_locks_coexist_and_block_writers(db: TestDb) {
    let (iso, ids) = seeded(&db, 4, &["a"]).await;
    let mut holder = iso.engine.session();
    holder
        .query::<Acct>()
        .filter(Acct::ID.eq(ids[0]))
        .with_for_update(RowLock::share())
        .all()
        .await
        .unwrap();
    // A second shared locker in another session proceeds on every backend (on SQLite a
    // shared lock does not take the database write lock).
    let sharer = lock_in_task(&iso.engine, vec![ids[0]], RowLock::share());
    assert_eq!(finishes(sharer).await.unwrap(), ["a"]);
    let engine = iso.engine.clone();
    let id = ids[0];
    let writer = tokio::spawn(async move {
        let mut s = engine.session();
        s.execute(
            "UPDATE session_accounts SET balance = balance + 1 WHERE id = ?",
            &txkit::params![id],
        )
        .await?;
        s.commit().await
    });
    if db.kind == Kind::Sqlite {
        // WAL: readers never block a writer. The holder read a snapshot, so its own write
        // now fails (retryable) rather than commit on rows another session changed.
        finishes(writer).await.unwrap();
        let e = holder
            .execute(
                "UPDATE session_accounts SET balance = balance + 1 WHERE id = ?",
                &txkit::params![id],
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SerializationFailure, "{e}");
        holder.rollback().await.unwrap();
        iso.finish().await;
        return;
    }
    let writer = assert_blocked(&db, &iso, writer).await;
    holder.commit().await.unwrap();
    finishes(writer).await.unwrap();
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

async fn table_lock_blocks_writers(db: TestDb) {
    let (iso, _) = seeded(&db, 4, &["a"]).await;
    let mut holder = iso.engine.session();
    let lock = if db.kind == Kind::Sqlite {
        // SHARE would admit a second locker; SQLite's write lock does not: use EXCLUSIVE.
        TableLock::exclusive()
    } else {
        TableLock::share()
    };
    let locked = holder.lock_table::<Acct>(lock).await;
    if db.kind == Kind::MySql {
        // LOCK TABLES would commit the transaction: refused, never silently weakened.
        assert_eq!(locked.unwrap_err().kind(), ErrorKind::Unsupported);
        holder.rollback().await.unwrap();
        iso.finish().await;
        return;
    }
    locked.unwrap();
    let engine = iso.engine.clone();
    let writer = tokio::spawn(async move {
        let mut row = Acct::new("b", 1);
        let mut s = engine.session();
        s.add_borrowed(&mut row);
        s.commit().await
    });
    let writer = assert_blocked(&db, &iso, writer).await;
    holder.commit().await.unwrap();
    finishes(writer).await.unwrap();
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}
