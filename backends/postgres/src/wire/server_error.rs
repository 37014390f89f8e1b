//! An ErrorResponse as a txkit error, the same way the tokio-postgres driver maps
//! tokio-postgres's errors: kind from the SQLSTATE, the server's message with its detail
//! and hint.

use fallible_iterator::FallibleIterator;
use postgres_protocol::message::backend::{ErrorFields, ErrorResponseBody, NoticeResponseBody};
use txkit_core::Error;

use crate::notice::Notice;
use crate::shared::{ServerFields, server_error};

/// The fields of an ErrorResponse (or a NoticeResponse, which has the same) txkit reads.
#[derive(Debug, Default)]
pub(crate) struct ServerError {
    severity: String,
    pub(crate) code: String,
    pub(crate) message: String,
    detail: Option<String>,
    hint: Option<String>,
}

impl ServerError {
    /// Reads the fields of `body`.
    pub(crate) fn parse(body: &ErrorResponseBody) -> Self {
        Self::from_fields(body.fields())
    }

    /// Logs a notice the server sent (see [`crate::notice`]).
    pub(crate) fn log_notice(body: &NoticeResponseBody, server: &str) {
        let notice = Self::from_fields(body.fields());
        Notice {
            server,
            severity: &notice.severity,
            code: &notice.code,
            message: &notice.message,
            detail: notice.detail.as_deref(),
            hint: notice.hint.as_deref(),
        }
        .log();
    }

    fn from_fields(mut fields: ErrorFields<'_>) -> Self {
        let mut out = Self::default();
        while let Ok(Some(field)) = fields.next() {
            let value = String::from_utf8_lossy(field.value_bytes()).into_owned();
            match field.type_() {
                // `V` is never localized; `S` is, and comes first.
                b'S' if out.severity.is_empty() => out.severity = value,
                b'V' => out.severity = value,
                b'C' => out.code = value,
                b'M' => out.message = value,
                b'D' => out.detail = Some(value),
                b'H' => out.hint = Some(value),
                _ => {}
            }
        }
        out
    }

    /// Whether the server ends the session with this error (severity FATAL or PANIC): the
    /// connection closes after it, with no ReadyForQuery.
    pub(crate) fn is_fatal(&self) -> bool {
        matches!(self.severity.as_str(), "FATAL" | "PANIC")
    }

    /// The error to report when the connection closed after this one was read: this one,
    /// which says why, when it ended the session; else `lost`.
    pub(crate) fn or_lost(self, lost: Error) -> Error {
        if self.is_fatal() {
            self.into_error(false)
        } else {
            lost
        }
    }

    /// As a txkit error; `nowait` says whether the statement asked for NOWAIT.
    pub(crate) fn into_error(self, nowait: bool) -> Error {
        let fields = ServerFields {
            code: &self.code,
            message: &self.message,
            detail: self.detail.as_deref(),
            hint: self.hint.as_deref(),
        };
        server_error(&fields, nowait)
    }
}
