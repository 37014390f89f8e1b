//! Pessimistic: lock both accounts with SELECT … FOR UPDATE in id order, so two opposite
//! transfers cannot deadlock; on SQLite an IMMEDIATE transaction takes the write lock.

use txkit::{Result, params};

use super::sql::{lock_clause, locked_pair_sql, move_money, payer};
use crate::{Bank, Outcome, Transfer};

/// One attempt at `t`.
pub(super) async fn attempt(bank: &Bank, t: &Transfer) -> Result<Outcome> {
    let opts = bank.options();
    let mut tx = bank.engine.begin_with(opts).await?;
    let lock = lock_clause(&tx)?;
    let rows = tx
        .query(&locked_pair_sql(bank, &lock), &params![t.from, t.to])
        .await?;
    let (balance, _) = payer(&rows, t)?;
    if balance < t.amount {
        tx.rollback().await?;
        return Ok(Outcome::Refused { balance });
    }
    move_money(&mut tx, bank, t).await?;
    tx.commit().await?;
    Ok(Outcome::Committed)
}
