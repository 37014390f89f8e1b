//! The bank of the SQLAlchemy transaction chapter: accounts, transfers that refuse an
//! overdraft, and a ledger with one row per transfer. Shared by `examples/bank` and the test
//! suite, which runs it concurrently and checks that money is conserved.
//!
//! Money is stored as integer cents in a 64-bit column: never as a float.

use std::time::Duration;

use txkit::{
    Engine, Error, ErrorKind, Result, RetryPolicy, RowLock, SqliteBehavior, Transaction, TxOptions,
    params, retry,
};

/// A bank kept in two tables of one database.
#[derive(Debug, Clone)]
pub(crate) struct Bank {
    engine: Engine,
    accounts: String,
    ledger: String,
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
    /// Creates (or re-creates) the bank's tables, named `<prefix>_accounts` and
    /// `<prefix>_ledger`.
    pub(crate) async fn create(engine: Engine, prefix: &str) -> Result<Bank> {
        let bank = Bank {
            accounts: format!("{prefix}_accounts"),
            ledger: format!("{prefix}_ledger"),
            engine,
        };
        for table in [&bank.ledger, &bank.accounts] {
            bank.engine
                .execute(&format!("DROP TABLE IF EXISTS {table}"), &[])
                .await?;
        }
        bank.engine
            .execute(
                &format!(
                    "CREATE TABLE {} (id BIGINT PRIMARY KEY, owner VARCHAR(100) NOT NULL, \
                     balance BIGINT NOT NULL)",
                    bank.accounts
                ),
                &[],
            )
            .await?;
        bank.engine
            .execute(
                &format!(
                    "CREATE TABLE {} (id VARCHAR(64) PRIMARY KEY, from_id BIGINT NOT NULL, \
                     to_id BIGINT NOT NULL, amount BIGINT NOT NULL)",
                    bank.ledger
                ),
                &[],
            )
            .await?;
        Ok(bank)
    }

    /// Opens account `id` for `owner` with `cents`.
    pub(crate) async fn open_account(&self, id: i64, owner: &str, cents: i64) -> Result<()> {
        self.engine
            .execute(
                &format!(
                    "INSERT INTO {} (id, owner, balance) VALUES (?, ?, ?)",
                    self.accounts
                ),
                &params![id, owner, cents],
            )
            .await?;
        Ok(())
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
        // On SQLite, IMMEDIATE takes the database's write lock at BEGIN, so the balance read
        // below cannot go stale before the update; server databases lock the two rows.
        let opts = TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate);
        let mut tx = self.engine.begin_with(opts).await?;
        let lock = row_lock(&tx)?;
        // Lock both rows in id order, so two opposite transfers cannot deadlock.
        let rows = tx
            .query(
                &format!(
                    "SELECT id, balance FROM {} WHERE id IN (?, ?) ORDER BY id {lock}",
                    self.accounts
                ),
                &params![from, to],
            )
            .await?;
        if rows.len() != 2 {
            return Err(Error::config(format!(
                "accounts {from} and {to} must both exist"
            )));
        }
        let mut balance = 0;
        for row in &rows {
            if row.get::<i64>("id")? == from {
                balance = row.get::<i64>("balance")?;
            }
        }
        if balance < cents {
            tx.rollback().await?;
            return Ok(Transfer::Refused { balance });
        }
        let update = format!(
            "UPDATE {} SET balance = balance + ? WHERE id = ?",
            self.accounts
        );
        tx.execute(&update, &params![-cents, from]).await?;
        tx.execute(&update, &params![cents, to]).await?;
        tx.execute(
            &format!(
                "INSERT INTO {} (id, from_id, to_id, amount) VALUES (?, ?, ?, ?)",
                self.ledger
            ),
            &params![transfer_id, from, to, cents],
        )
        .await?;
        tx.commit().await?;
        Ok(Transfer::Done {
            id: transfer_id.to_owned(),
        })
    }

    /// Every account as (id, owner, cents), by id.
    pub(crate) async fn balances(&self) -> Result<Vec<(i64, String, i64)>> {
        let rows = self
            .engine
            .query(
                &format!(
                    "SELECT id, owner, balance FROM {} ORDER BY id",
                    self.accounts
                ),
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((r.get("id")?, r.get("owner")?, r.get("balance")?)))
            .collect()
    }

    /// The ledger as (id, from, to, cents).
    pub(crate) async fn ledger(&self) -> Result<Vec<(String, i64, i64, i64)>> {
        let rows = self
            .engine
            .query(
                &format!(
                    "SELECT id, from_id, to_id, amount FROM {} ORDER BY id",
                    self.ledger
                ),
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.get("id")?,
                    r.get("from_id")?,
                    r.get("to_id")?,
                    r.get("amount")?,
                ))
            })
            .collect()
    }
}

/// The clause that locks the selected rows for update, or nothing on SQLite, whose
/// IMMEDIATE transaction already holds the one write lock of the whole database.
fn row_lock(tx: &Transaction<'_>) -> Result<String> {
    match tx.dialect().row_lock_clause(&RowLock::update()) {
        Ok(clause) => Ok(clause),
        Err(e) if e.kind() == ErrorKind::Unsupported && tx.dialect().name() == "sqlite" => {
            Ok(String::new())
        }
        Err(e) => Err(e),
    }
}
