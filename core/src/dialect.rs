//! What differs in SQL text between backends: identifier quoting, placeholders, the BEGIN
//! statement, savepoints, lock clauses, and which SQL flavor entity statements are rendered
//! in.

use crate::error::{Error, Result};
use crate::isolation::TxOptions;
use crate::lock::{RowLock, TableLock};

/// The family of SQL a dialect speaks, which picks the sea-query builder that renders
/// entity statements (DDL, INSERT, UPDATE, DELETE, SELECT) for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlFlavor {
    /// PostgreSQL: `"quoted"` identifiers, `$n` placeholders.
    Postgres,
    /// MySQL and MariaDB: `` `quoted` `` identifiers, `?` placeholders.
    MySql,
    /// SQLite: `"quoted"` identifiers, `?` placeholders.
    Sqlite,
}

impl SqlFlavor {
    /// The flavor of a dialect named `name` (`"postgres"`, `"mysql"`, `"mariadb"`,
    /// `"sqlite"`), or `None` for any other name.
    pub fn from_name(name: &str) -> Option<SqlFlavor> {
        match name {
            "postgres" => Some(SqlFlavor::Postgres),
            "mysql" | "mariadb" => Some(SqlFlavor::MySql),
            "sqlite" => Some(SqlFlavor::Sqlite),
            _ => None,
        }
    }
}

/// The SQL dialect of a backend. Object-safe, so a URL-chosen connection can hand out its
/// dialect as `&dyn Dialect`.
pub trait Dialect: Send + Sync + 'static {
    /// The backend's name: `"sqlite"`, `"postgres"`, `"mysql"`, `"mariadb"`.
    fn name(&self) -> &'static str;

    /// Quotes an identifier (a table, column or savepoint name) so it is always read as
    /// one name, or refuses it with a Config error naming the rule it broke.
    fn quote_identifier(&self, ident: &str) -> Result<String>;

    /// The placeholder for the `index`-th parameter (1-based): `?` or `$1`.
    fn placeholder(&self, index: usize) -> String;

    /// The statement that starts a transaction with `opts`, or Unsupported when the
    /// backend cannot honour one of them.
    fn begin_sql(&self, opts: &TxOptions) -> Result<String>;

    /// `SAVEPOINT <name>`, the name validated and quoted.
    fn savepoint_sql(&self, name: &str) -> Result<String> {
        Ok(format!("SAVEPOINT {}", self.quote_identifier(name)?))
    }

    /// `RELEASE SAVEPOINT <name>`.
    fn release_savepoint_sql(&self, name: &str) -> Result<String> {
        Ok(format!(
            "RELEASE SAVEPOINT {}",
            self.quote_identifier(name)?
        ))
    }

    /// `ROLLBACK TO SAVEPOINT <name>`.
    fn rollback_to_savepoint_sql(&self, name: &str) -> Result<String> {
        Ok(format!(
            "ROLLBACK TO SAVEPOINT {}",
            self.quote_identifier(name)?
        ))
    }

    /// The clause appended to a SELECT for `lock` (`FOR UPDATE SKIP LOCKED`, …), or
    /// Unsupported where the server cannot honour it.
    fn row_lock_clause(&self, lock: &RowLock) -> Result<String>;

    /// The statements that lock `table` in a transaction, or Unsupported.
    fn table_lock_sql(&self, table: &str, lock: &TableLock) -> Result<Vec<String>>;

    /// The SQL flavor entity statements are rendered in; `None` when txkit cannot render
    /// entity statements for this dialect (entity operations then answer Unsupported). The
    /// default reads [`name`](Self::name): `"postgres"`, `"mysql"` / `"mariadb"`,
    /// `"sqlite"`.
    fn sql_flavor(&self) -> Option<SqlFlavor> {
        SqlFlavor::from_name(self.name())
    }

    /// Whether `INSERT … RETURNING` works, so a generated key comes back with the insert
    /// itself. The default says yes for PostgreSQL and SQLite (3.35 and later; txkit bundles
    /// a newer one) and no for the MySQL flavor, where a dialect that knows its server says
    /// yes for MariaDB 10.5 and later. Without it, the key is read with `SELECT
    /// LAST_INSERT_ID()` in the same session.
    fn supports_insert_returning(&self) -> bool {
        matches!(
            self.sql_flavor(),
            Some(SqlFlavor::Postgres | SqlFlavor::Sqlite)
        )
    }

    /// Whether DDL (CREATE / DROP TABLE) takes part in a transaction. MySQL and MariaDB
    /// commit the open transaction before and after DDL, so txkit refuses DDL inside a
    /// transaction there (run it on a connection, outside a transaction).
    fn transactional_ddl(&self) -> bool {
        matches!(
            self.sql_flavor(),
            Some(SqlFlavor::Postgres | SqlFlavor::Sqlite)
        )
    }

    /// The query that reads, in the same session, the key the last INSERT generated, for
    /// an entity insert where [`supports_insert_returning`](Self::supports_insert_returning)
    /// says no. The default by flavor: `SELECT LAST_INSERT_ID()`, `SELECT lastval()`,
    /// `SELECT last_insert_rowid()`; `None` without a flavor.
    fn last_insert_id_sql(&self) -> Option<&'static str> {
        Some(match self.sql_flavor()? {
            SqlFlavor::MySql => "SELECT LAST_INSERT_ID()",
            SqlFlavor::Postgres => "SELECT lastval()",
            SqlFlavor::Sqlite => "SELECT last_insert_rowid()",
        })
    }

    /// Whether OFFSET is accepted only after a LIMIT (MySQL, SQLite): a query with an
    /// offset and no limit then gets the largest LIMIT the server takes. The default says
    /// yes for every flavor but PostgreSQL.
    fn offset_needs_limit(&self) -> bool {
        self.sql_flavor() != Some(SqlFlavor::Postgres)
    }

    /// Whether a locking read (FOR UPDATE and the rest) is met by the database's write
    /// lock, taken when the transaction begins, instead of a row-lock clause: SQLite, which
    /// has no row locks. The default says yes for the SQLite flavor.
    fn locks_rows_by_write_lock(&self) -> bool {
        self.sql_flavor() == Some(SqlFlavor::Sqlite)
    }
}

