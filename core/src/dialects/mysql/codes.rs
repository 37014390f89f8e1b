//! MySQL/MariaDB error numbers, and their mapping onto txkit's [`ErrorKind`]s.
//!
//! | code | name | kind |
//! | --- | --- | --- |
//! | 1213 | `ER_LOCK_DEADLOCK` | Deadlock (InnoDB rolled the whole transaction back) |
//! | 1614 | `ER_XA_RBDEADLOCK` | Deadlock |
//! | 1205 | `ER_LOCK_WAIT_TIMEOUT` | LockTimeout; LockNotAvailable when the statement said NOWAIT (MariaDB reports NOWAIT failures this way) |
//! | 3572 | `ER_LOCK_NOWAIT` | LockNotAvailable (MySQL 8) |
//! | 1020 | `ER_CHECKREAD` | SerializationFailure (MariaDB `innodb_snapshot_isolation`) |
//! | 8002, 9007 | TiDB write conflicts | SerializationFailure (TiDB says: retry the transaction) |
//! | 1062, 1586, 1022 | `ER_DUP_ENTRY`, `ER_DUP_ENTRY_WITH_KEY_NAME`, `ER_DUP_KEY` | UniqueViolation |
//! | 1927, 4031, 1053, 2006, 2013 | connection killed, idle disconnect, shutdown, server gone/lost | ConnectionLost |
//! | 1317 | `ER_QUERY_INTERRUPTED` (`KILL QUERY`) | Database: the statement was stopped, the connection lives |
//! | 1792 | `ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION` | Database, with a message naming the read-only transaction |
//! | 1030, 1105, 1180 | generic engine errors | Deadlock / LockTimeout when the message says so, else Database |
//! | other | | Database |
//!
//! A driver may report a lost connection as an I/O or driver error rather than as 2006/2013
//! (mysql_async does); the backend maps those to ConnectionLost too.

use crate::ErrorKind;

/// Access denied for the user to that database (a connect error: Config).
pub const ER_DBACCESS_DENIED_ERROR: u16 = 1044;
/// Access denied: wrong user name or password (a connect error: Config).
pub const ER_ACCESS_DENIED_ERROR: u16 = 1045;
/// Unknown database (a connect error: Config).
pub const ER_BAD_DB_ERROR: u16 = 1049;
/// Access denied for a user who gave no password (a connect error: Config).
pub const ER_ACCESS_DENIED_NO_PASSWORD_ERROR: u16 = 1698;
/// "Can't write; duplicate key in table".
pub const ER_DUP_KEY: u16 = 1022;
/// InnoDB found the record changed since this transaction's snapshot read it (MariaDB with
/// `innodb_snapshot_isolation`, MySQL's old `ER_CHECKREAD`).
pub const ER_CHECKREAD: u16 = 1020;
/// "Got error N from storage engine".
pub const ER_GET_ERRNO: u16 = 1030;
/// The server is shutting down.
pub const ER_SERVER_SHUTDOWN: u16 = 1053;
/// Duplicate entry for a unique or primary key.
pub const ER_DUP_ENTRY: u16 = 1062;
/// "Unknown error" (also used by some storage engines and by TiDB).
pub const ER_UNKNOWN_ERROR: u16 = 1105;
/// "Got error N during COMMIT".
pub const ER_ERROR_DURING_COMMIT: u16 = 1180;
/// Lock wait timeout exceeded (`innodb_lock_wait_timeout`); InnoDB rolls back only the
/// statement. MariaDB also reports a failed NOWAIT this way.
pub const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;
/// Deadlock found; InnoDB rolled the transaction back.
pub const ER_LOCK_DEADLOCK: u16 = 1213;
/// The statement cannot be prepared (it is run as text instead when it has no parameters).
pub const ER_UNSUPPORTED_PS: u16 = 1295;
/// The statement was interrupted (`KILL QUERY`).
pub const ER_QUERY_INTERRUPTED: u16 = 1317;
/// Transaction characteristics cannot change while a transaction is open.
pub const ER_CANT_CHANGE_TX_CHARACTERISTICS: u16 = 1568;
/// Duplicate entry, naming the key.
pub const ER_DUP_ENTRY_WITH_KEY_NAME: u16 = 1586;
/// An XA transaction was rolled back after a deadlock.
pub const ER_XA_RBDEADLOCK: u16 = 1614;
/// A write inside a READ ONLY transaction.
pub const ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION: u16 = 1792;
/// The connection was killed (MariaDB).
pub const ER_CONNECTION_KILLED: u16 = 1927;
/// `max_statement_time` exceeded (MariaDB).
pub const ER_STATEMENT_TIMEOUT: u16 = 1969;
/// `max_execution_time` exceeded (MySQL).
pub const ER_QUERY_TIMEOUT: u16 = 3024;
/// A locking read with NOWAIT met a locked row (MySQL 8).
pub const ER_LOCK_NOWAIT: u16 = 3572;
/// The server closed an idle connection (MySQL 8.0.24+).
pub const ER_CLIENT_INTERACTION_TIMEOUT: u16 = 4031;
/// Client-side: the server has gone away.
pub const CR_SERVER_GONE_ERROR: u16 = 2006;
/// Client-side: lost connection during a query.
pub const CR_SERVER_LOST: u16 = 2013;
/// TiDB: `SELECT … FOR UPDATE` met a write conflict.
pub const TIDB_ER_FOR_UPDATE_CANT_RETRY: u16 = 8002;
/// TiDB: write conflict.
pub const TIDB_ER_WRITE_CONFLICT: u16 = 9007;

