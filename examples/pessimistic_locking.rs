//! Pessimistic locking: `SELECT … FOR UPDATE` holds rows until commit; NOWAIT fails at once
//! instead of waiting; a shared lock (FOR SHARE / LOCK IN SHARE MODE) admits other readers
//! that lock too. Each clause comes from the connection's dialect, which refuses what its
//! server cannot do (SQLite has no row locks: an IMMEDIATE transaction takes the database's
//! write lock instead).
//!
//! `cargo run --example pessimistic_locking [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use txkit::{Engine, ErrorKind, RowLock, SqliteBehavior, TxOptions, params};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    common::main_with(&common::temp_sqlite_url("pessimistic"), |url| async move {
        run(&url).await
    });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let engine = Engine::connect(url).await?;
    let t = "example_pessimistic_stock";
    engine
        .execute(&format!("DROP TABLE IF EXISTS {t}"), &[])
        .await?;
    engine
        .execute(
            &format!("CREATE TABLE {t} (sku VARCHAR(20) PRIMARY KEY, qty BIGINT NOT NULL)"),
            &[],
        )
        .await?;
    engine
        .execute(
            &format!("INSERT INTO {t} (sku, qty) VALUES (?, ?)"),
            &params!["apple", 10],
        )
        .await?;

    // Take one apple: lock the row, check, update, commit.
    let immediate = TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate);
    let mut tx = engine.begin_with(immediate).await?;
    let lock = match tx.dialect().row_lock_clause(&RowLock::update()) {
        Ok(clause) => clause,
        Err(e) if e.kind() == ErrorKind::Unsupported => {
            println!(
                "{}: no row locks; the IMMEDIATE transaction holds the write lock",
                tx.dialect().name()
            );
            String::new()
        }
        Err(e) => return Err(e.into()),
    };
    let qty: i64 = tx
        .query_one(
            &format!("SELECT qty FROM {t} WHERE sku = ? {lock}"),
            &params!["apple"],
        )
        .await?
        .get("qty")?;
    tx.execute(
        &format!("UPDATE {t} SET qty = ? WHERE sku = ?"),
        &params![qty - 1, "apple"],
    )
    .await?;

    // While it is held, another transaction asking with NOWAIT fails at once.
    if !lock.is_empty() {
        let nowait = tx.dialect().row_lock_clause(&RowLock::update().nowait())?;
        let mut other = engine.begin().await?;
        let Err(err) = other
            .query(
                &format!("SELECT qty FROM {t} WHERE sku = ? {nowait}"),
                &params!["apple"],
            )
            .await
        else {
            return Err("NOWAIT on a locked row succeeded".into());
        };
        println!("NOWAIT while locked: {err}");
        assert_eq!(err.kind(), ErrorKind::LockNotAvailable);
        other.rollback().await?;
    }
    tx.commit().await?;

    // Shared locks: two readers at once.
    if let Ok(share) = engine
        .begin()
        .await?
        .dialect()
        .row_lock_clause(&RowLock::share())
    {
        let mut a = engine.begin().await?;
        let mut b = engine.begin().await?;
        a.query(
            &format!("SELECT qty FROM {t} WHERE sku = ? {share}"),
            &params!["apple"],
        )
        .await?;
        b.query(
            &format!("SELECT qty FROM {t} WHERE sku = ? {share}"),
            &params!["apple"],
        )
        .await?;
        println!("two shared locks held together");
        a.commit().await?;
        b.commit().await?;
    }
    let left: i64 = engine
        .query(
            &format!("SELECT qty FROM {t} WHERE sku = ?"),
            &params!["apple"],
        )
        .await?[0]
        .get("qty")?;
    println!("apples left: {left}");
    assert_eq!(left, 9);
    engine.execute(&format!("DROP TABLE {t}"), &[]).await?;
    Ok(())
}
