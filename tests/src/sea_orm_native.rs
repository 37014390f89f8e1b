//! txkit for sea-orm applications, on every database: `DbErr`s classified from real server
//! errors, `#[retry_on_deadlock]` on functions returning `Result<T, DbErr>`, versioned
//! updates of ActiveModels under contention, and sea-orm entity code inside txkit
//! transactions (`tx.sea_orm()`).

use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, Statement, TransactionTrait,
};
use tokio::sync::Barrier;
use txkit::sea_orm::{
    DbErrExt, SeaOrmTransactionExt, VersionedUpdate, database_code, error_kind_of,
};
use txkit::{Engine, ErrorKind, RowLock, retry_on_deadlock};

use crate::common::{Kind, TestDb};

// sea-orm's own pool is sqlx's, which prepares named statements: through a pooler in
// transaction mode they fail (sqlx#67); what txkit runs there is its own drivers.
crate::matrix!(
    not_pooled("not through a pooler: sqlx, under sea-orm, prepares named statements"):
    db_err_kinds_come_from_database_codes,
    retry_on_deadlock_retries_db_err_functions,
    versioned_updates_under_contention,
    stale_versioned_update_writes_nothing,
    sea_orm_code_runs_inside_txkit_transactions,
    doomed_transaction_repeats_its_error_and_never_commits,
    locked_reads_are_rendered_by_txkit,
);

/// A sea-orm entity per scenario: the table name is fixed at compile time, so each scenario
/// has its own table (dropped and made again at its start).
macro_rules! account_entity {
    ($module:ident, $table:literal) => {
        mod $module {
            use sea_orm::entity::prelude::*;

            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
            #[sea_orm(table_name = $table)]
            pub struct Model {
                #[sea_orm(primary_key, auto_increment = false)]
                pub id: i64,
                pub balance: i64,
                pub version: i64,
            }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}

            impl ActiveModelBehavior for ActiveModel {}

            impl txkit::sea_orm::VersionedEntity for Entity {
                fn version_column() -> Column {
                    Column::Version
                }
            }
        }
    };
}

account_entity!(retried, "sea_retried");
account_entity!(versioned, "sea_versioned");
account_entity!(stale, "sea_stale");
account_entity!(inside, "sea_inside");
account_entity!(doomed, "sea_doomed");
account_entity!(locked, "sea_locked");

/// The application's own sea-orm connection to `db` (as an application would make it).
async fn connect(db: &TestDb, busy_timeout: Duration) -> DatabaseConnection {
    match db.kind {
        Kind::Sqlite => {
            let path = db
                .url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .unwrap()
                .to_owned();
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(busy_timeout);
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(10)
                .connect_with(options)
                .await
                .unwrap();
            sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)
        }
        _ => {
            let mut options = sea_orm::ConnectOptions::new(db.url.clone());
            options.max_connections(20).sqlx_logging(false);
            sea_orm::Database::connect(options).await.unwrap()
        }
    }
}

/// Makes the scenario's table afresh with `n` accounts of 1,000.
async fn accounts(db: &DatabaseConnection, table: &str, n: i64) {
    db.execute_unprepared(&format!("DROP TABLE IF EXISTS {table}"))
        .await
        .unwrap();
    db.execute_unprepared(&format!(
        "CREATE TABLE {table} (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL, \
         version BIGINT NOT NULL)"
    ))
    .await
    .unwrap();
    for id in 1..=n {
        db.execute_unprepared(&format!(
            "INSERT INTO {table} (id, balance, version) VALUES ({id}, 1000, 1)"
        ))
        .await
        .unwrap();
    }
}

fn stmt(db: &impl ConnectionTrait, sql: &str) -> Statement {
    Statement::from_string(db.get_database_backend(), sql)
}

