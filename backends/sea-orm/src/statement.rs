//! A txkit statement (SQL with `?` placeholders and [`Value`]s) as a sea-orm [`Statement`].

use std::cell::Cell;

use sea_orm::{DbBackend, Statement};
use txkit_core::dialects::placeholders;
use txkit_core::{Error, Result, Value};

use crate::placeholders as counting;

/// `sql` and `params` as a statement for `backend`.
///
/// sqlx binds every parameter with a type, and a NULL of the wrong type is an error on
/// PostgreSQL ("column is of type boolean but expression is of type bigint"). txkit's
/// `Value::Null` has no type, so on PostgreSQL it is written into the SQL as the literal
/// `NULL` — which the server types from its context, as it would an untyped parameter —
/// and the other parameters are numbered `$1, $2, …` around it. MySQL and SQLite convert a
/// NULL of any type, so they bind it.
///
/// A statement whose placeholders do not match the values is refused here (see
/// [`placeholders`](crate::placeholders)); sqlx would hang, lose the connection, or bind
/// NULL for a missing value.
pub(crate) fn statement(backend: DbBackend, sql: &str, params: &[Value]) -> Result<Statement> {
    let (statement, expected) = match backend {
        DbBackend::Postgres => {
            let (statement, expected) = postgres(sql, params);
            (statement, Some(expected))
        }
        DbBackend::MySql => (
            bound(backend, sql, params),
            Some(counting::count_mysql(sql)),
        ),
        DbBackend::Sqlite => (bound(backend, sql, params), counting::count_sqlite(sql)),
        // A backend sea-orm adds later: left to its driver.
        _ => (bound(backend, sql, params), None),
    };
    if let Some(expected) = expected.filter(|&n| n != params.len()) {
        return Err(Error::config(format!(
            "the statement takes {expected} parameter(s) but {} value(s) were given",
            params.len()
        )));
    }
    Ok(statement)
}

/// MySQL and SQLite: the SQL as it is, every value bound.
fn bound(backend: DbBackend, sql: &str, params: &[Value]) -> Statement {
    Statement::from_sql_and_values(backend, sql, params.iter().map(to_sea_value))
}

/// PostgreSQL: the SQL renumbered around literal NULLs, and how many values it takes (the
/// highest parameter the rewrite met), from the one scan.
fn postgres(sql: &str, params: &[Value]) -> (Statement, usize) {
    // Each bound parameter's new number; None for a NULL written into the SQL.
    let mut bound = 0;
    let numbers: Vec<Option<usize>> = params
        .iter()
        .map(|v| {
            (!matches!(v, Value::Null)).then(|| {
                bound += 1;
                bound - 1
            })
        })
        .collect();
    let takes = Cell::new(0);
    let sql = placeholders::rewrite_with(sql, |i| {
        takes.set(takes.get().max(i + 1));
        numbers.get(i).copied().unwrap_or(Some(i))
    });
    let values = params
        .iter()
        .filter(|v| !matches!(v, Value::Null))
        .map(to_sea_value);
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql.into_owned(), values);
    (statement, takes.get())
}

/// One parameter; a NULL (bound on MySQL and SQLite only) as text.
fn to_sea_value(value: &Value) -> sea_orm::Value {
    match value {
        Value::Null => sea_orm::Value::String(None),
        Value::Bool(b) => sea_orm::Value::Bool(Some(*b)),
        Value::Int(i) => sea_orm::Value::BigInt(Some(*i)),
        Value::Float(f) => sea_orm::Value::Double(Some(*f)),
        Value::Text(s) => sea_orm::Value::String(Some(s.clone())),
        Value::Bytes(b) => sea_orm::Value::Bytes(Some(b.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_gets_numbered_placeholders_and_literal_nulls() {
        let (s, takes) = postgres(
            "UPDATE t SET a = ?, b = ? WHERE c = ? AND d = '?'",
            &[Value::Int(1), Value::Null, Value::Bool(true)],
        );
        assert_eq!(
            s.sql,
            "UPDATE t SET a = $1, b = NULL WHERE c = $2 AND d = '?'"
        );
        assert_eq!(takes, 3);
        let values = s.values.expect("values").0;
        assert_eq!(
            values,
            vec![
                sea_orm::Value::BigInt(Some(1)),
                sea_orm::Value::Bool(Some(true))
            ]
        );
    }

    #[test]
    fn mysql_and_sqlite_bind_nulls() {
        let s = statement(DbBackend::MySql, "SELECT ?", &[Value::Null]).expect("one for one");
        assert_eq!(s.sql, "SELECT ?");
        let values = s.values.expect("values").0;
        assert_eq!(values, vec![sea_orm::Value::String(None)]);
    }

    #[test]
    fn postgres_counts_what_the_rewrite_met() {
        let three = [Value::Int(1), Value::Int(2), Value::Int(3)];
        assert_eq!(postgres("SELECT $1, $3, $1", &three).1, 3);
        assert_eq!(
            postgres("SELECT data ? 'k' FROM t WHERE id = $1", &three).1,
            1
        );
        assert_eq!(postgres("SELECT '?'", &three).1, 0);
        let err = statement(DbBackend::Postgres, "SELECT ?, ?", &three[..1])
            .expect_err("two placeholders, one value");
        assert_eq!(err.kind(), txkit_core::ErrorKind::Config, "{err}");
    }

    #[test]
    fn mysql_refuses_the_wrong_number_of_values() {
        let err = statement(
            DbBackend::MySql,
            "INSERT INTO t VALUES (?, ?)",
            &[Value::Int(1)],
        )
        .expect_err("two placeholders, one value");
        assert_eq!(err.kind(), txkit_core::ErrorKind::Config, "{err}");
    }
}
