//! Re-running units of work that lost a conflict: [`retry`], [`RetryPolicy::run_transaction`] and
//! their [`RetryPolicy`]. `#[retry_on_deadlock]` expands to [`retry`].
//!
//! Only a whole unit of work is re-run — from BEGIN to COMMIT — because a deadlock or a
//! serialization failure undoes the whole transaction, not the statement that met it.
//! [`ErrorKind::CommitOutcomeUnknown`](crate::ErrorKind::CommitOutcomeUnknown) is never
//! retried.
//!
//! Each retry emits a `WARN` event (fields `attempt`, `max_attempts`, `kind`, `error`,
//! `delay_ms`) inside an `INFO` span `txkit.retry` (fields `unit`, `max_attempts`); giving
//! up after more than one attempt emits `txkit retry gave up`.

mod attempts;
mod classify;
mod policy;
mod transaction;

#[cfg(test)]
mod tests;

use std::future::Future;

use tracing::Instrument;

pub use classify::{Direct, RetryError, RetryOutcome, StopReason};
pub use policy::RetryPolicy;
pub use transaction::{TransactionBody, TransactionSource};

use attempts::Attempts;

/// Runs `f` until it succeeds, fails with an error `policy` does not retry, or runs out of
/// attempts or time; returns its last result. Between attempts it waits the policy's
/// backoff.
///
/// `f` is the whole unit of work and must be re-runnable: it begins its own transaction
/// (so each attempt starts a new one) and commits it, and it may not consume or mutate what
/// it captures — an async closure that only reads its surroundings, as `async || { … }`
/// does when it takes a `&Engine` and copies of values.
///
/// The returned future is `Send` when `f`'s futures are, so it can run in `tokio::spawn`.
/// (`f` is an `FnMut` returning a future rather than an `AsyncFnMut`: async closures
/// implement both, but on stable Rust the future of an `AsyncFnMut` held across an
/// `.await` cannot be proven `Send` when it borrows from its caller.)
///
/// The final error is passed through [`RetryError::gave_up`]: a txkit [`Error`](crate::Error)
/// then says how many attempts were made.
///
/// ```
/// # async fn demo(pool: &txkit_core::Pool) -> txkit_core::Result<u64> {
/// use txkit_core::{ErrorKind, RetryPolicy, params, retry};
///
/// let policy = RetryPolicy::new().max_attempts(5).retry_on(ErrorKind::LockTimeout);
/// retry(&policy, async || -> txkit_core::Result<u64> {
///     let mut conn = pool.get().await?;
///     let mut tx = conn.begin().await?;
///     let n = tx.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", &params![5, 1]).await?;
///     tx.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", &params![5, 2]).await?;
///     tx.commit().await?;
///     Ok(n)
/// })
/// .await
/// # }
/// ```
pub async fn retry<T, E, F, Fut, Via>(policy: &RetryPolicy, mut f: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: RetryError<Via>,
{
    let span = tracing::info_span!(
        "txkit.retry",
        unit = policy.name(),
        max_attempts = policy.attempts_allowed()
    );
    async move {
        let mut attempts = Attempts::new(policy);
        loop {
            match f().await {
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
    .instrument(span)
    .await
}
