//! The one error type of txkit, classified by [`ErrorKind`].
//!
//! Every backend maps its driver's codes (SQLSTATE, MySQL errno, SQLite extended result
//! code) onto a kind, and keeps the code and the server's message readable, so a caller can
//! decide what to do from `kind()` and a human can still see what the server said.

use std::fmt;

/// A boxed error from a driver or the operating system, kept as the source of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with txkit's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in the terms a caller acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The server chose this transaction as a deadlock victim and rolled it back.
    Deadlock,
    /// A serializable (or snapshot) transaction could not be serialized; it was rolled back.
    SerializationFailure,
    /// A lock was requested with NOWAIT (or the backend's equivalent) and was held by another.
    LockNotAvailable,
    /// A lock wait timed out (PostgreSQL `lock_timeout`, MySQL `innodb_lock_wait_timeout`,
    /// SQLite `busy_timeout`).
    LockTimeout,
    /// An optimistic version check failed: the row changed (or vanished) since it was read.
    StaleData,
    /// A unique or primary-key constraint was violated.
    UniqueViolation,
    /// The connection to the server was lost, or the server ended the session.
    ConnectionLost,
    /// The connection was lost after COMMIT was sent and before its answer arrived: the
    /// transaction may or may not have committed. Never retried blindly.
    CommitOutcomeUnknown,
    /// No pooled connection became free within the pool timeout.
    PoolTimeout,
    /// Bad configuration or input: a URL, an option, a name, a value that does not fit its
    /// column.
    Config,
    /// The API was used in a way it does not allow — a transaction begun on a connection
    /// that already has one open, a closed pool asked for a connection, a session's options
    /// set after it began; the message says what to do instead.
    Usage,
    /// txkit broke one of its own rules: a bug in txkit, never in the caller's code. The
    /// message says what broke and asks for a report.
    Internal,
    /// The backend cannot do what was asked (rather than silently doing something weaker).
    Unsupported,
    /// Any other error reported by the database.
    Database,
}

impl ErrorKind {
    /// Whether re-running the whole unit of work (a new transaction) can succeed: the failure
    /// came from a conflict with concurrent work, and the server undid this attempt.
    ///
    /// Deadlocks, serialization failures, lock timeouts, NOWAIT failures and stale versions
    /// are retryable. [`ErrorKind::CommitOutcomeUnknown`] is not: the first attempt may
    /// have committed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::Deadlock
                | Self::SerializationFailure
                | Self::LockNotAvailable
                | Self::LockTimeout
                | Self::StaleData
        )
    }

    /// A short, stable, lower-case name for logs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deadlock => "deadlock",
            Self::SerializationFailure => "serialization failure",
            Self::LockNotAvailable => "lock not available",
            Self::LockTimeout => "lock timeout",
            Self::StaleData => "stale data",
            Self::UniqueViolation => "unique violation",
            Self::ConnectionLost => "connection lost",
            Self::CommitOutcomeUnknown => "commit outcome unknown",
            Self::PoolTimeout => "pool timeout",
            Self::Config => "configuration error",
            Self::Usage => "usage error",
            Self::Internal => "internal error",
            Self::Unsupported => "unsupported",
            Self::Database => "database error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which row an optimistic version check was about, carried by [`ErrorKind::StaleData`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleInfo {
    /// The table the update or delete addressed.
    pub table: String,
    /// The primary key, rendered as text.
    pub key: String,
    /// The version the caller expected the row to have.
    pub expected_version: String,
}

/// The error type of txkit: a [`kind`](Error::kind), a message, and where the database
/// reported it, its own code.
#[derive(thiserror::Error)]
#[error(transparent)]
pub struct Error(Box<Repr>);

#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}{}", render_code(*.backend, .code.as_deref()))]
struct Repr {
    kind: ErrorKind,
    message: String,
    backend: Option<&'static str>,
    code: Option<String>,
    stale: Option<StaleInfo>,
    #[source]
    source: Option<BoxError>,
}

fn render_code(backend: Option<&'static str>, code: Option<&str>) -> String {
    match (backend, code) {
        (Some(b), Some(c)) => format!(" ({b} code {c})"),
        (None, Some(c)) => format!(" (code {c})"),
        _ => String::new(),
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.0.kind)
            .field("message", &self.0.message);
        if let Some(code) = &self.0.code {
            d.field("code", code);
        }
        if let Some(backend) = self.0.backend {
            d.field("backend", &backend);
        }
        if let Some(stale) = &self.0.stale {
            d.field("stale", stale);
        }
        if let Some(source) = &self.0.source {
            d.field("source", &format_args!("{source}"));
        }
        d.finish()
    }
}

