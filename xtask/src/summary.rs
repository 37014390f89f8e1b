//! Adding up libtest's output: the `test result:` line of every test binary, and the
//! ignored tests whose reason names a database URL to set (the server cells skipped by
//! `tests/build.rs` and the backends' build scripts).

use std::collections::BTreeMap;

/// The counts read so far.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    passed: u64,
    failed: u64,
    ignored: u64,
    binaries: u64,
    /// Skipped server tests by the variable their reason names.
    skipped: BTreeMap<String, u64>,
    /// Cells ignored because their scenario cannot apply through a connection pooler.
    not_pooled: u64,
}

impl Summary {
    /// Takes one line of `cargo test`'s standard output into account.
    pub(crate) fn read_line(&mut self, line: &str) {
        let line = line.trim_end();
        if let Some(counts) = line.strip_prefix("test result: ") {
            self.binaries += 1;
            for part in counts.split(';') {
                let mut words = part.split_whitespace().rev();
                let (Some(what), Some(n)) = (words.next(), words.next()) else {
                    continue;
                };
                let Ok(n) = n.parse::<u64>() else { continue };
                match what {
                    "passed" => self.passed += n,
                    "failed" => self.failed += n,
                    "ignored" => self.ignored += n,
                    _ => {}
                }
            }
        } else if line.starts_with("test ")
            && let Some((_, reason)) = line.split_once(" ... ignored, ")
            && reason.starts_with("not through a pooler")
        {
            self.not_pooled += 1;
        } else if line.starts_with("test ")
            && let Some((_, reason)) = line.split_once(" ... ignored, ")
            && let Some(var) = reason
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .find(|w| w.starts_with("TXKIT_") && w.ends_with("_URL"))
        {
            *self.skipped.entry(var.to_owned()).or_default() += 1;
        }
    }

    /// The line that ends the run.
    pub(crate) fn last_line(&self, success: bool) -> String {
        let verdict = if success { "ok" } else { "FAILED" };
        let counts = format!(
            "txkit tests {verdict}: {} passed, {} failed, {} ignored in {} test binaries",
            self.passed, self.failed, self.ignored, self.binaries
        );
        let counts = if self.not_pooled > 0 {
            format!(
                "{counts} ({} of them cells whose scenario cannot apply through a connection \
                 pooler, each saying why)",
                self.not_pooled
            )
        } else {
            counts
        };
        let skipped: u64 = self.skipped.values().sum();
        if skipped == 0 {
            return format!("{counts}; no server test skipped");
        }
        let vars: Vec<&str> = self.skipped.keys().map(String::as_str).collect();
        format!(
            "{counts}; {skipped} of them server tests skipped: set {} to run them \
             (TXKIT_REQUIRE_ALL_BACKENDS=1 makes a missing URL an error)",
            vars.join(" and ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(lines: &str) -> Summary {
        let mut s = Summary::default();
        for line in lines.lines() {
            s.read_line(line);
        }
        s
    }

    #[test]
    fn adds_up_every_binary_and_names_the_variables_to_set() {
        let s = read(
            "test a::postgres ... ignored, server cell: set TXKIT_POSTGRES_URL to run it\n\
             test k::postgres_pgbouncer ... ignored, not through a pooler: kills by pid\n\
             test a::mysql ... ignored, server cell: set TXKIT_MYSQL_URL to run it\n\
             test b::mysql ... ignored, server test: set TXKIT_MYSQL_URL to run it\n\
             test c ... ignored, slow\n\
             test d ... ok\n\
             test result: ok. 7 passed; 0 failed; 5 ignored; 0 measured; 2 filtered out\n\
             test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n",
        );
        assert_eq!((s.passed, s.failed, s.ignored, s.binaries), (10, 1, 5, 2));
        assert_eq!(
            s.last_line(false),
            "txkit tests FAILED: 10 passed, 1 failed, 5 ignored in 2 test binaries (1 of them \
             cells whose scenario cannot apply through a connection pooler, each saying why); \
             3 of them \
             server tests skipped: set TXKIT_MYSQL_URL and TXKIT_POSTGRES_URL to run them \
             (TXKIT_REQUIRE_ALL_BACKENDS=1 makes a missing URL an error)"
        );
    }

    #[test]
    fn says_when_nothing_was_skipped() {
        let s = read("test result: ok. 5 passed; 0 failed; 1 ignored; 0 measured\n");
        assert_eq!(
            s.last_line(true),
            "txkit tests ok: 5 passed, 0 failed, 1 ignored in 1 test binaries; no server \
             test skipped"
        );
    }
}
