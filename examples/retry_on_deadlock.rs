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

use txkit::{Engine, Entity, RowLock, create_all, retry_on_deadlock};

use common::BoxError;

/// An account; its balance in cents.
#[derive(Debug, Entity)]
#[txkit(table = "example_retry_accounts")]
pub(crate) struct Account {
    #[txkit(primary_key)]
    id: i64,
    balance: i64,
}

/// One transfer that happened.
#[derive(Debug, Entity)]
#[txkit(table = "example_retry_ledger")]
pub(crate) struct Ledger {
    #[txkit(primary_key, max_len = 20)]
    id: String,
    cents: i64,
}

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
    let mut session = engine.session();
    // Lock `from` (on SQLite the locking read begins IMMEDIATE: the database write lock)…
    let payer = session
        .query::<Account>()
        .filter_by(Account::ID, from)
        .with_for_update(RowLock::update())
        .one()
        .await?;
    payer.balance -= cents;
    tokio::task::yield_now().await; // let the opposite transfer take its first lock
    // …then `to`: the opposite transfer holds it and waits for `from`, so the server
    // picks one of the two as a deadlock victim.
    let payee = session
        .query::<Account>()
        .filter_by(Account::ID, to)
        .with_for_update(RowLock::update())
        .one()
        .await?;
    payee.balance += cents;
    session.add(Ledger {
        id: id.to_owned(),
        cents,
    });
    session.commit().await
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let engine = Arc::new(Engine::builder(url).pool_size(8).build().await?);
    let mut conn = engine.connection().await?;
    conn.drop_table::<Ledger>().await?;
    conn.drop_table::<Account>().await?;
    drop(conn);
    create_all(&engine, &[Account::table(), Ledger::table()]).await?;
    let mut session = engine.session();
    session.add(Account {
        id: 1,
        balance: 1000,
    });
    session.add(Account {
        id: 2,
        balance: 1000,
    });
    session.commit().await?;

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
    let mut conn = engine.connection().await?;
    let ledger = conn.select::<Ledger>().count().await?;
    let total: i64 = conn
        .select::<Account>()
        .all()
        .await?
        .iter()
        .map(|a| a.balance)
        .sum();
    let attempts = attempts.load(Ordering::Relaxed);
    println!(
        "8 transfers, {attempts} attempts ({} retried); ledger {ledger}; total {total}",
        attempts - 8
    );
    assert_eq!((ledger, total), (8, 2000));
    conn.drop_table::<Ledger>().await?;
    conn.drop_table::<Account>().await?;
    Ok(())
}
