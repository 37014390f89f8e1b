//! Table locks: `tx.lock_table(name, TableLock::share())` keeps writers out of a table until
//! the transaction ends (PostgreSQL `LOCK TABLE … IN SHARE MODE`; SQLite takes the whole
//! database's write lock). MySQL's LOCK TABLES would commit the open transaction, so txkit
//! refuses it there rather than pretend.
//!
//! `cargo run --example table_locking [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use txkit::{Engine, ErrorKind, TableLock};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    common::main_with("sqlite::memory:", |url| async move { run(&url).await });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let engine = Engine::connect(url).await?;
    let t = "example_table_lock_totals";
    engine
        .execute(&format!("DROP TABLE IF EXISTS {t}"), &[])
        .await?;
    engine
        .execute(
            &format!("CREATE TABLE {t} (id INTEGER PRIMARY KEY, amount BIGINT NOT NULL)"),
            &[],
        )
        .await?;
    engine
        .execute(
            &format!("INSERT INTO {t} (id, amount) VALUES (1, 5), (2, 7)"),
            &[],
        )
        .await?;

    // A consistent report: no writer may change the table while we sum it and record it.
    let mut tx = engine.begin().await?;
    match tx.lock_table(t, &TableLock::share()).await {
        Ok(()) => println!("{} locked in SHARE mode", t),
        Err(e) if e.kind() == ErrorKind::Unsupported => {
            println!("table locks refused here: {e}");
            tx.rollback().await?;
            engine.execute(&format!("DROP TABLE {t}"), &[]).await?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    let total: i64 = tx
        .query_one(&format!("SELECT SUM(amount) AS total FROM {t}"), &[])
        .await?
        .get("total")?;
    tx.commit().await?;
    println!("total under the lock: {total}");
    assert_eq!(total, 12);
    engine.execute(&format!("DROP TABLE {t}"), &[]).await?;
    Ok(())
}
