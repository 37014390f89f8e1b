//! The bank of the SQLAlchemy transaction chapter: accounts, transfers that refuse an
//! overdraft, and a ledger with one row per transfer. Shared by `examples/bank` and the test
//! suite, which runs it concurrently and checks that money is conserved.
//!
//! Money is stored as integer cents in a 64-bit column: never as a float.

use std::time::Duration;

use txkit::{
    Engine, Entity, Error, ErrorKind, Result, RetryPolicy, RowLock, SortOrder, create_all, retry,
};

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

/// How a transfer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transfer {
    /// Committed, with a ledger row under this id.
    Done { id: String },
    /// Refused: the payer had only `balance` cents.
    Refused { balance: i64 },
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

    /// Moves `cents` from one account to another in one transaction, recorded in the ledger
    /// under `transfer_id`; refused if the payer would go below zero. Retried (as a whole)
    /// on deadlocks, serialization failures and lock timeouts.
    pub(crate) async fn transfer(
        &self,
        transfer_id: &str,
        from: i64,
        to: i64,
        cents: i64,
    ) -> Result<Transfer> {
        // Deadlocks, serialization failures and lock timeouts end the attempt: re-run the
        // whole transfer, with backoff.
        let policy = RetryPolicy::new()
            .max_attempts(ATTEMPTS)
            .base_delay(Duration::from_millis(2))
            .retry_on(ErrorKind::LockTimeout)
            .named("bank transfer");
        retry(&policy, async || {
            self.try_transfer(transfer_id, from, to, cents).await
        })
        .await
    }

    async fn try_transfer(
        &self,
        transfer_id: &str,
        from: i64,
        to: i64,
        cents: i64,
    ) -> Result<Transfer> {
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
            return Ok(Transfer::Refused { balance });
        }
        for account in accounts {
            account.balance += if account.id == from { -cents } else { cents };
        }
        session.add(LedgerEntry {
            id: transfer_id.to_owned(),
            from_id: from,
            to_id: to,
            amount: cents,
        });
        // The flush writes the ledger row and both changed balances, then COMMIT.
        session.commit().await?;
        Ok(Transfer::Done {
            id: transfer_id.to_owned(),
        })
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

    /// The ledger as (id, from, to, cents).
    pub(crate) async fn ledger(&self) -> Result<Vec<(String, i64, i64, i64)>> {
        let mut conn = self.engine.connection().await?;
        let entries = conn.select::<LedgerEntry>().all().await?;
        Ok(entries
            .into_iter()
            .map(|e| (e.id, e.from_id, e.to_id, e.amount))
            .collect())
    }
}
