//! The transfer strategies, the SQL they share, and retrying a transfer while counting the
//! retries by cause.

mod faulty;
mod optimistic;
mod pessimistic;
mod pipelined;
mod serializable;
mod unordered;

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use txkit::{
    Engine, Error, ErrorKind, IsolationLevel, QueueWorker, Result, RetryPolicy, Row, RowLock,
    SqliteBehavior, Transaction, TxOptions, Value, params, retry,
};

use crate::args::StrategyName;

/// The bank's two tables in one database.
#[derive(Debug, Clone)]
pub(crate) struct Bank {
    /// The engine the transfers run on.
    pub(crate) engine: Engine,
    /// The accounts table: `id, balance, version`.
    pub(crate) accounts: String,
    /// The ledger table: `id, from_id, to_id, amount`.
    pub(crate) ledger: String,
    /// The isolation level asked for on the command line.
    pub(crate) isolation: Option<IsolationLevel>,
}

impl Bank {
    /// The options of a transfer's transaction: the requested isolation, if any, and on
    /// SQLite BEGIN IMMEDIATE. SQLite has one writer at a time: a transaction that reads
    /// before it writes (DEFERRED) fails at its first write whenever another writer is
    /// active, and could only be retried; IMMEDIATE waits its turn (in line, at txkit's
    /// in-process write gate) before it reads. Every strategy here writes, so every one
    /// begins IMMEDIATE there (ignored by the other databases).
    fn options(&self) -> TxOptions {
        let opts = TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate);
        match self.isolation {
            Some(level) => opts.isolation(level),
            None => opts,
        }
    }
}

/// One transfer to make.
#[derive(Debug, Clone)]
pub(crate) struct Transfer {
    /// The ledger row's id, unique per run.
    pub(crate) id: String,
    /// The payer.
    pub(crate) from: i64,
    /// The payee.
    pub(crate) to: i64,
    /// Cents moved.
    pub(crate) amount: i64,
}

/// How a transfer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Committed with its ledger row.
    Committed,
    /// Refused: the payer had too little.
    Refused,
}

/// A transfer's result and the causes of the attempts that were retried.
#[derive(Debug)]
pub(crate) struct Attempted {
    /// The last attempt's result.
    pub(crate) result: Result<Outcome>,
    /// The error kind of every failed attempt that was retried.
    pub(crate) retries: Vec<ErrorKind>,
}

/// A strategy ready to run transfers.
#[derive(Debug)]
pub(crate) enum Strategy {
    /// Transfers run on the calling worker.
    Direct(StrategyName),
    /// Transfers are handed to one queue worker (and run pessimistically there).
    Queue(QueueWorker),
}

impl Strategy {
    /// Prepares `name` (the queue strategy starts its worker on the current runtime).
    pub(crate) fn new(name: StrategyName, workers: u32) -> Self {
        match name {
            StrategyName::Queue => {
                let capacity = usize::try_from(workers).unwrap_or(1);
                Strategy::Queue(QueueWorker::spawn(capacity))
            }
            other => Strategy::Direct(other),
        }
    }

    /// Makes one transfer, retried under `policy`.
    pub(crate) async fn transfer(
        &self,
        bank: &Arc<Bank>,
        policy: &RetryPolicy,
        t: Transfer,
    ) -> Attempted {
        match self {
            Strategy::Direct(name) => run(*name, bank, policy, &t).await,
            Strategy::Queue(worker) => {
                let (bank, policy) = (Arc::clone(bank), policy.clone());
                let submitted = worker
                    .submit(move || async move {
                        run(StrategyName::Pessimistic, &bank, &policy, &t).await
                    })
                    .await;
                submitted.unwrap_or_else(|e| Attempted {
                    result: Err(e),
                    retries: Vec::new(),
                })
            }
        }
    }

    /// Stops the queue worker, if any, once its queue is drained.
    pub(crate) async fn shutdown(self) {
        if let Strategy::Queue(worker) = self {
            worker.shutdown().await;
        }
    }
}