async fn db_err_kinds_come_from_database_codes(db: TestDb) {
    let sea = connect(&db, Duration::from_secs(10)).await;
    accounts(&sea, "sea_kinds", 2).await;
    let backend = sea.get_database_backend();

    // A duplicate key.
    let dup = sea
        .execute_unprepared("INSERT INTO sea_kinds (id, balance, version) VALUES (1, 0, 0)")
        .await
        .unwrap_err();
    assert_eq!(dup.txkit_kind(), ErrorKind::UniqueViolation, "{dup}");
    let code = database_code(&dup).expect("a database code");
    let expected = match db.kind {
        Kind::Postgres => ("postgres", "23505"),
        Kind::MySql => ("mysql", "1062"),
        Kind::Sqlite => ("sqlite", "1555"),
    };
    assert_eq!((code.backend, &*code.code), expected);

    if db.kind == Kind::Sqlite {
        // SQLite: a second writer while the write lock is held, with no busy timeout.
        let impatient = connect(&db, Duration::ZERO).await;
        let holder = sea
            .begin_with_options(sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .unwrap();
        let busy = impatient
            .execute_unprepared("UPDATE sea_kinds SET balance = 0 WHERE id = 2")
            .await
            .unwrap_err();
        assert_eq!(busy.txkit_kind(), ErrorKind::LockTimeout, "{busy}");
        assert!(busy.is_retryable());
        holder.rollback().await.unwrap();
        return;
    }

    // NOWAIT on a row another transaction holds.
    let holder = sea.begin().await.unwrap();
    holder
        .execute_raw(stmt(
            &holder,
            "SELECT id FROM sea_kinds WHERE id = 1 FOR UPDATE",
        ))
        .await
        .unwrap();
    let waiter = sea.begin().await.unwrap();
    let nowait = waiter
        .execute_raw(stmt(
            &waiter,
            "SELECT id FROM sea_kinds WHERE id = 1 FOR UPDATE NOWAIT",
        ))
        .await
        .unwrap_err();
    assert_eq!(
        error_kind_of(&nowait, true),
        ErrorKind::LockNotAvailable,
        "{nowait}"
    );
    assert!(nowait.is_retryable());
    waiter.rollback().await.unwrap();
    holder.rollback().await.unwrap();

    // A deadlock: each transaction holds one row and asks for the other's.
    let barrier = Arc::new(Barrier::new(2));
    let run = |first: i64, second: i64| {
        let sea = sea.clone();
        let barrier = barrier.clone();
        async move {
            let tx = sea.begin().await?;
            let lock = |id: i64| {
                Statement::from_string(
                    backend,
                    format!("UPDATE sea_kinds SET balance = balance + 1 WHERE id = {id}"),
                )
            };
            tx.execute_raw(lock(first)).await?;
            barrier.wait().await;
            tx.execute_raw(lock(second)).await?;
            tx.commit().await
        }
    };
    let (a, b) = tokio::join!(tokio::spawn(run(1, 2)), tokio::spawn(run(2, 1)));
    let results = [a.unwrap(), b.unwrap()];
    let deadlocks: Vec<&DbErr> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(deadlocks.len(), 1, "exactly one victim: {results:?}");
    assert_eq!(
        deadlocks[0].txkit_kind(),
        ErrorKind::Deadlock,
        "{}",
        deadlocks[0]
    );
    assert!(deadlocks[0].is_retryable());
    let code = database_code(deadlocks[0]).unwrap();
    let expected = if db.kind == Kind::Postgres {
        "40P01"
    } else {
        "1213"
    };
    assert_eq!(code.code, expected);
}

/// A transfer in sea-orm's own transaction API; the attribute re-runs it on a deadlock.
/// Rows are locked as they are read (SQLite, which has no row locks, takes the database's
/// write lock at BEGIN instead), in the order given, so opposite transfers deadlock.
#[retry_on_deadlock(max_attempts = 30, base_delay_ms = 2, also = [lock_timeout])]
async fn sea_transfer(sea: &DatabaseConnection, from: i64, to: i64) -> Result<(), DbErr> {
    let sqlite = sea.get_database_backend() == sea_orm::DbBackend::Sqlite;
    let tx = if sqlite {
        sea.begin_with_options(sea_orm::TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?
    } else {
        sea.begin().await?
    };
    for (id, delta) in [(from, -1), (to, 1)] {
        let mut find = retried::Entity::find_by_id(id);
        if !sqlite {
            find = find.lock_exclusive();
        }
        let mut account = find
            .one(&tx)
            .await?
            .ok_or(DbErr::RecordNotFound(id.to_string()))?
            .into_active_model();
        let balance = *account.balance.as_ref();
        account.balance = Set(balance + delta);
        account.update(&tx).await?;
    }
    tx.commit().await
}

async fn retry_on_deadlock_retries_db_err_functions(db: TestDb) {
    let sea = connect(&db, Duration::from_secs(10)).await;
    accounts(&sea, "sea_retried", 2).await;
    let tasks: Vec<_> = (0..6)
        .map(|t| {
            let sea = sea.clone();
            tokio::spawn(async move {
                for _ in 0..4 {
                    let (from, to) = if t % 2 == 0 { (1, 2) } else { (2, 1) };
                    sea_transfer(&sea, from, to).await?;
                }
                Ok::<(), DbErr>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("every transfer lands");
    }
    let all = retried::Entity::find().all(&sea).await.unwrap();
    let total: i64 = all.iter().map(|a| a.balance).sum();
    assert_eq!(total, 2_000, "money is conserved: {all:?}");
    // Three tasks moved 4 each way: the balances are back where they started.
    assert_eq!(all[0].balance, 1_000, "{all:?}");
}

/// Adds one to account 1's balance through a versioned update, re-reading on stale data.
#[retry_on_deadlock(max_attempts = 200, base_delay_ms = 1, max_delay_ms = 20, also = [stale_data])]
async fn versioned_increment(sea: &DatabaseConnection) -> Result<(), DbErr> {
    let account = versioned::Entity::find_by_id(1)
        .one(sea)
        .await?
        .ok_or(DbErr::RecordNotFound("1".into()))?;
    let balance = account.balance;
    let mut model = account.into_active_model();
    model.balance = Set(balance + 1);
    model.update_versioned(sea).await?;
    Ok(())
}

async fn versioned_updates_under_contention(db: TestDb) {
    let sea = connect(&db, Duration::from_secs(10)).await;
    accounts(&sea, "sea_versioned", 1).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let sea = sea.clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    versioned_increment(&sea).await?;
                }
                Ok::<(), DbErr>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("every increment lands");
    }
    let account = versioned::Entity::find_by_id(1)
        .one(&sea)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.balance, 1_200, "no increment lost or doubled");
    assert_eq!(account.version, 201, "one version per increment");
}

async fn stale_versioned_update_writes_nothing(db: TestDb) {
    let sea = connect(&db, Duration::from_secs(10)).await;
    accounts(&sea, "sea_stale", 1).await;
    let read_first = stale::Entity::find_by_id(1)
        .one(&sea)
        .await
        .unwrap()
        .unwrap();
    let read_second = read_first.clone();

    let mut winner = read_first.into_active_model();
    winner.balance = Set(900);
    let updated = winner.update_versioned(&sea).await.unwrap();
    assert_eq!((updated.balance, updated.version), (900, 2));

    let mut loser = read_second.into_active_model();
    loser.balance = Set(1_100);
    let err = loser.update_versioned(&sea).await.unwrap_err();
    assert!(matches!(err, DbErr::RecordNotUpdated), "{err}");
    assert_eq!(err.txkit_kind(), ErrorKind::StaleData);
    assert!(err.is_retryable());

    // A model whose version was never read is refused before anything is sent.
    let blind = stale::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(1),
        balance: Set(0),
        ..Default::default()
    };
    let err = blind.update_versioned(&sea).await.unwrap_err();
    assert!(matches!(err, DbErr::AttrNotSet(_)), "{err}");

    let now = stale::Entity::find_by_id(1)
        .one(&sea)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (now.balance, now.version),
        (900, 2),
        "the stale write left no trace"
    );
}

