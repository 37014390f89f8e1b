//! The checks after a run: money conserved, no negative balance, one ledger row per
//! committed transfer, no duplicate transfer id, and every balance explained by the ledger.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use txkit::Result;

use crate::strategy::Bank;

/// The outcome of every check.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Invariants {
    /// Money in the bank before the run, in cents.
    pub(crate) total_before: i64,
    /// Money in the bank after the run, in cents.
    pub(crate) total_after: i64,
    /// Accounts with a negative balance.
    pub(crate) negative_balances: u64,
    /// Rows in the ledger.
    pub(crate) ledger_rows: u64,
    /// Transfers the workers saw commit.
    pub(crate) committed: u64,
    /// Ledger ids that occur more than once.
    pub(crate) duplicate_transfer_ids: u64,
    /// Accounts whose balance differs from the initial balance plus the ledger's movements.
    pub(crate) balances_not_matching_ledger: u64,
    /// Every broken invariant, in words.
    pub(crate) violations: Vec<String>,
}

impl Invariants {
    /// Whether every invariant holds.
    pub(crate) fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Reads the tables and checks them against `committed` transfers over `accounts`
/// accounts that each started with `initial` cents.
pub(crate) async fn check(
    bank: &Bank,
    accounts: u32,
    initial: i64,
    committed: u64,
) -> Result<Invariants> {
    let balances: BTreeMap<i64, i64> = bank
        .engine
        .query(
            &format!("SELECT id, balance FROM {} ORDER BY id", bank.accounts),
            &[],
        )
        .await?
        .iter()
        .map(|r| Ok((r.get("id")?, r.get("balance")?)))
        .collect::<Result<_>>()?;
    let ledger: Vec<(String, i64, i64, i64)> = bank
        .engine
        .query(
            &format!("SELECT id, from_id, to_id, amount FROM {}", bank.ledger),
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.get("id")?,
                r.get("from_id")?,
                r.get("to_id")?,
                r.get("amount")?,
            ))
        })
        .collect::<Result<_>>()?;

    let total_before = i64::from(accounts) * initial;
    let total_after: i64 = balances.values().sum();
    let negative_balances = balances.values().filter(|b| **b < 0).count() as u64;
    let ledger_rows = ledger.len() as u64;
    let distinct: BTreeSet<&str> = ledger.iter().map(|(id, ..)| id.as_str()).collect();
    let duplicate_transfer_ids = ledger_rows - distinct.len() as u64;
    let mut expected: BTreeMap<i64, i64> =
        (1..=i64::from(accounts)).map(|id| (id, initial)).collect();
    for (_, from, to, amount) in &ledger {
        *expected.entry(*from).or_default() -= amount;
        *expected.entry(*to).or_default() += amount;
    }
    let balances_not_matching_ledger = expected
        .iter()
        .filter(|(id, cents)| balances.get(id) != Some(cents))
        .count() as u64;

    let mut violations = Vec::new();
    if balances.len() != accounts as usize {
        violations.push(format!(
            "{} accounts found, {accounts} opened",
            balances.len()
        ));
    }
    if total_after != total_before {
        violations.push(format!(
            "money not conserved: {total_before} cents before, {total_after} after"
        ));
    }
    if negative_balances > 0 {
        violations.push(format!(
            "{negative_balances} accounts have a negative balance"
        ));
    }
    if ledger_rows != committed {
        violations.push(format!(
            "{ledger_rows} ledger rows for {committed} committed transfers"
        ));
    }
    if duplicate_transfer_ids > 0 {
        violations.push(format!(
            "{duplicate_transfer_ids} duplicate transfer ids in the ledger"
        ));
    }
    if balances_not_matching_ledger > 0 {
        violations.push(format!(
            "{balances_not_matching_ledger} balances differ from what the ledger explains"
        ));
    }
    Ok(Invariants {
        total_before,
        total_after,
        negative_balances,
        ledger_rows,
        committed,
        duplicate_transfer_ids,
        balances_not_matching_ledger,
        violations,
    })
}
