//! From tokio-postgres errors to txkit errors: the SQLSTATE codes txkit acts on, named in one
//! place, and [`classify`], the pure function that maps a code to an [`ErrorKind`].

use std::error::Error as _;

use txkit_core::{Error, ErrorKind};

/// The backend name carried by every error this crate makes.
pub(crate) const BACKEND: &str = "postgres";

/// SQLSTATE codes that txkit classifies. Every other code is [`ErrorKind::Database`].
pub mod sqlstate {
    /// `serialization_failure`; also CockroachDB's "restart transaction" and YugabyteDB's
    /// conflict errors.
    pub const SERIALIZATION_FAILURE: &str = "40001";
    /// `deadlock_detected`.
    pub const DEADLOCK_DETECTED: &str = "40P01";
    /// `statement_completion_unknown` (CockroachDB: "result is ambiguous").
    pub const STATEMENT_COMPLETION_UNKNOWN: &str = "40003";
    /// `lock_not_available`: NOWAIT failed, or `lock_timeout` expired.
    pub const LOCK_NOT_AVAILABLE: &str = "55P03";
    /// `query_canceled`: `statement_timeout`, or a cancel request.
    pub const QUERY_CANCELED: &str = "57014";
    /// `unique_violation`.
    pub const UNIQUE_VIOLATION: &str = "23505";
    /// `in_failed_sql_transaction`: a statement sent after an error in a transaction.
    pub const IN_FAILED_SQL_TRANSACTION: &str = "25P02";
    /// `active_sql_transaction`: a statement that must run outside a transaction block.
    pub const ACTIVE_SQL_TRANSACTION: &str = "25001";
    /// `feature_not_supported`; with "cached plan must not change result type" it means a
    /// prepared statement outlived a schema change.
    pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
    /// `idle_in_transaction_session_timeout`: the server closed the session.
    pub const IDLE_IN_TRANSACTION_SESSION_TIMEOUT: &str = "25P03";
    /// `connection_exception`.
    pub const CONNECTION_EXCEPTION: &str = "08000";
    /// `connection_does_not_exist`.
    pub const CONNECTION_DOES_NOT_EXIST: &str = "08003";
    /// `connection_failure`.
    pub const CONNECTION_FAILURE: &str = "08006";
    /// `sqlclient_unable_to_establish_sqlconnection`.
    pub const SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION: &str = "08001";
    /// `sqlserver_rejected_establishment_of_sqlconnection`.
    pub const SQLSERVER_REJECTED_ESTABLISHMENT_OF_SQLCONNECTION: &str = "08004";
    /// `transaction_resolution_unknown`: the connection failed while a transaction was
    /// being resolved.
    pub const TRANSACTION_RESOLUTION_UNKNOWN: &str = "08007";
    /// `protocol_violation`.
    pub const PROTOCOL_VIOLATION: &str = "08P01";
    /// `admin_shutdown` (also `pg_terminate_backend`).
    pub const ADMIN_SHUTDOWN: &str = "57P01";
    /// `crash_shutdown`.
    pub const CRASH_SHUTDOWN: &str = "57P02";
    /// `cannot_connect_now` (the server is starting or shutting down).
    pub const CANNOT_CONNECT_NOW: &str = "57P03";
    /// `database_dropped`.
    pub const DATABASE_DROPPED: &str = "57P04";
    /// `idle_session_timeout`.
    pub const IDLE_SESSION_TIMEOUT: &str = "57P05";
    /// `too_many_connections`.
    pub const TOO_MANY_CONNECTIONS: &str = "53300";
    /// `invalid_password`.
    pub const INVALID_PASSWORD: &str = "28P01";
    /// `invalid_authorization_specification` (no pg_hba.conf entry, unknown role).
    pub const INVALID_AUTHORIZATION_SPECIFICATION: &str = "28000";
    /// `invalid_catalog_name` (the database does not exist).
    pub const INVALID_CATALOG_NAME: &str = "3D000";
}

use sqlstate as code;

