//! Which table-lock modes SQLite can honour, and what to use for the others.

use crate::{Error, Result, TableLockMode};

/// `Ok` for the modes SQLite's database write lock means exactly (SHARE ROW EXCLUSIVE,
/// EXCLUSIVE); an Unsupported error naming the alternative for every other mode.
pub(super) fn refuse_mode(table: &str, mode: TableLockMode) -> Result<()> {
    let why = match mode {
        TableLockMode::ShareRowExclusive | TableLockMode::Exclusive => return Ok(()),
        TableLockMode::AccessExclusive => {
            "SQLite cannot keep readers away from one table; TableLock::exclusive() takes the \
             database write lock (writers wait, readers pass), and \
             TxOptions::new().sqlite_behavior(SqliteBehavior::Exclusive) in a rollback-journal \
             database keeps other readers out of the whole database"
        }
        TableLockMode::Share => {
            "SQLite's only lock that blocks writers (the database write lock) also blocks a \
             second locker, which SHARE admits; use TableLock::exclusive() to take it (a \
             second locker then waits), or read in the transaction without a table lock (a \
             DEFERRED transaction's reads stay stable until it ends)"
        }
        TableLockMode::AccessShare
        | TableLockMode::RowShare
        | TableLockMode::RowExclusive
        | TableLockMode::ShareUpdateExclusive => {
            "SQLite has no lock that admits other writers; reads and writes in the \
             transaction take the locks they need, or TableLock::exclusive() takes the \
             database write lock"
        }
    };
    Err(Error::unsupported(format!(
        "SQLite has no table lock in {} mode (asked on {table:?}): {why}",
        mode.as_sql()
    )))
}
