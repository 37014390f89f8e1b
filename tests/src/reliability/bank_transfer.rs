//! One attempt at a transfer, and one read of all balances, as each cell's plan says:
//! which isolation level, and whether (and in which order) the two account rows are
//! locked with `SELECT … FOR UPDATE`.
//!
//! A transfer reads both balances, refuses (rolls back) if the payer would go below zero,
//! writes both *new absolute balances* — so an isolation level too weak for the plan loses
//! money visibly instead of being rescued by `balance = balance - ?` — and inserts its
//! ledger row, all in one transaction. After an attempt whose outcome was unknown, the next
//! attempt first looks the transfer's ledger id up (after taking its locks, so a commit
//! still finishing on the server is waited for) and stops there if it is present.
//!
//! This transfer is the test's own, not one of the bank workload's strategies
//! (`txkit_bank::Strategy`, which write relative balances and never look an id up); it
//! shares their transfer, outcome, tables and transaction options.

use txkit::{IsolationLevel, Result, RowLock, SqliteBehavior, Transaction, TxOptions, params};
use txkit_bank::{Outcome, Transfer, transaction_options};

use super::bank_schema::Bank;

/// How a transfer keeps two concurrent transfers from both spending the same money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locking {
    /// `SELECT … FOR UPDATE` of each row, lower id first: no deadlock possible.
    IdOrder,
    /// `SELECT … FOR UPDATE` of each row in a random order: deadlocks happen and are
    /// retried.
    RandomOrder,
    /// A plain read; the isolation level (or SQLite's IMMEDIATE write lock) must do it.
    Isolation,
}

/// What one cell runs: an isolation level and a locking plan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub(crate) isolation: Option<IsolationLevel>,
    pub(crate) locking: Locking,
    /// Read all balances under shared row locks (`FOR SHARE` / `LOCK IN SHARE MODE`)
    /// instead of from a snapshot. The MariaDB cell under kills needs it: MariaDB lets a
    /// snapshot read see the writes of a session that ended inside its transaction while
    /// the server rolls them back (docs/reliability.md).
    pub(crate) shared_read: bool,
}

/// One attempt at `t`. `lookup_first`: an earlier attempt's outcome is unknown, so check
/// the ledger before writing. `reverse`: with [`Locking::RandomOrder`], lock `to` first.
/// `on_session` is told the server's id of the session running the attempt.
pub(crate) async fn attempt(
    bank: &Bank,
    plan: Plan,
    t: &Transfer,
    lookup_first: bool,
    reverse: bool,
    on_session: impl FnOnce(i64),
) -> Result<Outcome> {
    // The plan's isolation level, and on SQLite a `BEGIN IMMEDIATE`.
    let mut tx = bank
        .engine
        .begin_with(transaction_options(plan.isolation))
        .await?;
    let (from_balance, to_balance, session) = read_pair(bank, plan, &mut tx, t, reverse).await?;
    on_session(session);
    if lookup_first {
        let rows = tx
            .query(
                &format!(
                    "SELECT count(*) AS n FROM {} WHERE id = ?",
                    bank.tables.ledger
                ),
                &params![t.id.clone()],
            )
            .await?;
        if rows[0].get::<i64>("n")? > 0 {
            tx.rollback().await?;
            return Ok(Outcome::AlreadyCommitted);
        }
    }
    if from_balance < t.amount {
        tx.rollback().await?;
        return Ok(Outcome::Refused {
            balance: from_balance,
        });
    }
    // Written lower id first: with plain reads, two transfers over the same pair then
    // conflict (a serialization failure, at once) instead of deadlocking, which PostgreSQL
    // detects only after `deadlock_timeout` (1 s).
    let update = format!(
        "UPDATE {} SET balance = ? WHERE id = ?",
        bank.tables.accounts
    );
    let mut writes = [
        (t.from, from_balance - t.amount),
        (t.to, to_balance + t.amount),
    ];
    writes.sort_unstable();
    for (id, balance) in writes {
        tx.execute(&update, &params![balance, id]).await?;
    }
    let (insert, params) = bank.tables.ledger_insert(t);
    tx.execute(&insert, &params).await?;
    tx.commit().await?;
    Ok(Outcome::Committed)
}

/// Reads (and per the plan locks) both accounts: (payer's balance, payee's balance,
/// session id).
async fn read_pair(
    bank: &Bank,
    plan: Plan,
    tx: &mut Transaction<'_>,
    t: &Transfer,
    reverse: bool,
) -> Result<(i64, i64, i64)> {
    let sid = bank.session_id_sql();
    let order = match plan.locking {
        Locking::Isolation => {
            let rows = tx
                .query(
                    &format!(
                        "SELECT id, balance, {sid} AS sid FROM {} WHERE id IN (?, ?)",
                        bank.tables.accounts
                    ),
                    &params![t.from, t.to],
                )
                .await?;
            let mut from = None;
            let mut to = None;
            let mut session = 0;
            for row in &rows {
                let id: i64 = row.get("id")?;
                session = row.get("sid")?;
                if id == t.from {
                    from = Some(row.get("balance")?);
                } else if id == t.to {
                    to = Some(row.get("balance")?);
                }
            }
            let (Some(from), Some(to)) = (from, to) else {
                return Err(txkit::Error::config("both accounts must exist"));
            };
            return Ok((from, to, session));
        }
        Locking::IdOrder => [t.from.min(t.to), t.from.max(t.to)],
        Locking::RandomOrder if reverse => [t.to, t.from],
        Locking::RandomOrder => [t.from, t.to],
    };
    let lock = format!(
        "SELECT balance, {sid} AS sid FROM {} WHERE id = ? FOR UPDATE",
        bank.tables.accounts
    );
    let mut balances = [0_i64; 2];
    let mut session = 0;
    for (slot, id) in order.iter().enumerate() {
        let rows = tx.query(&lock, &params![*id]).await?;
        let row = rows
            .first()
            .ok_or_else(|| txkit::Error::config("both accounts must exist"))?;
        balances[slot] = row.get("balance")?;
        session = row.get("sid")?;
    }
    if order[0] == t.from {
        Ok((balances[0], balances[1], session))
    } else {
        Ok((balances[1], balances[0], session))
    }
}

/// Reads every balance in one transaction of the plan's isolation level; also returns
/// the server's id of the session that read them.
pub(crate) async fn read_all(bank: &Bank, plan: Plan) -> Result<(Vec<i64>, i64)> {
    let mut opts = TxOptions::new().sqlite_behavior(SqliteBehavior::Deferred);
    if let Some(level) = plan.isolation {
        opts = opts.isolation(level);
    }
    let mut tx = bank.engine.begin_with(opts).await?;
    let lock = if plan.shared_read {
        format!(" {}", tx.dialect().row_lock_clause(&RowLock::share())?)
    } else {
        String::new()
    };
    let rows = tx
        .query(
            &format!(
                "SELECT id, balance, {} AS sid FROM {} ORDER BY id{lock}",
                bank.session_id_sql(),
                bank.tables.accounts
            ),
            &[],
        )
        .await?;
    let balances = rows
        .iter()
        .map(|r| r.get::<i64>("balance"))
        .collect::<Result<Vec<_>>>()?;
    let session = match rows.first() {
        Some(row) => row.get("sid")?,
        None => 0,
    };
    tx.commit().await?;
    Ok((balances, session))
}
