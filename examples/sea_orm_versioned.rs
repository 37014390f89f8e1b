//! A sea-orm application with txkit: a sea-orm entity with a version column, updated by
//! eight tasks at once. Each update checks and advances the version
//! (`update_versioned`); a writer whose copy went stale gets `DbErr::RecordNotUpdated`,
//! which txkit classifies as stale data, and `#[retry_on_deadlock]` re-reads and tries
//! again — so no deposit is lost and none is applied twice. Then the same entity inside a
//! txkit transaction on sea-orm's pool, with a savepoint.
//!
//! `cargo run --example sea_orm_versioned --features sea-orm [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait};
use sea_orm::{IntoActiveModel, QueryOrder};
use txkit::Engine;
use txkit::sea_orm::{SeaOrmTransactionExt, VersionedEntity, VersionedUpdate};

use common::BoxError;

/// The sea-orm entity, as an application already has it.
mod wallet {
    use sea_orm::entity::prelude::*;

    /// A wallet; `version` guards against lost updates.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "example_sea_orm_wallets")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: i64,
        pub(crate) cents: i64,
        pub(crate) version: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub(crate) enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The one line txkit needs: which column is the version.
impl VersionedEntity for wallet::Entity {
    fn version_column() -> wallet::Column {
        wallet::Column::Version
    }
}

const TASKS: i64 = 8;
const DEPOSITS: i64 = 10;

fn main() {
    common::main_with(&common::temp_sqlite_url("sea_orm"), |url| async move {
        run(&url).await
    });
}

/// Re-reads the wallet and adds `cents`, until no one else moved it in between.
#[txkit::retry_on_deadlock(max_attempts = 100, base_delay_ms = 1, max_delay_ms = 20, also = [stale_data])]
async fn deposit(db: &DatabaseConnection, id: i64, cents: i64) -> Result<(), DbErr> {
    let wallet = wallet::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("wallet {id}")))?;
    let before = wallet.cents;
    let mut changed = wallet.into_active_model();
    changed.cents = Set(before + cents);
    changed.update_versioned(db).await?;
    Ok(())
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    // The application's sea-orm connection (here opened from a txkit-style URL).
    let db = txkit::sea_orm::connect(url).await?;
    db.execute_unprepared("DROP TABLE IF EXISTS example_sea_orm_wallets")
        .await?;
    db.execute_unprepared(
        "CREATE TABLE example_sea_orm_wallets \
         (id BIGINT PRIMARY KEY, cents BIGINT NOT NULL, version BIGINT NOT NULL)",
    )
    .await?;
    for id in [1, 2] {
        let wallet = wallet::ActiveModel {
            id: Set(id),
            cents: Set(0),
            version: Set(1),
        };
        wallet::Entity::insert(wallet).exec(&db).await?;
    }

    // Eight tasks deposit into wallet 1 at once.
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                for _ in 0..DEPOSITS {
                    deposit(&db, 1, 1).await?;
                }
                Ok::<_, DbErr>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let first = wallet::Entity::find_by_id(1)
        .one(&db)
        .await?
        .ok_or("wallet 1 is gone")?;
    println!(
        "{} deposits by {TASKS} tasks: {} cents at version {}",
        TASKS * DEPOSITS,
        first.cents,
        first.version
    );
    if first.cents != TASKS * DEPOSITS || first.version != 1 + TASKS * DEPOSITS {
        return Err("a deposit was lost or applied twice".into());
    }

    // The same entity in a txkit transaction on sea-orm's pool: a move of 30 cents, and a
    // savepoint whose change is undone.
    let engine = Engine::from_sea_orm(db.clone()).await?;
    let mut tx = engine.begin().await?;
    for (id, delta) in [(1, -30), (2, 30)] {
        let sea = tx.sea_orm().await?;
        let wallet = wallet::Entity::find_by_id(id)
            .one(&sea)
            .await?
            .ok_or("wallet is gone")?;
        let before = wallet.cents;
        let mut changed = wallet.into_active_model();
        changed.cents = Set(before + delta);
        changed.update_versioned(&sea).await?;
    }
    {
        let mut savepoint = tx.savepoint().await?;
        wallet::Entity::delete_many()
            .exec(&savepoint.sea_orm().await?)
            .await?;
        savepoint.rollback().await?;
    }
    tx.commit().await?;

    let wallets = wallet::Entity::find()
        .order_by_asc(wallet::Column::Id)
        .all(&db)
        .await?;
    for w in &wallets {
        println!("wallet {}: {} cents (version {})", w.id, w.cents, w.version);
    }
    let cents: Vec<i64> = wallets.iter().map(|w| w.cents).collect();
    if cents != [TASKS * DEPOSITS - 30, 30] {
        return Err(format!("unexpected balances {cents:?}").into());
    }
    engine.close().await;
    db.close().await?;
    Ok(())
}
