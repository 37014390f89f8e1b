//! Retry on deadlock: two transfers lock the same two rows in opposite orders, which makes
//! the server pick a deadlock victim. `#[retry_on_deadlock]` re-runs the victim's whole
//! unit of work — BEGIN to COMMIT — so every transfer happens exactly once. (SQLite has no
//! row locks to deadlock on; there the writers queue on the database lock instead, and the
//! policy also retries a lock timeout.)
//!
//! `cargo run --example retry_on_deadlock [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use txkit::{Engine, SqliteBehavior, TxOptions, params, retry_on_deadlock};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const ACCOUNTS: &str = "example_retry_accounts";
const LEDGER: &str = "example_retry_ledger";

fn main() {
    common::main_with(&common::temp_sqlite_url("retry"), |url| async move {
        run(&url).await
    });
}

/// Moves `cents` from `from` to `to`, touching `from` first (so opposite transfers lock in
/// opposite orders), and records it in the ledger under `id`. Re-run whole on a deadlock.
#[retry_on_deadlock(max_attempts = 10, base_delay_ms = 5, also = [lock_timeout])]
async fn transfer(
    engine: &Engine,
    attempts: &AtomicU32,
    id: &str,
    from: i64,
    to: i64,
    cents: i64,
) -> txkit::Result<()> {
    attempts.fetch_add(1, Ordering::Relaxed);
    let opts = TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate);
    let mut tx = engine.begin_with(opts).await?;
    let update = format!("UPDATE {ACCOUNTS} SET balance = balance + ? WHERE id = ?");
    tx.execute(&update, &params![-cents, from]).await?;
    tokio::task::yield_now().await; // let the opposite transfer take its first lock
    tx.execute(&update, &params![cents, to]).await?;
    tx.execute(
        &format!("INSERT INTO {LEDGER} (id, cents) VALUES (?, ?)"),
        &params![id, cents],
    )
    .await?;
    tx.commit().await
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let engine = Arc::new(Engine::builder(url).pool_size(8).build().await?);
    for t in [LEDGER, ACCOUNTS] {
        engine
            .execute(&format!("DROP TABLE IF EXISTS {t}"), &[])
            .await?;
    }
    engine
        .execute(
            &format!("CREATE TABLE {ACCOUNTS} (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)"),
            &[],
        )
        .await?;
    engine
        .execute(
            &format!("CREATE TABLE {LEDGER} (id VARCHAR(20) PRIMARY KEY, cents BIGINT NOT NULL)"),
            &[],
        )
        .await?;
    engine
        .execute(
            &format!("INSERT INTO {ACCOUNTS} (id, balance) VALUES (1, 1000), (2, 1000)"),
            &[],
        )
        .await?;

    let attempts = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for n in 0..8 {
        let (engine, attempts) = (Arc::clone(&engine), Arc::clone(&attempts));
        let (from, to) = if n % 2 == 0 { (1, 2) } else { (2, 1) };
        tasks.push(tokio::spawn(async move {
            transfer(&engine, &attempts, &format!("t{n}"), from, to, 10).await
        }));
    }
    for t in tasks {
        t.await??;
    }
    let ledger: i64 = engine
        .query(&format!("SELECT count(*) AS n FROM {LEDGER}"), &[])
        .await?[0]
        .get("n")?;
    let total: i64 = engine
        .query(&format!("SELECT SUM(balance) AS s FROM {ACCOUNTS}"), &[])
        .await?[0]
        .get("s")?;
    let attempts = attempts.load(Ordering::Relaxed);
    println!(
        "8 transfers, {attempts} attempts ({} retried); ledger {ledger}; total {total}",
        attempts - 8
    );
    assert_eq!((ledger, total), (8, 2000));
    for t in [LEDGER, ACCOUNTS] {
        engine.execute(&format!("DROP TABLE {t}"), &[]).await?;
    }
    Ok(())
}