/// Classifies a MySQL/MariaDB error number. `nowait` says whether the failing statement
/// asked for NOWAIT (MariaDB reports a NOWAIT failure as 1205); `message` is consulted only
/// for the generic engine codes (1030, 1105, 1180), whose text names a deadlock or lock
/// wait timeout when that is what happened.
pub fn classify(code: u16, message: &str, nowait: bool) -> ErrorKind {
    let lock_failure = if nowait {
        ErrorKind::LockNotAvailable
    } else {
        ErrorKind::LockTimeout
    };
    match code {
        ER_LOCK_DEADLOCK | ER_XA_RBDEADLOCK => ErrorKind::Deadlock,
        ER_LOCK_WAIT_TIMEOUT => lock_failure,
        ER_LOCK_NOWAIT => ErrorKind::LockNotAvailable,
        ER_CHECKREAD | TIDB_ER_FOR_UPDATE_CANT_RETRY | TIDB_ER_WRITE_CONFLICT => {
            ErrorKind::SerializationFailure
        }
        ER_DUP_ENTRY | ER_DUP_ENTRY_WITH_KEY_NAME | ER_DUP_KEY => ErrorKind::UniqueViolation,
        ER_CONNECTION_KILLED
        | ER_CLIENT_INTERACTION_TIMEOUT
        | ER_SERVER_SHUTDOWN
        | CR_SERVER_GONE_ERROR
        | CR_SERVER_LOST => ErrorKind::ConnectionLost,
        ER_GET_ERRNO | ER_UNKNOWN_ERROR | ER_ERROR_DURING_COMMIT => {
            let text = message.to_ascii_lowercase();
            if text.contains("deadlock") {
                ErrorKind::Deadlock
            } else if text.contains("lock wait timeout") {
                lock_failure
            } else {
                ErrorKind::Database
            }
        }
        _ => ErrorKind::Database,
    }
}

/// Whether InnoDB undid only the failing statement, so that txkit must roll back the whole
/// transaction itself before reporting the error (it is reported as retryable, and a retry
/// must not build on half a transaction).
/// (A deadlock victim was already rolled back wholly by InnoDB.)
pub fn needs_full_rollback(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::LockTimeout | ErrorKind::SerializationFailure
    )
}

/// Whether `sql` says NOWAIT as a keyword: outside string literals, quoted identifiers and
/// comments, case-insensitively.
pub fn mentions_nowait(sql: &str) -> bool {
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"' | b'`') => i = skip_quoted(bytes, i + 1, quote),
            b'#' => i = skip_line(bytes, i),
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = find(bytes, i + 2, b"*/").map_or(bytes.len(), |end| end + 2);
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' => {
                let start = i;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'$'))
                {
                    i += 1;
                }
                if bytes[start..i].eq_ignore_ascii_case(b"nowait") {
                    return true;
                }
            }
            _ => i += 1,
        }
    }
    false
}

