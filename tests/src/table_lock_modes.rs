//! Table-lock modes mean what the databases name them, proven by the server's own lock
//! view: PostgreSQL's EXCLUSIVE lets a plain SELECT through where ACCESS EXCLUSIVE makes it
//! wait (`pg_locks`); MySQL/MariaDB table locks are reachable from an `Engine`, block
//! another session's write (`information_schema.processlist`) and leave the pooled
//! connection clean after a unit that succeeds, fails or is cancelled.
//!
//! Steps are ordered by channels and by polling the server's view until it shows the
//! wait; every wait is bounded, so a regression fails instead of hanging.

use tokio::sync::oneshot;
use txkit::core::Connection;
use txkit::{Engine, Error, ErrorKind, TableLock};

use crate::common::{Kind, TestDb, bounded, until};
use crate::locks::two_rows;

crate::matrix!(
    exclusive_admits_plain_readers_access_exclusive_does_not,
    table_locks_from_an_engine_connection,
    cancelled_table_lock_unit_leaves_no_lock,
);

async fn scalar(engine: &Engine, sql: &str) -> i64 {
    engine.query(sql, &[]).await.unwrap()[0].get(0).unwrap()
}

/// A plain `SELECT count(*)` on `t` in a task of its own (another pooled connection).
fn reader(engine: &Engine, t: &str) -> tokio::task::JoinHandle<txkit::Result<i64>> {
    let (engine, sql) = (engine.clone(), format!("SELECT count(*) FROM {t}"));
    tokio::spawn(async move { engine.query(&sql, &[]).await?[0].get(0) })
}

/// The modes PostgreSQL shows as granted on `t`.
async fn pg_granted(engine: &Engine, t: &str) -> Vec<String> {
    let sql = format!(
        "SELECT mode FROM pg_locks WHERE relation = '{t}'::regclass AND granted ORDER BY mode"
    );
    let rows = engine.query(&sql, &[]).await.unwrap();
    rows.iter().map(|r| r.get(0).unwrap()).collect()
}

/// Whether a session waits (per `pg_locks` and its `wait_event_type`) for `mode` on `t`.
async fn pg_waits_for(engine: &Engine, t: &str, mode: &str) -> bool {
    let sql = format!(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.relation = '{t}'::regclass AND NOT l.granted AND l.mode = '{mode}' \
         AND a.wait_event_type = 'Lock'"
    );
    scalar(engine, &sql).await == 1
}

async fn exclusive_admits_plain_readers_access_exclusive_does_not(db: TestDb) {
    let engine = db.builder().pool_size(4).build().await.unwrap();
    let t = two_rows(&engine).await;
    let mut holder = engine.begin().await.unwrap();
    match db.kind {
        Kind::MySql => {
            // LOCK TABLES would commit the transaction: refused, naming the call that works.
            let e = holder
                .lock_table(&t, &TableLock::exclusive())
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
            assert!(e.to_string().contains("engine.with_table_locks"), "{e}");
            return;
        }
        Kind::Sqlite => {
            // EXCLUSIVE is SQLite's write lock: a plain reader passes, a writer would wait.
            holder
                .lock_table(&t, &TableLock::exclusive())
                .await
                .unwrap();
            let n = bounded("a read under EXCLUSIVE", reader(&engine, &t)).await;
            assert_eq!(n.unwrap().unwrap(), 2);
            let mut other = engine.begin().await.unwrap();
            let e = other
                .lock_table(&t, &TableLock::access_exclusive())
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
            assert!(e.to_string().contains("SqliteBehavior::Exclusive"), "{e}");
            holder.commit().await.unwrap();
            return;
        }
        Kind::Postgres => {}
    }
    holder
        .lock_table(&t, &TableLock::exclusive())
        .await
        .unwrap();
    assert_eq!(pg_granted(&engine, &t).await, ["ExclusiveLock"]);
    let n = bounded("a plain SELECT under EXCLUSIVE", reader(&engine, &t)).await;
    assert_eq!(
        n.unwrap().unwrap(),
        2,
        "EXCLUSIVE must admit a plain SELECT"
    );
    holder.commit().await.unwrap();

    let mut holder = engine.begin().await.unwrap();
    holder
        .lock_table(&t, &TableLock::access_exclusive())
        .await
        .unwrap();
    assert_eq!(pg_granted(&engine, &t).await, ["AccessExclusiveLock"]);
    let blocked = reader(&engine, &t);
    until(
        "a plain SELECT waiting on ACCESS EXCLUSIVE in pg_locks",
        || pg_waits_for(&engine, &t, "AccessShareLock"),
    )
    .await;
    assert!(!blocked.is_finished());
    holder.commit().await.unwrap();
    let n = bounded("the SELECT after ACCESS EXCLUSIVE ended", blocked).await;
    assert_eq!(n.unwrap().unwrap(), 2);
    db.assert_no_idle_in_transaction().await;
}

