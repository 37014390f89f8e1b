//! [`RetryPolicy::run_transaction`]: a retried unit of work whose transaction txkit begins
//! and commits, with CockroachDB's savepoint protocol as an option of the policy.

use std::future::Future;

use tracing::Instrument;

use super::attempts::Attempts;
use super::classify::RetryError;
use super::policy::RetryPolicy;
use crate::connection::{AnyConnection, Connection};
use crate::error::{Error, ErrorKind, Result};
use crate::isolation::TxOptions;
use crate::managed::ManagedConnection;
use crate::pool::{Pool, PooledConnection};
use crate::transaction::Transaction;

/// The savepoint name CockroachDB recognises as its retry savepoint.
pub(crate) const RESTART_SAVEPOINT: &str = "cockroach_restart";

/// Where [`RetryPolicy::run_transaction`] begins its transactions: a connection (`&mut conn`, a
/// [`ManagedConnection`] or [`PooledConnection`]), a `&Pool`, or the facade's `&Engine`.
pub trait TransactionSource<C: Connection = AnyConnection> {
    /// Begins a transaction with `opts` (unset fields from the source's defaults).
    fn begin_transaction(
        &mut self,
        opts: TxOptions,
    ) -> impl Future<Output = Result<Transaction<'_, C>>> + Send;
}

impl<C: Connection> TransactionSource<C> for &mut ManagedConnection<C> {
    fn begin_transaction(
        &mut self,
        opts: TxOptions,
    ) -> impl Future<Output = Result<Transaction<'_, C>>> + Send {
        self.begin_with(opts)
    }
}

impl<C: Connection> TransactionSource<C> for &mut PooledConnection<C> {
    fn begin_transaction(
        &mut self,
        opts: TxOptions,
    ) -> impl Future<Output = Result<Transaction<'_, C>>> + Send {
        self.begin_with(opts)
    }
}

impl<C: Connection> TransactionSource<C> for &Pool<C> {
    fn begin_transaction(
        &mut self,
        opts: TxOptions,
    ) -> impl Future<Output = Result<Transaction<'_, C>>> + Send {
        let pool = *self;
        async move {
            let conn = pool.get().await?;
            Transaction::begin_pooled(conn, opts).await.map(shorten)
        }
    }
}

/// A pooled transaction (`'static`) used where a borrowed one is expected.
pub(crate) fn shorten<'a, C: Connection>(tx: Transaction<'static, C>) -> Transaction<'a, C> {
    tx
}

/// The body of [`RetryPolicy::run_transaction`]: implemented for every `FnMut(A) -> impl Future<Output
/// = R>`, which includes async closures that do not mutate what they capture. It exists so
/// that the bound can require the body's future to be `Send` (for `tokio::spawn`), which an
/// `AsyncFnMut` bound cannot express on stable Rust.
pub trait TransactionBody<A, R>: FnMut(A) -> <Self as TransactionBody<A, R>>::Fut {
    /// The future the body returns.
    type Fut: Future<Output = R>;
}

impl<A, R, F, Fut> TransactionBody<A, R> for F
where
    F: FnMut(A) -> Fut,
    Fut: Future<Output = R>,
{
    type Fut = Fut;
}