/// Maps a SQLSTATE to the kind a caller acts on.
///
/// `message` is the server's message and `nowait` says whether the statement asked for
/// NOWAIT. PostgreSQL reports both a failed NOWAIT and an expired `lock_timeout` as `55P03`;
/// they are told apart by the message ("canceling statement due to lock timeout" versus
/// "could not obtain lock on …"), and where the message is translated (`lc_messages`), by
/// whether the statement's text contained NOWAIT. Both kinds are retryable, so a wrong guess
/// between them changes only the message a caller reads.
///
/// `57014 query_canceled` (a `statement_timeout` or a cancel request) is
/// [`ErrorKind::Database`]: a statement that ran too long will most likely run too long
/// again, so it is not retried automatically.
pub fn classify(sqlstate: &str, message: &str, nowait: bool) -> ErrorKind {
    match sqlstate {
        code::SERIALIZATION_FAILURE => ErrorKind::SerializationFailure,
        code::DEADLOCK_DETECTED => ErrorKind::Deadlock,
        code::STATEMENT_COMPLETION_UNKNOWN | code::TRANSACTION_RESOLUTION_UNKNOWN => {
            ErrorKind::CommitOutcomeUnknown
        }
        code::LOCK_NOT_AVAILABLE => {
            if message.contains("lock timeout") {
                ErrorKind::LockTimeout
            } else if message.contains("could not obtain lock") || nowait {
                ErrorKind::LockNotAvailable
            } else {
                ErrorKind::LockTimeout
            }
        }
        code::UNIQUE_VIOLATION => ErrorKind::UniqueViolation,
        code::IDLE_IN_TRANSACTION_SESSION_TIMEOUT
        | code::ADMIN_SHUTDOWN
        | code::CRASH_SHUTDOWN
        | code::CANNOT_CONNECT_NOW
        | code::DATABASE_DROPPED
        | code::IDLE_SESSION_TIMEOUT
        | code::TOO_MANY_CONNECTIONS => ErrorKind::ConnectionLost,
        s if s.starts_with("08") => ErrorKind::ConnectionLost,
        _ => ErrorKind::Database,
    }
}

/// Whether `e`, from executing a cached statement, may be the server's "cached plan must
/// not change result type" (a table changed shape since the statement was prepared). Only
/// the code is checked, so a translated message (`lc_messages`) is no obstacle; another
/// `0A000` from execution merely costs one re-prepare before it is reported.
pub(crate) fn is_stale_plan(e: &tokio_postgres::Error) -> bool {
    sqlstate_of(e) == Some(code::FEATURE_NOT_SUPPORTED)
}

/// The SQLSTATE of `e`, when the server sent one.
pub(crate) fn sqlstate_of(e: &tokio_postgres::Error) -> Option<&str> {
    e.as_db_error().map(|db| db.code().code())
}

/// Whether `e` means the connection is gone (closed, I/O, or a FATAL connection code).
pub(crate) fn is_connection_error(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() || io_source(e).is_some() {
        return true;
    }
    match e.as_db_error() {
        Some(db) => classify(db.code().code(), db.message(), false) == ErrorKind::ConnectionLost,
        None => false,
    }
}

fn io_source(e: &tokio_postgres::Error) -> Option<&std::io::Error> {
    e.source().and_then(|s| s.downcast_ref::<std::io::Error>())
}

/// Maps a tokio-postgres error from running `sql` (whose text decides NOWAIT) to a txkit
/// error, keeping the SQLSTATE, the server's message, detail and hint.
pub(crate) fn map_error(e: tokio_postgres::Error, nowait: bool) -> Error {
    if let Some(db) = e.as_db_error() {
        let sqlstate = db.code().code().to_owned();
        let kind = classify(&sqlstate, db.message(), nowait);
        let mut message = db.message().to_owned();
        if sqlstate == code::IN_FAILED_SQL_TRANSACTION {
            message = "the transaction is aborted because an earlier statement in it failed; \
                       roll it back (or roll back to a savepoint) before running anything else"
                .to_owned();
        }
        if let Some(detail) = db.detail() {
            message.push_str("; detail: ");
            message.push_str(detail);
        }
        if let Some(hint) = db.hint() {
            message.push_str("; hint: ");
            message.push_str(hint);
        }
        return Error::database(kind, BACKEND, sqlstate, message).with_source(e);
    }
    if e.is_closed() {
        return Error::connection_lost(
            "the connection to the PostgreSQL server is closed (the server ended the session, \
             or the network failed); open a new connection",
        )
        .with_source(e);
    }
    if let Some(io) = io_source(&e) {
        let message =
            format!("lost the connection to the PostgreSQL server: {io}; open a new connection");
        return Error::connection_lost(message).with_source(e);
    }
    Error::new(
        ErrorKind::Database,
        format!("PostgreSQL client error: {}", describe(&e)),
    )
    .with_source(e)
}

