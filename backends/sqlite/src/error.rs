//! From rusqlite errors to txkit's [`Error`]: the kind a caller acts on, with SQLite's
//! extended result code name and message kept.

use txkit_core::{Error, ErrorKind};

use crate::codes::{
    SQLITE_BUSY, SQLITE_BUSY_RECOVERY, SQLITE_BUSY_SNAPSHOT, SQLITE_BUSY_TIMEOUT, SQLITE_CANTOPEN,
    SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_ROWID, SQLITE_CONSTRAINT_UNIQUE, SQLITE_LOCKED,
    SQLITE_LOCKED_SHAREDCACHE, SQLITE_LOCKED_VTAB, SQLITE_NOTADB, SQLITE_READONLY_DBMOVED, name_of,
};

/// The backend name errors carry.
pub(crate) const BACKEND: &str = "sqlite";

/// The kind of an (extended) SQLite result code. An extended code without a rule of its own
/// takes the rule of its primary code (its low byte).
pub(crate) fn kind_of(code: i32) -> ErrorKind {
    match code {
        // busy_timeout expired waiting for another connection's lock.
        SQLITE_BUSY | SQLITE_BUSY_RECOVERY | SQLITE_BUSY_TIMEOUT => ErrorKind::LockTimeout,
        // A deferred transaction read a snapshot that another writer has since replaced.
        SQLITE_BUSY_SNAPSHOT => ErrorKind::SerializationFailure,
        SQLITE_LOCKED | SQLITE_LOCKED_SHAREDCACHE | SQLITE_LOCKED_VTAB => {
            ErrorKind::LockNotAvailable
        }
        SQLITE_CONSTRAINT_UNIQUE | SQLITE_CONSTRAINT_PRIMARYKEY | SQLITE_CONSTRAINT_ROWID => {
            ErrorKind::UniqueViolation
        }
        // The path does not name a usable database file: a configuration problem.
        SQLITE_NOTADB => ErrorKind::Config,
        // The file was deleted or moved under an open connection: it can no longer be used.
        SQLITE_READONLY_DBMOVED => ErrorKind::ConnectionLost,
        _ => match code & 0xff {
            SQLITE_BUSY => ErrorKind::LockTimeout,
            SQLITE_LOCKED => ErrorKind::LockNotAvailable,
            SQLITE_CANTOPEN => ErrorKind::Config,
            _ => ErrorKind::Database,
        },
    }
}

/// What to do about a code, appended to SQLite's message where a hint helps.
fn hint(code: i32) -> Option<&'static str> {
    match code {
        SQLITE_BUSY | SQLITE_BUSY_TIMEOUT => Some(
            "another connection holds the database lock: it was held longer than \
             busy_timeout, or this transaction already read and SQLite refused to wait for \
             the write lock (waiting could deadlock); retry the whole transaction, begin \
             write transactions IMMEDIATE, or raise busy_timeout",
        ),
        SQLITE_BUSY_SNAPSHOT => Some(
            "another connection committed a write after this transaction began reading, so \
             it cannot write; retry the whole transaction, and begin transactions that read \
             before they write with SqliteBehavior::Immediate",
        ),
        _ => None,
    }
}

/// The name shown for a code: the extended code's name, else its primary code's name with
/// the number, else the number.
pub(crate) fn code_name(code: i32) -> String {
    match (name_of(code), name_of(code & 0xff)) {
        (Some(name), _) => name.to_owned(),
        (None, Some(primary)) => format!("{primary} ({code})"),
        (None, None) => format!("SQLITE_{code}"),
    }
}

/// An error SQLite reported with result code `code` and message `message`.
pub(crate) fn sqlite_error(code: i32, message: Option<&str>) -> Error {
    let message = message.unwrap_or_else(|| rusqlite::ffi::code_to_str(code));
    let message = match hint(code) {
        Some(hint) => format!("{message}: {hint}"),
        None => message.to_owned(),
    };
    Error::database(kind_of(code), BACKEND, code_name(code), message)
}

