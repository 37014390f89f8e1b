//! Entities on every backend: DDL from the entity's metadata, insert / update / delete /
//! find / select, optimistic version checks under real contention, custom version
//! generators, every column type, and names that need quoting.
//!
//! Entity table names are constants, so each scenario runs in a database of its own (a
//! PostgreSQL schema or a MySQL database with a unique name; the test's own SQLite file).

pub(crate) mod fixtures;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use fixtures::{Account, Doc, Everything, Weird, next_rev};
use tokio::sync::Barrier;
use txkit::{Engine, Entity, ErrorKind, create_all};

use crate::common::{Kind, TestDb, unique};

crate::matrix!(
    sea_orm:
    versioned_increments_under_contention,
    stale_update_without_retry_writes_nothing,
    custom_version_generator_round_trips,
);
crate::matrix!(
    ddl_round_trip_of_every_type,
    quoted_identifiers_round_trip,
    generated_keys_filters_and_deletes,
);

/// An engine on a database of this test's own, and how to remove that database.
pub(crate) struct Isolated {
    pub(crate) engine: Engine,
    /// The URL `engine` was built from.
    pub(crate) url: String,
    /// The server engine and the schema or database to drop at the end.
    owner: Option<(Engine, String)>,
}

impl Isolated {
    pub(crate) async fn new(db: &TestDb, pool: usize) -> Isolated {
        let name = unique("txkit_ent");
        let (url, owner) = match db.kind {
            Kind::Sqlite => (db.url.clone(), None),
            // PgBouncer does not pass `options` (search_path) on: a database of its own.
            Kind::Postgres if db.pooled => {
                let admin = db.engine().await;
                admin
                    .execute(&format!("CREATE DATABASE {name}"), &[])
                    .await
                    .unwrap();
                let drop = format!("DROP DATABASE {name} WITH (FORCE)");
                (with_database(&db.url, &name), Some((admin, drop)))
            }
            Kind::Postgres => {
                let admin = db.engine().await;
                admin
                    .execute(&format!("CREATE SCHEMA {name}"), &[])
                    .await
                    .unwrap();
                let url = format!("{}&options=-c%20search_path%3D{name}", db.url);
                (url, Some((admin, format!("DROP SCHEMA {name} CASCADE"))))
            }
            Kind::MySql => {
                let admin = db.engine().await;
                admin
                    .execute(&format!("CREATE DATABASE {name}"), &[])
                    .await
                    .unwrap();
                let drop = format!("DROP DATABASE {name}");
                (with_database(&db.url, &name), Some((admin, drop)))
            }
        };
        let engine = Engine::builder(&url).pool_size(pool).build().await.unwrap();
        Isolated { engine, url, owner }
    }

    pub(crate) async fn finish(self) {
        self.engine.close().await;
        if let Some((admin, drop)) = self.owner {
            admin.execute(&drop, &[]).await.unwrap();
            admin.close().await;
        }
    }
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let host_end = base.find("://").map_or(0, |i| i + 3);
    let path = base[host_end..]
        .find('/')
        .map_or(base.len(), |i| host_end + i);
    format!("{}/{name}{query}", &base[..path])
}

const TASKS: usize = 16;
const INCREMENTS: i64 = 100;

