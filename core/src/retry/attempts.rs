//! The bookkeeping of one retry loop, shared by [`retry`](crate::retry) and
//! [`RetryPolicy::run_transaction`](crate::RetryPolicy::run_transaction): counting
//! attempts, deciding after a failure, logging, and sleeping the backoff.

use std::time::{Duration, Instant};

use super::classify::{RetryError, RetryOutcome, StopReason};
use super::policy::{RetryPolicy, Rng};
use crate::error::ErrorKind;

/// One retry loop in progress.
pub(crate) struct Attempts<'p> {
    policy: &'p RetryPolicy,
    started: Instant,
    attempt_started: Instant,
    attempt: u32,
    rng: Rng,
}

impl<'p> Attempts<'p> {
    /// The loop's start: attempt 1 begins now.
    pub(crate) fn new(policy: &'p RetryPolicy) -> Self {
        let now = Instant::now();
        Self {
            policy,
            started: now,
            attempt_started: now,
            attempt: 1,
            rng: Rng::seeded(),
        }
    }

    /// The current attempt succeeded.
    pub(crate) fn succeeded(&self) {
        if self.attempt > 1 {
            tracing::info!(
                attempts = self.attempt,
                elapsed_ms = millis(self.started.elapsed()),
                "txkit unit of work succeeded after retrying"
            );
        }
    }

    /// The current attempt failed with `error`: `Ok(backoff)` when another attempt should
    /// follow after that wait, or `Err` with the final error (its
    /// [`gave_up`](RetryError::gave_up) applied).
    pub(crate) fn failed<E: RetryError<V>, V>(&mut self, error: E) -> Result<Duration, E> {
        let kind = error.error_kind();
        let (max, attempt) = (self.policy.attempts_allowed(), self.attempt);
        let mut stop = match kind {
            Some(ErrorKind::CommitOutcomeUnknown) => Some(StopReason::CommitOutcomeUnknown),
            Some(kind) if self.policy.retries(kind) => None,
            _ => Some(StopReason::NotRetryable),
        };
        if stop.is_none() && attempt >= max {
            stop = Some(StopReason::AttemptsExhausted);
        }
        let mut delay = Duration::ZERO;
        if stop.is_none() {
            delay = self.policy.backoff(attempt, &mut self.rng);
            if let Some(limit) = self.policy.time_limit() {
                // The next attempt is expected to take as long as this one did.
                let expected_end = self.started.elapsed() + delay + self.attempt_started.elapsed();
                if expected_end > limit {
                    stop = Some(StopReason::Deadline);
                }
            }
        }
        let kind_name = kind.map_or("unclassified", ErrorKind::as_str);
        match stop {
            None => {
                tracing::warn!(
                    attempt,
                    max_attempts = max,
                    kind = kind_name,
                    error = %error,
                    delay_ms = millis(delay),
                    "txkit retrying a unit of work after a retryable failure"
                );
                Ok(delay)
            }
            Some(stop) => {
                let outcome = RetryOutcome {
                    attempts: attempt,
                    max_attempts: max,
                    elapsed: self.started.elapsed(),
                    stop,
                };
                if attempt > 1 || stop != StopReason::NotRetryable {
                    tracing::warn!(
                        attempts = attempt,
                        max_attempts = max,
                        kind = kind_name,
                        error = %error,
                        reason = ?stop,
                        elapsed_ms = millis(outcome.elapsed),
                        "txkit retry gave up"
                    );
                }
                Err(error.gave_up(&outcome))
            }
        }
    }

    /// Sleeps `delay`, then starts the next attempt.
    pub(crate) async fn next_after(&mut self, delay: Duration) {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.attempt += 1;
        self.attempt_started = Instant::now();
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
