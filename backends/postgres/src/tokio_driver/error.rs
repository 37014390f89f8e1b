//! From tokio-postgres errors to txkit errors. The SQLSTATE codes txkit acts on and
//! [`classify`], the pure function that maps a code to an [`ErrorKind`], live in
//! [`txkit_core::dialects::postgres`], shared with other PostgreSQL drivers.

use std::error::Error as _;

use txkit_core::dialects::postgres::{classify, sqlstate as code};
use txkit_core::{Error, ErrorKind};

use crate::shared::{ServerFields, server_error};

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

/// [`map_error`] for an error from running `sql`: whether it asked for NOWAIT is read from
/// its text only now, off the success path.
pub(crate) fn statement_error(e: tokio_postgres::Error, sql: &str) -> Error {
    map_error(e, txkit_core::dialects::asks_nowait(sql))
}

/// Maps a tokio-postgres error from running `sql` (whose text decides NOWAIT) to a txkit
/// error, keeping the SQLSTATE, the server's message, detail and hint.
pub(crate) fn map_error(e: tokio_postgres::Error, nowait: bool) -> Error {
    if let Some(db) = e.as_db_error() {
        let fields = ServerFields {
            code: db.code().code(),
            message: db.message(),
            detail: db.detail(),
            hint: db.hint(),
        };
        return server_error(&fields, nowait).with_source(e);
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
