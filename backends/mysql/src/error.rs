//! The mapping of mysql_async's errors onto txkit's [`ErrorKind`]s: a server error by its
//! number ([`crate::codes`]); I/O and protocol failures (how mysql_async reports a lost
//! connection, rather than as 2006/2013) as ConnectionLost; client-side parameter mistakes
//! as Config.

pub(crate) use crate::codes::*;

use mysql_async::{DriverError, ServerError};
use txkit_core::{Error, ErrorKind};

/// The backend name in txkit errors.
pub(crate) const BACKEND: &str = "mysql";

/// A server error as a txkit error.
pub(crate) fn server_error(e: &ServerError, nowait: bool) -> Error {
    let kind = classify(e.code, &e.message, nowait);
    let message = match e.code {
        ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION => format!(
            "the transaction is READ ONLY and the server refused a write: {} (SQLSTATE {})",
            e.message, e.state
        ),
        ER_LOCK_WAIT_TIMEOUT if nowait => format!(
            "a row was locked by another transaction and the statement said NOWAIT: {} \
             (SQLSTATE {})",
            e.message, e.state
        ),
        _ => format!("{} (SQLSTATE {})", e.message, e.state),
    };
    Error::database(kind, BACKEND, e.code.to_string(), message)
}

/// Any mysql_async error as a txkit error. I/O and protocol failures are ConnectionLost;
/// client-side parameter mistakes are Config.
pub(crate) fn map_error(err: mysql_async::Error, nowait: bool) -> Error {
    let mapped = match &err {
        mysql_async::Error::Server(e) => server_error(e, nowait),
        mysql_async::Error::Io(_) => Error::connection_lost(format!(
            "the connection to the server was lost: {}",
            cause(&err)
        )),
        mysql_async::Error::Driver(d) => driver_error(d),
        mysql_async::Error::Url(e) => Error::config(format!("bad connection option: {e}")),
        mysql_async::Error::Other(e) => Error::new(ErrorKind::Database, e.to_string()),
    };
    mapped.with_source(err)
}

fn driver_error(d: &DriverError) -> Error {
    match d {
        DriverError::ConnectionClosed
        | DriverError::PacketOutOfOrder
        | DriverError::UnexpectedPacket { .. }
        | DriverError::PacketTooLarge
        | DriverError::BadCompressedPacketHeader => Error::connection_lost(format!(
            "the connection to the server is closed or out of step: {d}"
        )),
        DriverError::Params(_)
        | DriverError::MixedParams
        | DriverError::StmtParamsMismatch { .. }
        | DriverError::StmtParamsNumberExceedsLimit { .. } => {
            Error::config(format!("statement parameters: {d}"))
        }
        other => Error::new(ErrorKind::Database, format!("mysql_async: {other}")),
    }
}

/// What went wrong, said once: the server's message, the operating system's word for an
/// I/O failure (mysql_async wraps it twice, each layer repeating "Input/output error"), or
/// the TLS library's.
pub(crate) fn cause(err: &mysql_async::Error) -> String {
    match err {
        mysql_async::Error::Server(e) => format!("{} (SQLSTATE {})", e.message, e.state),
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => io.to_string(),
        #[allow(
            unreachable_patterns,
            reason = "IoError has a TLS variant when mysql_async's TLS features are on"
        )]
        mysql_async::Error::Io(other) => match std::error::Error::source(other) {
            Some(inner) => format!("TLS: {inner}"),
            None => other.to_string(),
        },
        other => other.to_string(),
    }
}

/// The error code of a server error, if `err` is one.
pub(crate) fn server_code(err: &mysql_async::Error) -> Option<u16> {
    match err {
        mysql_async::Error::Server(e) => Some(e.code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_keep_code_and_message() {
        let e = server_error(
            &ServerError {
                code: ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION,
                message: "Cannot execute statement in a READ ONLY transaction".into(),
                state: "25006".into(),
            },
            false,
        );
        assert_eq!(e.kind(), ErrorKind::Database);
        assert_eq!(e.code(), Some("1792"));
        assert_eq!(e.backend(), Some("mysql"));
        assert!(e.to_string().contains("READ ONLY"), "{e}");
    }
}