/// `e` with its chain of sources, for messages.
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Whether SQL text asks for NOWAIT (case-insensitive).
pub(crate) fn asks_nowait(sql: &str) -> bool {
    sql.as_bytes()
        .windows(6)
        .any(|w| w.eq_ignore_ascii_case(b"NOWAIT"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_code() {
        use ErrorKind::*;
        let table: &[(&str, &str, bool, ErrorKind)] = &[
            (
                "40001",
                "could not serialize access due to concurrent update",
                false,
                SerializationFailure,
            ),
            (
                "40001",
                "restart transaction: TransactionRetryWithProtoRefreshError",
                false,
                SerializationFailure,
            ),
            ("40P01", "deadlock detected", false, Deadlock),
            ("40003", "result is ambiguous", false, CommitOutcomeUnknown),
            (
                "55P03",
                "could not obtain lock on row in relation \"t\"",
                true,
                LockNotAvailable,
            ),
            (
                "55P03",
                "could not obtain lock on relation \"t\"",
                false,
                LockNotAvailable,
            ),
            (
                "55P03",
                "canceling statement due to lock timeout",
                false,
                LockTimeout,
            ),
            (
                "55P03",
                "canceling statement due to lock timeout",
                true,
                LockTimeout,
            ),
            (
                "55P03",
                "konnte Sperre nicht setzen",
                true,
                LockNotAvailable,
            ),
            (
                "55P03",
                "Anweisung wegen Sperrzeitüberschreitung abgebrochen",
                false,
                LockTimeout,
            ),
            (
                "57014",
                "canceling statement due to statement timeout",
                false,
                Database,
            ),
            (
                "57014",
                "canceling statement due to user request",
                false,
                Database,
            ),
            (
                "23505",
                "duplicate key value violates unique constraint",
                false,
                UniqueViolation,
            ),
            ("25P02", "current transaction is aborted", false, Database),
            (
                "25P03",
                "terminating connection due to idle-in-transaction timeout",
                false,
                ConnectionLost,
            ),
            ("08000", "", false, ConnectionLost),
            ("08003", "", false, ConnectionLost),
            ("08006", "", false, ConnectionLost),
            ("08001", "", false, ConnectionLost),
            ("08004", "", false, ConnectionLost),
            ("08P01", "", false, ConnectionLost),
            ("08007", "", false, CommitOutcomeUnknown),
            (
                "57P01",
                "terminating connection due to administrator command",
                false,
                ConnectionLost,
            ),
            ("57P02", "", false, ConnectionLost),
            (
                "57P03",
                "the database system is starting up",
                false,
                ConnectionLost,
            ),
            ("57P04", "", false, ConnectionLost),
            ("57P05", "", false, ConnectionLost),
            (
                "53300",
                "sorry, too many clients already",
                false,
                ConnectionLost,
            ),
            (
                "0A000",
                "cached plan must not change result type",
                false,
                Database,
            ),
            ("23503", "foreign key violation", false, Database),
            ("22012", "division by zero", false, Database),
            ("XX000", "internal error", false, Database),
        ];
        for (state, message, nowait, kind) in table {
            assert_eq!(
                classify(state, message, *nowait),
                *kind,
                "{state} {message}"
            );
        }
        assert!(classify("40P01", "", false).is_retryable());
        assert!(classify("40001", "", false).is_retryable());
        assert!(!classify("40003", "", false).is_retryable());
    }

    #[test]
    fn nowait_detection() {
        assert!(asks_nowait("SELECT 1 FROM t FOR UPDATE NOWAIT"));
        assert!(asks_nowait("lock table t in share mode nowait"));
        assert!(!asks_nowait("SELECT 1 FROM t FOR UPDATE"));
    }
}