impl Error {
    /// A new error of `kind` with a message that says what happened and what to do.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self(Box::new(Repr {
            kind,
            message: message.into(),
            backend: None,
            code: None,
            stale: None,
            source: None,
        }))
    }

    /// A [`ErrorKind::Config`] error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// An [`ErrorKind::Usage`] error: `message` says what was asked and what to do instead.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }

    /// An [`ErrorKind::Internal`] error: `message` says which of txkit's own rules broke;
    /// the error adds that this is a bug in txkit, to be reported with the message.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::Internal,
            format!(
                "{} — a bug in txkit, not in your code; please report it with this message",
                message.into()
            ),
        )
    }

    /// An [`ErrorKind::Unsupported`] error.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// An [`ErrorKind::ConnectionLost`] error.
    pub fn connection_lost(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ConnectionLost, message)
    }

    /// A [`ErrorKind::StaleData`] error naming the row and the version that was expected.
    pub fn stale(table: &str, key: impl fmt::Display, expected_version: impl fmt::Display) -> Self {
        let info = StaleInfo {
            table: table.to_owned(),
            key: key.to_string(),
            expected_version: expected_version.to_string(),
        };
        let message = format!(
            "row {} of table {} no longer has version {}: it was changed or deleted \
             by another transaction; re-read it and apply the change again",
            info.key, info.table, info.expected_version
        );
        let mut e = Self::new(ErrorKind::StaleData, message);
        e.0.stale = Some(info);
        e
    }

    /// The same error as [`ErrorKind::StaleData`] about `table`'s row `key`, keeping the
    /// server's code and message: a conflict the server reported on a versioned write.
    pub(crate) fn into_stale(mut self, table: &str, key: &str, expected_version: &str) -> Self {
        let message = format!(
            "row {key} of table {table} could not be written at version {expected_version}:              another transaction changed the data this one read ({}); re-read it and apply              the change again",
            self.0.message
        );
        self.0.kind = ErrorKind::StaleData;
        self.0.message = message;
        self.0.stale = Some(StaleInfo {
            table: table.to_owned(),
            key: key.to_owned(),
            expected_version: expected_version.to_owned(),
        });
        self
    }

    /// An error reported by a database, with its backend name and native code.
    pub fn database(
        kind: ErrorKind,
        backend: &'static str,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let mut e = Self::new(kind, message);
        e.0.backend = Some(backend);
        e.0.code = Some(code.into());
        e
    }

    /// Attaches the underlying driver or I/O error.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// Returns the same error with another kind, keeping code, message and source; used
    /// where context decides the kind (a lost connection during COMMIT, a NOWAIT timeout).
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.0.kind = kind;
        self
    }

    /// Prefixes the message with what txkit was doing.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.0.message = format!("{what}: {}", self.0.message);
        self
    }

    /// The classification a caller acts on.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The message, without the kind and code.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The database's own code: a SQLSTATE (`"40P01"`), a MySQL error number (`"1213"`),
    /// or a SQLite extended result code name (`"SQLITE_BUSY_SNAPSHOT"`).
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    /// The backend that reported the error (`"postgres"`, `"mysql"`, `"sqlite"`).
    pub fn backend(&self) -> Option<&'static str> {
        self.0.backend
    }

    /// For [`ErrorKind::StaleData`]: the table, key and expected version.
    pub fn stale_info(&self) -> Option<&StaleInfo> {
        self.0.stale.as_ref()
    }

    /// See [`ErrorKind::is_retryable`].
    pub fn is_retryable(&self) -> bool {
        self.0.kind.is_retryable()
    }

    /// The server rolled this transaction back to break a deadlock.
    pub fn is_deadlock(&self) -> bool {
        self.0.kind == ErrorKind::Deadlock
    }

    /// The transaction could not be serialized.
    pub fn is_serialization_failure(&self) -> bool {
        self.0.kind == ErrorKind::SerializationFailure
    }

    /// A lock could not be had: NOWAIT failed or a lock wait timed out.
    pub fn is_lock_failure(&self) -> bool {
        matches!(
            self.0.kind,
            ErrorKind::LockNotAvailable | ErrorKind::LockTimeout
        )
    }

    /// Another transaction's work got in the way of this one, and the server undid this
    /// attempt: an optimistic version check lost ([`ErrorKind::StaleData`]), a
    /// serialization failure, or a deadlock. The answer is the same for all three: re-read
    /// and run the unit of work again (what [`retry`](fn@crate::retry) does). A lost
    /// optimistic race is `StaleData` on every backend; this predicate also covers the
    /// conflicts a server reports before any version is compared.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self.0.kind,
            ErrorKind::StaleData | ErrorKind::SerializationFailure | ErrorKind::Deadlock
        )
    }

    /// The connection is gone (including during COMMIT).
    pub fn is_connection_lost(&self) -> bool {
        matches!(
            self.0.kind,
            ErrorKind::ConnectionLost | ErrorKind::CommitOutcomeUnknown
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_keeps_backend_code_and_message() {
        let e = Error::database(
            ErrorKind::Deadlock,
            "postgres",
            "40P01",
            "deadlock detected",
        );
        assert_eq!(
            e.to_string(),
            "deadlock: deadlock detected (postgres code 40P01)"
        );
        assert!(e.is_retryable());
        assert!(e.is_deadlock());
        assert_eq!(e.code(), Some("40P01"));
    }

    #[test]
    fn commit_outcome_unknown_is_never_retryable() {
        assert!(!ErrorKind::CommitOutcomeUnknown.is_retryable());
        assert!(!ErrorKind::ConnectionLost.is_retryable());
        assert!(!ErrorKind::UniqueViolation.is_retryable());
    }

    #[test]
    fn usage_and_internal_errors_say_whose_mistake_it_is() {
        let usage = Error::usage("the pool is closed; create a new engine");
        assert_eq!(usage.kind(), ErrorKind::Usage);
        assert_eq!(
            usage.to_string(),
            "usage error: the pool is closed; create a new engine"
        );
        let internal = Error::internal("an identity-map slot vanished");
        assert_eq!(internal.kind(), ErrorKind::Internal);
        assert!(
            internal
                .to_string()
                .starts_with("internal error: an identity-map slot")
        );
        assert!(
            internal.to_string().contains("a bug in txkit"),
            "{internal}"
        );
        assert!(!usage.is_retryable() && !internal.is_retryable());
    }

    #[test]
    fn stale_carries_row() {
        let e = Error::stale("accounts", 7, 3);
        assert_eq!(e.kind(), ErrorKind::StaleData);
        let info = e.stale_info().expect("stale info");
        assert_eq!(info.key, "7");
        assert_eq!(info.expected_version, "3");
        assert!(e.to_string().contains("accounts"));
    }
}
