//! The bank of the SQLAlchemy transaction chapter on txkit's entities and sessions:
//! accounts, transfers that refuse an overdraft, and a ledger with one row per transfer.
//! Shared by `examples/bank` and the test suite, which runs it concurrently and checks that
//! money is conserved. The transfer and how it ended are the bank workload's own
//! (`txkit-bank`, which `txkit bank` and the tests run with raw SQL and other strategies).
//!
//! Money is stored as integer cents in a 64-bit column: never as a float.

use std::time::Duration;

use txkit::{
    Engine, Entity, Error, ErrorKind, Result, RetryPolicy, RowLock, SortOrder, create_all, retry,
};
use txkit_bank::{Outcome, Transfer};

/// An account; its balance in cents.
#[derive(Debug, Clone, PartialEq, Entity)]
#[txkit(table = "bank_accounts")]
pub(crate) struct Account {
    #[txkit(primary_key)]
    pub(crate) id: i64,
    #[txkit(max_len = 100)]
    pub(crate) owner: String,
    pub(crate) balance: i64,
}

/// One committed transfer.
#[derive(Debug, Clone, PartialEq, Entity)]
#[txkit(table = "bank_ledger")]
pub(crate) struct LedgerEntry {
    #[txkit(primary_key, max_len = 64)]
    pub(crate) id: String,
    pub(crate) from_id: i64,
    pub(crate) to_id: i64,
    pub(crate) amount: i64,
}

/// A bank kept in two tables of one database.
#[derive(Debug, Clone)]
pub(crate) struct Bank {
    engine: Engine,
}

/// How many times a transfer is attempted when it meets a deadlock, a serialization
/// failure or a lock timeout.
const ATTEMPTS: u32 = 8;

impl Bank {
    /// Creates (or re-creates) the bank's tables.
    pub(crate) async fn create(engine: Engine) -> Result<Bank> {
        let mut conn = engine.connection().await?;
        conn.drop_table::<LedgerEntry>().await?;
        conn.drop_table::<Account>().await?;
        drop(conn);
        create_all(&engine, &[Account::table(), LedgerEntry::table()]).await?;
        Ok(Bank { engine })
    }

    /// Opens account `id` for `owner` with `cents`.
    pub(crate) async fn open_account(&self, id: i64, owner: &str, cents: i64) -> Result<()> {
        let mut session = self.engine.session();
        session.add(Account {
            id,
            owner: owner.to_owned(),
            balance: cents,
        });
        session.commit().await
    }

    /// Moves `t.amount` cents from one account to another in one transaction, recorded in
    /// the ledger under `t.id`; refused if the payer would go below zero. Retried (as a
    /// whole) on deadlocks, serialization failures and lock timeouts.
    pub(crate) async fn transfer(&self, t: &Transfer) -> Result<Outcome> {
        // Deadlocks, serialization failures and lock timeouts end the attempt: re-run the
        // whole transfer, with backoff.
        let policy = RetryPolicy::new()
            .max_attempts(ATTEMPTS)
            .base_delay(Duration::from_millis(2))
            .retry_on(ErrorKind::LockTimeout)
            .named("bank transfer");
        retry(&policy, async || self.try_transfer(t).await).await
    }

    async fn try_transfer(&self, t: &Transfer) -> Result<Outcome> {
        let (from, to, cents) = (t.from, t.to, t.amount);
        if from == to || cents <= 0 {
            return Err(Error::config(
                "a transfer needs two accounts and a positive amount",
            ));
        }
        let mut session = self.engine.session();
        // Lock both rows in id order, so two opposite transfers cannot deadlock (on SQLite
        // the locking read begins the transaction IMMEDIATE: the database's write lock).
        let accounts = session
            .query::<Account>()
            .filter(Account::ID.in_([from, to]))
            .order_by(Account::ID, SortOrder::Asc)
            .with_for_update(RowLock::update())
            .all()
            .await?;
        if accounts.len() != 2 {
            return Err(Error::config(format!(
                "accounts {from} and {to} must both exist"
            )));
        }
        let balance = accounts
            .iter()
            .find(|a| a.id == from)
            .map_or(0, |a| a.balance);
        if balance < cents {
            session.rollback().await?;
            return Ok(Outcome::Refused { balance });
        }
        for account in accounts {
            account.balance += if account.id == from { -cents } else { cents };
        }
        session.add(LedgerEntry {
            id: t.id.clone(),
            from_id: from,
            to_id: to,
            amount: cents,
        });
        // The flush writes the ledger row and both changed balances, then COMMIT.
        session.commit().await?;
        Ok(Outcome::Committed)
    }

    /// Every account as (id, owner, cents), by id.
    pub(crate) async fn balances(&self) -> Result<Vec<(i64, String, i64)>> {
        let mut conn = self.engine.connection().await?;
        let accounts = conn.select::<Account>().all().await?;
        Ok(accounts
            .into_iter()
            .map(|a| (a.id, a.owner, a.balance))
            .collect())
    }

    /// The ledger's transfers.
    pub(crate) async fn ledger(&self) -> Result<Vec<Transfer>> {
        let mut conn = self.engine.connection().await?;
        let entries = conn.select::<LedgerEntry>().all().await?;
        Ok(entries
            .into_iter()
            .map(|e| Transfer {
                id: e.id,
                from: e.from_id,
                to: e.to_id,
                amount: e.amount,
            })
            .collect())
    }
}
