//! The bank example's logic under concurrency: money is conserved, no balance goes
//! negative, and the ledger holds exactly the committed transfers.

#[path = "../../examples/bank/logic.rs"]
mod logic;

use std::collections::HashMap;

use logic::{Bank, Transfer};

use crate::common::TestDb;
use crate::entities::Isolated;

crate::matrix!(sea_orm: bank_conserves_money);

const ACCOUNTS: i64 = 5;
const INITIAL: i64 = 1_000;
const TASKS: usize = 6;
const TRANSFERS_PER_TASK: usize = 25;

async fn bank_conserves_money(db: TestDb) {
    // The bank's tables have fixed names: a database (or schema) of this test's own.
    let iso = Isolated::new(&db, 4).await;
    let bank = Bank::create(iso.engine.clone()).await.unwrap();
    for id in 1..=ACCOUNTS {
        bank.open_account(id, &format!("owner{id}"), INITIAL)
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let bank = bank.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            let mut refused = 0;
            // A small deterministic generator: each task its own sequence.
            let mut state = 0x9E37_79B9_u64.wrapping_mul(task as u64 + 1);
            for n in 0..TRANSFERS_PER_TASK {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let from = (state % ACCOUNTS as u64) as i64 + 1;
                let to = ((state >> 8) % (ACCOUNTS as u64 - 1)) as i64 + 1;
                let to = if to >= from { to + 1 } else { to };
                let cents = ((state >> 16) % 400) as i64 + 1;
                let id = format!("t{task}-{n}");
                match bank.transfer(&id, from, to, cents).await.unwrap() {
                    Transfer::Done { id } => done.push((id, from, to, cents)),
                    Transfer::Refused { balance } => {
                        assert!(balance < cents);
                        refused += 1;
                    }
                }
            }
            (done, refused)
        }));
    }
    let mut committed = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (done, r) = task.await.unwrap();
        committed.extend(done);
        refused += r;
    }
    let balances = bank.balances().await.unwrap();
    let total: i64 = balances.iter().map(|(_, _, c)| c).sum();
    assert_eq!(total, ACCOUNTS * INITIAL, "money was created or destroyed");
    assert!(balances.iter().all(|(_, _, c)| *c >= 0), "{balances:?}");

    let ledger = bank.ledger().await.unwrap();
    assert_eq!(
        ledger.len(),
        committed.len(),
        "ledger rows vs acknowledged commits"
    );
    committed.sort();
    let mut ledger_sorted = ledger.clone();
    ledger_sorted.sort();
    assert_eq!(
        ledger_sorted, committed,
        "the ledger holds exactly the acknowledged transfers"
    );

    let mut expected: HashMap<i64, i64> = (1..=ACCOUNTS).map(|id| (id, INITIAL)).collect();
    for (_, from, to, cents) in &ledger {
        *expected.entry(*from).or_default() -= cents;
        *expected.entry(*to).or_default() += cents;
    }
    for (id, _, cents) in &balances {
        assert_eq!(expected[id], *cents, "account {id}");
    }
    assert_eq!(committed.len() + refused, TASKS * TRANSFERS_PER_TASK);
    db.assert_no_idle_in_transaction().await;
    drop(bank);
    iso.finish().await;
}
