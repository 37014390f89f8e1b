//! Rewrites txkit's portable `?` placeholders into PostgreSQL's `$1, $2, …`.
//!
//! A `?` is a placeholder only outside string literals (`'…'`, `E'…'`), quoted identifiers
//! (`"…"`), dollar-quoted strings (`$$…$$`, `$tag$…$tag$`) and comments (`-- …`, nested
//! `/* … */`). SQL that already uses `$n` placeholders is PostgreSQL's own dialect and
//! passes unchanged, `?` and all — so the jsonb operators `?`, `?|` and `?&` work there.

use std::borrow::Cow;

/// What the scanner found in a statement.
#[derive(Debug, PartialEq, Eq)]
struct Scan {
    /// Byte offsets of `?` placeholders.
    questions: Vec<usize>,
    /// Whether a `$n` parameter appears outside literals and comments.
    has_dollar_params: bool,
    /// Each `$n` parameter: its byte range and `n`.
    dollars: Vec<(usize, usize, usize)>,
}

/// Returns `sql` with each `?` placeholder replaced by `$1`, `$2`, … in order. SQL without
/// `?` placeholders, or with `$n` parameters of its own, is returned as it is (borrowed).
pub fn rewrite(sql: &str) -> Cow<'_, str> {
    rewrite_with(sql, Some)
}

/// How many parameters `sql` takes: its `?` placeholders, or, in SQL that numbers its own
/// parameters, the highest `$n`.
pub fn count(sql: &str) -> usize {
    let scan = scan(sql);
    if scan.has_dollar_params {
        scan.dollars.iter().map(|&(_, _, n)| n).max().unwrap_or(0)
    } else {
        scan.questions.len()
    }
}

/// Like [`rewrite`], but `number(i)` decides parameter `i` (from 0): `Some(n)` is written
/// `$n+1`, `None` the literal `NULL` (for a driver that cannot bind an untyped NULL, which
/// then leaves that parameter out and numbers the rest on). Parameter `i` is the `i`-th `?`
/// of portable SQL, or `$i+1` in SQL that numbers its own parameters (which may appear
/// more than once: `number` is asked for each appearance).
pub fn rewrite_with(sql: &str, number: impl Fn(usize) -> Option<usize>) -> Cow<'_, str> {
    let scan = scan(sql);
    let spans: Vec<(usize, usize, usize)> = if scan.has_dollar_params {
        scan.dollars
            .iter()
            .filter(|&&(_, _, n)| n >= 1)
            .map(|&(start, end, n)| (start, end, n - 1))
            .collect()
    } else {
        scan.questions
            .iter()
            .enumerate()
            .map(|(i, &at)| (at, at + 1, i))
            .collect()
    };
    let replacements: Vec<Option<usize>> = spans.iter().map(|&(_, _, i)| number(i)).collect();
    let unchanged = scan.has_dollar_params
        && spans
            .iter()
            .zip(&replacements)
            .all(|(&(_, _, i), r)| *r == Some(i));
    if spans.is_empty() || unchanged {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + spans.len() * 2);
    let mut last = 0;
    for (&(start, end, _), replacement) in spans.iter().zip(replacements) {
        out.push_str(&sql[last..start]);
        match replacement {
            Some(n) => {
                out.push('$');
                out.push_str(&(n + 1).to_string());
            }
            None => out.push_str("NULL"),
        }
        last = end;
    }
    out.push_str(&sql[last..]);
    Cow::Owned(out)
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn scan(sql: &str) -> Scan {
    let b = sql.as_bytes();
    let mut found = Scan {
        questions: Vec::new(),
        has_dollar_params: false,
        dollars: Vec::new(),
    };
    let mut i = 0;
    while i < b.len() {
        let prev_ident = i > 0 && is_ident_byte(b[i - 1]);
        match b[i] {
            b'\'' => {
                // E'…' (either case) takes backslash escapes.
                let escapes = i > 0
                    && (b[i - 1] == b'E' || b[i - 1] == b'e')
                    && !(i > 1 && is_ident_byte(b[i - 2]));
                i = skip_quoted(b, i + 1, b'\'', escapes);
            }
            b'"' => i = skip_quoted(b, i + 1, b'"', false),
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| i + p + 1);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => i = skip_block_comment(b, i + 2),
            b'$' if !prev_ident => {
                if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    found.has_dollar_params = true;
                    let end = b[i + 1..]
                        .iter()
                        .position(|c| !c.is_ascii_digit())
                        .map_or(b.len(), |p| i + 1 + p);
                    if let Ok(n) = sql[i + 1..end].parse::<usize>() {
                        found.dollars.push((i, end, n));
                    }
                    i = end;
                } else if let Some(end) = dollar_quote_end(b, i) {
                    i = end;
                } else {
                    i += 1;
                }
            }
            b'?' => {
                found.questions.push(i);
                i += 1;
            }
            _ => i += 1,
        }
    }
    found
}

