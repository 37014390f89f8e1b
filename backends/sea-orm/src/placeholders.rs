//! Counting the `?` placeholders of MySQL SQL, so that a statement given the wrong number of
//! values is refused before it reaches sqlx: sqlx's MySQL driver notices the mismatch only
//! after it has queued the statement's answer, and the connection then waits forever for an
//! answer the server was never asked for.

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
            q @ (b'\'' | b'"' | b'`') => past_quoted(b, i + 1, q),
            b'#' => past_line(b, i + 1),
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                past_line(b, i + 2)
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let rest = &sql[i + 2..];
                rest.find("*/").map_or(b.len(), |end| i + 2 + end + 2)
            }
            _ => i + 1,
        };
    }
    count
}

/// The index after the quote `q` that closes a quoted run starting at `i`.
fn past_quoted(b: &[u8], mut i: usize, q: u8) -> usize {
    while i < b.len() {
        match b[i] {
            // Backslash escapes apply in strings, not in identifiers.
            b'\\' if q != b'`' => i += 2,
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
    use super::count_mysql;

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
}