impl RetryPolicy {
    /// Runs `body` in a transaction that txkit begins and commits, retried under this
    /// policy: the body gets the open transaction, does its work and returns; txkit commits
    /// (or, on an error, rolls back before the backoff so the locks are released).
    /// `source` is where each transaction begins: `&engine` (the facade's), a `&Pool`, or
    /// `&mut conn`.
    ///
    /// Without [`cockroach_savepoints`](Self::cockroach_savepoints), each attempt is a new
    /// transaction. With it, ONE transaction carries every attempt: `BEGIN`, then per
    /// attempt `SAVEPOINT cockroach_restart`, the body, and on a retryable failure
    /// `ROLLBACK TO SAVEPOINT cockroach_restart` before the next attempt; on success
    /// `RELEASE SAVEPOINT cockroach_restart` and `COMMIT`. A failure that is not in the body
    /// (COMMIT, or a transaction the server ended) starts a new transaction. The protocol is
    /// refused with [`ErrorKind::Unsupported`] on MySQL/MariaDB and SQLite.
    ///
    /// The body must not commit (it cannot: it gets `&mut Transaction`), and, like
    /// [`retry`](crate::retry)'s, must not mutate what it captures.
    ///
    /// ```
    /// # async fn demo(mut conn: txkit_core::PooledConnection) -> txkit_core::Result<()> {
    /// use txkit_core::{RetryPolicy, params};
    ///
    /// let policy = RetryPolicy::new();
    /// policy
    ///     .run_transaction(&mut conn, async |tx| {
    ///         tx.execute("UPDATE accounts SET balance = balance - 5 WHERE id = ?", &params![1])
    ///             .await?;
    ///         tx.execute("UPDATE accounts SET balance = balance + 5 WHERE id = ?", &params![2])
    ///             .await?;
    ///         Ok::<_, txkit_core::Error>(())
    ///     })
    ///     .await
    /// # }
    /// ```
    pub async fn run_transaction<S, C, T, E, F, Via>(&self, source: S, body: F) -> Result<T, E>
    where
        S: TransactionSource<C>,
        C: Connection,
        F: for<'a, 'b> TransactionBody<&'a mut Transaction<'b, C>, Result<T, E>, Fut: Send>
            + AsyncFnMut(&mut Transaction<'_, C>) -> Result<T, E>,
        E: RetryError<Via> + From<Error>,
    {
        self.run_transaction_with(source, TxOptions::new(), body)
            .await
    }

    /// [`run_transaction`](Self::run_transaction) with transaction options (isolation
    /// level, read-only, …).
    pub async fn run_transaction_with<S, C, T, E, F, Via>(
        &self,
        mut source: S,
        opts: TxOptions,
        mut body: F,
    ) -> Result<T, E>
    where
        S: TransactionSource<C>,
        C: Connection,
        F: for<'a, 'b> TransactionBody<&'a mut Transaction<'b, C>, Result<T, E>, Fut: Send>
            + AsyncFnMut(&mut Transaction<'_, C>) -> Result<T, E>,
        E: RetryError<Via> + From<Error>,
    {
        let policy = self;
        let span = tracing::info_span!(
            "txkit.retry",
            unit = policy.name(),
            max_attempts = policy.attempts_allowed(),
            cockroach_savepoints = policy.uses_cockroach_savepoints()
        );
        let mut attempts = Attempts::new(policy);
        if policy.uses_cockroach_savepoints() {
            with_restart_savepoints(&mut source, opts, &mut attempts, &mut body)
                .instrument(span)
                .await
        } else {
            transaction_per_attempt(&mut source, opts, &mut attempts, &mut body)
                .instrument(span)
                .await
        }
    }
}

async fn transaction_per_attempt<S, C, T, E, F, Via>(
    source: &mut S,
    opts: TxOptions,
    attempts: &mut Attempts<'_>,
    body: &mut F,
) -> Result<T, E>
where
    S: TransactionSource<C>,
    C: Connection,
    F: for<'a, 'b> TransactionBody<&'a mut Transaction<'b, C>, Result<T, E>, Fut: Send>,
    E: RetryError<Via> + From<Error>,
{
    loop {
        let result = async {
            let mut tx = source.begin_transaction(opts).await?;
            match body(&mut tx).await {
                Ok(value) => {
                    tx.commit().await?;
                    Ok(value)
                }
                Err(error) => {
                    // Release the locks now rather than after the backoff.
                    if let Err(e) = tx.rollback().await {
                        tracing::debug!(error = %e, "rollback after a failed attempt failed");
                    }
                    Err(error)
                }
            }
        }
        .await;
        match result {
            Ok(value) => {
                attempts.succeeded();
                return Ok(value);
            }
            Err(error) => {
                let delay = attempts.failed(error)?;
                attempts.next_after(delay).await;
            }
        }
    }
}

/// Whether a server keeps the transaction open after a conflict inside a savepoint, so that
/// rolling back to the savepoint and running again can succeed.
fn keeps_transaction_after_conflict(dialect: &str) -> bool {
    dialect == "postgres"
}

async fn with_restart_savepoints<S, C, T, E, F, Via>(
    source: &mut S,
    opts: TxOptions,
    attempts: &mut Attempts<'_>,
    body: &mut F,
) -> Result<T, E>
where
    S: TransactionSource<C>,
    C: Connection,
    F: for<'a, 'b> TransactionBody<&'a mut Transaction<'b, C>, Result<T, E>, Fut: Send>,
    E: RetryError<Via> + From<Error>,
{
    'transaction: loop {
        let mut tx = match source.begin_transaction(opts).await {
            Ok(tx) => tx,
            Err(error) => {
                let delay = attempts.failed(E::from(error))?;
                attempts.next_after(delay).await;
                continue 'transaction;
            }
        };
        let backend = tx.dialect().name();
        if !keeps_transaction_after_conflict(backend) {
            let _ = tx.rollback().await;
            return Err(E::from(Error::unsupported(format!(
                "CockroachDB's savepoint retry protocol needs a server that keeps the \
                 transaction open after a conflict inside a savepoint; {backend} does not \
                 (MySQL/MariaDB roll back the whole transaction on a deadlock, SQLite keeps \
                 its stale snapshot): retry with a new transaction per attempt instead"
            ))));
        }
        loop {
            let error = match attempt_in_savepoint(&mut tx, body).await {
                Ok(value) => match tx.commit().await {
                    Ok(()) => {
                        attempts.succeeded();
                        return Ok(value);
                    }
                    Err(error) => {
                        // COMMIT failed: the transaction is over; a retry starts a new one.
                        let delay = attempts.failed(E::from(error))?;
                        attempts.next_after(delay).await;
                        continue 'transaction;
                    }
                },
                Err(error) => error,
            };
            let delay = attempts.failed(error)?;
            // ROLLBACK TO SAVEPOINT cockroach_restart, owed since the attempt failed.
            tx.settle().await.map_err(E::from)?;
            let same_transaction = tx.is_open();
            attempts.next_after(delay).await;
            if !same_transaction {
                continue 'transaction;
            }
        }
    }
}

/// One attempt inside the restart savepoint: SAVEPOINT, the body, RELEASE. On failure the
/// savepoint guard is gone and the transaction owes the ROLLBACK TO.
async fn attempt_in_savepoint<C, T, E, F, Via>(
    tx: &mut Transaction<'_, C>,
    body: &mut F,
) -> Result<T, E>
where
    C: Connection,
    F: for<'a, 'b> TransactionBody<&'a mut Transaction<'b, C>, Result<T, E>, Fut: Send>,
    E: RetryError<Via> + From<Error>,
{
    let mut savepoint = tx.restart_savepoint(RESTART_SAVEPOINT).await?;
    let value = body(&mut savepoint).await?;
    savepoint.commit().await.map_err(|e| {
        if e.kind() == ErrorKind::ConnectionLost {
            // On CockroachDB this RELEASE is the commit point.
            e.with_kind(ErrorKind::CommitOutcomeUnknown).context(
                "the connection was lost during RELEASE SAVEPOINT cockroach_restart, which \
                 commits the transaction on CockroachDB",
            )
        } else {
            e
        }
    })?;
    Ok(value)
}
