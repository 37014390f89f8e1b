//! The bank example: open accounts, move money between them, refuse an overdraft, print the
//! balances and check that the total is conserved.
//!
//! ```text
//! cargo run --example bank                                   # embedded SQLite
//! cargo run --example bank --features postgres -- --url postgres://postgres@127.0.0.1/test
//! DATABASE_URL=mysql://root@127.0.0.1/test cargo run --example bank --features mysql
//! ```

#[path = "../common/mod.rs"]
mod common;
// The test suite uses parts of the bank that this demo does not.
#[allow(dead_code)]
#[path = "logic.rs"]
mod logic;

use logic::Bank;
use txkit_bank::{Outcome, Transfer};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    common::main_with("sqlite::memory:", |url| async move { run(&url).await });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let url = url.to_owned();
    let engine = txkit::Engine::connect(&url).await?;
    println!("bank on {} ({})", engine.url(), engine.backend());
    let bank = Bank::create(engine).await?;
    bank.open_account(1, "alice", dollars(100)).await?;
    bank.open_account(2, "bob", dollars(50)).await?;
    bank.open_account(3, "carol", 0).await?;
    let before = total(&bank).await?;

    for (id, from, to, cents) in [
        ("t1", 1, 2, dollars(30)),
        ("t2", 2, 3, dollars(70)),
        ("t3", 3, 1, dollars(80)),
    ] {
        let t = Transfer {
            id: id.to_owned(),
            from,
            to,
            amount: cents,
        };
        match bank.transfer(&t).await? {
            // Only a transfer retried after an unknown outcome, which this bank does not
            // look up, could find itself already committed.
            Outcome::Committed | Outcome::AlreadyCommitted => {
                println!("transfer {id}: {} from {from} to {to}", money(cents))
            }
            Outcome::Refused { balance } => println!(
                "transfer {id}: {} from {from} to {to} refused: only {} there",
                money(cents),
                money(balance)
            ),
        }
    }
    for (id, owner, cents) in bank.balances().await? {
        println!("account {id} {owner:<6} {:>10}", money(cents));
    }
    let after = total(&bank).await?;
    if before != after {
        return Err(format!("total changed from {} to {}", money(before), money(after)).into());
    }
    println!("total conserved: {}", money(after));
    Ok(())
}

async fn total(bank: &Bank) -> txkit::Result<i64> {
    Ok(bank.balances().await?.iter().map(|(_, _, c)| c).sum())
}

/// Whole dollars in cents.
const fn dollars(d: i64) -> i64 {
    d * 100
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}
