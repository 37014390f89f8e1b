//! Pipelined: the pessimistic transfer written for the fewest round trips. A session's
//! locked read of both accounts carries BEGIN, and the two UPDATEs, the ledger INSERT and
//! COMMIT leave together as one flush (`commit_with`): 2 round trips on PostgreSQL where
//! the pessimistic strategy needs 6. Elsewhere the flush runs its statements in turn.

use txkit::{Result, params};

use super::sql::{locked_pair_sql, money_moves, payer};
use crate::{Bank, Outcome, Transfer};

/// One attempt at `t`.
pub(super) async fn attempt(bank: &Bank, t: &Transfer) -> Result<Outcome> {
    let opts = bank.options();
    let mut session = bank.engine.session_with(opts);
    // SQLite has no row locks: the IMMEDIATE transaction holds the write lock instead.
    let lock = if bank.engine.url().scheme().ends_with("sqlite") {
        ""
    } else {
        "FOR UPDATE"
    };
    let rows = session
        .query_sql(&locked_pair_sql(bank, lock), &params![t.from, t.to])
        .await?;
    let (balance, _) = payer(&rows, t)?;
    if balance < t.amount {
        session.rollback().await?;
        return Ok(Outcome::Refused { balance });
    }
    let moves = money_moves(bank, t);
    let statements = moves
        .each_ref()
        .map(|(sql, params)| (sql.as_str(), params.as_slice()));
    session.commit_with(&statements).await?;
    Ok(Outcome::Committed)
}
