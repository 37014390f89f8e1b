//! sqlx 0.9 with its default pool settings (only `max_connections` set, to the cell's task
//! count): `pool.begin()` (SQLite: `begin_with("BEGIN IMMEDIATE")`), each query awaited
//! through sqlx's per-connection statement cache. SQLite connections get txkit's defaults
//! (WAL, synchronous NORMAL; sqlx's busy_timeout is already 5 s).

use std::path::Path;

use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::schema::{q, q_pg};
use crate::workload::{BATCH_ROWS, BoxFut, Contender, Op, Work, Worker};

/// One contender type per database: the same code, each database's pool and SQL.
macro_rules! sqlx_contender {
    ($name:ident, $pool:ty, $sql:ident, $lock:expr, $begin:expr) => {
        #[derive(Clone)]
        pub(crate) struct $name(pub(crate) $pool);

        impl Contender for $name {
            fn name(&self) -> &'static str {
                "sqlx"
            }

            fn runs(&self, work: Work) -> bool {
                !matches!(work, Work::RandomOrder | Work::Flush)
            }

            fn worker(&self) -> BoxFut<'_, Box<dyn Worker>> {
                let me = self.clone();
                Box::pin(async move { Box::new(me) as Box<dyn Worker> })
            }

            fn close(&self) -> BoxFut<'_, ()> {
                Box::pin(self.0.close())
            }
        }

        impl Worker for $name {
            fn run(&mut self, op: Op) -> BoxFut<'_, ()> {
                Box::pin(async move {
                    let pool = &self.0;
                    match op {
                        Op::Transfer { from, to } => {
                            let (low, high) = (from.min(to), from.max(to));
                            let begin: Option<&'static str> = $begin;
                            let mut tx = match begin {
                                Some(sql) => pool.begin_with(sql).await,
                                None => pool.begin().await,
                            }
                            .expect("begin");
                            let rows = sqlx::query($lock)
                                .bind(low)
                                .bind(high)
                                .fetch_all(&mut *tx)
                                .await
                                .expect("lock");
                            assert_eq!(rows.len(), 2, "both accounts locked");
                            sqlx::query($sql::DEBIT)
                                .bind(1_i64)
                                .bind(from)
                                .execute(&mut *tx)
                                .await
                                .expect("debit");
                            sqlx::query($sql::CREDIT)
                                .bind(1_i64)
                                .bind(to)
                                .execute(&mut *tx)
                                .await
                                .expect("credit");
                            sqlx::query($sql::RECORD)
                                .bind(from)
                                .bind(to)
                                .bind(1_i64)
                                .execute(&mut *tx)
                                .await
                                .expect("ledger");
                            tx.commit().await.expect("commit");
                        }
                        Op::PointRead { id } => {
                            let balance: i64 = sqlx::query_scalar($sql::POINT)
                                .bind(id)
                                .fetch_one(pool)
                                .await
                                .expect("read");
                            std::hint::black_box(balance);
                        }
                        Op::InsertBatch { tag } => {
                            let mut tx = pool.begin().await.expect("begin");
                            for _ in 0..BATCH_ROWS {
                                sqlx::query($sql::ITEM)
                                    .bind(tag)
                                    .execute(&mut *tx)
                                    .await
                                    .expect("insert");
                            }
                            tx.commit().await.expect("commit");
                        }
                        Op::TransferRandomOrder { .. } | Op::Flush { .. } => {
                            unreachable!("sqlx runs neither the random-order nor the flush cells")
                        }
                        Op::Select1 => {
                            let rows = sqlx::query(q::SELECT1)
                                .fetch_all(pool)
                                .await
                                .expect("SELECT 1");
                            assert_eq!(rows.len(), 1);
                        }
                    }
                })
            }
        }
    };
}

sqlx_contender!(SqlxPg, PgPool, q_pg, q_pg::LOCK, None);
sqlx_contender!(SqlxMysql, MySqlPool, q, q::LOCK, None);
sqlx_contender!(
    SqlxSqlite,
    SqlitePool,
    q,
    q::LOCK_SQLITE,
    Some("BEGIN IMMEDIATE")
);

pub(crate) async fn postgres(url: &str, pool: usize) -> SqlxPg {
    let p = PgPoolOptions::new()
        .max_connections(pool as u32)
        .connect(url)
        .await
        .expect("sqlx PgPool");
    SqlxPg(p)
}

pub(crate) async fn mysql(url: &str, pool: usize) -> SqlxMysql {
    let p = MySqlPoolOptions::new()
        .max_connections(pool as u32)
        .connect(url)
        .await
        .expect("sqlx MySqlPool");
    SqlxMysql(p)
}

pub(crate) async fn sqlite(path: &Path, pool: usize) -> SqlxSqlite {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let p = SqlitePoolOptions::new()
        .max_connections(pool as u32)
        .connect_with(opts)
        .await
        .expect("sqlx SqlitePool");
    SqlxSqlite(p)
}
