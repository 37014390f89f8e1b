//! The SQL each database speaks and the meaning of its error codes, kept driver-free so
//! several drivers share one table.
//!
//! Each submodule holds, for one database, its [`Dialect`](crate::Dialect) and the pure
//! classification of its error codes into [`ErrorKind`](crate::ErrorKind)s. The backend
//! crates (`txkit-postgres`, `txkit-mysql`, `txkit-sqlite`) re-export them and add only what
//! touches their driver's types; a crate on another driver (sea-orm's sqlx) uses the same
//! tables from here.
//!
//! - [`postgres`]: [`PgDialect`](postgres::PgDialect), the [`sqlstate`](postgres::sqlstate)
//!   codes and [`classify`](postgres::classify).
//! - [`mysql`]: [`MySqlDialect`](mysql::MySqlDialect) for a [`ServerInfo`](mysql::ServerInfo)
//!   (MySQL or MariaDB and its version), the error numbers in [`codes`](mysql::codes) and
//!   [`classify`](mysql::classify).
//! - [`placeholders`]: txkit's portable `?` placeholders as PostgreSQL's `$1, $2, …`.
//! - [`sqlite`]: [`SqliteDialect`](sqlite::SqliteDialect), the result codes in
//!   [`codes`](sqlite::codes) and [`classify`](sqlite::classify).

pub mod mysql;
pub mod placeholders;
pub mod postgres;
pub mod sqlite;

/// Whether SQL text asks for NOWAIT: the bytes `NOWAIT` anywhere, case-insensitively (also
/// inside a literal or a comment, which only costs a wrong guess between two retryable
/// kinds). [`mysql::mentions_nowait`] is the stricter, MySQL-syntax-aware test.
pub fn asks_nowait(sql: &str) -> bool {
    sql.as_bytes()
        .windows(6)
        .any(|w| w.eq_ignore_ascii_case(b"NOWAIT"))
}

/// The first keyword of `sql` (its leading letters), skipping white space, `--` and `/* */`
/// comments: what the statement is (`SELECT`, `BEGIN`, `ROLLBACK`, …), as written.
pub fn first_keyword(sql: &str) -> &str {
    let mut rest = sql;
    loop {
        // The white space SQL lexers know: ASCII, vertical tab included.
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\x0B');
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.find('\n').map_or("", |i| &after[i + 1..]);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |i| &after[i + 2..]);
        } else {
            break;
        }
    }
    let end = rest
        .bytes()
        .position(|b| !b.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    &rest[..end]
}

/// ` OF a, b` restricting a row lock to `tables`, each quoted by `dialect`; empty when
/// `tables` is.
pub(crate) fn lock_of_clause(
    dialect: &dyn crate::Dialect,
    tables: &[String],
) -> crate::Result<String> {
    if tables.is_empty() {
        return Ok(String::new());
    }
    let quoted = tables
        .iter()
        .map(|t| dialect.quote_identifier(t))
        .collect::<crate::Result<Vec<_>>>()?;
    Ok(format!(" OF {}", quoted.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nowait_detection() {
        assert!(asks_nowait("SELECT 1 FROM t FOR UPDATE NOWAIT"));
        assert!(asks_nowait("lock table t in share mode nowait"));
        assert!(!asks_nowait("SELECT 1 FROM t FOR UPDATE"));
        assert!(!asks_nowait("NOWAI"));
    }
}
