//! sea-orm 2 as its users write it: entities, `Database::connect` with its defaults (only
//! `max_connections` set, to the cell's task count; SQLite connections get txkit's WAL +
//! synchronous NORMAL), a transaction from `begin()` (SQLite: IMMEDIATE through
//! `begin_with_options`), the locked read as `find().filter(..).lock_exclusive()`, the
//! UPDATEs as `update_many().col_expr(..)`, the INSERTs as `Entity::insert(..).exec(..)`.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait,
};

use crate::workload::{BATCH_ROWS, BoxFut, Contender, Op, Work, Worker};

mod account {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "txkit_bench_accounts")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: i64,
        pub(crate) balance: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub(crate) enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

mod ledger {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "txkit_bench_ledger")]
    pub(crate) struct Model {
        #[sea_orm(primary_key)]
        pub(crate) id: i64,
        pub(crate) from_id: i64,
        pub(crate) to_id: i64,
        pub(crate) cents: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub(crate) enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

mod item {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "txkit_bench_items")]
    pub(crate) struct Model {
        #[sea_orm(primary_key)]
        pub(crate) id: i64,
        pub(crate) tag: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub(crate) enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(Clone)]
pub(crate) struct SeaOrm(DatabaseConnection);

impl SeaOrm {
    /// `url` as sea-orm takes it (`postgres://`, `mysql://`, `sqlite://path?mode=rwc`).
    pub(crate) async fn connect(url: &str, pool: usize) -> Self {
        let mut opts = ConnectOptions::new(url);
        opts.max_connections(pool as u32);
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
        });
        Self(Database::connect(opts).await.expect("sea-orm connect"))
    }
}

impl Contender for SeaOrm {
    fn name(&self) -> &'static str {
        "sea-orm"
    }

    fn runs(&self, work: Work) -> bool {
        !matches!(work, Work::RandomOrder | Work::Flush)
    }

    fn worker(&self) -> BoxFut<'_, Box<dyn Worker>> {
        let me = self.clone();
        Box::pin(async move { Box::new(me) as Box<dyn Worker> })
    }

    fn close(&self) -> BoxFut<'_, ()> {
        Box::pin(async move {
            self.0.close_by_ref().await.expect("sea-orm close");
        })
    }
}

impl SeaOrm {
    async fn transfer(&self, from: i64, to: i64) {
        let db = &self.0;
        let sqlite = db.get_database_backend() == DbBackend::Sqlite;
        let tx = if sqlite {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
        } else {
            db.begin().await
        }
        .expect("begin");
        let mut read = account::Entity::find()
            .filter(account::Column::Id.is_in([from, to]))
            .order_by_asc(account::Column::Id);
        if !sqlite {
            read = read.lock_exclusive();
        }
        let rows = read.all(&tx).await.expect("lock");
        assert_eq!(rows.len(), 2, "both accounts locked");
        let moved = |id: i64, delta: i64| {
            account::Entity::update_many()
                .col_expr(
                    account::Column::Balance,
                    Expr::col(account::Column::Balance).add(delta),
                )
                .filter(account::Column::Id.eq(id))
        };
        moved(from, -1).exec(&tx).await.expect("debit");
        moved(to, 1).exec(&tx).await.expect("credit");
        let entry = ledger::ActiveModel {
            id: NotSet,
            from_id: Set(from),
            to_id: Set(to),
            cents: Set(1),
        };
        ledger::Entity::insert(entry)
            .exec(&tx)
            .await
            .expect("ledger");
        tx.commit().await.expect("commit");
    }
}

impl Worker for SeaOrm {
    fn run(&mut self, op: Op) -> BoxFut<'_, ()> {
        Box::pin(async move {
            let db = &self.0;
            match op {
                Op::Transfer { from, to } => self.transfer(from, to).await,
                Op::PointRead { id } => {
                    let account = account::Entity::find_by_id(id)
                        .one(db)
                        .await
                        .expect("read")
                        .expect("the account exists");
                    std::hint::black_box(account.balance);
                }
                Op::InsertBatch { tag } => {
                    let tx = db.begin().await.expect("begin");
                    for _ in 0..BATCH_ROWS {
                        let row = item::ActiveModel {
                            id: NotSet,
                            tag: Set(tag),
                        };
                        item::Entity::insert(row).exec(&tx).await.expect("insert");
                    }
                    tx.commit().await.expect("commit");
                }
                Op::TransferRandomOrder { .. } | Op::Flush { .. } => {
                    unreachable!("sea-orm runs neither the random-order nor the flush cells")
                }
                Op::Select1 => {
                    let stmt = Statement::from_string(db.get_database_backend(), "SELECT 1");
                    let row = db.query_one_raw(stmt).await.expect("SELECT 1");
                    assert!(row.is_some());
                }
            }
        })
    }
}