/// Quotes `ident` between `quote` characters, doubling any `quote` inside it, after checking
/// it is a name the server can store without change: not empty, no NUL, at most `max_bytes`
/// bytes (servers silently truncate longer names, which would make two names one).
pub fn quote_identifier_with(ident: &str, quote: char, max_bytes: usize) -> Result<String> {
    if ident.is_empty() {
        return Err(Error::config("an identifier must not be empty"));
    }
    if ident.contains('\0') {
        return Err(Error::config(format!(
            "identifier {ident:?} contains a NUL character, which no database accepts in a name"
        )));
    }
    if ident.len() > max_bytes {
        return Err(Error::config(format!(
            "identifier {ident:?} is {} bytes long; this database accepts at most {max_bytes} \
             and would truncate it",
            ident.len()
        )));
    }
    let mut out = String::with_capacity(ident.len() + 2);
    out.push(quote);
    for c in ident.chars() {
        if c == quote {
            out.push(quote);
        }
        out.push(c);
    }
    out.push(quote);
    Ok(out)
}

/// Checks a caller-chosen savepoint name: 1 to 63 characters of ASCII letters, digits and
/// `_`, not starting with a digit. Names are quoted as well; this rule keeps them portable
/// across all three backends and readable in server logs.
pub fn validate_savepoint_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.as_bytes()[0].is_ascii_digit()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "invalid savepoint name {name:?}: use 1 to 63 ASCII letters, digits or '_', \
             not starting with a digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_the_quote() {
        assert_eq!(
            quote_identifier_with("a\"b", '"', 63).expect("q"),
            "\"a\"\"b\""
        );
        assert_eq!(quote_identifier_with("a`b", '`', 64).expect("q"), "`a``b`");
        assert!(quote_identifier_with("", '"', 63).is_err());
        assert!(quote_identifier_with("a\0b", '"', 63).is_err());
        assert!(quote_identifier_with(&"x".repeat(64), '"', 63).is_err());
    }

    #[test]
    fn flavors_from_names() {
        assert_eq!(SqlFlavor::from_name("postgres"), Some(SqlFlavor::Postgres));
        assert_eq!(SqlFlavor::from_name("mysql"), Some(SqlFlavor::MySql));
        assert_eq!(SqlFlavor::from_name("mariadb"), Some(SqlFlavor::MySql));
        assert_eq!(SqlFlavor::from_name("sqlite"), Some(SqlFlavor::Sqlite));
        assert_eq!(SqlFlavor::from_name("oracle"), None);
    }

    #[test]
    fn behaviour_by_dialect() {
        use crate::dialects::{postgres::PgDialect, sqlite::SqliteDialect};
        let (pg, sqlite) = (&PgDialect as &dyn Dialect, &SqliteDialect as &dyn Dialect);
        use crate::dialects::mysql::{MySqlDialect, ServerInfo};
        let mysql = &MySqlDialect::new(ServerInfo::mysql(8, 0, 36)) as &dyn Dialect;
        assert_eq!(pg.last_insert_id_sql(), Some("SELECT lastval()"));
        assert_eq!(mysql.last_insert_id_sql(), Some("SELECT LAST_INSERT_ID()"));
        assert_eq!(
            sqlite.last_insert_id_sql(),
            Some("SELECT last_insert_rowid()")
        );
        assert_eq!(
            [pg, mysql, sqlite].map(|d| d.offset_needs_limit()),
            [false, true, true]
        );
        assert_eq!(
            [pg, mysql, sqlite].map(|d| d.locks_rows_by_write_lock()),
            [false, false, true]
        );
    }

    #[test]
    fn savepoint_names() {
        for good in ["sp1", "_x", "Outer_2"] {
            validate_savepoint_name(good).expect(good);
        }
        for bad in ["", "1sp", "a b", "a;DROP", "x\"", &"y".repeat(64)] {
            let e = validate_savepoint_name(bad).expect_err(bad);
            assert!(e.to_string().contains("letters, digits"), "{e}");
        }
    }
}