/// 16 tasks × 100 versioned increments of one row, each read with `find` and written with
/// a version-checked `update`, re-read and retried on StaleData. The first increment of
/// every task reads, then waits at a barrier until all 16 have read the same version, so
/// at least 15 of those updates must be stale on any backend; later ones race freely.
async fn versioned_increments_under_contention(db: TestDb) {
    let iso = Isolated::new(&db, TASKS).await;
    let engine = iso.engine.clone();
    create_all(&engine, &[Account::table()]).await.unwrap();
    let mut account = Account::new("shared", 0);
    engine
        .connection()
        .await
        .unwrap()
        .insert(&mut account)
        .await
        .unwrap();
    let (id, start_version) = (account.id, account.version);

    let barrier = Arc::new(Barrier::new(TASKS));
    let stale = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (engine, barrier, stale) = (engine.clone(), barrier.clone(), stale.clone());
        tasks.push(tokio::spawn(async move {
            let mut first = true;
            for _ in 0..INCREMENTS {
                loop {
                    let read: Option<Account> =
                        engine.connection().await.unwrap().find(id).await.unwrap();
                    let mut account = read.unwrap();
                    if std::mem::take(&mut first) {
                        barrier.wait().await;
                    } else {
                        tokio::task::yield_now().await;
                    }
                    account.balance += 1;
                    let mut tx = engine.begin().await.unwrap();
                    match tx.update(&mut account).await {
                        Ok(()) => {
                            tx.commit().await.unwrap();
                            break;
                        }
                        Err(e) if e.kind() == ErrorKind::StaleData => {
                            stale.fetch_add(1, Ordering::Relaxed);
                            tx.rollback().await.unwrap();
                        }
                        Err(e) => panic!("update failed: {e}"),
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let done: Account = engine
        .connection()
        .await
        .unwrap()
        .find(id)
        .await
        .unwrap()
        .unwrap();
    let stale = stale.load(Ordering::Relaxed);
    println!("{:?}: {stale} stale updates retried", db.kind);
    assert_eq!(done.balance, TASKS as i64 * INCREMENTS);
    assert_eq!(done.version - start_version, TASKS as i64 * INCREMENTS);
    assert!(stale >= TASKS as u64 - 1, "only {stale} stale updates");
    db.assert_no_idle_in_transaction().await;
    iso.finish().await;
}

/// Two copies of one row; the second update is stale, says which row and version it
/// expected, and writes nothing. A stale delete likewise; a missing unversioned row is a
/// Database error.
async fn stale_update_without_retry_writes_nothing(db: TestDb) {
    let iso = Isolated::new(&db, 2).await;
    let engine = &iso.engine;
    create_all(engine, &[Account::table(), Everything::table()])
        .await
        .unwrap();
    let mut conn = engine.connection().await.unwrap();
    let mut account = Account::new("ann", 100);
    conn.insert(&mut account).await.unwrap();
    assert_eq!(account.version, 1);
    let mut first: Account = conn.find(account.id).await.unwrap().unwrap();
    let mut second = first.clone();
    drop(conn);

    first.balance += 10;
    let mut tx = engine.begin().await.unwrap();
    tx.update(&mut first).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(first.version, 2);

    second.balance -= 50;
    let mut tx = engine.begin().await.unwrap();
    let e = tx.update(&mut second).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StaleData);
    assert!(e.is_retryable());
    let info = e.stale_info().unwrap();
    assert_eq!(info.table, "accounts");
    assert_eq!(info.key, account.id.to_string());
    assert_eq!(info.expected_version, "1");
    assert_eq!(
        second.version, 1,
        "a failed update must not advance the entity"
    );
    // The transaction is still usable after StaleData.
    let seen: Account = tx.find(account.id).await.unwrap().unwrap();
    assert_eq!(seen, first);
    let e = tx.delete(&second).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StaleData);
    tx.commit().await.unwrap();

    let mut conn = engine.connection().await.unwrap();
    let stored: Account = conn.find(account.id).await.unwrap().unwrap();
    assert_eq!(stored, first);
    let mut ghost = everything(99);
    let e = conn.update(&mut ghost).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Database);
    assert!(e.to_string().contains("no row of table every_type"), "{e}");
    drop(conn);
    iso.finish().await;
}

/// A text version made by a custom generator: written on insert, advanced on update, read
/// back as written, and checked like any other version.
async fn custom_version_generator_round_trips(db: TestDb) {
    let iso = Isolated::new(&db, 2).await;
    let mut conn = iso.engine.connection().await.unwrap();
    conn.create_table::<Doc>().await.unwrap();
    let mut doc = Doc {
        id: 1,
        body: "draft".into(),
        rev: String::new(),
    };
    let mut tx = conn.begin().await.unwrap();
    tx.insert(&mut doc).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(doc.rev, next_rev(&String::new()));
    assert!(doc.rev.starts_with("r1-"), "{}", doc.rev);
    let read: Doc = conn.find(1).await.unwrap().unwrap();
    assert_eq!(read, doc);

    let old = doc.clone();
    doc.body = "final".into();
    conn.update(&mut doc).await.unwrap();
    assert_eq!(doc.rev, next_rev(&old.rev));
    assert!(doc.rev.starts_with("r2-"), "{}", doc.rev);
    let read: Doc = conn.find(1).await.unwrap().unwrap();
    assert_eq!(read, doc);

    let mut stale = old;
    let e = conn.update(&mut stale).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StaleData);
    assert_eq!(e.stale_info().unwrap().expected_version, stale.rev);
    conn.delete(&doc).await.unwrap();
    assert!(conn.find::<Doc>(1).await.unwrap().is_none());
    drop(conn);
    iso.finish().await;
}

fn everything(id: i32) -> Everything {
    Everything {
        id,
        small: 1,
        big: 2,
        ratio: 3.5,
        flag: false,
        text: "t".into(),
        short: "s".into(),
        label: "l".into(),
        bytes: vec![1],
        opt_small: None,
        opt_int: None,
        opt_big: None,
        opt_float: None,
        opt_bool: None,
        opt_text: None,
        opt_bytes: None,
    }
}

/// CREATE TABLE from the metadata (twice: IF NOT EXISTS), every type written and read back
/// at its extremes and as NULL, the declared defaults applied by the database, DROP TABLE.
async fn ddl_round_trip_of_every_type(db: TestDb) {
    let iso = Isolated::new(&db, 2).await;
    let engine = &iso.engine;
    create_all(engine, &[Everything::table()]).await.unwrap();
    create_all(engine, &[Everything::table()]).await.unwrap();

    let extremes = Everything {
        id: i32::MAX,
        small: i16::MIN,
        big: i64::MIN,
        ratio: -1.234_567_890_123_456_7e300,
        flag: true,
        text: "héllo 世界 🦀 'single' \"double\" `tick` \\ back\nslash".repeat(100),
        short: "ünïcødé ✓".into(),
        label: String::new(),
        bytes: vec![0, 255, 0, 1, 0x27, 0x5c, 0],
        opt_small: Some(i16::MAX),
        opt_int: Some(i32::MIN),
        opt_big: Some(i64::MAX),
        opt_float: Some(0.1),
        opt_bool: Some(false),
        opt_text: Some("∅".into()),
        opt_bytes: Some(Vec::new()),
    };
    let nulls = everything(i32::MIN);
    let mut tx = engine.begin().await.unwrap();
    for mut row in [extremes.clone(), nulls.clone()] {
        tx.insert(&mut row).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut conn = engine.connection().await.unwrap();
    let read: Everything = conn.find(i32::MAX).await.unwrap().unwrap();
    assert_eq!(read, extremes);
    let all: Vec<Everything> = conn.select().all().await.unwrap();
    assert_eq!(all, [nulls.clone(), extremes.clone()]);

    // Defaults: a row written without the defaulted columns.
    conn.execute(
        "INSERT INTO every_type (id, big, text, bytes) VALUES (?, ?, ?, ?)",
        &txkit::params![5, 6, "t", vec![7_u8]],
    )
    .await
    .unwrap();
    let defaulted: Everything = conn.find(5).await.unwrap().unwrap();
    assert_eq!(
        (defaulted.small, defaulted.ratio, defaulted.flag),
        (7, 0.5, true)
    );
    assert_eq!(defaulted.short, "x");
    assert_eq!(defaulted.label, "it's \"quoted\" \\ é");
    assert_eq!(defaulted.opt_text, None);

    // DDL in a transaction: fine where DDL is transactional, refused where it would commit.
    let mut tx = engine.begin().await.unwrap();
    let in_tx = tx.drop_table::<Everything>().await;
    match db.kind {
        Kind::MySql => assert_eq!(in_tx.unwrap_err().kind(), ErrorKind::Unsupported),
        _ => in_tx.unwrap(),
    }
    tx.rollback().await.unwrap();
    assert_eq!(conn.select::<Everything>().all().await.unwrap().len(), 3);

    conn.drop_table::<Everything>().await.unwrap();
    conn.drop_table::<Everything>().await.unwrap();
    assert!(conn.find::<Everything>(5).await.is_err());
    drop(conn);
    iso.finish().await;
}

/// Table and column names with quotes, backticks, spaces and SQL punctuation go through
/// DDL and every operation quoted, never spliced.
async fn quoted_identifiers_round_trip(db: TestDb) {
    let iso = Isolated::new(&db, 2).await;
    let engine = &iso.engine;
    create_all(engine, &[Weird::table()]).await.unwrap();
    let mut conn = engine.connection().await.unwrap();
    let mut rows = Vec::new();
    for (n, region) in [(1, "eu"), (2, "eu"), (1, "us'; DROP TABLE x; --")] {
        let mut row = Weird {
            region: region.into(),
            n,
            value: i64::from(n) * 10,
            note: (n == 2).then(|| "two".to_owned()),
            version: 0,
        };
        conn.insert(&mut row).await.unwrap();
        assert_eq!(row.version, 1);
        rows.push(row);
    }
    let found: Weird = conn.find(("eu", 2)).await.unwrap().unwrap();
    assert_eq!(found, rows[1]);
    let value = txkit::Column::<Weird, i64>::new("va`l\"ue");
    let note = txkit::Column::<Weird, Option<String>>::new("no te'; --");
    let hits: Vec<Weird> = conn
        .select()
        .filter(value.ge(10).and(note.is_null()))
        .all()
        .await
        .unwrap();
    assert_eq!(hits, [rows[0].clone(), rows[2].clone()]);

    let mut changed = rows[2].clone();
    changed.note = Some("changed".into());
    conn.update(&mut changed).await.unwrap();
    assert_eq!(changed.version, 2);
    let e = conn.update(&mut rows[2]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StaleData);
    assert_eq!(e.stale_info().unwrap().key, "(us'; DROP TABLE x; --, 1)");
    conn.delete(&changed).await.unwrap();
    let left: Vec<Weird> = conn.select().all().await.unwrap();
    assert_eq!(left, rows[..2]);
    // Both rows changed in one session: one flush (one UPDATE on PostgreSQL and MariaDB)
    // addressing each by its quoted composite key and version.
    let mut session = engine.session();
    for row in session.query::<Weird>().all().await.unwrap() {
        row.value += 1;
        row.note = Some(format!("flushed '{}'", row.n));
    }
    session.commit().await.unwrap();
    let flushed: Vec<Weird> = rows[..2]
        .iter()
        .map(|r| Weird {
            value: r.value + 1,
            note: Some(format!("flushed '{}'", r.n)),
            version: r.version + 1,
            ..r.clone()
        })
        .collect();
    assert_eq!(conn.select::<Weird>().all().await.unwrap(), flushed);
    conn.drop_table::<Weird>().await.unwrap();
    drop(conn);
    iso.finish().await;
}

/// Generated keys come back on insert (RETURNING or LAST_INSERT_ID), filters select the
/// right rows in key order, a duplicate unique owner is a UniqueViolation, deletes go.
async fn generated_keys_filters_and_deletes(db: TestDb) {
    let iso = Isolated::new(&db, 2).await;
    let engine = &iso.engine;
    create_all(engine, &[Account::table()]).await.unwrap();
    let mut tx = engine.begin().await.unwrap();
    let mut accounts = Vec::new();
    for (owner, balance) in [("a", 5), ("b", 0), ("c", 50)] {
        let mut account = Account::new(owner, balance);
        tx.insert(&mut account).await.unwrap();
        accounts.push(account);
    }
    tx.commit().await.unwrap();
    let ids: Vec<i64> = accounts.iter().map(|a| a.id).collect();
    assert!(ids[0] > 0 && ids[0] < ids[1] && ids[1] < ids[2], "{ids:?}");

    let mut conn = engine.connection().await.unwrap();
    let balance = txkit::Column::<Account, i64>::new("balance");
    let id = txkit::Column::<Account, i64>::new("id");
    let rich: Vec<Account> = conn.select().filter(balance.gt(0)).all().await.unwrap();
    assert_eq!(rich, [accounts[0].clone(), accounts[2].clone()]);
    let some: Vec<Account> = conn
        .select()
        .filter(id.in_([ids[2], ids[1]]))
        .all()
        .await
        .unwrap();
    assert_eq!(some, accounts[1..]);
    assert!(
        conn.select::<Account>()
            .filter(id.in_(Vec::<i64>::new()))
            .all()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(conn.find::<Account>(-1).await.unwrap().is_none());

    let e = conn.insert(&mut Account::new("a", 1)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UniqueViolation, "{e}");
    conn.delete(&accounts[1]).await.unwrap();
    assert!(conn.find::<Account>(ids[1]).await.unwrap().is_none());
    let e = conn.delete(&accounts[1]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StaleData);
    drop(conn);
    iso.finish().await;
}