/// Skips to just past the closing `quote` (doubled quotes stay inside); with `escapes`, a
/// backslash escapes the next byte.
fn skip_quoted(b: &[u8], mut i: usize, quote: u8, escapes: bool) -> usize {
    while i < b.len() {
        if escapes && b[i] == b'\\' {
            i += 2;
        } else if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// Skips a `/* … */` comment, which PostgreSQL lets nest; `i` is just past the opening.
fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut depth = 1;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// If a dollar quote opens at `start` (`$$` or `$tag$`, the tag not starting with a digit),
/// the offset just past its closing delimiter (or the end of the text).
fn dollar_quote_end(b: &[u8], start: usize) -> Option<usize> {
    let mut j = start + 1;
    while j < b.len() && b[j] != b'$' {
        let ok = b[j].is_ascii_alphabetic()
            || b[j] == b'_'
            || b[j] >= 0x80
            || (j > start + 1 && b[j].is_ascii_digit());
        if !ok {
            return None;
        }
        j += 1;
    }
    if j >= b.len() {
        return None;
    }
    let delimiter = &b[start..=j];
    let body = j + 1;
    Some(
        b[body..]
            .windows(delimiter.len())
            .position(|w| w == delimiter)
            .map_or(b.len(), |p| body + p + delimiter.len()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_in_order() {
        assert_eq!(
            rewrite("UPDATE t SET a = ?, b = ? WHERE id = ?"),
            "UPDATE t SET a = $1, b = $2 WHERE id = $3"
        );
        assert_eq!(rewrite("SELECT ?"), "SELECT $1");
        // Parameters 0 and 2 are bound (as $1 and $2), parameter 1 is inlined as NULL.
        let map = [Some(0), None, Some(1)];
        let inlined = rewrite_with("VALUES (?, ?, '?', ?)", |i| map[i]);
        assert_eq!(inlined, "VALUES ($1, NULL, '?', $2)");
        let numbered = rewrite_with("SET a = $2, b = $3 WHERE c = $1 OR d = $2", |i| map[i]);
        assert_eq!(numbered, "SET a = NULL, b = $2 WHERE c = $1 OR d = NULL");
        assert!(matches!(rewrite_with("SELECT $1", Some), Cow::Borrowed(_)));
        assert_eq!(rewrite("f(?,?)"), "f($1,$2)");
    }

    #[test]
    fn leaves_literals_identifiers_and_comments() {
        for (sql, want) in [
            ("SELECT '?', ?", "SELECT '?', $1"),
            ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"),
            ("SELECT E'\\' ?', ?", "SELECT E'\\' ?', $1"),
            ("SELECT e'a\\'b?' || ?", "SELECT e'a\\'b?' || $1"),
            (
                "SELECT \"col?\" FROM t WHERE x = ?",
                "SELECT \"col?\" FROM t WHERE x = $1",
            ),
            ("SELECT \"a\"\"?\" , ?", "SELECT \"a\"\"?\" , $1"),
            ("SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"),
            (
                "SELECT /* ? /* nested ? */ still ? */ ?",
                "SELECT /* ? /* nested ? */ still ? */ $1",
            ),
            ("SELECT $$ ? $$, ?", "SELECT $$ ? $$, $1"),
            (
                "SELECT $fn$ ? $x$ ? $fn$, ?",
                "SELECT $fn$ ? $x$ ? $fn$, $1",
            ),
            ("SELECT a$b, ?", "SELECT a$b, $1"),
        ] {
            assert_eq!(rewrite(sql), want, "{sql}");
        }
    }

    #[test]
    fn native_dollar_params_pass_unchanged() {
        for sql in [
            "SELECT $1, $2",
            "SELECT data ? 'key' FROM t WHERE id = $1",
            "SELECT 1",
            "SELECT '$1 ?'",
        ] {
            assert!(matches!(rewrite(sql), Cow::Borrowed(_)), "{sql}");
            assert_eq!(rewrite(sql), sql);
        }
    }

    #[test]
    fn unterminated_constructs_do_not_panic() {
        for sql in [
            "SELECT '?",
            "SELECT \"?",
            "SELECT /* ?",
            "SELECT $$ ?",
            "SELECT $",
            "?",
        ] {
            let _ = rewrite(sql);
        }
        assert_eq!(rewrite("?"), "$1");
        assert_eq!(rewrite("SELECT $ ?"), "SELECT $ $1");
    }

    #[test]
    fn many_placeholders() {
        let sql = ["?"; 12].join(",");
        let want: Vec<String> = (1..=12).map(|n| format!("${n}")).collect();
        assert_eq!(rewrite(&sql), want.join(","));
    }
}