async fn sea_orm_code_runs_inside_txkit_transactions(db: TestDb) {
    let sea = connect(&db, Duration::from_secs(10)).await;
    accounts(&sea, "sea_inside", 2).await;
    let engine = Engine::from_sea_orm(sea.clone()).await.unwrap();
    assert_eq!(engine.backend(), "sea-orm");

    // Committed: a sea-orm update and a txkit statement in one transaction.
    let mut tx = engine.begin().await.unwrap();
    {
        let sea_tx = tx.sea_orm().await.unwrap();
        let mut a = inside::Entity::find_by_id(1)
            .one(&sea_tx)
            .await
            .unwrap()
            .unwrap()
            .into_active_model();
        a.balance = Set(990);
        a.update_versioned(&sea_tx).await.unwrap();
    }
    tx.execute(
        "UPDATE sea_inside SET balance = balance + 10 WHERE id = ?",
        &txkit::params![2],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Rolled back at a savepoint: the sea-orm write inside it is undone, the outer one stays.
    let mut tx = engine.begin().await.unwrap();
    {
        let sea_tx = tx.sea_orm().await.unwrap();
        inside::Entity::update_many()
            .col_expr(inside::Column::Balance, sea_orm::sea_query::Expr::value(0))
            .filter(sea_orm::ColumnTrait::eq(&inside::Column::Id, 2_i64))
            .exec(&sea_tx)
            .await
            .unwrap();
    }
    {
        let mut sp = tx.savepoint().await.unwrap();
        let sea_sp = sp.sea_orm().await.unwrap();
        inside::Entity::delete_by_id(1).exec(&sea_sp).await.unwrap();
        sp.rollback().await.unwrap();
    }
    tx.commit().await.unwrap();

    // Dropped unfinished: nothing it did is visible.
    {
        let mut tx = engine.begin().await.unwrap();
        let sea_tx = tx.sea_orm().await.unwrap();
        inside::Entity::delete_many().exec(&sea_tx).await.unwrap();
    }

    let rows = inside::Entity::find().all(&sea).await.unwrap();
    let balances: Vec<(i64, i64, i64)> =
        rows.iter().map(|r| (r.id, r.balance, r.version)).collect();
    assert_eq!(balances, vec![(1, 990, 2), (2, 0, 1)]);

    // A txkit engine over sea-orm refuses what a txkit engine over txkit's driver refuses.
    let mut conn = engine.connection().await.unwrap();
    let not_sea = Engine::connect("sqlite::memory:").await.unwrap();
    let mut other = not_sea.begin().await.unwrap();
    let err = other.sea_orm().await.unwrap_err();
    assert!(err.to_string().contains("not on a sea-orm engine"), "{err}");
    drop(other);
    conn.begin().await.unwrap().rollback().await.unwrap();
    drop(conn);
    engine.close().await;
    db.assert_no_idle_in_transaction().await;
}

async fn doomed_transaction_repeats_its_error_and_never_commits(db: TestDb) {
    let sea = connect(&db, Duration::from_secs(10)).await;
    accounts(&sea, "sea_doomed", 2).await;
    let engine = Engine::from_sea_orm(sea.clone()).await.unwrap();
    if db.kind == Kind::Postgres {
        // A failed statement aborts a PostgreSQL transaction: COMMIT must not pretend.
        let mut tx = engine.begin().await.unwrap();
        {
            let sea_tx = tx.sea_orm().await.unwrap();
            let mut a = doomed::Entity::find_by_id(1)
                .one(&sea_tx)
                .await
                .unwrap()
                .unwrap()
                .into_active_model();
            a.balance = Set(1);
            a.update(&sea_tx).await.unwrap();
            let dup = sea_tx
                .execute_unprepared(
                    "INSERT INTO sea_doomed (id, balance, version) VALUES (2, 0, 0)",
                )
                .await
                .unwrap_err();
            assert_eq!(dup.txkit_kind(), ErrorKind::UniqueViolation);
        }
        let err = tx.commit().await.unwrap_err();
        assert_eq!(err.code(), Some("25P02"), "{err}");
        assert!(err.to_string().contains("nothing was committed"), "{err}");
    }
    if db.kind != Kind::Sqlite {
        // A lock timeout ends the unit of work: later statements and COMMIT repeat it.
        let setting = match db.kind {
            Kind::Postgres => "SET lock_timeout = '200ms'",
            _ => "SET innodb_lock_wait_timeout = 1",
        };
        let holder = sea.begin().await.unwrap();
        holder
            .execute_raw(stmt(
                &holder,
                "UPDATE sea_doomed SET balance = 5 WHERE id = 2",
            ))
            .await
            .unwrap();
        let mut tx = engine.begin().await.unwrap();
        {
            let sea_tx = tx.sea_orm().await.unwrap();
            sea_tx.execute_unprepared(setting).await.unwrap();
            sea_tx
                .execute_unprepared("UPDATE sea_doomed SET balance = 7 WHERE id = 1")
                .await
                .unwrap();
            let timeout = sea_tx
                .execute_unprepared("UPDATE sea_doomed SET balance = 7 WHERE id = 2")
                .await
                .unwrap_err();
            assert_eq!(timeout.txkit_kind(), ErrorKind::LockTimeout, "{timeout}");
            let again = sea_tx
                .execute_unprepared("UPDATE sea_doomed SET balance = 8 WHERE id = 1")
                .await
                .unwrap_err();
            assert_eq!(again.txkit_kind(), ErrorKind::LockTimeout, "{again}");
        }
        let err = tx.commit().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::LockTimeout, "{err}");
        holder.rollback().await.unwrap();
    }
    // Whatever happened above, nothing of the doomed transactions is in the table.
    let rows = doomed::Entity::find().all(&sea).await.unwrap();
    let balances: Vec<i64> = rows.iter().map(|r| r.balance).collect();
    assert_eq!(balances, vec![1_000, 1_000]);
    db.assert_no_idle_in_transaction().await;
}

