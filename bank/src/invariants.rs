//! The checks after a run: every account there, money conserved, no negative balance, one
//! ledger row per committed transfer, and every balance explained by the ledger.
//!
//! No check counts duplicate transfer ids: with [`LedgerKey::TransferId`] the ledger's id is
//! its PRIMARY KEY, so the database refuses a second row with an id (the transfer that tried
//! fails with a unique violation, and the run reports it), and such a check could never
//! fail. With [`LedgerKey::Sequence`] a transfer applied twice makes one ledger row more
//! than the commits; the test suite, which keys its ledger so, also counts the ids.
//!
//! [`LedgerKey::TransferId`]: crate::LedgerKey::TransferId
//! [`LedgerKey::Sequence`]: crate::LedgerKey::Sequence

use std::collections::BTreeMap;

use serde::Serialize;
use txkit::{Engine, Result};

use crate::{Tables, Transfer};

/// The result of every check.
#[derive(Debug, Clone, Serialize)]
pub struct Invariants {
    /// Money in the bank before the run, in cents.
    pub total_before: i64,
    /// Money in the bank after the run, in cents.
    pub total_after: i64,
    /// Accounts with a negative balance.
    pub negative_balances: u64,
    /// Rows in the ledger.
    pub ledger_rows: u64,
    /// Transfers the workers saw commit.
    pub committed: u64,
    /// Accounts whose balance differs from the initial balance plus the ledger's movements.
    pub balances_not_matching_ledger: u64,
    /// Every broken invariant, in words.
    pub violations: Vec<String>,
}

impl Invariants {
    /// Whether every invariant holds.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// Reads `tables` and checks them against `committed` transfers over `accounts`
    /// accounts that each started with `initial` cents.
    pub async fn check(
        engine: &Engine,
        tables: &Tables,
        accounts: u32,
        initial: i64,
        committed: u64,
    ) -> Result<Invariants> {
        let balances = tables.balances(engine).await?;
        let ledger = tables.ledger(engine).await?;
        Ok(Invariants::of(
            accounts, initial, committed, &balances, &ledger,
        ))
    }