/// An engine with exactly one connection, so the connection a unit used is the one the
/// next checkout gets.
async fn one_connection(db: &TestDb) -> Engine {
    db.builder()
        .pool_size(1)
        .max_overflow(0)
        .build()
        .await
        .unwrap()
}

/// Whether a MariaDB/MySQL session waits for a table metadata lock while writing `t`.
async fn mysql_write_waits(observer: &Engine, t: &str) -> bool {
    let sql = format!(
        "SELECT count(*) FROM information_schema.processlist \
         WHERE state = 'Waiting for table metadata lock' AND info LIKE 'INSERT INTO {t} %'"
    );
    scalar(observer, &sql).await == 1
}

/// The connection the engine's single-connection pool hands out is clean: autocommit on,
/// no InnoDB transaction open, no LOCK TABLES in effect (reading a table it did not lock
/// works). Returns its CONNECTION_ID().
async fn assert_clean(engine: &Engine, unlisted: &str) -> i64 {
    let mut conn = engine.connection().await.unwrap();
    let row = conn
        .query(
            "SELECT CAST(CONNECTION_ID() AS SIGNED) AS id, @@autocommit AS ac, (SELECT count(*) FROM \
             information_schema.innodb_trx WHERE trx_mysql_thread_id = CONNECTION_ID()) AS trx",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        row[0].get::<i64>("ac").unwrap(),
        1,
        "autocommit not restored"
    );
    assert_eq!(
        row[0].get::<i64>("trx").unwrap(),
        0,
        "a transaction is still open"
    );
    conn.query(&format!("SELECT count(*) FROM {unlisted}"), &[])
        .await
        .expect("LOCK TABLES still in effect on the returned connection");
    row[0].get("id").unwrap()
}

/// Inserts row `id` into `t` from another engine, waiting at most 10 s for a table lock.
fn insert_elsewhere(
    other: &Engine,
    t: &str,
    id: i64,
) -> tokio::task::JoinHandle<txkit::Result<u64>> {
    let (other, sql) = (
        other.clone(),
        format!("INSERT INTO {t} (id, v) VALUES ({id}, 0)"),
    );
    tokio::spawn(async move {
        let mut conn = other.connection().await?;
        conn.execute("SET SESSION lock_wait_timeout = 10", &[])
            .await?;
        conn.execute(&sql, &[]).await
    })
}