async fn locked_reads_are_rendered_by_txkit(db: TestDb) {
    let sea = connect(&db, Duration::from_secs(10)).await;
    accounts(&sea, "sea_locked", 2).await;
    let engine = Engine::from_sea_orm(sea.clone()).await.unwrap();
    let one = || locked::Entity::find_by_id(1);

    let mut holder = engine.begin().await.unwrap();
    let held = holder
        .sea_orm()
        .await
        .unwrap()
        .find_locked(one(), &RowLock::update())
        .await
        .unwrap();
    assert_eq!(held.len(), 1);

    let mut other = engine.begin().await.unwrap();
    let sea_other = other.sea_orm().await.unwrap();
    if db.kind == Kind::Sqlite {
        // No row locks: the holder took the database's write lock, so NOWAIT is refused and
        // another writer cannot get in (sea-orm's lock_exclusive() would have locked nothing).
        let err = sea_other
            .find_locked(one(), &RowLock::update().nowait())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("NOWAIT"), "{err}");
        drop(other);
        let impatient = connect(&db, Duration::ZERO).await;
        let busy = impatient
            .execute_unprepared("UPDATE sea_locked SET balance = 0 WHERE id = 2")
            .await
            .unwrap_err();
        assert_eq!(busy.txkit_kind(), ErrorKind::LockTimeout, "{busy}");
    } else {
        let err = sea_other
            .find_locked(one(), &RowLock::update().nowait())
            .await
            .unwrap_err();
        assert_eq!(
            error_kind_of(&err, true),
            ErrorKind::LockNotAvailable,
            "{err}"
        );
        drop(other);
        // A shared lock in the spelling this server accepts (MariaDB: LOCK IN SHARE MODE),
        // and SKIP LOCKED passing over the held row.
        let mut reader = engine.begin().await.unwrap();
        let sea_reader = reader.sea_orm().await.unwrap();
        let skipped = sea_reader
            .find_locked(locked::Entity::find(), &RowLock::update().skip_locked())
            .await
            .unwrap();
        assert_eq!(skipped.iter().map(|m| m.id).collect::<Vec<_>>(), vec![2]);
        let shared = sea_reader
            .find_locked(locked::Entity::find_by_id(2), &RowLock::share())
            .await
            .unwrap();
        assert_eq!(shared.len(), 1);
        reader.rollback().await.unwrap();
    }
    holder.rollback().await.unwrap();
    engine.close().await;
    db.assert_no_idle_in_transaction().await;
}