async fn run(name: StrategyName, bank: &Bank, policy: &RetryPolicy, t: &Transfer) -> Attempted {
    match name {
        StrategyName::Pessimistic | StrategyName::Queue => {
            with_retry(policy, || pessimistic::attempt(bank, t)).await
        }
        StrategyName::PessimisticUnordered => {
            with_retry(policy, || unordered::attempt(bank, t)).await
        }
        StrategyName::Pipelined => with_retry(policy, || pipelined::attempt(bank, t)).await,
        StrategyName::Optimistic => with_retry(policy, || optimistic::attempt(bank, t)).await,
        StrategyName::Serializable => with_retry(policy, || serializable::attempt(bank, t)).await,
        StrategyName::LostUpdateFaulty => with_retry(policy, || faulty::attempt(bank, t)).await,
    }
}

/// The retry policy of every strategy: `max_attempts` in all, a short jittered backoff,
/// and every conflict a strategy can meet.
pub(crate) fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::new()
        .named("txkit bank transfer")
        .max_attempts(max_attempts)
        .base_delay(std::time::Duration::from_millis(1))
        .max_delay(std::time::Duration::from_millis(50))
        .retry_on(ErrorKind::Deadlock)
        .retry_on(ErrorKind::SerializationFailure)
        .retry_on(ErrorKind::LockTimeout)
        .retry_on(ErrorKind::LockNotAvailable)
        .retry_on(ErrorKind::StaleData)
}

/// Runs `attempt` under txkit's `retry`, recording the kind of each failed attempt; the
/// last failure of a transfer that gave up was not retried and is not counted.
async fn with_retry<F, Fut>(policy: &RetryPolicy, attempt: F) -> Attempted
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Outcome>>,
{
    let failures = Mutex::new(Vec::new());
    let result = retry(policy, || async {
        let result = attempt().await;
        if let Err(e) = &result {
            failures
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(e.kind());
        }
        result
    })
    .await;
    let mut retries = failures
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if result.is_err() {
        retries.pop();
    }
    Attempted { result, retries }
}

/// The clause that locks selected rows for update, or nothing on SQLite, where the
/// IMMEDIATE transaction already holds the database's one write lock.
fn lock_clause(tx: &Transaction<'_>) -> Result<String> {
    match tx.dialect().row_lock_clause(&RowLock::update()) {
        Ok(clause) => Ok(clause),
        Err(e) if e.kind() == ErrorKind::Unsupported && tx.dialect().name() == "sqlite" => {
            Ok(String::new())
        }
        Err(e) => Err(e),
    }
}

/// The payer's balance (and version) among `rows` of `id, balance, version`.
fn payer(rows: &[Row], t: &Transfer) -> Result<(i64, i64)> {
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

/// Moves the money (bumping both versions) and writes the ledger row.
async fn move_money(tx: &mut Transaction<'_>, bank: &Bank, t: &Transfer) -> Result<()> {
    for (sql, params) in &money_moves(bank, t) {
        tx.execute(sql, params).await?;
    }
    Ok(())
}

/// A transfer's writes — debit, credit, ledger row — as SQL with its parameters.
fn money_moves(bank: &Bank, t: &Transfer) -> [(String, Vec<Value>); 3] {
    let update = format!(
        "UPDATE {} SET balance = balance + ?, version = version + 1 WHERE id = ?",
        bank.accounts
    );
    [
        (update.clone(), params![-t.amount, t.from]),
        (update, params![t.amount, t.to]),
        ledger_insert(bank, t),
    ]
}

/// The transfer's ledger row, as SQL with its parameters.
fn ledger_insert(bank: &Bank, t: &Transfer) -> (String, Vec<Value>) {
    (
        format!(
            "INSERT INTO {} (id, from_id, to_id, amount) VALUES (?, ?, ?, ?)",
            bank.ledger
        ),
        params![t.id.as_str(), t.from, t.to, t.amount],
    )
}

/// Writes the transfer's ledger row.
async fn write_ledger(tx: &mut Transaction<'_>, bank: &Bank, t: &Transfer) -> Result<()> {
    let (sql, params) = ledger_insert(bank, t);
    tx.execute(&sql, &params).await?;
    Ok(())
}

/// Both accounts of `t`, read in id order with the row-lock clause `lock` (empty on SQLite,
/// where the transaction's write lock does the locking).
fn locked_pair_sql(bank: &Bank, lock: &str) -> String {
    format!(
        "SELECT id, balance, version FROM {} WHERE id IN (?, ?) ORDER BY id {lock}",
        bank.accounts
    )
}
