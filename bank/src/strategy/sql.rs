//! The SQL the strategies share: reading the two accounts, finding the payer's balance,
//! moving the money and writing the ledger row.

use txkit::{Error, Result, Row, RowLock, Transaction, Value, params};

use crate::{Bank, Outcome, Transfer};

/// The clause that locks selected rows for update, or nothing where the dialect locks rows
/// by the database's write lock (SQLite), which the IMMEDIATE transaction already holds.
pub(super) fn lock_clause(tx: &Transaction<'_>) -> Result<String> {
    let dialect = tx.dialect();
    if dialect.locks_rows_by_write_lock() {
        return Ok(String::new());
    }
    dialect.row_lock_clause(&RowLock::update())
}

/// Both accounts of `t` as rows of `id, balance, version`, read without locks.
pub(super) async fn read_pair(
    tx: &mut Transaction<'_>,
    bank: &Bank,
    t: &Transfer,
) -> Result<Vec<Row>> {
    tx.query(
        &format!(
            "SELECT id, balance, version FROM {} WHERE id IN (?, ?)",
            bank.tables.accounts
        ),
        &params![t.from, t.to],
    )
    .await
}

/// Both accounts of `t`, read in id order with the row-lock clause `lock` (empty on SQLite,
/// where the transaction's write lock does the locking).
pub(super) fn locked_pair_sql(bank: &Bank, lock: &str) -> String {
    format!(
        "SELECT id, balance, version FROM {} WHERE id IN (?, ?) ORDER BY id {lock}",
        bank.tables.accounts
    )
}

/// The payer's balance (and version) among `rows` of `id, balance, version`.
pub(super) fn payer(rows: &[Row], t: &Transfer) -> Result<(i64, i64)> {
    if rows.len() != 2 {
        return Err(Error::config(format!(
            "accounts {} and {} must both exist",
            t.from, t.to
        )));
    }
    for row in rows {
        if row.get::<i64>("id")? == t.from {
            return Ok((row.get("balance")?, row.get("version")?));
        }
    }
    Err(Error::config(format!("account {} is missing", t.from)))
}

/// Ends the transaction `tx`, which read both accounts of `t` as `rows`: refused (rolled
/// back) if the payer has less than the amount, else the money moved (bumping both
/// versions), the ledger row written and committed.
pub(super) async fn settle(
    mut tx: Transaction<'_>,
    bank: &Bank,
    t: &Transfer,
    rows: &[Row],
) -> Result<Outcome> {
    let (balance, _) = payer(rows, t)?;
    if balance < t.amount {
        tx.rollback().await?;
        return Ok(Outcome::Refused { balance });
    }
    for (sql, params) in &money_moves(bank, t) {
        tx.execute(sql, params).await?;
    }
    tx.commit().await?;
    Ok(Outcome::Committed)
}

/// A transfer's writes — debit, credit, ledger row — as SQL with its parameters.
pub(super) fn money_moves(bank: &Bank, t: &Transfer) -> [(String, Vec<Value>); 3] {
    let update = format!(
        "UPDATE {} SET balance = balance + ?, version = version + 1 WHERE id = ?",
        bank.tables.accounts
    );
    [
        (update.clone(), params![-t.amount, t.from]),
        (update, params![t.amount, t.to]),
        bank.tables.ledger_insert(t),
    ]
}

/// Writes the transfer's ledger row.
pub(super) async fn write_ledger(
    tx: &mut Transaction<'_>,
    bank: &Bank,
    t: &Transfer,
) -> Result<()> {
    let (sql, params) = bank.tables.ledger_insert(t);
    tx.execute(&sql, &params).await?;
    Ok(())
}
