//! From an SQLite extended result code to txkit's [`Error`]: the kind a caller acts on, with
//! the code's name and SQLite's message kept.

use super::codes::{
    SQLITE_BUSY, SQLITE_BUSY_RECOVERY, SQLITE_BUSY_SNAPSHOT, SQLITE_BUSY_TIMEOUT, SQLITE_CANTOPEN,
    SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_ROWID, SQLITE_CONSTRAINT_UNIQUE, SQLITE_LOCKED,
    SQLITE_LOCKED_SHAREDCACHE, SQLITE_LOCKED_VTAB, SQLITE_NOTADB, SQLITE_READONLY_DBMOVED,
    description, name_of,
};
use crate::{Error, ErrorKind};

/// The backend name errors carry.
const BACKEND: &str = "sqlite";

/// The kind of an (extended) SQLite result code. An extended code without a rule of its own
/// takes the rule of its primary code (its low byte).
pub fn classify(extended_code: i32) -> ErrorKind {
    match extended_code {
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
        _ => match extended_code & 0xff {
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
pub fn code_name(code: i32) -> String {
    match (name_of(code), name_of(code & 0xff)) {
        (Some(name), _) => name.to_owned(),
        (None, Some(primary)) => format!("{primary} ({code})"),
        (None, None) => format!("SQLITE_{code}"),
    }
}

/// An error SQLite reported with (extended) result code `code` and message `message`
/// (SQLite's [`description`] of the code when there is none): of the kind [`classify`]
/// gives, with [`code_name`] as its [`Error::code`], and a hint appended where one helps.
pub fn sqlite_error(code: i32, message: Option<&str>) -> Error {
    let message = message.unwrap_or_else(|| description(code));
    let message = match hint(code) {
        Some(hint) => format!("{message}: {hint}"),
        None => message.to_owned(),
    };
    Error::database(classify(code), BACKEND, code_name(code), message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialects::sqlite::codes::{self, NAMES};

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
            let e = sqlite_error(code, Some("msg"));
            assert_eq!(e.kind(), kind, "{name}");
            assert_eq!(classify(code), kind, "{name}");
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
            assert_eq!(code_name(code), name);
            let expected = TABLE
                .iter()
                .find(|(c, _, _)| *c == code)
                .map(|(_, _, k)| *k)
                .unwrap_or_else(|| classify(code & 0xff));
            assert_eq!(classify(code), expected, "{name}");
        }
    }

    #[test]
    fn unknown_extended_codes_fall_back_to_their_primary_code() {
        let busy_other = (40 << 8) | codes::SQLITE_BUSY;
        assert_eq!(classify(busy_other), ErrorKind::LockTimeout);
        assert_eq!(code_name(busy_other), format!("SQLITE_BUSY ({busy_other})"));
        assert_eq!(code_name(200), "SQLITE_200");
        assert_eq!(classify(200), ErrorKind::Database);
    }

    #[test]
    fn missing_message_uses_sqlite_description_and_hints_are_added() {
        let e = sqlite_error(codes::SQLITE_BUSY_SNAPSHOT, None);
        assert_eq!(e.code(), Some("SQLITE_BUSY_SNAPSHOT"));
        let (text, hint) = e.message().split_once(": ").unwrap();
        assert_eq!(text, "database is locked");
        assert!(hint.contains("SqliteBehavior::Immediate"), "{hint}");
        assert_eq!(
            sqlite_error(codes::SQLITE_FULL, None).message(),
            "database or disk is full"
        );
    }
}
