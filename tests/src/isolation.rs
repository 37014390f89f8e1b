//! Isolation per engine, per connection (restored on return to the pool) and per
//! transaction; read-only transactions refuse writes.

use txkit::{IsolationLevel, Transaction, TxOptions, params};

use crate::common::{INNODB_TRX_PROBE_LOCK, Kind, TestDb, people_table};

crate::matrix!(sea_orm: isolation_defaults_and_overrides, read_only_refuses_writes);

/// The level the database says `tx` runs at. SQLite runs every transaction serializably
/// whatever is asked, unless its connection has `PRAGMA read_uncommitted` on (which lets
/// it read other connections' uncommitted writes in a shared cache): that pragma is read.
async fn level_in(
    db: &TestDb,
    tx: &mut Transaction<'_>,
    probe: &str,
    want: Option<IsolationLevel>,
) -> Option<IsolationLevel> {
    match db.kind {
        Kind::Sqlite => {
            tx.query(&format!("SELECT count(*) FROM {probe}"), &[])
                .await
                .unwrap();
            let row = tx.query_one("PRAGMA read_uncommitted", &[]).await.unwrap();
            Some(match row.get::<i64>(0).unwrap() {
                0 => IsolationLevel::Serializable,
                _ => IsolationLevel::ReadUncommitted,
            })
        }
        Kind::Postgres => {
            let row = tx
                .query_one("SHOW transaction_isolation", &[])
                .await
                .unwrap();
            Some(row.get::<String>(0).unwrap().parse().unwrap())
        }
        Kind::MySql => {
            // InnoDB registers the transaction at its first locking read (a plain read
            // under READ UNCOMMITTED needs no snapshot, so it may not). Its information_schema
            // view is a cache that refreshes only when nobody has read it for 100 ms — so
            // concurrent probes (other tests, other processes) can starve it for good. The
            // probes therefore take turns under a server-wide user lock, and each waits
            // 150 ms of quiet before reading.
            tx.query(&format!("SELECT count(*) FROM {probe} FOR UPDATE"), &[])
                .await
                .unwrap();
            let lock = format!("SELECT GET_LOCK('{INNODB_TRX_PROBE_LOCK}', 60)");
            tx.query(&lock, &[]).await.unwrap();
            let mut seen = None;
            for _ in 0..5 {
                tx.execute("DO SLEEP(0.15)", &[]).await.unwrap();
                let row = tx
                    .query_opt(
                        "SELECT trx_isolation_level FROM information_schema.innodb_trx \
                         WHERE trx_mysql_thread_id = CONNECTION_ID()",
                        &[],
                    )
                    .await
                    .unwrap();
                seen = row.map(|r| r.get::<String>(0).unwrap().parse().unwrap());
                if seen == want {
                    break;
                }
            }
            let unlock = format!("SELECT RELEASE_LOCK('{INNODB_TRX_PROBE_LOCK}')");
            tx.query(&unlock, &[]).await.unwrap();
            seen
        }
    }
}

async fn isolation_defaults_and_overrides(db: TestDb) {
    let engine = db
        .builder()
        .pool_size(1)
        .isolation(IsolationLevel::RepeatableRead)
        .build()
        .await
        .unwrap();
    let probe = people_table(&db, &engine).await;
    // SQLite meets every level by running serializably.
    let expect = |level| {
        Some(if db.kind == Kind::Sqlite {
            IsolationLevel::Serializable
        } else {
            level
        })
    };

    // Engine default.
    let mut tx = engine.begin().await.unwrap();
    assert_eq!(
        level_in(&db, &mut tx, &probe, expect(IsolationLevel::RepeatableRead)).await,
        expect(IsolationLevel::RepeatableRead)
    );
    tx.commit().await.unwrap();

    // Per transaction, over the engine default.
    for level in IsolationLevel::ALL {
        let mut tx = engine
            .begin_with(TxOptions::new().isolation(level))
            .await
            .unwrap();
        let seen = level_in(&db, &mut tx, &probe, expect(level)).await;
        // PostgreSQL runs READ UNCOMMITTED as READ COMMITTED but reports what was asked.
        assert_eq!(seen, expect(level), "asked {level}");
        tx.rollback().await.unwrap();
    }

    // Per connection, restored when the connection goes back to the pool.
    {
        let mut conn = engine.connection().await.unwrap();
        conn.set_isolation(IsolationLevel::Serializable);
        let mut tx = conn.begin().await.unwrap();
        assert_eq!(
            level_in(&db, &mut tx, &probe, expect(IsolationLevel::Serializable)).await,
            expect(IsolationLevel::Serializable)
        );
        tx.commit().await.unwrap();
        let mut tx = conn
            .begin_with(TxOptions::new().isolation(IsolationLevel::ReadCommitted))
            .await
            .unwrap();
        assert_eq!(
            level_in(&db, &mut tx, &probe, expect(IsolationLevel::ReadCommitted)).await,
            expect(IsolationLevel::ReadCommitted)
        );
        tx.commit().await.unwrap();
    }
    let mut tx = engine.begin().await.unwrap();
    assert_eq!(
        level_in(&db, &mut tx, &probe, expect(IsolationLevel::RepeatableRead)).await,
        expect(IsolationLevel::RepeatableRead)
    );
    tx.commit().await.unwrap();

    // From the URL.
    let sep = if db.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{sep}isolation=Read-Committed", db.url);
    let from_url = txkit::Engine::connect(&url).await.unwrap();
    assert_eq!(
        from_url.default_options().isolation_level(),
        Some(IsolationLevel::ReadCommitted)
    );
    let mut tx = from_url.begin().await.unwrap();
    assert_eq!(
        level_in(&db, &mut tx, &probe, expect(IsolationLevel::ReadCommitted)).await,
        expect(IsolationLevel::ReadCommitted)
    );
    tx.commit().await.unwrap();

    let bad = format!("{}{sep}isolation=snapshot", db.url);
    let err = txkit::Engine::connect(&bad).await.unwrap_err();
    assert_eq!(err.kind(), txkit::ErrorKind::Config);
    assert!(err.to_string().contains("READ_COMMITTED"), "{err}");
}

