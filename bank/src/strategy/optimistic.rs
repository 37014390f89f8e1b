//! Optimistic: read without locks, then write each account only if its version is still
//! the one read (`… WHERE id = ? AND version = ?`). A write that finds the row changed
//! writes nothing and fails with StaleData; the transfer is retried from a fresh read.

use txkit::{Error, Result, Row, params};

use super::sql::{payer, read_pair, write_ledger};
use crate::{Bank, Outcome, Transfer};

/// One attempt at `t`.
pub(super) async fn attempt(bank: &Bank, t: &Transfer) -> Result<Outcome> {
    let mut tx = bank.engine.begin_with(bank.options()).await?;
    let rows = read_pair(&mut tx, bank, t).await?;
    let (balance, _) = payer(&rows, t)?;
    if balance < t.amount {
        tx.rollback().await?;
        return Ok(Outcome::Refused { balance });
    }
    let update = format!(
        "UPDATE {} SET balance = ?, version = version + 1 WHERE id = ? AND version = ?",
        bank.tables.accounts
    );
    for row in &rows {
        let (id, balance, version) = read(row)?;
        let delta = if id == t.from { -t.amount } else { t.amount };
        let written = tx
            .execute(&update, &params![balance + delta, id, version])
            .await?;
        if written != 1 {
            return Err(Error::stale(&bank.tables.accounts, id, version));
        }
    }
    write_ledger(&mut tx, bank, t).await?;
    tx.commit().await?;
    Ok(Outcome::Committed)
}

fn read(row: &Row) -> Result<(i64, i64, i64)> {
    Ok((row.get("id")?, row.get("balance")?, row.get("version")?))
}
