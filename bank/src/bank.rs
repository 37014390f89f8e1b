//! A bank ready for transfers: its engine, its tables and the isolation level asked for.

use txkit::{Engine, IsolationLevel, SqliteBehavior, TxOptions};

use crate::Tables;

/// The bank's two tables in one database, and how its transfers begin.
#[derive(Debug, Clone)]
pub struct Bank {
    /// The engine the transfers run on.
    pub engine: Engine,
    /// The accounts and ledger tables.
    pub tables: Tables,
    /// The isolation level of the transfers, if one was asked for.
    pub isolation: Option<IsolationLevel>,
}

impl Bank {
    /// The options of a transfer's transaction: see [`transaction_options`].
    pub fn options(&self) -> TxOptions {
        transaction_options(self.isolation)
    }
}

/// The options of a transaction that writes: `isolation`, if any, and on SQLite BEGIN
/// IMMEDIATE. SQLite has one writer at a time: a transaction that reads before it writes
/// (DEFERRED) fails at its first write whenever another writer is active, and could only
/// be retried; IMMEDIATE waits its turn (in line, at txkit's in-process write gate) before
/// it reads. The servers ignore the SQLite behaviour.
pub fn transaction_options(isolation: Option<IsolationLevel>) -> TxOptions {
    let opts = TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate);
    match isolation {
        Some(level) => opts.isolation(level),
        None => opts,
    }
}
