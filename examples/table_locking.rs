//! Table locks: each `TableLock` constructor is the PostgreSQL mode of its name, and a
//! backend that has no such lock refuses it (Unsupported, naming what to use instead).
//!
//! - PostgreSQL: `tx.lock_table(name, &TableLock::share())` is `LOCK TABLE … IN SHARE MODE`:
//!   readers pass, writers wait until the transaction ends.
//! - SQLite has one lock that keeps writers out, the database write lock, which also makes
//!   a second locker wait: that is `TableLock::exclusive()` (EXCLUSIVE admits plain readers
//!   too); `share()` is refused there.
//! - MySQL/MariaDB: LOCK TABLES would commit the open transaction, so `tx.lock_table` is
//!   refused; `engine.with_table_locks(…)` runs the work as a unit under
//!   `LOCK TABLES … READ` instead (`share()` is READ, `access_exclusive()` is WRITE).
//!
//! `cargo run --example table_locking [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use txkit::core::Connection;
use txkit::{ErrorKind, TableLock};

use common::BoxError;

fn main() {
    common::main_with("sqlite::memory:", |url| async move { run(&url).await });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let t = "example_table_lock_totals";
    let engine =
        common::engine_with_table(url, t, "id INTEGER PRIMARY KEY, amount BIGINT NOT NULL").await?;
    engine
        .execute(
            &format!("INSERT INTO {t} (id, amount) VALUES (1, 5), (2, 7)"),
            &[],
        )
        .await?;

    // A consistent report: no writer may change the table while we sum it.
    let sum = format!("SELECT SUM(amount) AS total FROM {t}");
    let total: i64 = if engine.backend() == "mysql" {
        let tables = [(t, TableLock::share())];
        // MySQL's SUM of a BIGINT is a DECIMAL.
        let sum = format!("SELECT CAST(SUM(amount) AS SIGNED) AS total FROM {t}");
        engine
            .with_table_locks(&tables, move |c| {
                Box::pin(async move { c.query(&sum, &[]).await?[0].get("total") })
            })
            .await?
    } else {
        let mut tx = engine.begin().await?;
        let lock = match tx.lock_table(t, &TableLock::share()).await {
            Ok(()) => "SHARE",
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                println!("SHARE refused here: {e}");
                tx.lock_table(t, &TableLock::exclusive()).await?;
                "EXCLUSIVE"
            }
            Err(e) => return Err(e.into()),
        };
        println!("{t} locked in {lock} mode");
        let total = tx.query_one(&sum, &[]).await?.get("total")?;
        tx.commit().await?;
        total
    };
    println!("total under the lock: {total}");
    assert_eq!(total, 12);
    engine.execute(&format!("DROP TABLE {t}"), &[]).await?;
    Ok(())
}