/// The index just past the closing `quote` (a doubled quote or a backslash escape stays
/// inside the literal).
fn skip_quoted(bytes: &[u8], mut i: usize, quote: u8) -> usize {
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\\' && quote != b'`' {
            i += 2;
        } else if c == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

fn skip_line(bytes: &[u8], i: usize) -> usize {
    find(bytes, i, b"\n").map_or(bytes.len(), |end| end + 1)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_code() {
        use ErrorKind::*;
        let table: &[(u16, bool, ErrorKind)] = &[
            (ER_LOCK_DEADLOCK, false, Deadlock),
            (ER_XA_RBDEADLOCK, false, Deadlock),
            (ER_LOCK_WAIT_TIMEOUT, false, LockTimeout),
            (ER_LOCK_WAIT_TIMEOUT, true, LockNotAvailable),
            (ER_LOCK_NOWAIT, false, LockNotAvailable),
            (ER_LOCK_NOWAIT, true, LockNotAvailable),
            (ER_CHECKREAD, false, SerializationFailure),
            (TIDB_ER_FOR_UPDATE_CANT_RETRY, false, SerializationFailure),
            (TIDB_ER_WRITE_CONFLICT, false, SerializationFailure),
            (ER_DUP_ENTRY, false, UniqueViolation),
            (ER_DUP_ENTRY_WITH_KEY_NAME, false, UniqueViolation),
            (ER_DUP_KEY, false, UniqueViolation),
            (ER_CONNECTION_KILLED, false, ConnectionLost),
            (ER_CLIENT_INTERACTION_TIMEOUT, false, ConnectionLost),
            (ER_SERVER_SHUTDOWN, false, ConnectionLost),
            (CR_SERVER_GONE_ERROR, false, ConnectionLost),
            (CR_SERVER_LOST, false, ConnectionLost),
            (ER_QUERY_INTERRUPTED, false, Database),
            (ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, false, Database),
            (ER_STATEMENT_TIMEOUT, false, Database),
            (ER_QUERY_TIMEOUT, false, Database),
            (ER_CANT_CHANGE_TX_CHARACTERISTICS, false, Database),
            (ER_UNSUPPORTED_PS, false, Database),
            (ER_GET_ERRNO, false, Database),
            (1146, false, Database),
        ];
        for &(code, nowait, kind) in table {
            assert_eq!(classify(code, "x", nowait), kind, "code {code}");
        }
        assert_eq!(
            classify(ER_GET_ERRNO, "Got error 149 \"Lock deadlock\"", false),
            Deadlock
        );
        assert_eq!(
            classify(ER_UNKNOWN_ERROR, "Lock wait timeout exceeded", false),
            LockTimeout
        );
        assert_eq!(
            classify(ER_ERROR_DURING_COMMIT, "Lock wait timeout exceeded", true),
            LockNotAvailable
        );
        assert_eq!(
            classify(ER_ERROR_DURING_COMMIT, "disk full", false),
            Database
        );
    }

    #[test]
    fn retryable_kinds() {
        for code in [
            ER_LOCK_DEADLOCK,
            ER_LOCK_WAIT_TIMEOUT,
            ER_LOCK_NOWAIT,
            ER_CHECKREAD,
        ] {
            assert!(classify(code, "", false).is_retryable(), "{code}");
        }
        for code in [ER_DUP_ENTRY, ER_CONNECTION_KILLED, ER_QUERY_INTERRUPTED] {
            assert!(!classify(code, "", false).is_retryable(), "{code}");
        }
    }

    #[test]
    fn full_rollback_only_where_innodb_undid_a_statement() {
        let kind = |code, nowait| classify(code, "", nowait);
        assert!(needs_full_rollback(kind(ER_LOCK_WAIT_TIMEOUT, false)));
        assert!(needs_full_rollback(kind(ER_CHECKREAD, false)));
        assert!(!needs_full_rollback(kind(ER_LOCK_WAIT_TIMEOUT, true)));
        assert!(!needs_full_rollback(kind(ER_LOCK_DEADLOCK, false)));
        assert!(!needs_full_rollback(kind(ER_DUP_ENTRY, false)));
    }

    #[test]
    fn nowait_detection() {
        for sql in [
            "SELECT * FROM t FOR UPDATE NOWAIT",
            "select 1 from t lock in share mode nowait",
            "SELECT a FROM t WHERE b = 'x' FOR UPDATE\nNoWait",
            "SELECT * FROM t FOR UPDATE /* c */ NOWAIT;",
        ] {
            assert!(mentions_nowait(sql), "{sql}");
        }
        for sql in [
            "SELECT 'NOWAIT' FROM t FOR UPDATE",
            "SELECT `nowait` FROM t FOR UPDATE",
            "SELECT \"it''s nowait\" FROM t",
            "SELECT 'a\\' NOWAIT' FROM t",
            "SELECT nowait_col FROM t",
            "SELECT x FROM t -- NOWAIT\nFOR UPDATE",
            "SELECT x FROM t # NOWAIT",
            "SELECT x /* NOWAIT */ FROM t",
        ] {
            assert!(!mentions_nowait(sql), "{sql}");
        }
    }
}
