//! From `sea_orm::DbErr` to txkit's [`ErrorKind`]s, by the database's own code underneath
//! (PostgreSQL SQLSTATE, MySQL/MariaDB error number, SQLite extended result code) — never
//! by searching the message for "40001".
//!
//! The code tables are txkit's own ([`txkit_core::dialects`]), the ones the native backends
//! use, so a deadlock is a deadlock whichever driver met it.

use std::borrow::Cow;

use sea_orm::sqlx;
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};
use txkit_core::dialects::{mysql, postgres, sqlite};
use txkit_core::{Error, ErrorKind, RetryError};

/// What the database said, dug out of a `DbErr`: which database, its code, its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseCode<'a> {
    /// `"postgres"`, `"mysql"` or `"sqlite"`.
    pub backend: &'static str,
    /// The code as the database writes it: SQLSTATE (`"40P01"`), error number (`"1213"`),
    /// extended result code (`"517"`).
    pub code: Cow<'a, str>,
    /// The server's message.
    pub message: &'a str,
}

/// The sqlx error inside `err`, when there is one.
fn sqlx_error(err: &DbErr) -> Option<&sqlx::Error> {
    match err {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => Some(e),
        _ => None,
    }
}

/// The database's code and message inside `err`, or `None` when the error did not come
/// from the database (a pool timeout, a type conversion, a lost socket).
pub fn database_code(err: &DbErr) -> Option<DatabaseCode<'_>> {
    let sqlx::Error::Database(db) = sqlx_error(err)? else {
        return None;
    };
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return Some(DatabaseCode {
            backend: "mysql",
            code: Cow::Owned(my.number().to_string()),
            message: my.message(),
        });
    }
    let backend = if db
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        "postgres"
    } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        "sqlite"
    } else {
        return None;
    };
    Some(DatabaseCode {
        backend,
        code: db.code()?,
        message: db.message(),
    })
}

/// The kind of `err`. `nowait` says whether the failing statement asked for NOWAIT (which
/// MariaDB reports with the same number as a lock wait timeout); pass `false` when unsure —
/// both kinds are retried alike.
///
/// | `DbErr` | kind |
/// | --- | --- |
/// | a database error | by its code, as txkit's native backends classify it |
/// | a lost or closed connection (I/O, protocol, closed pool) | ConnectionLost |
/// | `ConnectionAcquire(Timeout)`, sqlx's pool timeout | PoolTimeout |
/// | `RecordNotUpdated` (an UPDATE matched no row; what a versioned update returns when the version moved on) | StaleData |
/// | anything else | Database |
pub fn error_kind_of(err: &DbErr, nowait: bool) -> ErrorKind {
    if let Some(db) = database_code(err) {
        return match db.backend {
            "postgres" => postgres::classify(&db.code, db.message, nowait),
            "mysql" => match db.code.parse::<u16>() {
                Ok(number) => mysql::classify(number, db.message, nowait),
                Err(_) => ErrorKind::Database,
            },
            _ => match db.code.parse::<i32>() {
                Ok(code) => sqlite::classify(code),
                Err(_) => ErrorKind::Database,
            },
        };
    }
    match err {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout) => ErrorKind::PoolTimeout,
        DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed) => ErrorKind::ConnectionLost,
        DbErr::RecordNotUpdated => ErrorKind::StaleData,
        _ => match sqlx_error(err) {
            Some(
                sqlx::Error::Io(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Tls(_),
            ) => ErrorKind::ConnectionLost,
            Some(sqlx::Error::PoolTimedOut) => ErrorKind::PoolTimeout,
            _ => ErrorKind::Database,
        },
    }
}

/// txkit's reading of a `DbErr`: `err.txkit_kind()`, `err.is_retryable()`.
pub trait DbErrExt {
    /// The [`ErrorKind`] of this error (see [`error_kind_of`]).
    fn txkit_kind(&self) -> ErrorKind;

    /// Whether re-running the whole unit of work can succeed (deadlock, serialization
    /// failure, lock timeout, NOWAIT failure, stale version).
    fn is_retryable(&self) -> bool {
        self.txkit_kind().is_retryable()
    }
}

impl DbErrExt for DbErr {
    fn txkit_kind(&self) -> ErrorKind {
        error_kind_of(self, false)
    }
}

/// The marker through which `DbErr` implements [`RetryError`], so that `retry` and
/// `#[retry_on_deadlock]` accept functions returning `Result<T, DbErr>`.
#[derive(Debug)]
pub enum SeaOrmErrors {}

impl RetryError<SeaOrmErrors> for DbErr {
    fn error_kind(&self) -> Option<ErrorKind> {
        Some(self.txkit_kind())
    }
}

/// `err` as a txkit [`Error`]: its kind, the database's code and message, and `err` itself
/// as the source.
pub fn to_txkit_error(err: DbErr, nowait: bool) -> Error {
    let kind = error_kind_of(&err, nowait);
    let error = match database_code(&err) {
        Some(db) => Error::database(kind, db.backend, db.code.into_owned(), db.message),
        None => Error::new(kind, format!("sea-orm: {err}")),
    };
    error.with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_without_a_database_code() {
        let cases = [
            (
                DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
                ErrorKind::PoolTimeout,
            ),
            (
                DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
                ErrorKind::ConnectionLost,
            ),
            (DbErr::RecordNotUpdated, ErrorKind::StaleData),
            (
                DbErr::Exec(RuntimeErr::SqlxError(
                    sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::BrokenPipe)).into(),
                )),
                ErrorKind::ConnectionLost,
            ),
            (
                DbErr::Query(RuntimeErr::SqlxError(sqlx::Error::PoolTimedOut.into())),
                ErrorKind::PoolTimeout,
            ),
            (DbErr::Custom("x".into()), ErrorKind::Database),
            (
                DbErr::Query(RuntimeErr::Internal("x".into())),
                ErrorKind::Database,
            ),
        ];
        for (err, kind) in cases {
            assert_eq!(err.txkit_kind(), kind, "{err}");
            assert_eq!(RetryError::error_kind(&err), Some(kind));
            assert!(database_code(&err).is_none());
        }
    }

    #[test]
    fn stale_data_is_retryable_and_keeps_its_source() {
        let e = to_txkit_error(DbErr::RecordNotUpdated, false);
        assert_eq!(e.kind(), ErrorKind::StaleData);
        assert!(e.is_retryable());
        assert!(std::error::Error::source(&e).is_some());
    }
}
