//! What both drivers (tokio-postgres's and txkit's own protocol layer) say and send alike:
//! the backend's name in errors, the session reset, a server's error response as a txkit
//! error, and the errors of a COMMIT that did not commit or whose answer was lost.

use txkit_core::dialects::first_keyword;
use txkit_core::dialects::postgres::{classify, sqlstate};
use txkit_core::{Error, ErrorKind};

use crate::pooler;

/// The backend name carried by every error this crate makes.
pub(crate) const BACKEND: &str = "postgres";

/// The session reset of [`ResetMode::Full`](txkit_core::ResetMode::Full): `DISCARD ALL`, except that its `DEALLOCATE ALL`
/// becomes a deallocation of the statements prepared with SQL `PREPARE` only
/// (`pg_prepared_statements.from_sql`), so the protocol-level statements txkit and
/// tokio-postgres keep stay valid and need not be prepared again. One round trip.
pub(crate) const FULL_RESET: &str = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; \
                          SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; \
                          DISCARD SEQUENCES; \
                          DO $txkit$ DECLARE r record; BEGIN \
                          FOR r IN SELECT name FROM pg_prepared_statements WHERE from_sql LOOP \
                          EXECUTE format('DEALLOCATE %I', r.name); END LOOP; END $txkit$";

/// The error for COMMIT answered with ROLLBACK: the transaction had failed before it.
pub(crate) fn already_failed(kind: ErrorKind, code: &str) -> Error {
    Error::database(
        kind,
        BACKEND,
        code,
        "the transaction had already failed (a statement in it returned an error), so the \
         server rolled it back instead of committing; nothing was committed",
    )
}

/// What to say when the connection to `target` was lost while COMMIT was in flight.
pub(crate) fn outcome_unknown_message(target: &str) -> String {
    format!(
        "the connection to {target} was lost after COMMIT was sent and before its answer \
         arrived: the transaction may or may not have committed; check the data before \
         running it again"
    )
}

/// The fields of a server's error response txkit reads.
pub(crate) struct ServerFields<'a> {
    pub(crate) code: &'a str,
    pub(crate) message: &'a str,
    pub(crate) detail: Option<&'a str>,
    pub(crate) hint: Option<&'a str>,
}

/// A server's error response as a txkit error, as both drivers report it: the kind from the
/// SQLSTATE (`nowait`: the statement asked for NOWAIT), the server's message with its detail
/// and hint, and for the errors a connection pooler causes, what fixes them.
pub(crate) fn server_error(fields: &ServerFields<'_>, nowait: bool) -> Error {
    if let Some(refusal) = pooler::statement_mode_refusal(fields.message) {
        return refusal;
    }
    let kind = classify(fields.code, fields.message, nowait);
    let mut message = if fields.code == sqlstate::IN_FAILED_SQL_TRANSACTION {
        "the transaction is aborted because an earlier statement in it failed; roll it back \
         (or roll back to a savepoint) before running anything else"
            .to_owned()
    } else {
        fields.message.to_owned()
    };
    if let Some(detail) = fields.detail {
        message.push_str("; detail: ");
        message.push_str(detail);
    }
    if let Some(hint) = fields.hint {
        message.push_str("; hint: ");
        message.push_str(hint);
    }
    if let Some(fix) = pooler::hint_for(fields.code, fields.message) {
        message.push_str("; ");
        message.push_str(fix);
    }
    Error::database(kind, BACKEND, fields.code, message)
}

/// Whether control SQL sent through [`Connection::batch`](txkit_core::Connection::batch)
/// begins a transaction (BEGIN or START TRANSACTION first).
pub(crate) fn opens_transaction(sql: &str) -> bool {
    let word = first_keyword(sql);
    word.eq_ignore_ascii_case("BEGIN") || word.eq_ignore_ascii_case("START")
}

/// A server's refusal of a new session (`code`, `said`) as a txkit error: the kind, and the
/// message with what to check; a startup option a pooler refuses says what to do instead.
pub(crate) fn connect_refusal(code: &str, said: &str, target: &str) -> Error {
    let (kind, advice) = match code {
        sqlstate::INVALID_PASSWORD | sqlstate::INVALID_AUTHORIZATION_SPECIFICATION => (
            ErrorKind::Config,
            "check the user name and password, and the server's pg_hba.conf",
        ),
        sqlstate::INVALID_CATALOG_NAME => (
            ErrorKind::Config,
            "check the database name in the URL, or create the database",
        ),
        _ => match pooler::hint_for(code, said) {
            Some(fix) => (ErrorKind::Config, fix),
            None => (
                classify(code, said, false),
                "check that the server accepts connections",
            ),
        },
    };
    Error::database(
        kind,
        BACKEND,
        code,
        format!("could not connect to {target}: {said}; {advice}"),
    )
}
