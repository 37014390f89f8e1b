//! An ErrorResponse as a txkit error, the same way [`map_error`](crate::error::map_error)
//! does it for tokio-postgres's errors: kind from the SQLSTATE, the server's message with
//! its detail and hint.

use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::ErrorResponseBody;
use txkit_core::Error;
use txkit_core::dialects::postgres::{classify, sqlstate};

use crate::error::BACKEND;

/// The fields of an ErrorResponse txkit reads.
#[derive(Debug, Default)]
pub(crate) struct ServerError {
    pub(crate) code: String,
    pub(crate) message: String,
    detail: Option<String>,
    hint: Option<String>,
}

impl ServerError {
    /// Reads the fields of `body`.
    pub(crate) fn parse(body: &ErrorResponseBody) -> Self {
        let mut out = Self::default();
        let mut fields = body.fields();
        while let Ok(Some(field)) = fields.next() {
            let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
            match field.type_() {
                b'C' => out.code = value,
                b'M' => out.message = value,
                b'D' => out.detail = Some(value),
                b'H' => out.hint = Some(value),
                _ => {}
            }
        }
        out
    }

    /// As a txkit error; `nowait` says whether the statement asked for NOWAIT.
    pub(crate) fn into_error(self, nowait: bool) -> Error {
        let kind = classify(&self.code, &self.message, nowait);
        let mut message = if self.code == sqlstate::IN_FAILED_SQL_TRANSACTION {
            "the transaction is aborted because an earlier statement in it failed; roll it \
             back (or roll back to a savepoint) before running anything else"
                .to_owned()
        } else {
            self.message
        };
        if let Some(detail) = self.detail {
            message.push_str("; detail: ");
            message.push_str(&detail);
        }
        if let Some(hint) = self.hint {
            message.push_str("; hint: ");
            message.push_str(&hint);
        }
        Error::database(kind, BACKEND, self.code, message)
    }
}