/// Maps a rusqlite error onto txkit's [`Error`].
///
/// SQLite's own failures keep the extended result code's name as
/// [`Error::code`](txkit_core::Error::code) and SQLite's message; the
/// [`kind`](txkit_core::Error::kind) follows the crate docs' table (BUSY → LockTimeout,
/// BUSY_SNAPSHOT → SerializationFailure, LOCKED → LockNotAvailable, UNIQUE and PRIMARYKEY
/// → UniqueViolation, …). Misuse detected by rusqlite (wrong parameter count, several
/// statements where one is expected) is a Config error.
pub fn map_error(err: rusqlite::Error) -> Error {
    use rusqlite::Error as E;
    let mapped = match &err {
        E::SqliteFailure(code, message) => sqlite_error(code.extended_code, message.as_deref()),
        E::SqlInputError {
            error, msg, offset, ..
        } => sqlite_error(
            error.extended_code,
            Some(&format!("{msg} (at byte {offset} of the statement)")),
        ),
        E::InvalidParameterCount(given, expected) => Error::config(format!(
            "the statement has {expected} parameter placeholder(s) but {given} value(s) were \
             given"
        )),
        E::MultipleStatement => Error::config(
            "the SQL text holds more than one statement; execute() and query() run exactly \
             one: split it, or run parameterless scripts with batch()",
        ),
        E::NulError(_) => Error::config("the SQL text contains a NUL character"),
        E::InvalidPath(path) => Error::config(format!(
            "the database path {} is not valid UTF-8, which SQLite needs",
            path.display()
        )),
        other => Error::new(ErrorKind::Database, other.to_string()),
    };
    mapped.with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{self, NAMES};

    fn failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some("msg".into()))
    }

    /// Every code with a rule of its own, and what it maps to.
    const TABLE: &[(i32, &str, ErrorKind)] = &[
        (codes::SQLITE_BUSY, "SQLITE_BUSY", ErrorKind::LockTimeout),
        (
            codes::SQLITE_BUSY_RECOVERY,
            "SQLITE_BUSY_RECOVERY",
            ErrorKind::LockTimeout,
        ),
        (
            codes::SQLITE_BUSY_TIMEOUT,
            "SQLITE_BUSY_TIMEOUT",
            ErrorKind::LockTimeout,
        ),
        (
            codes::SQLITE_BUSY_SNAPSHOT,
            "SQLITE_BUSY_SNAPSHOT",
            ErrorKind::SerializationFailure,
        ),
        (
            codes::SQLITE_LOCKED,
            "SQLITE_LOCKED",
            ErrorKind::LockNotAvailable,
        ),
        (
            codes::SQLITE_LOCKED_SHAREDCACHE,
            "SQLITE_LOCKED_SHAREDCACHE",
            ErrorKind::LockNotAvailable,
        ),
        (
            codes::SQLITE_LOCKED_VTAB,
            "SQLITE_LOCKED_VTAB",
            ErrorKind::LockNotAvailable,
        ),
        (
            codes::SQLITE_CONSTRAINT_UNIQUE,
            "SQLITE_CONSTRAINT_UNIQUE",
            ErrorKind::UniqueViolation,
        ),
        (
            codes::SQLITE_CONSTRAINT_PRIMARYKEY,
            "SQLITE_CONSTRAINT_PRIMARYKEY",
            ErrorKind::UniqueViolation,
        ),
        (
            codes::SQLITE_CONSTRAINT_ROWID,
            "SQLITE_CONSTRAINT_ROWID",
            ErrorKind::UniqueViolation,
        ),
        (
            codes::SQLITE_CONSTRAINT_NOTNULL,
            "SQLITE_CONSTRAINT_NOTNULL",
            ErrorKind::Database,
        ),
        (
            codes::SQLITE_CONSTRAINT_CHECK,
            "SQLITE_CONSTRAINT_CHECK",
            ErrorKind::Database,
        ),
        (
            codes::SQLITE_CONSTRAINT_FOREIGNKEY,
            "SQLITE_CONSTRAINT_FOREIGNKEY",
            ErrorKind::Database,
        ),
        (
            codes::SQLITE_CONSTRAINT,
            "SQLITE_CONSTRAINT",
            ErrorKind::Database,
        ),
        (codes::SQLITE_CANTOPEN, "SQLITE_CANTOPEN", ErrorKind::Config),
        (
            codes::SQLITE_CANTOPEN_ISDIR,
            "SQLITE_CANTOPEN_ISDIR",
            ErrorKind::Config,
        ),
        (
            codes::SQLITE_CANTOPEN_FULLPATH,
            "SQLITE_CANTOPEN_FULLPATH",
            ErrorKind::Config,
        ),
        (codes::SQLITE_NOTADB, "SQLITE_NOTADB", ErrorKind::Config),
        (
            codes::SQLITE_READONLY_DBMOVED,
            "SQLITE_READONLY_DBMOVED",
            ErrorKind::ConnectionLost,
        ),
        (
            codes::SQLITE_READONLY,
            "SQLITE_READONLY",
            ErrorKind::Database,
        ),
        (codes::SQLITE_ERROR, "SQLITE_ERROR", ErrorKind::Database),
        (
            codes::SQLITE_IOERR_WRITE,
            "SQLITE_IOERR_WRITE",
            ErrorKind::Database,
        ),
        (codes::SQLITE_FULL, "SQLITE_FULL", ErrorKind::Database),
        (codes::SQLITE_CORRUPT, "SQLITE_CORRUPT", ErrorKind::Database),
        (
            codes::SQLITE_INTERRUPT,
            "SQLITE_INTERRUPT",
            ErrorKind::Database,
        ),
        (
            codes::SQLITE_ABORT_ROLLBACK,
            "SQLITE_ABORT_ROLLBACK",
            ErrorKind::Database,
        ),
    ];

    #[test]
    fn table_of_mapped_codes() {
        for &(code, name, kind) in TABLE {
            let e = map_error(failure(code));
            assert_eq!(e.kind(), kind, "{name}");
            assert_eq!(e.code(), Some(name), "{name}");
            assert_eq!(e.backend(), Some("sqlite"));
            assert!(e.message().starts_with("msg"), "{name}: {}", e.message());
            assert_eq!(
                e.is_retryable(),
                matches!(
                    kind,
                    ErrorKind::LockTimeout
                        | ErrorKind::SerializationFailure
                        | ErrorKind::LockNotAvailable
                ),
                "{name}"
            );
        }
    }

    #[test]
    fn every_named_code_maps_by_its_rule() {
        for &(code, name) in NAMES {
            let e = map_error(failure(code));
            assert_eq!(e.code(), Some(name));
            let expected = TABLE
                .iter()
                .find(|(c, _, _)| *c == code)
                .map(|(_, _, k)| *k)
                .unwrap_or_else(|| kind_of(code & 0xff));
            assert_eq!(e.kind(), expected, "{name}");
        }
    }

    #[test]
    fn unknown_extended_codes_fall_back_to_their_primary_code() {
        let busy_other = (40 << 8) | codes::SQLITE_BUSY;
        assert_eq!(kind_of(busy_other), ErrorKind::LockTimeout);
        assert_eq!(code_name(busy_other), format!("SQLITE_BUSY ({busy_other})"));
        assert_eq!(code_name(200), "SQLITE_200");
        assert_eq!(kind_of(200), ErrorKind::Database);
    }

    #[test]
    fn missing_message_uses_sqlite_description_and_hints_are_added() {
        let e = map_error(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(codes::SQLITE_BUSY_SNAPSHOT),
            None,
        ));
        assert!(
            e.message().contains("database is locked"),
            "{}",
            e.message()
        );
        assert!(e.message().contains("Immediate"), "{}", e.message());
    }

    #[test]
    fn rusqlite_misuse_is_config() {
        for err in [
            rusqlite::Error::InvalidParameterCount(1, 2),
            rusqlite::Error::MultipleStatement,
        ] {
            assert_eq!(map_error(err).kind(), ErrorKind::Config);
        }
        let e = map_error(rusqlite::Error::InvalidParameterCount(1, 2));
        assert!(e.to_string().contains("2 parameter"), "{e}");
        assert_eq!(
            map_error(rusqlite::Error::QueryReturnedNoRows).kind(),
            ErrorKind::Database
        );
    }
}
