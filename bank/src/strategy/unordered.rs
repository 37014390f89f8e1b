//! Pessimistic, unordered: lock the payer, then the payee. Two opposite transfers each hold
//! the lock the other waits for; the server picks a deadlock victim, which is retried. (On
//! SQLite the IMMEDIATE transaction serializes writers, so there is nothing to deadlock.)

use txkit::{Result, params};

use super::sql::{lock_clause, settle};
use crate::{Bank, Outcome, Transfer};

/// One attempt at `t`.
pub(super) async fn attempt(bank: &Bank, t: &Transfer) -> Result<Outcome> {
    let opts = bank.options();
    let mut tx = bank.engine.begin_with(opts).await?;
    let lock = lock_clause(&tx)?;
    let select = format!(
        "SELECT id, balance, version FROM {} WHERE id = ? {lock}",
        bank.tables.accounts
    );
    let mut rows = tx.query(&select, &params![t.from]).await?;
    // Give an opposite transfer the time to take its first lock.
    tokio::task::yield_now().await;
    rows.extend(tx.query(&select, &params![t.to]).await?);
    settle(tx, bank, t, &rows).await
}
