//! Serializable: plain reads and writes in a SERIALIZABLE transaction; the database refuses
//! to commit a transfer that conflicts (a serialization failure, or a deadlock on MySQL's
//! shared read locks), and the transfer is retried.

use txkit::{IsolationLevel, Result, params};

use super::{Bank, Outcome, Transfer, move_money, payer};

/// One attempt at `t`.
pub(super) async fn attempt(bank: &Bank, t: &Transfer) -> Result<Outcome> {
    let opts = bank.options().isolation(IsolationLevel::Serializable);
    let mut tx = bank.engine.begin_with(opts).await?;
    let rows = tx
        .query(
            &format!(
                "SELECT id, balance, version FROM {} WHERE id IN (?, ?)",
                bank.accounts
            ),
            &params![t.from, t.to],
        )
        .await?;
    let (balance, _) = payer(&rows, t)?;
    if balance < t.amount {
        tx.rollback().await?;
        return Ok(Outcome::Refused);
    }
    move_money(&mut tx, bank, t).await?;
    tx.commit().await?;
    Ok(Outcome::Committed)
}
