//! MySQL and MariaDB: [`MySqlDialect`], the SQL text each server accepts, rendered for the
//! [`ServerInfo`] a connection detected; and in [`codes`], the error numbers txkit acts on
//! with [`classify`], which maps a number to an [`ErrorKind`](crate::ErrorKind).

mod server;

pub mod codes;

pub use codes::{classify, mentions_nowait, needs_full_rollback};
pub use server::{ServerFlavor, ServerInfo};

use crate::{
    AccessMode, Dialect, Error, LockStrength, LockWait, Result, RowLock, TableLock, TableLockMode,
    TxOptions, quote_identifier_with,
};

/// Identifiers longer than this are truncated by the server; txkit refuses them instead.
const MAX_IDENTIFIER_BYTES: usize = 64;

/// The longest table file name (255 bytes, less the four of the `.frm` / `.ibd` suffix).
const MAX_FILE_NAME_BYTES: usize = 251;

/// The SQL dialect of one MySQL or MariaDB server.
///
/// Row locks (for [`Dialect::row_lock_clause`]):
///
/// | request | MySQL 8.0.1+ | MariaDB |
/// | --- | --- | --- |
/// | `Update` | `FOR UPDATE` | `FOR UPDATE` |
/// | `NoKeyUpdate` | `FOR UPDATE` (stronger) | `FOR UPDATE` (stronger) |
/// | `Share` | `FOR SHARE` | `LOCK IN SHARE MODE` |
/// | `KeyShare` | `FOR SHARE` (stronger) | `LOCK IN SHARE MODE` (stronger) |
/// | `of(t)` | `FOR UPDATE OF t` | Unsupported |
/// | `nowait()` | `NOWAIT` | `NOWAIT` (10.3+) |
/// | `skip_locked()` | `SKIP LOCKED` | `SKIP LOCKED` (10.6+) |
///
/// InnoDB has two row-lock strengths, exclusive and shared. PostgreSQL's in-between
/// strengths are rendered as the next *stronger* InnoDB lock: `NO KEY UPDATE` as
/// `FOR UPDATE`, `KEY SHARE` as a shared lock. Every row the caller meant to protect is
/// protected; the cost is that more concurrent lockers wait. A request is never rendered
/// weaker than asked: what a server cannot do (`OF` on MariaDB, `NOWAIT` or `SKIP LOCKED`
/// on servers before MySQL 8.0.1 / MariaDB 10.3 / 10.6) is an Unsupported error.
///
/// Table locks: see [`MySqlDialect::table_lock_sql`](Dialect::table_lock_sql) (always
/// Unsupported) and `MySqlConnection::with_table_locks` in txkit-mysql.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySqlDialect {
    server: ServerInfo,
}

impl MySqlDialect {
    /// The dialect of `server`.
    pub fn new(server: ServerInfo) -> Self {
        Self { server }
    }

    /// The server this dialect renders for.
    pub fn server(&self) -> &ServerInfo {
        &self.server
    }

    /// `LOCK TABLES a WRITE, b READ`: [`TableLock::share`] is `READ` (others may read and
    /// READ-lock, nobody writes — including this session), [`TableLock::access_exclusive`]
    /// is `WRITE` (nobody else reads or writes); every other mode is Unsupported, EXCLUSIVE
    /// included (READ would admit other lockers EXCLUSIVE blocks, WRITE would block the
    /// plain readers EXCLUSIVE admits). `nowait` must be asked of all tables or none (MariaDB 10.3+ only:
    /// it applies to the whole statement).
    ///
    /// LOCK TABLES commits any open transaction, and START TRANSACTION releases table locks:
    /// run it through `MySqlConnection::with_table_locks` (txkit-mysql), never inside a
    /// transaction.
    pub fn lock_tables_sql(&self, tables: &[(&str, TableLock)]) -> Result<String> {
        if tables.is_empty() {
            return Err(Error::config("LOCK TABLES needs at least one table"));
        }
        let nowait = tables.iter().filter(|(_, lock)| lock.nowait).count();
        if nowait != 0 && nowait != tables.len() {
            return Err(Error::unsupported(
                "NOWAIT applies to a whole LOCK TABLES statement on MariaDB: ask it of every \
                 table or of none",
            ));
        }
        if nowait != 0 && !self.server.supports_lock_tables_nowait() {
            return Err(Error::unsupported(format!(
                "{} has no LOCK TABLES … NOWAIT (MariaDB 10.3+ has)",
                self.server
            )));
        }
        let mut items = Vec::with_capacity(tables.len());
        for (table, lock) in tables {
            let mode = match lock.mode {
                TableLockMode::Share => "READ",
                TableLockMode::AccessExclusive => "WRITE",
                other => return Err(no_such_table_lock(other)),
            };
            items.push(format!("{} {mode}", self.quote_identifier(table)?));
        }
        let mut sql = format!("LOCK TABLES {}", items.join(", "));
        if nowait != 0 {
            sql.push_str(" NOWAIT");
        }
        Ok(sql)
    }
}

