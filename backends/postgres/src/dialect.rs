//! PostgreSQL's SQL dialect: `"` quoting, `$n` placeholders, one-statement BEGIN, and the
//! full set of row and table locks.

use txkit_core::{
    AccessMode, Dialect, LockStrength, LockWait, Result, RowLock, TableLock, TxOptions,
    quote_identifier_with,
};

/// PostgreSQL truncates identifiers longer than this many bytes (`NAMEDATALEN - 1`).
const MAX_IDENTIFIER_BYTES: usize = 63;

/// The SQL dialect of PostgreSQL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PgDialect;

impl Dialect for PgDialect {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn quote_identifier(&self, ident: &str) -> Result<String> {
        quote_identifier_with(ident, '"', MAX_IDENTIFIER_BYTES)
    }

    fn placeholder(&self, index: usize) -> String {
        format!("${index}")
    }

    /// `BEGIN [ISOLATION LEVEL …] [READ ONLY | READ WRITE] [DEFERRABLE]`, with only the
    /// parts asked for. READ UNCOMMITTED is sent as it is; PostgreSQL runs it as READ
    /// COMMITTED. The SQLite behaviour option is ignored.
    fn begin_sql(&self, opts: &TxOptions) -> Result<String> {
        let mut sql = String::from("BEGIN");
        if let Some(level) = opts.isolation_level() {
            sql.push_str(" ISOLATION LEVEL ");
            sql.push_str(level.as_sql());
        }
        match opts.access() {
            Some(AccessMode::ReadOnly) => sql.push_str(" READ ONLY"),
            Some(AccessMode::ReadWrite) => sql.push_str(" READ WRITE"),
            None => {}
        }
        if opts.is_deferrable() {
            sql.push_str(" DEFERRABLE");
        }
        Ok(sql)
    }

    fn row_lock_clause(&self, lock: &RowLock) -> Result<String> {
        let mut sql = String::from(match lock.strength {
            LockStrength::Update => "FOR UPDATE",
            LockStrength::NoKeyUpdate => "FOR NO KEY UPDATE",
            LockStrength::Share => "FOR SHARE",
            LockStrength::KeyShare => "FOR KEY SHARE",
        });
        if !lock.of.is_empty() {
            let tables = lock
                .of
                .iter()
                .map(|t| self.quote_identifier(t))
                .collect::<Result<Vec<_>>>()?;
            sql.push_str(" OF ");
            sql.push_str(&tables.join(", "));
        }
        match lock.wait {
            LockWait::Wait => {}
            LockWait::NoWait => sql.push_str(" NOWAIT"),
            LockWait::SkipLocked => sql.push_str(" SKIP LOCKED"),
        }
        Ok(sql)
    }

    /// `LOCK TABLE <table> IN <mode> MODE [NOWAIT]`; `table` is one identifier, quoted.
    fn table_lock_sql(&self, table: &str, lock: &TableLock) -> Result<Vec<String>> {
        let mut sql = format!(
            "LOCK TABLE {} IN {} MODE",
            self.quote_identifier(table)?,
            lock.mode.as_sql()
        );
        if lock.nowait {
            sql.push_str(" NOWAIT");
        }
        Ok(vec![sql])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use txkit_core::{IsolationLevel, TableLockMode};

    #[test]
    fn begin_has_only_what_was_asked() {
        let d = PgDialect;
        let cases = [
            (TxOptions::new(), "BEGIN"),
            (
                TxOptions::new().isolation(IsolationLevel::Serializable),
                "BEGIN ISOLATION LEVEL SERIALIZABLE",
            ),
            (
                TxOptions::new().isolation(IsolationLevel::ReadUncommitted),
                "BEGIN ISOLATION LEVEL READ UNCOMMITTED",
            ),
            (TxOptions::new().read_only(), "BEGIN READ ONLY"),
            (
                TxOptions::new().access_mode(AccessMode::ReadWrite),
                "BEGIN READ WRITE",
            ),
            (
                TxOptions::new()
                    .isolation(IsolationLevel::Serializable)
                    .read_only()
                    .deferrable(),
                "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE",
            ),
            (
                TxOptions::new().isolation(IsolationLevel::RepeatableRead),
                "BEGIN ISOLATION LEVEL REPEATABLE READ",
            ),
        ];
        for (opts, want) in cases {
            assert_eq!(d.begin_sql(&opts).unwrap(), want);
        }
    }

    #[test]
    fn row_locks() {
        let d = PgDialect;
        for (lock, want) in [
            (RowLock::update(), "FOR UPDATE"),
            (RowLock::no_key_update(), "FOR NO KEY UPDATE"),
            (RowLock::share(), "FOR SHARE"),
            (RowLock::key_share(), "FOR KEY SHARE"),
            (RowLock::update().nowait(), "FOR UPDATE NOWAIT"),
            (RowLock::share().skip_locked(), "FOR SHARE SKIP LOCKED"),
            (
                RowLock::update()
                    .of("accounts")
                    .of("odd\"name")
                    .skip_locked(),
                "FOR UPDATE OF \"accounts\", \"odd\"\"name\" SKIP LOCKED",
            ),
        ] {
            assert_eq!(d.row_lock_clause(&lock).unwrap(), want);
        }
        assert!(d.row_lock_clause(&RowLock::update().of("")).is_err());
    }

    #[test]
    fn table_locks_and_quoting() {
        let d = PgDialect;
        assert_eq!(
            d.table_lock_sql("accounts", &TableLock::share()).unwrap(),
            vec!["LOCK TABLE \"accounts\" IN SHARE MODE"]
        );
        assert_eq!(
            d.table_lock_sql(
                "a",
                &TableLock::new(TableLockMode::ShareRowExclusive).nowait()
            )
            .unwrap(),
            vec!["LOCK TABLE \"a\" IN SHARE ROW EXCLUSIVE MODE NOWAIT"]
        );
        assert_eq!(
            d.table_lock_sql("a", &TableLock::exclusive()).unwrap(),
            vec!["LOCK TABLE \"a\" IN ACCESS EXCLUSIVE MODE"]
        );
        assert_eq!(d.placeholder(3), "$3");
        assert_eq!(d.quote_identifier("x\"y").unwrap(), "\"x\"\"y\"");
        assert!(d.quote_identifier(&"n".repeat(64)).is_err());
        assert_eq!(d.savepoint_sql("sp1").unwrap(), "SAVEPOINT \"sp1\"");
    }
}
