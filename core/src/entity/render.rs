//! Picks the sea-query builder for a dialect's [`SqlFlavor`] and turns built statements
//! into SQL text plus txkit parameters.

use sea_query::{
    MysqlQueryBuilder, PostgresQueryBuilder, QueryStatementBuilder, SchemaStatementBuilder,
    SqliteQueryBuilder,
};

use super::bind;
use crate::dialect::{Dialect, SqlFlavor};
use crate::error::{Error, Result};
use crate::value::Value;

/// A rendered statement: SQL text with placeholders (`$n` for PostgreSQL, `?` elsewhere)
/// and the values bound to them, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sql {
    /// The statement text.
    pub(crate) text: String,
    /// The bound values.
    pub(crate) params: Vec<Value>,
}

/// The flavor to render for `dialect`, or Unsupported.
pub(crate) fn flavor_of(dialect: &dyn Dialect) -> Result<SqlFlavor> {
    dialect.sql_flavor().ok_or_else(|| {
        Error::unsupported(format!(
            "txkit cannot render entity statements for the {:?} dialect: its sql_flavor() \
             names no SQL flavor (PostgreSQL, MySQL or SQLite)",
            dialect.name()
        ))
    })
}

/// Renders a query (INSERT, UPDATE, DELETE, SELECT) with every value as a parameter.
pub(crate) fn query(flavor: SqlFlavor, statement: &impl QueryStatementBuilder) -> Result<Sql> {
    let (text, values) = match flavor {
        SqlFlavor::Postgres => statement.build_any(&PostgresQueryBuilder),
        SqlFlavor::MySql => statement.build_any(&MysqlQueryBuilder),
        SqlFlavor::Sqlite => statement.build_any(&SqliteQueryBuilder),
    };
    let params = values
        .0
        .into_iter()
        .map(bind::from_sea)
        .collect::<Result<_>>()?;
    Ok(Sql { text, params })
}

/// Renders a schema statement (CREATE / DROP TABLE); defaults are inline literals.
pub(crate) fn schema(flavor: SqlFlavor, statement: &impl SchemaStatementBuilder) -> String {
    match flavor {
        SqlFlavor::Postgres => statement.build(PostgresQueryBuilder),
        SqlFlavor::MySql => statement.build(MysqlQueryBuilder),
        SqlFlavor::Sqlite => statement.build(SqliteQueryBuilder),
    }
}

/// Checks every name with the dialect's own rules (not empty, no NUL, not longer than the
/// server keeps); sea-query does the quoting.
pub(crate) fn check_names<'a>(
    dialect: &dyn Dialect,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    for name in names {
        dialect.quote_identifier(name)?;
    }
    Ok(())
}
