//! A transfer with pessimistic locking through a session: lock both accounts with
//! `with_for_update` in id order (so two opposite transfers cannot deadlock), check the
//! balance, change both in place, commit — the session writes what changed. On SQLite the locking read begins the transaction
//! IMMEDIATE, which takes the database's write lock.
//!
//! `cargo run --example transfer_with_locking [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;

use txkit::{Engine, Entity, RowLock, SortOrder};

use common::BoxError;

/// An account; money in cents.
#[derive(Debug, Entity)]
#[txkit(table = "example_locking_accounts")]
pub(crate) struct Account {
    #[txkit(primary_key)]
    id: i64,
    balance: i64,
}

fn main() {
    common::main_with(&common::temp_sqlite_url("transfer"), |url| async move {
        run(&url).await
    });
}

/// Moves `cents` from one account to another; `false` if the payer has too little.
async fn transfer(engine: &Engine, from: i64, to: i64, cents: i64) -> txkit::Result<bool> {
    let mut session = engine.session();
    let locked = session
        .query::<Account>()
        .filter(Account::ID.in_([from, to]))
        .order_by(Account::ID, SortOrder::Asc)
        .with_for_update(RowLock::update())
        .all()
        .await?;
    let payer_balance = locked
        .iter()
        .find(|a| a.id == from)
        .map(|a| a.balance)
        .ok_or_else(|| txkit::Error::config("no payer"))?;
    if payer_balance < cents {
        session.rollback().await?;
        return Ok(false);
    }
    for account in locked {
        account.balance += if account.id == from { -cents } else { cents };
    }
    // Both UPDATEs (only the balance column) are written by the flush before COMMIT.
    session.commit().await?;
    Ok(true)
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let engine = Engine::connect(url).await?;
    engine.connection().await?.drop_table::<Account>().await?;
    txkit::create_all(&engine, &[Account::table()]).await?;
    for id in 1..=2 {
        let mut a = Account { id, balance: 1_000 };
        engine.connection().await?.insert(&mut a).await?;
    }
    // Opposite transfers at the same time: locks in id order, so no deadlock.
    let engine = Arc::new(engine);
    let mut tasks = Vec::new();
    for n in 0..20 {
        let engine = Arc::clone(&engine);
        let (from, to) = if n % 2 == 0 { (1, 2) } else { (2, 1) };
        tasks.push(tokio::spawn(async move {
            transfer(&engine, from, to, 30).await
        }));
    }
    let mut done = 0;
    for t in tasks {
        if t.await?? {
            done += 1;
        }
    }
    let mut session = engine.session();
    let balances: Vec<i64> = session
        .query::<Account>()
        .all()
        .await?
        .iter()
        .map(|a| a.balance)
        .collect();
    session.commit().await?;
    let total: i64 = balances.iter().sum();
    println!("{done} transfers; balances {balances:?}; total {total}");
    assert_eq!(total, 2_000);
    engine.connection().await?.drop_table::<Account>().await?;
    Ok(())
}
