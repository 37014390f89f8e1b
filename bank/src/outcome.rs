//! How a transfer that did not fail ended.

/// How a transfer (or one attempt at it) that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Committed, with its ledger row.
    Committed,
    /// Refused, nothing written: the payer had only `balance` cents, less than the amount.
    Refused {
        /// The payer's balance, in cents.
        balance: i64,
    },
    /// Nothing written: the ledger already holds the transfer's id, so an earlier attempt,
    /// whose outcome was unknown, committed it.
    AlreadyCommitted,
}
