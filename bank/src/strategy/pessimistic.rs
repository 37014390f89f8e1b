//! Pessimistic: lock both accounts with SELECT … FOR UPDATE in id order, so two opposite
//! transfers cannot deadlock; on SQLite an IMMEDIATE transaction takes the write lock.

use txkit::{Result, params};

use super::sql::{lock_clause, locked_pair_sql, settle};
use crate::{Bank, Outcome, Transfer};

/// One attempt at `t`.
pub(super) async fn attempt(bank: &Bank, t: &Transfer) -> Result<Outcome> {
    let opts = bank.options();
    let mut tx = bank.engine.begin_with(opts).await?;
    let lock = lock_clause(&tx)?;
    let rows = tx
        .query(&locked_pair_sql(bank, &lock), &params![t.from, t.to])
        .await?;
    settle(tx, bank, t, &rows).await
}