async fn read_only_refuses_writes(db: TestDb) {
    let engine = db.engine().await;
    let t = people_table(&db, &engine).await;
    if db.sea_orm && db.kind == Kind::Sqlite {
        // Refused, not weakened: see txkit-sea-orm's connection docs.
        let err = engine
            .begin_with(TxOptions::new().read_only())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), txkit::ErrorKind::Unsupported, "{err}");
        assert!(err.to_string().contains("sqlite://"), "{err}");
        return;
    }
    let mut tx = engine
        .begin_with(TxOptions::new().read_only())
        .await
        .unwrap();
    tx.query(&format!("SELECT count(*) FROM {t}"), &[])
        .await
        .unwrap();
    let err = tx
        .execute(
            &format!("INSERT INTO {t} (name) VALUES (?)"),
            &params!["nope"],
        )
        .await
        .unwrap_err();
    assert_ne!(err.kind(), txkit::ErrorKind::Config, "{err}");
    drop(tx);
    // The next transaction is read-write again.
    let mut tx = engine.begin().await.unwrap();
    tx.execute(
        &format!("INSERT INTO {t} (name) VALUES (?)"),
        &params!["yes"],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// A level set on one connection applies to its autocommit statements too, not only to
/// the transactions it begins: PostgreSQL reports it for the statement, and on
/// MySQL/MariaDB a READ UNCOMMITTED statement sees another transaction's uncommitted write
/// (the server's default, REPEATABLE READ, would not). Back in the pool, the connection
/// runs at the server's default again.
#[tokio::test]
async fn connection_isolation_applies_to_autocommit_statements() {
    for kind in [Kind::Postgres, Kind::MySql] {
        let Some(db) = TestDb::new(kind) else {
            continue;
        };
        let engine = db
            .builder()
            .pool_size(1)
            .max_overflow(1)
            .build()
            .await
            .unwrap();
        match kind {
            Kind::Postgres => {
                let show = "SHOW transaction_isolation";
                let mut conn = engine.connection().await.unwrap();
                conn.set_isolation(IsolationLevel::Serializable);
                let level: String = conn.query(show, &[]).await.unwrap()[0].get(0).unwrap();
                assert_eq!(level, "serializable");
                drop(conn);
                let mut conn = engine.connection().await.unwrap();
                let level: String = conn.query(show, &[]).await.unwrap()[0].get(0).unwrap();
                assert_eq!(level, "read committed", "restored on return to the pool");
            }
            _ => {
                let t = people_table(&db, &engine).await;
                engine
                    .execute(&format!("INSERT INTO {t} (name) VALUES ('old')"), &[])
                    .await
                    .unwrap();
                let mut writer = engine.connection().await.unwrap();
                let mut tx = writer.begin().await.unwrap();
                tx.execute(&format!("UPDATE {t} SET name = 'dirty'"), &[])
                    .await
                    .unwrap();
                let mut reader = engine.connection().await.unwrap();
                let read = format!("SELECT name FROM {t}");
                let seen: String = reader.query(&read, &[]).await.unwrap()[0].get(0).unwrap();
                assert_eq!(seen, "old", "the server's default does not read dirty");
                reader.set_isolation(IsolationLevel::ReadUncommitted);
                let seen: String = reader.query(&read, &[]).await.unwrap()[0].get(0).unwrap();
                assert_eq!(seen, "dirty", "READ UNCOMMITTED applied to the statement");
                tx.rollback().await.unwrap();
            }
        }
        engine.close().await;
    }
}
