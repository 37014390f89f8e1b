//! Pipelined: the pessimistic transfer written for the fewest round trips. A session's
//! locked read of both accounts carries BEGIN, and the two UPDATEs, the ledger INSERT and
//! COMMIT leave together as one flush (`commit_with`): 2 round trips on PostgreSQL where
//! the pessimistic strategy needs 6. Elsewhere the flush runs its statements in turn.

use txkit::{Result, SqliteBehavior, params};

use super::{Bank, Outcome, Transfer, payer};

/// One attempt at `t`.
pub(super) async fn attempt(bank: &Bank, t: &Transfer) -> Result<Outcome> {
    let opts = bank.options().sqlite_behavior(SqliteBehavior::Immediate);
    let mut session = bank.engine.session_with(opts);
    // SQLite has no row locks: the IMMEDIATE transaction holds the write lock instead.
    let lock = if bank.engine.url().scheme().ends_with("sqlite") {
        ""
    } else {
        "FOR UPDATE"
    };
    let rows = session
        .query_sql(
            &format!(
                "SELECT id, balance, version FROM {} WHERE id IN (?, ?) ORDER BY id {lock}",
                bank.accounts
            ),
            &params![t.from, t.to],
        )
        .await?;
    let (balance, _) = payer(&rows, t)?;
    if balance < t.amount {
        session.rollback().await?;
        return Ok(Outcome::Refused);
    }
    let update = format!(
        "UPDATE {} SET balance = balance + ?, version = version + 1 WHERE id = ?",
        bank.accounts
    );
    let ledger = format!(
        "INSERT INTO {} (id, from_id, to_id, amount) VALUES (?, ?, ?, ?)",
        bank.ledger
    );
    session
        .commit_with(&[
            (&update, &params![-t.amount, t.from]),
            (&update, &params![t.amount, t.to]),
            (&ledger, &params![t.id.as_str(), t.from, t.to, t.amount]),
        ])
        .await?;
    Ok(Outcome::Committed)
}
