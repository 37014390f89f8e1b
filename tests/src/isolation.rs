//! Isolation per engine, per connection (restored on return to the pool) and per
//! transaction; read-only transactions refuse writes.

use txkit::{IsolationLevel, Transaction, TxOptions, params};

use crate::common::{Kind, TestDb, people_table};

crate::matrix!(isolation_defaults_and_overrides, read_only_refuses_writes);

/// The isolation level the server applies to `tx`, or `None` on SQLite, which runs every
/// transaction serializably whatever is asked.
async fn level_in(db: &TestDb, tx: &mut Transaction<'_>, probe: &str) -> Option<IsolationLevel> {
    match db.kind {
        Kind::Sqlite => {
            tx.query(&format!("SELECT count(*) FROM {probe}"), &[])
                .await
                .unwrap();
            None
        }
        Kind::Postgres => {
            let row = tx
                .query_one("SHOW transaction_isolation", &[])
                .await
                .unwrap();
            Some(row.get::<String>(0).unwrap().parse().unwrap())
        }
        Kind::MySql => {
            // InnoDB registers the transaction at its first read; its information_schema
            // view is a cache refreshed at most every 100 ms, so let that pass first.
            tx.query(&format!("SELECT count(*) FROM {probe}"), &[])
                .await
                .unwrap();
            tx.execute("DO SLEEP(0.15)", &[]).await.unwrap();
            let row = tx
                .query_one(
                    "SELECT trx_isolation_level FROM information_schema.innodb_trx \
                     WHERE trx_mysql_thread_id = CONNECTION_ID()",
                    &[],
                )
                .await
                .unwrap();
            Some(row.get::<String>(0).unwrap().parse().unwrap())
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
    let expect = |level| (db.kind != Kind::Sqlite).then_some(level);

    // Engine default.
    let mut tx = engine.begin().await.unwrap();
    assert_eq!(
        level_in(&db, &mut tx, &probe).await,
        expect(IsolationLevel::RepeatableRead)
    );
    tx.commit().await.unwrap();

    // Per transaction, over the engine default.
    for level in IsolationLevel::ALL {
        let mut tx = engine
            .begin_with(TxOptions::new().isolation(level))
            .await
            .unwrap();
        let seen = level_in(&db, &mut tx, &probe).await;
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
            level_in(&db, &mut tx, &probe).await,
            expect(IsolationLevel::Serializable)
        );
        tx.commit().await.unwrap();
        let mut tx = conn
            .begin_with(TxOptions::new().isolation(IsolationLevel::ReadCommitted))
            .await
            .unwrap();
        assert_eq!(
            level_in(&db, &mut tx, &probe).await,
            expect(IsolationLevel::ReadCommitted)
        );
        tx.commit().await.unwrap();
    }
    let mut tx = engine.begin().await.unwrap();
    assert_eq!(
        level_in(&db, &mut tx, &probe).await,
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
        level_in(&db, &mut tx, &probe).await,
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
