//! Lost update (deliberately faulty, for testing the invariant check): read both balances
//! without locks at READ COMMITTED, wait a moment, then write the new balances as absolute
//! values (`SET balance = <computed>`). Two concurrent transfers touching the same account
//! both read the old balance and the second write overwrites the first: an update is lost
//! on PostgreSQL and MariaDB. (SQLite has one writer at a time and refuses the stale write
//! of a deferred transaction, so this strategy does not lose updates there.)

use std::time::Duration;

use txkit::{IsolationLevel, Result, Row, params};

use super::sql::{payer, read_pair, write_ledger};
use crate::{Bank, Outcome, Transfer};

/// The pause between the read and the write that makes the race likely.
const GAP: Duration = Duration::from_millis(2);

/// One attempt at `t`.
pub(super) async fn attempt(bank: &Bank, t: &Transfer) -> Result<Outcome> {
    let opts = if bank.engine.backend() == "sqlite" {
        bank.options()
    } else {
        bank.options().isolation(IsolationLevel::ReadCommitted)
    };
    let mut tx = bank.engine.begin_with(opts).await?;
    let rows = read_pair(&mut tx, bank, t).await?;
    let (balance, _) = payer(&rows, t)?;
    if balance < t.amount {
        tx.rollback().await?;
        return Ok(Outcome::Refused { balance });
    }
    tokio::time::sleep(GAP).await;
    let update = format!(
        "UPDATE {} SET balance = ? WHERE id = ?",
        bank.tables.accounts
    );
    for row in &rows {
        let (id, balance) = read(row)?;
        let delta = if id == t.from { -t.amount } else { t.amount };
        tx.execute(&update, &params![balance + delta, id]).await?;
    }
    write_ledger(&mut tx, bank, t).await?;
    tx.commit().await?;
    Ok(Outcome::Committed)
}

fn read(row: &Row) -> Result<(i64, i64)> {
    Ok((row.get("id")?, row.get("balance")?))
}
