//! SQLite: [`SqliteDialect`], how SQLite spells what differs between backends; its result
//! codes in [`codes`]; and [`classify`], [`code_name`] and [`sqlite_error`], which turn an
//! extended result code into the [`ErrorKind`](crate::ErrorKind) a caller acts on and the
//! code name an [`Error`] keeps.

pub mod codes;
mod errors;
mod table_lock;

pub use errors::{classify, code_name, sqlite_error};

use crate::{
    AccessMode, Dialect, Error, Result, RowLock, SqliteBehavior, TableLock, TxOptions,
    quote_identifier_with,
};

/// The longest identifier txkit sends to SQLite, in bytes. SQLite itself sets no practical
/// limit; this one only catches mistakes.
pub const MAX_IDENTIFIER_BYTES: usize = 1024;

/// SQLite's SQL dialect: `"double quoted"` identifiers, `?` placeholders, `BEGIN DEFERRED |
/// IMMEDIATE | EXCLUSIVE`, no row locks, and table locks met by the database's write lock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    /// Also refuses names starting with `sqlite_` (any case), which SQLite reserves for its
    /// own tables ("object name reserved for internal use").
    fn quote_identifier(&self, ident: &str) -> Result<String> {
        if ident
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("sqlite_"))
        {
            return Err(Error::config(format!(
                "identifier {ident:?} starts with \"sqlite_\", which SQLite reserves for its own \
                 tables"
            )));
        }
        quote_identifier_with(ident, '"', MAX_IDENTIFIER_BYTES)
    }

    fn placeholder(&self, _index: usize) -> String {
        "?".to_owned()
    }

    /// `BEGIN DEFERRED` (the default), `BEGIN IMMEDIATE` or `BEGIN EXCLUSIVE`, from
    /// [`TxOptions::sqlite`].
    ///
    /// Every isolation level is accepted: SQLite transactions are serializable, which meets
    /// any level asked for. Read-only is honoured by the connection (`PRAGMA query_only`
    /// for the transaction's duration), not by this statement. DEFERRABLE is accepted only
    /// with read-only, where it holds trivially: a read-only SQLite transaction never
    /// fails to serialize.
    fn begin_sql(&self, opts: &TxOptions) -> Result<String> {
        if opts.is_deferrable() && opts.access() != Some(AccessMode::ReadOnly) {
            return Err(Error::unsupported(
                "SQLite has no DEFERRABLE read-write transactions: DEFERRABLE only means \
                 something for a read-only transaction (which on SQLite never fails to \
                 serialize); add read_only() or drop deferrable()",
            ));
        }
        let behavior = opts.sqlite().unwrap_or(SqliteBehavior::Deferred);
        Ok(format!("BEGIN {}", behavior.as_sql()))
    }

    fn row_lock_clause(&self, lock: &RowLock) -> Result<String> {
        Err(Error::unsupported(format!(
            "SQLite has no row locks, so {lock:?} cannot be rendered (SELECT … FOR UPDATE is \
             not SQLite syntax); begin the transaction with \
             TxOptions::new().sqlite_behavior(SqliteBehavior::Immediate), which takes the \
             database's write lock at BEGIN so no other connection can write until it ends"
        )))
    }

    /// SQLite locks the whole database, never one table, and has one lock that keeps
    /// writers out: the database write lock, which admits plain readers, blocks writers
    /// and conflicts with itself — PostgreSQL's SHARE ROW EXCLUSIVE and EXCLUSIVE (which
    /// differ only over row locks, which SQLite has not). Those two modes take it now, with
    /// a write that touches no row (`DELETE FROM t WHERE 0`); every other mode would be
    /// rendered stronger or weaker than it names, so it is Unsupported with what to use
    /// instead. NOWAIT is Unsupported too: the wait is the connection's busy_timeout.
    fn table_lock_sql(&self, table: &str, lock: &TableLock) -> Result<Vec<String>> {
        table_lock::refuse_mode(table, lock.mode)?;
        if lock.nowait {
            return Err(Error::unsupported(format!(
                "SQLite cannot take a lock with NOWAIT (asked on {table:?}): a lock waits up \
                 to the connection's busy_timeout; set busy_timeout=0 in the URL to fail at \
                 once"
            )));
        }
        Ok(vec![format!(
            "DELETE FROM {} WHERE 0",
            self.quote_identifier(table)?
        )])
    }
}

#[cfg(test)]
mod tests {
    use crate::{ErrorKind, IsolationLevel};

