//! The bank's two tables: accounts (`id, balance, version`) and a ledger with one row per
//! committed transfer (`id, from_id, to_id, amount`); creating them, opening the accounts,
//! reading them back and dropping them.

use std::collections::BTreeMap;

use txkit::{Engine, Result, Value, params};

use crate::Transfer;

/// How the ledger is keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKey {
    /// The transfer id is the primary key: the database refuses a transfer applied twice.
    TransferId,
    /// An auto-increment `seq` is the key and the transfer id is only indexed: a transfer
    /// applied twice shows up as two rows, for a test to count, instead of being stopped by
    /// a constraint.
    Sequence,
}

/// The names of the bank's two tables, and how its ledger is keyed.
#[derive(Debug, Clone)]
pub struct Tables {
    /// The accounts table: `id, balance, version`.
    pub accounts: String,
    /// The ledger table: `id, from_id, to_id, amount` (and `seq` when [`LedgerKey::Sequence`]).
    pub ledger: String,
    /// How the ledger is keyed.
    pub key: LedgerKey,
}

impl Tables {
    /// `{prefix}accounts` and `{prefix}ledger`.
    pub fn with_prefix(prefix: &str, key: LedgerKey) -> Self {
        Tables {
            accounts: format!("{prefix}accounts"),
            ledger: format!("{prefix}ledger"),
            key,
        }
    }

    /// Drops and creates both tables and opens accounts `1..=accounts` with `initial`
    /// cents each, in one transaction.
    pub async fn create(&self, engine: &Engine, accounts: u32, initial: i64) -> Result<()> {
        self.drop(engine).await?;
        engine
            .execute(
                &format!(
                    "CREATE TABLE {} (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL, \
                     version BIGINT NOT NULL)",
                    self.accounts
                ),
                &[],
            )
            .await?;
        let columns = "from_id BIGINT NOT NULL, to_id BIGINT NOT NULL, amount BIGINT NOT NULL";
        let ledger = match self.key {
            LedgerKey::TransferId => format!("id VARCHAR(64) PRIMARY KEY, {columns}"),
            LedgerKey::Sequence => format!(
                "seq {}, id VARCHAR(64) NOT NULL, {columns}",
                serial_key(engine.backend())
            ),
        };
        engine
            .execute(&format!("CREATE TABLE {} ({ledger})", self.ledger), &[])
            .await?;
        if self.key == LedgerKey::Sequence {
            engine
                .execute(
                    &format!("CREATE INDEX {0}_by_id ON {0} (id)", self.ledger),
                    &[],
                )
                .await?;
        }
        let mut tx = engine.begin().await?;
        let insert = format!(
            "INSERT INTO {} (id, balance, version) VALUES (?, ?, 0)",
            self.accounts
        );
        for id in 1..=i64::from(accounts) {
            tx.execute(&insert, &params![id, initial]).await?;
        }
        tx.commit().await
    }

    /// Drops both tables, if they exist.
    pub async fn drop(&self, engine: &Engine) -> Result<()> {
        for table in [&self.ledger, &self.accounts] {
            engine
                .execute(&format!("DROP TABLE IF EXISTS {table}"), &[])
                .await?;
        }
        Ok(())
    }

    /// Every balance, by account id.
    pub async fn balances(&self, engine: &Engine) -> Result<BTreeMap<i64, i64>> {
        engine
            .query(
                &format!("SELECT id, balance FROM {} ORDER BY id", self.accounts),
                &[],
            )
            .await?
            .iter()
            .map(|r| Ok((r.get("id")?, r.get("balance")?)))
            .collect()
    }

    /// The whole ledger (in insertion order with [`LedgerKey::Sequence`]).
    pub async fn ledger(&self, engine: &Engine) -> Result<Vec<Transfer>> {
        let order = match self.key {
            LedgerKey::TransferId => "",
            LedgerKey::Sequence => " ORDER BY seq",
        };
        engine
            .query(
                &format!(
                    "SELECT id, from_id, to_id, amount FROM {}{order}",
                    self.ledger
                ),
                &[],
            )
            .await?
            .iter()
            .map(|r| {
                Ok(Transfer {
                    id: r.get("id")?,
                    from: r.get("from_id")?,
                    to: r.get("to_id")?,
                    amount: r.get("amount")?,
                })
            })
            .collect()
    }

    /// The ledger row of `t`, as SQL with its parameters.
    pub fn ledger_insert(&self, t: &Transfer) -> (String, Vec<Value>) {
        (
            format!(
                "INSERT INTO {} (id, from_id, to_id, amount) VALUES (?, ?, ?, ?)",
                self.ledger
            ),
            params![t.id.as_str(), t.from, t.to, t.amount],
        )
    }
}

/// An auto-increment primary key column's type on `backend`.
fn serial_key(backend: &str) -> &'static str {
    match backend {
        "postgres" => "BIGSERIAL PRIMARY KEY",
        "mysql" => "BIGINT AUTO_INCREMENT PRIMARY KEY",
        _ => "INTEGER PRIMARY KEY AUTOINCREMENT",
    }
}
