//! Counting the placeholders of MySQL and SQLite statements, so that one given the wrong
//! number of values is refused before it reaches sqlx. sqlx's MySQL driver notices the
//! mismatch only after it has queued the statement's answer, and the connection then waits
//! forever for an answer the server was never asked for; its SQLite driver binds NULL for a
//! missing value (a silent wrong write). (PostgreSQL's count comes from the placeholder
//! rewrite the statement goes through anyway: `statement::postgres`.)

/// The `?` placeholders in `sql` as SQLite reads it: outside `'…'` strings, `"…"`,
/// `` `…` `` and `[…]` identifiers, and `--` and `/* … */` comments. `None` when it also
/// has numbered (`?NNN`) or named (`:a`, `@a`, `$a`) parameters, which are not counted.
pub(crate) fn count_sqlite(sql: &str) -> Option<usize> {
    let b = sql.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while i < b.len() {
        i = match b[i] {
            b'?' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => return None,
            b'?' => {
                count += 1;
                i + 1
            }
            b':' | b'@' | b'$'
                if b.get(i + 1)
                    .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_') =>
            {
                return None;
            }
            q @ (b'\'' | b'"' | b'`') => past_quoted(b, i + 1, q, false),
            b'[' => b[i..]
                .iter()
                .position(|&c| c == b']')
                .map_or(b.len(), |end| i + end + 1),
            b'-' if b.get(i + 1) == Some(&b'-') => past_line(b, i + 2),
            b'/' if b.get(i + 1) == Some(&b'*') => past_block_comment(sql, i),
            _ => i + 1,
        };
    }
    Some(count)
}

/// The `?` placeholders in `sql` as MySQL reads it: outside `'…'` and `"…"` strings (with
/// backslash escapes and doubled quotes), `` `…` `` identifiers, and `#`, `-- ` and
/// `/* … */` comments.
pub(crate) fn count_mysql(sql: &str) -> usize {
    let b = sql.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while i < b.len() {
        i = match b[i] {
            b'?' => {
                count += 1;
                i + 1
            }
            q @ (b'\'' | b'"' | b'`') => past_quoted(b, i + 1, q, q != b'`'),
            b'#' => past_line(b, i + 1),
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                past_line(b, i + 2)
            }
            b'/' if b.get(i + 1) == Some(&b'*') => past_block_comment(sql, i),
            _ => i + 1,
        };
    }
    count
}

/// The index after the `*/` closing a comment that opens at `i` (or the end of the text).
fn past_block_comment(sql: &str, i: usize) -> usize {
    sql[i + 2..]
        .find("*/")
        .map_or(sql.len(), |end| i + 2 + end + 2)
}

/// The index after the quote `q` that closes a quoted run starting at `i`; with
/// `escapes`, a backslash escapes the next byte (MySQL strings).
fn past_quoted(b: &[u8], mut i: usize, q: u8, escapes: bool) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' if escapes => i += 2,
            c if c == q && b.get(i + 1) == Some(&q) => i += 2,
            c if c == q => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// The index after the end of the line that `i` is on.
fn past_line(b: &[u8], i: usize) -> usize {
    b[i.min(b.len())..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |end| i + end + 1)
}

#[cfg(test)]
mod tests {
    use super::{count_mysql, count_sqlite};

    #[test]
    fn counts_placeholders_outside_quotes_and_comments() {
        assert_eq!(count_mysql("INSERT INTO t VALUES (?, ?)"), 2);
        assert_eq!(
            count_mysql("SELECT 'a?' , \"b?\", `c?` FROM t WHERE x = ?"),
            1
        );
        assert_eq!(count_mysql("INSERT INTO t VALUES ('it\\'s ?', ?)"), 1);
        assert_eq!(count_mysql("INSERT INTO t VALUES ('it''s ?', ?)"), 1);
        assert_eq!(count_mysql("SELECT ? # why?\n, ?"), 2);
        assert_eq!(count_mysql("SELECT ? -- why?\n, ?"), 2);
        assert_eq!(
            count_mysql("SELECT 1--?\n"),
            1,
            "`--` without a space is minus minus"
        );
        assert_eq!(count_mysql("SELECT /* ? */ ?"), 1);
        assert_eq!(count_mysql("SELECT 'unterminated ?"), 0);
        assert_eq!(count_mysql("SELECT /* unterminated ?"), 0);
        assert_eq!(count_mysql(""), 0);
    }

    #[test]
    fn counts_sqlite_placeholders_and_leaves_named_ones_alone() {
        assert_eq!(count_sqlite("INSERT INTO t VALUES (?, ?)"), Some(2));
        assert_eq!(
            count_sqlite("SELECT '?', \"?\", `?`, [?] FROM t WHERE x = ?"),
            Some(1)
        );
        assert_eq!(
            count_sqlite("SELECT 'a\\', ?"),
            Some(1),
            "no backslash escapes"
        );
        assert_eq!(count_sqlite("SELECT ? --?\n, /* ? */ ?"), Some(2));
        assert_eq!(count_sqlite("SELECT ?1, ?2"), None);
        assert_eq!(count_sqlite("SELECT :a, ?"), None);
        assert_eq!(count_sqlite("SELECT @a"), None);
    }
}