    use super::*;

    #[test]
    fn quoting_and_placeholders() {
        let d = SqliteDialect;
        assert_eq!(d.name(), "sqlite");
        assert_eq!(d.quote_identifier("a\"b").unwrap(), "\"a\"\"b\"");
        assert_eq!(d.quote_identifier("order").unwrap(), "\"order\"");
        assert!(d.quote_identifier(&"x".repeat(1024)).is_ok());
        assert_eq!(
            d.quote_identifier(&"x".repeat(1025)).unwrap_err().kind(),
            ErrorKind::Config
        );
        assert!(d.quote_identifier("").is_err());
        assert_eq!(d.placeholder(1), "?");
        assert_eq!(d.placeholder(7), "?");
        assert_eq!(d.savepoint_sql("sp1").unwrap(), "SAVEPOINT \"sp1\"");
        assert_eq!(
            d.release_savepoint_sql("sp1").unwrap(),
            "RELEASE SAVEPOINT \"sp1\""
        );
        assert_eq!(
            d.rollback_to_savepoint_sql("sp1").unwrap(),
            "ROLLBACK TO SAVEPOINT \"sp1\""
        );
    }

    #[test]
    fn begin_statements() {
        let d = SqliteDialect;
        assert_eq!(d.begin_sql(&TxOptions::new()).unwrap(), "BEGIN DEFERRED");
        for (behavior, sql) in [
            (SqliteBehavior::Deferred, "BEGIN DEFERRED"),
            (SqliteBehavior::Immediate, "BEGIN IMMEDIATE"),
            (SqliteBehavior::Exclusive, "BEGIN EXCLUSIVE"),
        ] {
            let opts = TxOptions::new().sqlite_behavior(behavior);
            assert_eq!(d.begin_sql(&opts).unwrap(), sql);
            assert_eq!(d.begin_sql(&opts.read_only()).unwrap(), sql);
        }
        for level in IsolationLevel::ALL {
            let opts = TxOptions::new().isolation(level);
            assert_eq!(d.begin_sql(&opts).unwrap(), "BEGIN DEFERRED", "{level}");
        }
        let ro_deferrable = TxOptions::new().read_only().deferrable();
        assert_eq!(d.begin_sql(&ro_deferrable).unwrap(), "BEGIN DEFERRED");
        let e = d.begin_sql(&TxOptions::new().deferrable()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.to_string().contains("read_only()"), "{e}");
    }

    #[test]
    fn locks_are_unsupported_with_the_alternative() {
        let d = SqliteDialect;
        for lock in [
            RowLock::update(),
            RowLock::share().nowait(),
            RowLock::update().skip_locked(),
        ] {
            let e = d.row_lock_clause(&lock).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported);
            assert!(e.to_string().contains("Immediate"), "{e}");
        }
        let e = d
            .table_lock_sql("accounts", &TableLock::access_exclusive())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(
            e.to_string()
                .contains("sqlite_behavior(SqliteBehavior::Exclusive)")
        );
        let e = d
            .table_lock_sql("accounts", &TableLock::exclusive().nowait())
            .unwrap_err();
        assert!(e.to_string().contains("busy_timeout=0"), "{e}");
    }

    /// Each constructor renders the write lock only where SQLite's write lock is the mode
    /// it names; every other mode is refused with what to use instead.
    #[test]
    fn each_table_lock_mode_renders_what_it_names() {
        let d = SqliteDialect;
        for lock in [TableLock::share_row_exclusive(), TableLock::exclusive()] {
            assert_eq!(
                d.table_lock_sql("acc\"ounts", &lock).unwrap(),
                ["DELETE FROM \"acc\"\"ounts\" WHERE 0"]
            );
        }
        for (lock, hint) in [
            (TableLock::access_share(), "TableLock::exclusive()"),
            (TableLock::row_share(), "TableLock::exclusive()"),
            (TableLock::row_exclusive(), "TableLock::exclusive()"),
            (
                TableLock::share_update_exclusive(),
                "TableLock::exclusive()",
            ),
            (TableLock::share(), "TableLock::exclusive()"),
            (TableLock::access_exclusive(), "SqliteBehavior::Exclusive"),
        ] {
            let e = d.table_lock_sql("t", &lock).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{lock:?}");
            let text = e.to_string();
            assert!(text.contains(lock.mode.as_sql()), "{text}");
            assert!(text.contains(hint), "{text}");
        }
    }
}
