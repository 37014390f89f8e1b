//! PostgreSQL: its SQL dialect ([`PgDialect`]: `"` quoting, `$n` placeholders, one-statement
//! BEGIN, and the full set of row and table locks), the SQLSTATE codes txkit acts on
//! ([`sqlstate`]), and [`classify`], the pure function that maps a code to an [`ErrorKind`].

use crate::{
    AccessMode, Dialect, ErrorKind, LockStrength, LockWait, Result, RowLock, TableLock, TxOptions,
    quote_identifier_with,
};

/// PostgreSQL truncates identifiers longer than this many bytes (`NAMEDATALEN - 1`).
const MAX_IDENTIFIER_BYTES: usize = 63;

/// The SQL dialect of PostgreSQL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PgDialect;

impl Dialect for PgDialect {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn quote_identifier(&self, ident: &str) -> Result<String> {
        quote_identifier_with(ident, '"', MAX_IDENTIFIER_BYTES)
    }

    fn placeholder(&self, index: usize) -> String {
        format!("${index}")
    }

    /// `BEGIN [ISOLATION LEVEL …] [READ ONLY | READ WRITE] [DEFERRABLE]`, with only the
    /// parts asked for. READ UNCOMMITTED is sent as it is; PostgreSQL runs it as READ
    /// COMMITTED. The SQLite behaviour option is ignored.
    fn begin_sql(&self, opts: &TxOptions) -> Result<String> {
        let mut sql = String::from("BEGIN");
        if let Some(level) = opts.isolation_level() {
            sql.push_str(" ISOLATION LEVEL ");
            sql.push_str(level.as_sql());
        }
        match opts.access() {
            Some(AccessMode::ReadOnly) => sql.push_str(" READ ONLY"),
            Some(AccessMode::ReadWrite) => sql.push_str(" READ WRITE"),
            None => {}
        }
        if opts.is_deferrable() {
            sql.push_str(" DEFERRABLE");
        }
        Ok(sql)
    }

    fn row_lock_clause(&self, lock: &RowLock) -> Result<String> {
        let mut sql = String::from(match lock.strength {
            LockStrength::Update => "FOR UPDATE",
            LockStrength::NoKeyUpdate => "FOR NO KEY UPDATE",
            LockStrength::Share => "FOR SHARE",
            LockStrength::KeyShare => "FOR KEY SHARE",
        });
        sql.push_str(&super::lock_of_clause(self, &lock.of)?);
        match lock.wait {
            LockWait::Wait => {}
            LockWait::NoWait => sql.push_str(" NOWAIT"),
            LockWait::SkipLocked => sql.push_str(" SKIP LOCKED"),
        }
        Ok(sql)
    }

    /// `LOCK TABLE <table> IN <mode> MODE [NOWAIT]`; `table` is one identifier, quoted.
    fn table_lock_sql(&self, table: &str, lock: &TableLock) -> Result<Vec<String>> {
        let mut sql = format!(
            "LOCK TABLE {} IN {} MODE",
            self.quote_identifier(table)?,
            lock.mode.as_sql()
        );
        if lock.nowait {
            sql.push_str(" NOWAIT");
        }
        Ok(vec![sql])
    }
}

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
/// whether the statement's text contained NOWAIT ([`asks_nowait`](super::asks_nowait)).
/// Both kinds are retryable, so a wrong guess
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IsolationLevel, TableLockMode};

    #[test]
    fn begin_has_only_what_was_asked() {
        let d = PgDialect;
        let cases = [
            (TxOptions::new(), "BEGIN"),
            (
                TxOptions::new().isolation(IsolationLevel::Serializable),
                "BEGIN ISOLATION LEVEL SERIALIZABLE",
            ),
            (
                TxOptions::new().isolation(IsolationLevel::ReadUncommitted),
                "BEGIN ISOLATION LEVEL READ UNCOMMITTED",
            ),
            (TxOptions::new().read_only(), "BEGIN READ ONLY"),
            (
                TxOptions::new().access_mode(AccessMode::ReadWrite),
                "BEGIN READ WRITE",
            ),
            (
                TxOptions::new()
                    .isolation(IsolationLevel::Serializable)
                    .read_only()
                    .deferrable(),
                "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE",
            ),
            (
                TxOptions::new().isolation(IsolationLevel::RepeatableRead),
                "BEGIN ISOLATION LEVEL REPEATABLE READ",
            ),
        ];
        for (opts, want) in cases {
            assert_eq!(d.begin_sql(&opts).unwrap(), want);
        }
    }

    #[test]
    fn row_locks() {
        let d = PgDialect;
        for (lock, want) in [
            (RowLock::update(), "FOR UPDATE"),
            (RowLock::no_key_update(), "FOR NO KEY UPDATE"),
            (RowLock::share(), "FOR SHARE"),
            (RowLock::key_share(), "FOR KEY SHARE"),
            (RowLock::update().nowait(), "FOR UPDATE NOWAIT"),
            (RowLock::share().skip_locked(), "FOR SHARE SKIP LOCKED"),
            (
                RowLock::update()
                    .of("accounts")
                    .of("odd\"name")
                    .skip_locked(),
                "FOR UPDATE OF \"accounts\", \"odd\"\"name\" SKIP LOCKED",
            ),
        ] {
            assert_eq!(d.row_lock_clause(&lock).unwrap(), want);
        }
        assert!(d.row_lock_clause(&RowLock::update().of("")).is_err());
    }

    #[test]
    fn table_locks_and_quoting() {
        let d = PgDialect;
        assert_eq!(
            d.table_lock_sql("accounts", &TableLock::share()).unwrap(),
            vec!["LOCK TABLE \"accounts\" IN SHARE MODE"]
        );
        assert_eq!(
            d.table_lock_sql(
                "a",
                &TableLock::new(TableLockMode::ShareRowExclusive).nowait()
            )
            .unwrap(),
            vec!["LOCK TABLE \"a\" IN SHARE ROW EXCLUSIVE MODE NOWAIT"]
        );
        for (lock, mode) in [
            (TableLock::access_share(), "ACCESS SHARE"),
            (TableLock::row_share(), "ROW SHARE"),
            (TableLock::row_exclusive(), "ROW EXCLUSIVE"),
            (
                TableLock::share_update_exclusive(),
                "SHARE UPDATE EXCLUSIVE",
            ),
            (TableLock::share(), "SHARE"),
            (TableLock::share_row_exclusive(), "SHARE ROW EXCLUSIVE"),
            (TableLock::exclusive(), "EXCLUSIVE"),
            (TableLock::access_exclusive(), "ACCESS EXCLUSIVE"),
        ] {
            assert_eq!(
                d.table_lock_sql("a", &lock).unwrap(),
                vec![format!("LOCK TABLE \"a\" IN {mode} MODE")]
            );
        }
        assert_eq!(d.placeholder(3), "$3");
        assert_eq!(d.quote_identifier("x\"y").unwrap(), "\"x\"\"y\"");
        assert!(d.quote_identifier(&"n".repeat(64)).is_err());
        assert_eq!(d.savepoint_sql("sp1").unwrap(), "SAVEPOINT \"sp1\"");
    }

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
}