/// The Unsupported error for a mode `LOCK TABLES` has no lock for, naming the two it has.
fn no_such_table_lock(mode: TableLockMode) -> Error {
    Error::unsupported(format!(
        "MySQL/MariaDB have no table lock in PostgreSQL's {} mode: LOCK TABLES has READ \
         (TableLock::share(): others read, nobody writes) and WRITE \
         (TableLock::access_exclusive(): nobody else reads or writes); pick one, or lock \
         rows instead (SELECT … FOR UPDATE)",
        mode.as_sql()
    ))
}

impl Dialect for MySqlDialect {
    fn name(&self) -> &'static str {
        self.server.flavor().as_str()
    }

    /// Also refuses what MySQL and MariaDB refuse in a name (which would otherwise be a
    /// server error, not a Config one): trailing whitespace (error 1103/1166) and
    /// characters outside the Basic Multilingual Plane, such as emoji (error 1300).
    fn quote_identifier(&self, ident: &str) -> Result<String> {
        if ident.ends_with([' ', '\t', '\n', '\r', '\u{b}', '\u{c}']) {
            return Err(Error::config(format!(
                "identifier {ident:?} ends with whitespace, which MySQL and MariaDB refuse in names"
            )));
        }
        if ident.chars().any(|c| u32::from(c) > 0xFFFF) {
            return Err(Error::config(format!(
                "identifier {ident:?} has a character outside the Basic Multilingual Plane \
                 (e.g. an emoji), which MySQL and MariaDB refuse in names"
            )));
        }
        // A table is a file named after it, with every character other than ASCII letters,
        // digits and `_` written as `@` and four hex digits; the file system's 255-byte
        // limit (less the `.frm`/`.ibd` suffix) then refuses names MySQL itself would take.
        let file_name_bytes: usize = ident
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    1
                } else {
                    5
                }
            })
            .sum();
        if file_name_bytes > MAX_FILE_NAME_BYTES {
            return Err(Error::config(format!(
                "identifier {ident:?} would need a {file_name_bytes}-byte file name (MySQL and \
                 MariaDB encode each character other than letters, digits and _ in 5 bytes, \
                 and a table's file name may have at most {MAX_FILE_NAME_BYTES}); use a \
                 shorter name or fewer special characters"
            )));
        }
        quote_identifier_with(ident, '`', MAX_IDENTIFIER_BYTES)
    }

    fn placeholder(&self, _index: usize) -> String {
        "?".to_owned()
    }

    /// `SET TRANSACTION ISOLATION LEVEL …; START TRANSACTION [READ ONLY | READ WRITE]`, one
    /// text sent in one round trip. `SET TRANSACTION` without `SESSION` applies to the next
    /// transaction only, so nothing lingers on the connection.
    fn begin_sql(&self, opts: &TxOptions) -> Result<String> {
        if opts.is_deferrable() {
            return Err(Error::unsupported(
                "DEFERRABLE is a PostgreSQL option (for SERIALIZABLE READ ONLY); MySQL and \
                 MariaDB have no equivalent",
            ));
        }
        let mut sql = String::with_capacity(64);
        if let Some(level) = opts.isolation_level() {
            sql.push_str("SET TRANSACTION ISOLATION LEVEL ");
            sql.push_str(level.as_sql());
            sql.push_str("; ");
        }
        sql.push_str("START TRANSACTION");
        match opts.access() {
            Some(mode) if !self.server.supports_read_only_transactions() => {
                return Err(Error::unsupported(format!(
                    "{} cannot set a transaction's access mode ({mode:?}); MySQL 5.6.5 and \
                     MariaDB 10.0 can",
                    self.server
                )));
            }
            Some(AccessMode::ReadOnly) => sql.push_str(" READ ONLY"),
            Some(AccessMode::ReadWrite) => sql.push_str(" READ WRITE"),
            None => {}
        }
        Ok(sql)
    }

    fn row_lock_clause(&self, lock: &RowLock) -> Result<String> {
        let server = &self.server;
        let mut sql = match lock.strength {
            LockStrength::Update | LockStrength::NoKeyUpdate => String::from("FOR UPDATE"),
            LockStrength::Share | LockStrength::KeyShare if server.supports_for_share() => {
                String::from("FOR SHARE")
            }
            LockStrength::Share | LockStrength::KeyShare => String::from("LOCK IN SHARE MODE"),
        };
        if !lock.of.is_empty() && !server.supports_lock_of() {
            return Err(Error::unsupported(format!(
                "{server} cannot restrict a row lock to some tables (FOR UPDATE OF …; \
                 MySQL 8 can); lock the whole query, or select from one table"
            )));
        }
        sql.push_str(&super::lock_of_clause(self, &lock.of)?);
        match lock.wait {
            LockWait::Wait => {}
            LockWait::NoWait if server.supports_nowait() => sql.push_str(" NOWAIT"),
            LockWait::SkipLocked if server.supports_skip_locked() => {
                sql.push_str(" SKIP LOCKED");
            }
            LockWait::NoWait => {
                return Err(Error::unsupported(format!(
                    "{server} has no NOWAIT on locking reads (MySQL 8.0.1 and MariaDB 10.3 \
                     have)"
                )));
            }
            LockWait::SkipLocked => {
                return Err(Error::unsupported(format!(
                    "{server} has no SKIP LOCKED (MySQL 8.0.1 and MariaDB 10.6 have)"
                )));
            }
        }
        Ok(sql)
    }

    /// MariaDB 10.5 and later have `INSERT … RETURNING`; MySQL (through 8.x) does not, so
    /// a generated key is read there with `SELECT LAST_INSERT_ID()`.
    fn supports_insert_returning(&self) -> bool {
        self.server.is_mariadb() && self.server.version() >= (10, 5, 0)
    }

    /// Always Unsupported: `LOCK TABLES` commits the open transaction, so it cannot be a
    /// statement inside one. Use row locks (`SELECT … FOR UPDATE` over the rows, or the whole
    /// table), or run a unit of work under table locks with
    /// `Engine::with_table_locks` (txkit) or `MySqlConnection::with_table_locks`
    /// (txkit-mysql).
    fn table_lock_sql(&self, table: &str, _lock: &TableLock) -> Result<Vec<String>> {
        Err(Error::unsupported(format!(
            "MySQL/MariaDB cannot lock table {table:?} inside a transaction: LOCK TABLES \
             commits the open transaction. Lock rows instead (SELECT … FOR UPDATE, over the \
             whole table if need be), or run the work as a unit under LOCK TABLES, outside \
             any transaction: engine.with_table_locks(&[(table, lock)], |c| …) on a txkit \
             Engine, MySqlConnection::with_table_locks on a driver connection"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, IsolationLevel};

    fn mysql8() -> MySqlDialect {
        MySqlDialect::new(ServerInfo::mysql(8, 0, 36))
    }

    #[test]
    fn names_too_long_as_table_file_names_are_config_errors() {
        let d = mysql8();
        assert!(d.quote_identifier(&"a".repeat(64)).is_ok());
        assert!(
            d.quote_identifier(&"\"".repeat(50)).is_ok(),
            "250 bytes as a file name"
        );
        let e = d.quote_identifier(&"\"".repeat(51)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("file name"), "{e}");
    }
    fn mysql57() -> MySqlDialect {
        MySqlDialect::new(ServerInfo::mysql(5, 7, 44))
    }
    fn maria(minor: u16) -> MySqlDialect {
        MySqlDialect::new(ServerInfo::mariadb(10, minor, 0))
    }

    fn clause(d: &MySqlDialect, lock: RowLock) -> Result<String> {
        d.row_lock_clause(&lock)
    }

    #[test]
    fn basics() {
        let d = maria(11);
        assert_eq!(d.name(), "mariadb");
        assert_eq!(mysql8().name(), "mysql");
        assert_eq!(d.placeholder(3), "?");
        assert_eq!(d.quote_identifier("a`b").expect("q"), "`a``b`");
        assert!(d.quote_identifier(&"x".repeat(65)).is_err());
        assert_eq!(d.savepoint_sql("sp1").expect("sp"), "SAVEPOINT `sp1`");
        assert_eq!(
            d.rollback_to_savepoint_sql("sp1").expect("sp"),
            "ROLLBACK TO SAVEPOINT `sp1`"
        );
        assert_eq!(
            d.release_savepoint_sql("sp1").expect("sp"),
            "RELEASE SAVEPOINT `sp1`"
        );
    }

    #[test]
    fn insert_returning_by_server() {
        assert!(maria(11).supports_insert_returning());
        assert!(maria(5).supports_insert_returning());
        assert!(!maria(4).supports_insert_returning());
        assert!(!mysql8().supports_insert_returning());
        assert!(!mysql57().supports_insert_returning());
        assert!(!maria(11).transactional_ddl());
        assert_eq!(mysql8().sql_flavor(), Some(crate::SqlFlavor::MySql));
    }

    #[test]
    fn begin_statements() {
        for d in [mysql8(), maria(11)] {
            assert_eq!(
                d.begin_sql(&TxOptions::new()).expect("b"),
                "START TRANSACTION"
            );
            assert_eq!(
                d.begin_sql(&TxOptions::new().read_only()).expect("b"),
                "START TRANSACTION READ ONLY"
            );
            assert_eq!(
                d.begin_sql(&TxOptions::new().access_mode(AccessMode::ReadWrite))
                    .expect("b"),
                "START TRANSACTION READ WRITE"
            );
            for level in IsolationLevel::ALL {
                assert_eq!(
                    d.begin_sql(&TxOptions::new().isolation(level).read_only())
                        .expect("b"),
                    format!(
                        "SET TRANSACTION ISOLATION LEVEL {}; START TRANSACTION READ ONLY",
                        level.as_sql()
                    )
                );
            }
            let e = d
                .begin_sql(&TxOptions::new().deferrable())
                .expect_err("deferrable");
            assert_eq!(e.kind(), ErrorKind::Unsupported);
        }
    }

    #[test]
    fn row_locks_mysql8() {
        let d = mysql8();
        let ok = |lock| clause(&d, lock).expect("clause");
        assert_eq!(ok(RowLock::update()), "FOR UPDATE");
        assert_eq!(ok(RowLock::no_key_update()), "FOR UPDATE");
        assert_eq!(ok(RowLock::share()), "FOR SHARE");
        assert_eq!(ok(RowLock::key_share()), "FOR SHARE");
        assert_eq!(ok(RowLock::update().nowait()), "FOR UPDATE NOWAIT");
        assert_eq!(
            ok(RowLock::update().skip_locked()),
            "FOR UPDATE SKIP LOCKED"
        );
        assert_eq!(ok(RowLock::share().nowait()), "FOR SHARE NOWAIT");
        assert_eq!(ok(RowLock::share().skip_locked()), "FOR SHARE SKIP LOCKED");
        assert_eq!(
            ok(RowLock::update().of("accounts").of("a`b").skip_locked()),
            "FOR UPDATE OF `accounts`, `a``b` SKIP LOCKED"
        );
        assert_eq!(
            ok(RowLock::share().of("t").nowait()),
            "FOR SHARE OF `t` NOWAIT"
        );
    }

    #[test]
    fn row_locks_mariadb() {
        let d = maria(11);
        let ok = |lock| clause(&d, lock).expect("clause");
        assert_eq!(ok(RowLock::update()), "FOR UPDATE");
        assert_eq!(ok(RowLock::no_key_update()), "FOR UPDATE");
        assert_eq!(ok(RowLock::share()), "LOCK IN SHARE MODE");
        assert_eq!(ok(RowLock::key_share()), "LOCK IN SHARE MODE");
        assert_eq!(ok(RowLock::update().nowait()), "FOR UPDATE NOWAIT");
        assert_eq!(
            ok(RowLock::update().skip_locked()),
            "FOR UPDATE SKIP LOCKED"
        );
        assert_eq!(ok(RowLock::share().nowait()), "LOCK IN SHARE MODE NOWAIT");
        assert_eq!(
            ok(RowLock::share().skip_locked()),
            "LOCK IN SHARE MODE SKIP LOCKED"
        );
        let e = clause(&d, RowLock::update().of("t")).expect_err("of");
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn row_locks_older_servers() {
        let d = maria(5);
        assert_eq!(
            clause(&d, RowLock::update().nowait()).expect("nowait"),
            "FOR UPDATE NOWAIT"
        );
        let e = clause(&d, RowLock::update().skip_locked()).expect_err("skip");
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        let e = clause(&maria(2), RowLock::update().nowait()).expect_err("nowait");
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        let d = mysql57();
        assert_eq!(
            clause(&d, RowLock::share()).expect("share"),
            "LOCK IN SHARE MODE"
        );
        for lock in [
            RowLock::update().nowait(),
            RowLock::update().skip_locked(),
            RowLock::update().of("t"),
        ] {
            let e = clause(&d, lock).expect_err("5.7");
            assert_eq!(e.kind(), ErrorKind::Unsupported);
        }
    }

    #[test]
    fn table_locks() {
        for d in [mysql8(), maria(11)] {
            let e = d
                .table_lock_sql("t", &TableLock::exclusive())
                .expect_err("in tx");
            assert_eq!(e.kind(), ErrorKind::Unsupported);
            assert!(e.to_string().contains("engine.with_table_locks"), "{e}");
            assert_eq!(
                d.lock_tables_sql(&[
                    ("a", TableLock::access_exclusive()),
                    ("b", TableLock::share()),
                ])
                .expect("lock"),
                "LOCK TABLES `a` WRITE, `b` READ"
            );
            for mode in [
                TableLockMode::Exclusive,
                TableLockMode::AccessShare,
                TableLockMode::RowShare,
                TableLockMode::RowExclusive,
                TableLockMode::ShareUpdateExclusive,
                TableLockMode::ShareRowExclusive,
            ] {
                let e = d
                    .lock_tables_sql(&[("a", TableLock::new(mode))])
                    .expect_err("mode");
                assert_eq!(e.kind(), ErrorKind::Unsupported);
                assert!(e.to_string().contains(mode.as_sql()), "{e}");
                assert!(e.to_string().contains("access_exclusive()"), "{e}");
            }
            assert!(d.lock_tables_sql(&[]).is_err());
        }
        assert_eq!(
            maria(11)
                .lock_tables_sql(&[
                    ("a", TableLock::access_exclusive().nowait()),
                    ("b", TableLock::share().nowait())
                ])
                .expect("nowait"),
            "LOCK TABLES `a` WRITE, `b` READ NOWAIT"
        );
        let mixed = [
            ("a", TableLock::access_exclusive().nowait()),
            ("b", TableLock::share()),
        ];
        assert!(maria(11).lock_tables_sql(&mixed).is_err());
        let e = mysql8()
            .lock_tables_sql(&[("a", TableLock::access_exclusive().nowait())])
            .expect_err("mysql nowait");
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }
}
