//! [`RetryError`]: what retry needs to know about an error type.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, ErrorKind};

/// An error type [`retry`](crate::retry) can decide on: it names the [`ErrorKind`] of each
/// error, and may record in the final error how the retrying ended.
///
/// txkit's [`Error`] implements it (and says in its message how many attempts were made).
///
/// # Errors of other crates
///
/// The type parameter `Via` lets a crate implement this trait for an error type it does not
/// own, which the orphan rule would otherwise forbid: it names a marker type of its own.
/// Callers never write it; the compiler infers it from the one implementation there is.
///
/// ```
/// use txkit_core::{ErrorKind, RetryError};
///
/// /// This crate's marker for `std::io::Error` (standing in for `sea_orm::DbErr`).
/// pub enum IoErrors {}
///
/// impl RetryError<IoErrors> for std::io::Error {
///     fn error_kind(&self) -> Option<ErrorKind> {
///         (self.kind() == std::io::ErrorKind::WouldBlock).then_some(ErrorKind::LockNotAvailable)
///     }
///     // `gave_up` keeps its default: a foreign error cannot carry the attempt count, which
///     // is then only in the `txkit.retry` tracing events.
/// }
/// ```
///
/// Implement it once per error type: with two implementations (two markers) for the same
/// type, `retry` could no longer infer which one to use.
pub trait RetryError<Via = Direct>: fmt::Display {
    /// The kind of this error, or `None` when it has none (it is then never retried).
    fn error_kind(&self) -> Option<ErrorKind>;

    /// The error returned when retrying ends: the default returns it unchanged; txkit's
    /// [`Error`] adds the number of attempts to its message.
    fn gave_up(self, outcome: &RetryOutcome) -> Self
    where
        Self: Sized,
    {
        let _ = outcome;
        self
    }
}

/// The default `Via` of [`RetryError`]: the implementation lives with the trait or with the
/// error type itself.
#[derive(Debug)]
pub enum Direct {}

impl RetryError for Error {
    fn error_kind(&self) -> Option<ErrorKind> {
        Some(self.kind())
    }

    /// Prefixes the message with the attempts made and why retrying stopped, except for a
    /// failure on the first attempt that was simply not retryable (left as it is).
    fn gave_up(self, outcome: &RetryOutcome) -> Self {
        if outcome.attempts == 1 && outcome.stop == StopReason::NotRetryable {
            return self;
        }
        self.context(outcome)
    }
}

/// How a [`retry`](crate::retry) loop ended with an error; passed to
/// [`RetryError::gave_up`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryOutcome {
    /// How many attempts ran (1 = no retry).
    pub attempts: u32,
    /// How many the policy allowed.
    pub max_attempts: u32,
    /// Time from the start of the first attempt to the end of the last.
    pub elapsed: Duration,
    /// Why no further attempt was made.
    pub stop: StopReason,
}

/// Why a [`retry`](crate::retry) loop made no further attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// The failure is not of a kind the policy retries.
    NotRetryable,
    /// The commit's outcome is unknown: never retried, since the attempt may have committed.
    CommitOutcomeUnknown,
    /// The policy's `max_attempts` were used up.
    AttemptsExhausted,
    /// Another attempt would have ended after the policy's deadline.
    Deadline,
}

impl fmt::Display for RetryOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, max) = (self.attempts, self.max_attempts);
        let plural = if n == 1 { "" } else { "s" };
        let ms = self.elapsed.as_millis();
        match self.stop {
            StopReason::NotRetryable => write!(
                f,
                "failed on attempt {n} of {max} with an error that is not retried \
                 ({n} attempt{plural} in {ms} ms)"
            ),
            StopReason::CommitOutcomeUnknown => write!(
                f,
                "not retried after attempt {n} of {max}: the commit may have succeeded, so \
                 running the work again could apply it twice; check whether it took effect \
                 (for example by its idempotency key)"
            ),
            StopReason::AttemptsExhausted => {
                write!(
                    f,
                    "gave up after {n} attempt{plural} (max {max}) in {ms} ms"
                )
            }
            StopReason::Deadline => write!(
                f,
                "gave up after {n} attempt{plural} (max {max}) in {ms} ms: another attempt \
                 would end after the retry deadline"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(attempts: u32, stop: StopReason) -> RetryOutcome {
        RetryOutcome {
            attempts,
            max_attempts: 3,
            elapsed: Duration::from_millis(250),
            stop,
        }
    }

    #[test]
    fn txkit_errors_say_how_many_attempts() {
        let e = Error::database(
            ErrorKind::Deadlock,
            "postgres",
            "40P01",
            "deadlock detected",
        )
        .gave_up(&outcome(3, StopReason::AttemptsExhausted));
        assert_eq!(e.kind(), ErrorKind::Deadlock);
        assert_eq!(e.code(), Some("40P01"));
        assert_eq!(
            e.to_string(),
            "deadlock: gave up after 3 attempts (max 3) in 250 ms: deadlock detected \
             (postgres code 40P01)"
        );
    }

    #[test]
    fn a_first_attempt_failure_that_is_not_retried_is_unchanged() {
        let e = Error::new(ErrorKind::UniqueViolation, "duplicate key")
            .gave_up(&outcome(1, StopReason::NotRetryable));
        assert_eq!(e.to_string(), "unique violation: duplicate key");
        let e = Error::new(ErrorKind::UniqueViolation, "duplicate key")
            .gave_up(&outcome(2, StopReason::NotRetryable));
        assert!(e.to_string().contains("attempt 2 of 3"), "{e}");
    }

    #[test]
    fn commit_outcome_unknown_explains() {
        let e = Error::new(
            ErrorKind::CommitOutcomeUnknown,
            "connection lost during COMMIT",
        )
        .gave_up(&outcome(1, StopReason::CommitOutcomeUnknown));
        assert!(e.to_string().contains("may have succeeded"), "{e}");
        assert_eq!(e.kind(), ErrorKind::CommitOutcomeUnknown);
    }
}
