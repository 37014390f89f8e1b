//! From rusqlite errors to txkit's [`Error`]: the kind a caller acts on, with SQLite's
//! extended result code name and message kept. The pure classification of a result code is
//! [`txkit_core::dialects::sqlite`]'s.

use txkit_core::dialects::sqlite::sqlite_error;
use txkit_core::{Error, ErrorKind};

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

    #[test]
    fn sqlite_failures_map_by_their_extended_code() {
        for &(code, name) in NAMES {
            let e = map_error(failure(code));
            let want = sqlite_error(code, Some("msg"));
            assert_eq!(e.kind(), want.kind(), "{name}");
            assert_eq!(e.code(), Some(name));
            assert_eq!(e.backend(), Some("sqlite"));
            assert_eq!(e.message(), want.message(), "{name}");
        }
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
