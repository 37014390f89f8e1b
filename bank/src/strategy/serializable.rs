//! Serializable: plain reads and writes in a SERIALIZABLE transaction; the database refuses
//! to commit a transfer that conflicts (a serialization failure, or a deadlock on MySQL's
//! shared read locks), and the transfer is retried.

use txkit::{IsolationLevel, Result};

use super::sql::{read_pair, settle};
use crate::{Bank, Outcome, Transfer};

/// One attempt at `t`.
pub(super) async fn attempt(bank: &Bank, t: &Transfer) -> Result<Outcome> {
    let opts = bank.options().isolation(IsolationLevel::Serializable);
    let mut tx = bank.engine.begin_with(opts).await?;
    let rows = read_pair(&mut tx, bank, t).await?;
    settle(tx, bank, t, &rows).await
}
