//! The concurrency-control strategies a transfer can be made with; each its own module,
//! the SQL they share in `sql`.

mod faulty;
mod optimistic;
mod pessimistic;
mod pipelined;
mod serializable;
mod sql;
mod unordered;

use txkit::Result;

use crate::{Bank, Outcome, Transfer};

/// How a transfer protects itself against concurrent transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Lock both accounts (SELECT … FOR UPDATE) in id order; IMMEDIATE on SQLite.
    Pessimistic,
    /// Lock the payer, then the payee: opposite transfers deadlock and are retried.
    PessimisticUnordered,
    /// Pessimistic, with the writes and COMMIT sent as one flush (2 round trips on
    /// PostgreSQL).
    Pipelined,
    /// No locks: a version column; a stale write fails with StaleData, to be retried.
    Optimistic,
    /// SERIALIZABLE isolation; serialization failures are to be retried.
    Serializable,
    /// Deliberately wrong, for testing the invariant check: reads both balances without
    /// locks at READ COMMITTED, then writes absolute values, losing concurrent updates.
    LostUpdateFaulty,
}

impl Strategy {
    /// One attempt at `t` in one transaction on `bank`: committed or refused, or the error
    /// that ended it (a conflict to retry, or a failure).
    pub async fn attempt(self, bank: &Bank, t: &Transfer) -> Result<Outcome> {
        match self {
            Strategy::Pessimistic => pessimistic::attempt(bank, t).await,
            Strategy::PessimisticUnordered => unordered::attempt(bank, t).await,
            Strategy::Pipelined => pipelined::attempt(bank, t).await,
            Strategy::Optimistic => optimistic::attempt(bank, t).await,
            Strategy::Serializable => serializable::attempt(bank, t).await,
            Strategy::LostUpdateFaulty => faulty::attempt(bank, t).await,
        }
    }
}
