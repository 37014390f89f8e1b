//! What both drivers (tokio-postgres's and txkit's own protocol layer) say and send alike:
//! the backend's name in errors, the session reset, and the errors of a COMMIT that did
//! not commit or whose answer was lost.

use txkit_core::{Error, ErrorKind};

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
