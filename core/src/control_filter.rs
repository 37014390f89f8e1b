//! Refuses transaction-control statements sent as plain SQL: txkit could not track them,
//! and a pooled connection might then be handed out inside a transaction.

use crate::dialects::first_keyword;
use crate::error::{Error, Result};

const CONTROL: [&str; 8] = [
    "BEGIN",
    "START",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "END",
    "ABORT",
];

/// Whether `word` is one of [`CONTROL`]. Runs before every statement, so the lengths are
/// compared first: SELECT, INSERT, UPDATE and DELETE meet one full comparison at most.
fn is_control(word: &str) -> bool {
    CONTROL
        .iter()
        .any(|c| c.len() == word.len() && c.eq_ignore_ascii_case(word))
}

/// A Usage error if `sql` starts with BEGIN, START, COMMIT, ROLLBACK, SAVEPOINT, RELEASE,
/// END or ABORT.
pub(crate) fn reject_transaction_control(sql: &str) -> Result<()> {
    let word = first_keyword(sql);
    if is_control(word) {
        return Err(Error::usage(format!(
            "{word} sent as plain SQL would bypass txkit's transaction tracking; use \
             begin()/begin_with(), commit(), rollback() and savepoint() instead"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_statements_are_refused() {
        for sql in [
            "BEGIN",
            " begin;",
            "-- x\nCOMMIT",
            "/* a */ rollback to x",
            "\x0B\x0Ccommit",
            "START TRANSACTION",
            "savepoint a",
        ] {
            assert!(reject_transaction_control(sql).is_err(), "{sql}");
        }
        for sql in [
            "SELECT 1",
            "UPDATE t SET begin = 1",
            "INSERT INTO rollback_log VALUES (1)",
            "endpoint",
            "commits",
            "  \n\t select 1",
        ] {
            assert!(reject_transaction_control(sql).is_ok(), "{sql}");
        }
    }

    #[test]
    fn every_control_keyword_is_matched_by_length() {
        for word in CONTROL {
            assert!(is_control(word), "{word}");
            assert!(is_control(&word.to_ascii_lowercase()), "{word}");
        }
    }
}
