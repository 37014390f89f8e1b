//! Which SQL may change a connection's session state (settings, variables, temporary
//! objects, prepared statements, the current database, attached databases), so that the pool
//! resets exactly the connections that ran some — and no others.
//!
//! The test is conservative: what it does not know counts as changing the session. Only
//! statements that cannot leave anything behind on the session are let through: plain
//! DML, SELECT, schema changes of permanent objects, and read-only inspection.

use crate::dialects::first_keyword;

/// Statements that leave no session state behind (given the checks below for the ones that
/// can call functions or create temporary objects).
const NEUTRAL: [&str; 17] = [
    "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES", "REPLACE", "MERGE", "CREATE",
    "ALTER", "DROP", "TRUNCATE", "COMMENT", "SHOW", "EXPLAIN", "DESCRIBE", "DESC",
];

/// Whether `sql` may change session state that outlives it (and would reach the next user
/// of a pooled connection): anything but one neutral statement. `CREATE TEMP[ORARY] …`,
/// `SELECT … INTO` (a PostgreSQL temporary or new table, a MySQL variable) and several
/// statements in one text count as changing it.
pub(crate) fn may_change_session(sql: &str) -> bool {
    let word = first_keyword(sql);
    if !NEUTRAL.iter().any(|n| n.eq_ignore_ascii_case(word)) {
        return true;
    }
    let bytes = sql.as_bytes();
    if calls_into_the_session(bytes) || has_second_statement(sql) {
        return true;
    }
    if word.eq_ignore_ascii_case("CREATE") {
        return creates_temporary(sql);
    }
    (word.eq_ignore_ascii_case("SELECT") || word.eq_ignore_ascii_case("WITH"))
        && contains_ci(bytes, b"into")
}

/// Whether a neutral statement's text can change the session after all: a MySQL variable
/// assignment (`@x := 1`), PostgreSQL's `set_config(…)`, a session lock
/// (`pg_advisory_lock(…)`, `GET_LOCK(…)`). One pass (memchr) for the byte each of them
/// turns on, then a look around it: a flush's UPDATE of 128 rows is kilobytes long, and
/// runs this on every execution.
fn calls_into_the_session(sql: &[u8]) -> bool {
    memchr::memchr3_iter(b'=', b'_', b'(', sql).any(|i| {
        let (before, after) = (&sql[..i], &sql[i + 1..]);
        match sql[i] {
            b'=' => before.ends_with(b":"),
            b'_' => ends_with_ci(before, b"set") && starts_with_ci(after, b"config"),
            _ => ends_with_ci(before, b"lock"),
        }
    })
}

fn ends_with_ci(text: &[u8], suffix: &[u8]) -> bool {
    text.len() >= suffix.len() && text[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

fn starts_with_ci(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Whether `haystack` contains `needle` (ASCII, case-insensitively).
fn contains_ci(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// `CREATE [OR REPLACE] [GLOBAL|LOCAL] TEMP|TEMPORARY …`: a TEMP word among the first five.
fn creates_temporary(sql: &str) -> bool {
    sql.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .take(5)
        .any(|w| w.eq_ignore_ascii_case("TEMP") || w.eq_ignore_ascii_case("TEMPORARY"))
}

/// Whether something other than white space and semicolons follows a semicolon (a
/// semicolon inside a literal counts too: a wrong guess only costs one reset).
fn has_second_statement(sql: &str) -> bool {
    sql.split_once(';').is_some_and(|(_, rest)| {
        rest.trim_matches(|c: char| c.is_ascii_whitespace() || c == ';')
            .chars()
            .next()
            .is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::may_change_session;

    #[test]
    fn session_changing_statements_are_recognised() {
        for sql in [
            "SET search_path = other",
            "set statement_timeout = 5",
            "SET SESSION sql_mode = ''",
            "SET @x = 1",
            "USE other_db",
            "PREPARE p AS SELECT 1",
            "PREPARE p FROM 'SELECT 1'",
            "ATTACH DATABASE 'x.db' AS x",
            "PRAGMA cache_size = 10",
            "CREATE TEMP TABLE t (id int)",
            "CREATE TEMPORARY TABLE t (id int)",
            "create global temporary table t (id int)",
            "CREATE OR REPLACE TEMP VIEW v AS SELECT 1",
            "SELECT 1 INTO TEMP t",
            "SELECT 1 INTO @x",
            "SELECT @x := 1",
            "SELECT set_config('search_path', 'x', false)",
            "SELECT pg_advisory_lock(1)",
            "SELECT pg_advisory_xact_lock(1)",
            "SELECT GET_LOCK('a', 1)",
            "select get_lock('a', 1)",
            "SELECT SET_CONFIG('a', 'b', false)",
            "UPDATE t SET a = @x := 2",
            "SELECT 1; SET x = 1",
            "LISTEN chan",
            "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
            "CALL proc()",
            "DO $$ BEGIN END $$",
            "LOCK TABLES t WRITE",
            "something_new",
            "",
        ] {
            assert!(may_change_session(sql), "{sql}");
        }
    }

    #[test]
    fn plain_statements_leave_the_session_alone() {
        for sql in [
            "SELECT 1",
            "select * from accounts where id = ?",
            "INSERT INTO t (a) VALUES (?)",
            "UPDATE t SET a = 1 WHERE id = 2",
            "DELETE FROM t",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "CREATE TABLE IF NOT EXISTS t (id int)",
            "CREATE INDEX t_idx ON t (a)",
            "DROP TABLE IF EXISTS t",
            "SELECT 1;",
            "  -- c\n SELECT 1 ; ",
            "REPLACE INTO t VALUES (1)",
            "UPDATE t SET a = (CASE WHEN (id = $1) THEN CAST($2 AS bigint) ELSE a END)",
            "SELECT set_of_config, a = :b FROM t",
        ] {
            assert!(!may_change_session(sql), "{sql}");
        }
    }
}
