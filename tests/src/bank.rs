//! The bank example's logic under concurrency: money is conserved, no balance goes
//! negative, and the ledger holds exactly the committed transfers.

#[path = "../../examples/bank/logic.rs"]
mod logic;

use std::collections::BTreeMap;

use logic::Bank;
use txkit_bank::{Invariants, Outcome, Rng, Transfer};

use crate::common::TestDb;
use crate::entities::Isolated;

crate::matrix!(sea_orm: bank_conserves_money);

const ACCOUNTS: u32 = 5;
const INITIAL: i64 = 1_000;
const TASKS: usize = 6;
const TRANSFERS_PER_TASK: usize = 25;

async fn bank_conserves_money(db: TestDb) {
    // The bank's tables have fixed names: a database (or schema) of this test's own.
    let iso = Isolated::new(&db, 4).await;
    let bank = Bank::create(iso.engine.clone()).await.unwrap();
    for id in 1..=i64::from(ACCOUNTS) {
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
            // Each task its own deterministic sequence: transfers of 1 to 400 cents.
            let mut rng = Rng::new(0x9E37_79B9, task as u64);
            for n in 0..TRANSFERS_PER_TASK {
                let t = Transfer::random(&mut rng, ACCOUNTS.into(), 400, format!("t{task}-{n}"));
                match bank.transfer(&t).await.unwrap() {
                    Outcome::Committed => done.push(t),
                    Outcome::Refused { balance } => {
                        assert!(balance < t.amount);
                        refused += 1;
                    }
                    Outcome::AlreadyCommitted => panic!("{t:?}: nothing looks a transfer up"),
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
    let balances: BTreeMap<i64, i64> = bank
        .balances()
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _, cents)| (id, cents))
        .collect();
    let mut ledger = bank.ledger().await.unwrap();
    // Every account there, money conserved, no negative balance, one ledger row per
    // acknowledged commit, every balance explained by the ledger.
    let invariants = Invariants::of(
        ACCOUNTS,
        INITIAL,
        committed.len() as u64,
        &balances,
        &ledger,
    );
    assert!(invariants.ok(), "{:?} {balances:?}", invariants.violations);
    committed.sort();
    ledger.sort();
    assert_eq!(
        ledger, committed,
        "the ledger holds exactly the acknowledged transfers"
    );
    assert_eq!(committed.len() + refused, TASKS * TRANSFERS_PER_TASK);
    db.assert_no_idle_in_transaction().await;
    drop(bank);
    iso.finish().await;
}
