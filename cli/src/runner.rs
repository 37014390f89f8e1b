//! Running a strategy's transfers: on the calling worker or through one queue worker,
//! retried under the run's policy while counting the retries by cause.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use txkit::{ErrorKind, QueueWorker, Result, RetryPolicy, retry};
use txkit_bank::{Bank, Outcome, Strategy, Transfer};

use crate::args::StrategyName;

/// A transfer's result and the causes of the attempts that were retried.
#[derive(Debug)]
pub(crate) struct Attempted {
    /// The last attempt's result.
    pub(crate) result: Result<Outcome>,
    /// The error kind of every failed attempt that was retried.
    pub(crate) retries: Vec<ErrorKind>,
}

/// Where a run's transfers are made: a strategy ready to run them.
#[derive(Debug)]
pub(crate) enum Runner {
    /// Transfers run on the calling worker.
    Direct(Strategy),
    /// Transfers are handed to one queue worker (and run pessimistically there).
    Queue(QueueWorker),
}

impl Runner {
    /// Prepares `name` (the queue strategy starts its worker on the current runtime).
    pub(crate) fn new(name: StrategyName, workers: u32) -> Self {
        match name {
            StrategyName::Queue => {
                let capacity = usize::try_from(workers).unwrap_or(1);
                Runner::Queue(QueueWorker::spawn(capacity))
            }
            other => Runner::Direct(other.strategy()),
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
            Runner::Direct(strategy) => run(*strategy, bank, policy, &t).await,
            Runner::Queue(worker) => {
                let (bank, policy) = (Arc::clone(bank), policy.clone());
                let submitted = worker
                    .submit(
                        move || async move { run(Strategy::Pessimistic, &bank, &policy, &t).await },
                    )
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
        if let Runner::Queue(worker) = self {
            worker.shutdown().await;
        }
    }
}

async fn run(strategy: Strategy, bank: &Bank, policy: &RetryPolicy, t: &Transfer) -> Attempted {
    with_retry(policy, || strategy.attempt(bank, t)).await
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