/// A unit under `LOCK TABLES t WRITE` (ACCESS EXCLUSIVE), spawned: it inserts row `id`,
/// sends its connection id on `locked`, then holds its locks until `hold` completes.
fn locking_unit(
    engine: &Engine,
    t: &str,
    id: i64,
    locked: oneshot::Sender<i64>,
    hold: impl std::future::Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<txkit::Result<()>> {
    let (engine, t) = (engine.clone(), t.to_owned());
    tokio::spawn(async move {
        let tables = [(t.as_str(), TableLock::access_exclusive())];
        let insert = format!("INSERT INTO {t} (id, v) VALUES ({id}, 0)");
        engine
            .with_table_locks(&tables, move |c| {
                Box::pin(async move {
                    c.execute(&insert, &[]).await?;
                    let conn = c
                        .query("SELECT CAST(CONNECTION_ID() AS SIGNED)", &[])
                        .await?[0]
                        .get(0)?;
                    let _ = locked.send(conn);
                    hold.await;
                    Ok(())
                })
            })
            .await
    })
}

async fn table_locks_from_an_engine_connection(db: TestDb) {
    let engine = one_connection(&db).await;
    let t = two_rows(&engine).await;
    if db.kind != Kind::MySql {
        let e = engine
            .with_table_locks(&[(&t, TableLock::access_exclusive())], |_| {
                Box::pin(async { Ok(()) })
            })
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
        assert!(e.to_string().contains("tx.lock_table"), "{e}");
        return;
    }
    let unlisted = two_rows(&engine).await;
    let other = db.builder().pool_size(2).build().await.unwrap();
    let (locked_tx, locked_rx) = oneshot::channel::<i64>();
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let unit = locking_unit(&engine, &t, 3, locked_tx, async {
        let _ = release_rx.await;
    });
    let unit_conn = bounded("the unit taking its locks", locked_rx)
        .await
        .unwrap();
    let writer = insert_elsewhere(&other, &t, 4);
    until("another session's INSERT waiting on the table lock", || {
        mysql_write_waits(&other, &t)
    })
    .await;
    assert!(!writer.is_finished());
    release_tx.send(()).unwrap();
    bounded("the unit", unit).await.unwrap().unwrap();
    bounded("the write after UNLOCK TABLES", writer)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(assert_clean(&engine, &unlisted).await, unit_conn);
    assert_eq!(
        scalar(&engine, &format!("SELECT count(*) FROM {t}")).await,
        4
    );

    // A failing unit is rolled back and unlocked, on the same (kept) connection.
    let insert = format!("INSERT INTO {t} (id, v) VALUES (10, 0)");
    let e = engine
        .with_table_locks(&[(&t, TableLock::access_exclusive())], move |c| {
            Box::pin(async move {
                c.execute(&insert, &[]).await?;
                Err::<(), _>(Error::config("the unit fails on purpose"))
            })
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("on purpose"), "{e}");
    assert_eq!(assert_clean(&engine, &unlisted).await, unit_conn);
    bounded(
        "a write after the failed unit",
        insert_elsewhere(&other, &t, 11),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        scalar(&engine, &format!("SELECT count(*) FROM {t} WHERE id = 10")).await,
        0,
        "the failed unit's write must be rolled back"
    );
    for table in [&t, &unlisted] {
        engine
            .execute(&format!("DROP TABLE {table}"), &[])
            .await
            .unwrap();
    }
}

async fn cancelled_table_lock_unit_leaves_no_lock(db: TestDb) {
    if db.kind != Kind::MySql {
        return;
    }
    let engine = one_connection(&db).await;
    let t = two_rows(&engine).await;
    let unlisted = two_rows(&engine).await;
    let other = db.builder().pool_size(2).build().await.unwrap();
    let (locked_tx, locked_rx) = oneshot::channel::<i64>();
    let unit = locking_unit(&engine, &t, 20, locked_tx, std::future::pending::<()>());
    let unit_conn = bounded("the unit taking its locks", locked_rx)
        .await
        .unwrap();
    unit.abort();
    assert!(
        bounded("the aborted unit", unit)
            .await
            .unwrap_err()
            .is_cancelled()
    );
    // The pool discarded the connection that still held the locks; closing it ended them.
    bounded(
        "a write after the cancelled unit",
        insert_elsewhere(&other, &t, 21),
    )
    .await
    .unwrap()
    .unwrap();
    let fresh = assert_clean(&engine, &unlisted).await;
    assert_ne!(
        fresh, unit_conn,
        "the connection holding the locks went back to the pool"
    );
    let gone =
        format!("SELECT count(*) FROM information_schema.processlist WHERE id = {unit_conn}");
    until("the cancelled unit's session closed", || async {
        scalar(&other, &gone).await == 0
    })
    .await;
    assert_eq!(
        scalar(&engine, &format!("SELECT count(*) FROM {t} WHERE id = 20")).await,
        0,
        "the cancelled unit's write must be rolled back"
    );
    for table in [&t, &unlisted] {
        engine
            .execute(&format!("DROP TABLE {table}"), &[])
            .await
            .unwrap();
    }
}
