//! Connection poolers between txkit and the server (PgBouncer, pgcat, Supavisor, RDS Proxy):
//! URL option `pooler`, how a connection finds one by itself, and what cannot run behind
//! one.
//!
//! In a pooler's transaction mode a client owns a server connection only while a
//! transaction is open; between transactions its next statement may run on another server
//! connection, which other clients used in the meantime. So nothing may outlive a
//! transaction: a statement prepared under a name in one transaction is missing in the next
//! (`26000`), or a name another client left behind is taken (`42P05`), and a `SET` lands on
//! a server connection this client no longer has while the next client inherits it. Behind
//! a pooler txkit therefore sends every statement unnamed, parsed, bound and run in the same
//! round trip (one Sync, as libpq's `PQexecParams`), and refuses the statements whose
//! effect outlives their transaction, saying what to do instead. Isolation levels and
//! read-only modes are already sent with each `BEGIN`, so they need nothing more.

use txkit_core::dialects::first_keyword;
use txkit_core::{Error, ErrorKind, Result};

/// What stands between txkit and the server (URL option `pooler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooler {
    /// Find out at connect (the default): a pooler answers the startup with a cancel key of
    /// its own, whose process id is not the session's `pg_backend_pid()`. A connection that
    /// finds one acts as under [`Transaction`](Self::Transaction) (a session-mode pooler,
    /// which would not need it, looks the same from the client).
    #[default]
    Auto,
    /// The server itself (or a pooler in session mode): statements are prepared once under
    /// a name and cached ([`statement_cache_size`](crate::PgConnectOptions::statement_cache_size)).
    None,
    /// A pooler in transaction mode: unnamed statements, and session state refused.
    Transaction,
    /// A pooler in statement mode: as `Transaction`, and every transaction refused, since
    /// the pooler ends each one after its first statement.
    Statement,
}

impl Pooler {
    /// Parses the URL spelling: `auto`, `none`, `transaction`, `statement`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "auto" => Ok(Self::Auto),
            "none" | "session" => Ok(Self::None),
            "transaction" => Ok(Self::Transaction),
            "statement" => Ok(Self::Statement),
            _ => Err(Error::config(format!(
                "unknown pooler {text:?}; accepted: auto (the default: detected at connect), \
                 none (or session), transaction, statement"
            ))),
        }
    }

    /// The mode a connection to `target` settles on, given whether the cancel key's process
    /// id differed from the session's own (`pooled`).
    pub(crate) fn settle(self, pooled: bool, target: &str) -> Self {
        match self {
            Self::Auto if pooled => {
                tracing::debug!(
                    target = %target,
                    "a connection pooler answered the startup: statements go unnamed"
                );
                Self::Transaction
            }
            Self::Auto => Self::None,
            other => other,
        }
    }

    /// Whether statements must be sent unnamed (a settled mode other than `None`).
    pub(crate) fn unnamed(self) -> bool {
        matches!(self, Self::Transaction | Self::Statement)
    }

    /// Refuses BEGIN in statement mode.
    pub(crate) fn check_begin(self) -> Result<()> {
        if self == Self::Statement {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "transactions cannot run through a pooler in statement mode (pooler=statement): \
                 it hands each statement to a server connection of its own; set the pooler's \
                 pool_mode=transaction for this database, or run single statements only",
            ));
        }
        Ok(())
    }

    /// Refuses `sql` when it leaves state on the server session that would outlive its
    /// transaction behind a pooler (see [`session_state`]).
    pub(crate) fn check_statement(self, sql: &str) -> Result<()> {
        if !self.unnamed() {
            return Ok(());
        }
        match session_state(sql) {
            None => Ok(()),
            Some(instead) => Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "{:?} cannot run behind a connection pooler in transaction mode (URL option \
                     pooler): what it leaves on the server session outlives the transaction, \
                     on a server connection that serves other clients next while this one's \
                     next statement may run on another; {instead}",
                    sql.trim()
                ),
            )),
        }
    }
}

/// If `sql` leaves state on the server session beyond its transaction, what to do instead.
/// Transaction-scoped forms (`SET LOCAL`, `SET TRANSACTION`, `pg_advisory_xact_lock`,
/// `LOCK TABLE`, temporary tables `ON COMMIT DROP`) pass.
pub(crate) fn session_state(sql: &str) -> Option<&'static str> {
    let word = first_keyword(sql);
    let is = |w: &str| word.eq_ignore_ascii_case(w);
    // The text after the first keyword: `word` is a slice of `sql`. No lowercase copy of
    // the whole text is made: behind a pooler this runs on every statement, and a flush's
    // UPDATE is kilobytes long.
    let offset = word.as_ptr() as usize - sql.as_ptr() as usize + word.len();
    let rest = sql[offset..].trim_start();
    if is("SET") {
        let scoped = ["local", "transaction", "constraints"].iter().any(|w| {
            starts_with_ci(rest, w)
                && !rest[w.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        });
        return (!scoped).then_some(
            "use SET LOCAL inside the transaction, or set it for the role or database \
             (ALTER ROLE … SET) or in the pooler",
        );
    }
    if is("PREPARE") || is("DEALLOCATE") {
        return Some("pass parameters to the statement itself; txkit sends it unnamed");
    }
    if is("LISTEN") {
        return Some("notifications need a connection of their own, not through the pooler");
    }
    if is("DECLARE") && contains_ci(sql, "with hold") {
        return Some("declare the cursor WITHOUT HOLD and read it inside its transaction");
    }
    if is("CREATE") && starts_with_ci(first_keyword(rest), "temp") {
        return (!contains_ci(sql, "on commit drop"))
            .then_some("create the temporary table ON COMMIT DROP, inside the transaction");
    }
    if contains_ci(sql, "set_config(") {
        return Some("use SET LOCAL inside the transaction");
    }
    let session_lock = ["pg_advisory_lock", "pg_try_advisory_lock"]
        .iter()
        .any(|f| contains_ci(sql, f));
    if session_lock {
        return Some(
            "take pg_advisory_xact_lock / pg_try_advisory_xact_lock inside the transaction",
        );
    }
    None
}

fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn contains_ci(text: &str, needle: &str) -> bool {
    text.as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Adds to a server error the fix for the errors a pooler causes: the prepared-statement
/// errors when txkit was told there is none, `26000` (a statement prepared in an earlier
/// transaction is missing) and `42P05` (a name another client left on the server connection
/// is taken), and a startup parameter the pooler does not pass on (`options`).
pub(crate) fn hint_for(code: &str, message: &str) -> Option<&'static str> {
    if message.starts_with("unsupported startup parameter") {
        return Some(
            "a connection pooler (PgBouncer) refuses startup parameters it does not know: \
             drop the option from the URL and set it for the role or database (ALTER ROLE … \
             SET), or list it in the pooler's ignore_startup_parameters",
        );
    }
    let names_txkit = message.contains("\"s") || message.contains("\"txkit_");
    ((code == "26000" || code == "42P05") && names_txkit).then_some(
        "a connection pooler in transaction mode (PgBouncer) sits between txkit and the \
         server, and prepared statements do not survive it: add pooler=transaction to the \
         URL (or leave pooler at its default, auto)",
    )
}

/// The error a statement-mode pooler's refusal of BEGIN becomes, when txkit was not told.
pub(crate) fn statement_mode_refusal(message: &str) -> Option<Error> {
    message.contains("statement pooling mode").then(|| {
        Error::new(
            ErrorKind::Unsupported,
            format!(
                "the pooler refused the transaction ({message}): it runs in statement mode; \
                 set its pool_mode=transaction for this database, or add pooler=statement to \
                 the URL so txkit refuses transactions before sending them"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_mode_and_names_them_when_unknown() {
        assert_eq!(Pooler::parse("auto").unwrap(), Pooler::Auto);
        assert_eq!(Pooler::parse("none").unwrap(), Pooler::None);
        assert_eq!(Pooler::parse("session").unwrap(), Pooler::None);
        assert_eq!(Pooler::parse("transaction").unwrap(), Pooler::Transaction);
        assert_eq!(Pooler::parse("statement").unwrap(), Pooler::Statement);
        let e = Pooler::parse("pgbouncer").unwrap_err();
        assert!(e.to_string().contains("transaction, statement"), "{e}");
    }

    #[test]
    fn auto_settles_by_what_the_connection_found() {
        assert_eq!(Pooler::Auto.settle(true, "t"), Pooler::Transaction);
        assert_eq!(Pooler::Auto.settle(false, "t"), Pooler::None);
        assert_eq!(Pooler::None.settle(true, "t"), Pooler::None);
        assert_eq!(Pooler::Statement.settle(false, "t"), Pooler::Statement);
        assert!(!Pooler::None.unnamed());
        assert!(Pooler::Transaction.unnamed());
    }

    #[test]
    fn session_state_is_refused_and_transaction_scoped_state_passes() {
        for sql in [
            "SET search_path = app",
            "set statement_timeout = 5000",
            "SET local_preload_libraries = ''",
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "PREPARE p AS SELECT 1",
            "DEALLOCATE p",
            "LISTEN jobs",
            "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
            "CREATE TEMP TABLE t (x int)",
            "create temporary table t (x int)",
            "SELECT set_config('search_path', 'app', false)",
            "SELECT pg_advisory_lock(1)",
            "SELECT pg_try_advisory_lock(1, 2)",
        ] {
            assert!(session_state(sql).is_some(), "{sql} should be refused");
            let e = Pooler::Transaction.check_statement(sql).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage, "{sql}");
            assert!(Pooler::None.check_statement(sql).is_ok(), "{sql}");
        }
        for sql in [
            "SET LOCAL search_path = app",
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "SET CONSTRAINTS ALL DEFERRED",
            "SELECT pg_advisory_xact_lock(1)",
            "LOCK TABLE accounts IN SHARE MODE",
            "CREATE TEMP TABLE t (x int) ON COMMIT DROP",
            "CREATE TABLE settings (x int)",
            "DECLARE c CURSOR FOR SELECT 1",
            "UPDATE accounts SET balance = 1",
            "BEGIN",
            "SAVEPOINT s",
            "RESET ALL",
        ] {
            assert_eq!(session_state(sql), None, "{sql} should pass");
            Pooler::Transaction.check_statement(sql).unwrap();
        }
    }

    #[test]
    fn statement_mode_refuses_begin_and_the_others_do_not() {
        let e = Pooler::Statement.check_begin().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.to_string().contains("pool_mode=transaction"), "{e}");
        Pooler::Transaction.check_begin().unwrap();
        Pooler::None.check_begin().unwrap();
    }

    #[test]
    fn the_pooler_errors_name_their_fix() {
        let hint = hint_for("26000", "prepared statement \"s12\" does not exist").unwrap();
        assert!(hint.contains("pooler=transaction"));
        assert!(hint_for("42P05", "prepared statement \"txkit_1\" already exists").is_some());
        assert!(hint_for("26000", "prepared statement \"mine\" does not exist").is_none());
        assert!(hint_for("42P01", "relation \"s1\" does not exist").is_none());
        let startup = hint_for("08P01", "unsupported startup parameter: options").unwrap();
        assert!(startup.contains("ALTER ROLE"), "{startup}");
        let e = statement_mode_refusal("transaction blocks not allowed in statement pooling mode")
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(statement_mode_refusal("terminating connection").is_none());
    }
}