    /// The checks on what the tables hold: `balances` by account id, and the ledger's rows.
    pub fn of(
        accounts: u32,
        initial: i64,
        committed: u64,
        balances: &BTreeMap<i64, i64>,
        ledger: &[Transfer],
    ) -> Invariants {
        let total_before = i64::from(accounts) * initial;
        let total_after: i64 = balances.values().sum();
        let negative_balances = balances.values().filter(|b| **b < 0).count() as u64;
        let ledger_rows = ledger.len() as u64;
        let mut expected: BTreeMap<i64, i64> =
            (1..=i64::from(accounts)).map(|id| (id, initial)).collect();
        for t in ledger {
            *expected.entry(t.from).or_default() -= t.amount;
            *expected.entry(t.to).or_default() += t.amount;
        }
        let balances_not_matching_ledger = expected
            .iter()
            .filter(|(id, cents)| balances.get(id) != Some(cents))
            .count() as u64;

        // Each check: whether it is broken, and what to say if it is.
        let checks = [
            (
                balances.len() != accounts as usize,
                format!("{} accounts found, {accounts} opened", balances.len()),
            ),
            (
                total_after != total_before,
                format!("money not conserved: {total_before} cents before, {total_after} after"),
            ),
            (
                negative_balances > 0,
                format!("{negative_balances} accounts have a negative balance"),
            ),
            (
                ledger_rows != committed,
                format!("{ledger_rows} ledger rows for {committed} committed transfers"),
            ),
            (
                balances_not_matching_ledger > 0,
                format!(
                    "{balances_not_matching_ledger} balances differ from what the ledger explains"
                ),
            ),
        ];
        let violations = checks
            .into_iter()
            .filter_map(|(broken, violation)| broken.then_some(violation))
            .collect();
        Invariants {
            total_before,
            total_after,
            negative_balances,
            ledger_rows,
            committed,
            balances_not_matching_ledger,
            violations,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Each check against tables made by hand to break it, and only it: the check must
    //! name the violation, and no other check may fire.

    use txkit::{Engine, params};

    use super::*;

    /// Three accounts that started with 100 cents each.
    const ACCOUNTS: u32 = 3;
    const INITIAL: i64 = 100;

    /// A SQLite bank holding `balances` (accounts 1, 2, …) and `ledger` rows
    /// `(from, to, amount)`, ids `t1`, `t2`, …, then checked against `committed`.
    async fn checked(balances: &[i64], ledger: &[(i64, i64, i64)], committed: u64) -> Invariants {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("bank.db").display());
        let engine = Engine::connect(&url).await.expect("engine");
        let tables = Tables {
            accounts: "accounts".into(),
            ledger: "ledger".into(),
            key: crate::LedgerKey::TransferId,
        };
        engine
            .execute(
                "CREATE TABLE accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)",
                &[],
            )
            .await
            .expect("accounts");
        engine
            .execute(
                "CREATE TABLE ledger (id VARCHAR(64) PRIMARY KEY, from_id BIGINT NOT NULL, \
                 to_id BIGINT NOT NULL, amount BIGINT NOT NULL)",
                &[],
            )
            .await
            .expect("ledger");
        for (id, balance) in (1_i64..).zip(balances) {
            engine
                .execute(
                    "INSERT INTO accounts (id, balance) VALUES (?, ?)",
                    &params![id, *balance],
                )
                .await
                .expect("account");
        }
        for (n, (from, to, amount)) in (1_i64..).zip(ledger) {
            engine
                .execute(
                    "INSERT INTO ledger (id, from_id, to_id, amount) VALUES (?, ?, ?, ?)",
                    &params![format!("t{n}"), *from, *to, *amount],
                )
                .await
                .expect("ledger row");
        }
        let found = Invariants::check(&engine, &tables, ACCOUNTS, INITIAL, committed)
            .await
            .expect("check");
        engine.close().await;
        found
    }

    /// The only violation found starts with `start`.
    fn only(inv: &Invariants, start: &str) {
        assert!(!inv.ok(), "{inv:?}");
        assert_eq!(inv.violations.len(), 1, "{:?}", inv.violations);
        assert!(inv.violations[0].contains(start), "{:?}", inv.violations);
    }

    #[tokio::test]
    async fn consistent_tables_hold_every_invariant() {
        let inv = checked(&[70, 130, 100], &[(1, 2, 30)], 1).await;
        assert!(inv.ok(), "{inv:?}");
        assert_eq!(inv.ledger_rows, 1);
    }

    /// Among the violations found, one contains `text`.
    fn has(inv: &Invariants, text: &str) {
        assert!(
            inv.violations.iter().any(|v| v.contains(text)),
            "{:?}",
            inv.violations
        );
    }

    #[tokio::test]
    async fn a_missing_account_is_caught() {
        // Account 3's money moved to account 1, as the ledger says, then account 3 vanished
        // (so its balance, 0 by the ledger, is not explained either).
        let inv = checked(&[200, 100], &[(3, 1, 100)], 1).await;
        has(&inv, "2 accounts found, 3 opened");
    }

    #[tokio::test]
    async fn money_made_from_nothing_is_caught() {
        // Account 1 credited 5 cents the ledger knows nothing of. The ledger's moves sum to
        // zero, so money not conserved always comes with a balance the ledger does not
        // explain; this check is the one that says how much.
        let inv = checked(&[105, 100, 100], &[], 0).await;
        has(&inv, "money not conserved: 300 cents before, 305 after");
        assert_eq!(inv.violations.len(), 2, "{:?}", inv.violations);
    }

    #[tokio::test]
    async fn a_negative_balance_is_caught() {
        // Account 1 overdrawn by a recorded transfer: money conserved, ledger matched.
        let inv = checked(&[-20, 220, 100], &[(1, 2, 120)], 1).await;
        only(&inv, "1 accounts have a negative balance");
        assert_eq!(inv.negative_balances, 1);
    }

    #[tokio::test]
    async fn ledger_rows_not_matching_commits_are_caught() {
        // One transfer committed twice over in the ledger's eyes: two rows, one commit.
        let inv = checked(&[40, 160, 100], &[(1, 2, 30), (1, 2, 30)], 1).await;
        only(&inv, "2 ledger rows for 1 committed transfers");
        // And a committed transfer with no row.
        let inv = checked(&[100, 100, 100], &[], 1).await;
        only(&inv, "0 ledger rows for 1 committed transfers");
    }

    #[tokio::test]
    async fn balances_the_ledger_does_not_explain_are_caught() {
        // 30 cents moved from 1 to 2 with no ledger row, and a ledger row for a transfer
        // whose money never moved: money conserved, rows match commits, no negatives.
        let inv = checked(&[70, 130, 100], &[(2, 3, 10)], 1).await;
        only(&inv, "3 balances differ from what the ledger explains");
        assert_eq!(inv.balances_not_matching_ledger, 3);
    }
}
