//! sea-orm's rows (sqlx rows underneath) as txkit [`Row`]s of [`Value`]s.
//!
//! Each column is read by its database type, as txkit's native backends read it: integers
//! as `Int`, floating point as `Float`, NUMERIC/DECIMAL as exact `Text`, character types as
//! `Text`, binary types as `Bytes`. A type txkit has no value for (dates, JSON, UUID, …) is
//! an Unsupported error that names the column and says what to do, never a guess.

use std::sync::Arc;

use sea_orm::QueryResult;
use sea_orm::sqlx::{self, Column as _, Row as _, TypeInfo as _, ValueRef as _};
use txkit_core::{Error, Result, Row, Value};

/// The rows of a result, all sharing one column list.
pub(crate) fn rows(results: Vec<QueryResult>) -> Result<Vec<Row>> {
    let mut out = Vec::with_capacity(results.len());
    let mut columns: Option<Arc<[String]>> = None;
    for result in &results {
        let names = columns.get_or_insert_with(|| result.column_names().into());
        out.push(Row::new(names.clone(), values(result)?));
    }
    Ok(out)
}

fn values(result: &QueryResult) -> Result<Vec<Value>> {
    if let Some(row) = result.try_as_pg_row() {
        return (0..row.len()).map(|i| pg_value(row, i)).collect();
    }
    if let Some(row) = result.try_as_mysql_row() {
        return (0..row.len()).map(|i| mysql_value(row, i)).collect();
    }
    if let Some(row) = result.try_as_sqlite_row() {
        return (0..row.len()).map(|i| sqlite_value(row, i)).collect();
    }
    Err(Error::unsupported(
        "txkit reads rows of sea-orm's sqlx drivers only (PostgreSQL, MySQL, SQLite)",
    ))
}

/// A column txkit cannot turn into a [`Value`].
fn unsupported(column: &str, type_name: &str) -> Error {
    Error::unsupported(format!(
        "column {column:?} has type {type_name}, which txkit's Value has no variant for; \
         cast it in SQL (for example to text), or read it with sea-orm's typed API on the \
         same transaction (tx.sea_orm())"
    ))
}

/// A decoding failure of column `i`.
fn decode_error(column: &str, e: sqlx::Error) -> Error {
    Error::new(
        txkit_core::ErrorKind::Database,
        format!("could not read column {column:?}: {e}"),
    )
    .with_source(e)
}

fn decimal<R>(row: &R, i: usize, column: &str) -> Result<Value>
where
    R: sqlx::Row,
    for<'r> sea_orm::prelude::Decimal: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    row.try_get::<sea_orm::prelude::Decimal, _>(i)
        .map(|d| Value::Text(d.to_string()))
        .map_err(|e| decode_error(column, e))
}

/// Column `i`'s name and declared type, or `None` when its value is NULL.
fn column<R>(row: &R, i: usize) -> Result<Option<(&str, &str)>>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
{
    let column = row.column(i);
    let name = column.name();
    let raw = row.try_get_raw(i).map_err(|e| decode_error(name, e))?;
    if raw.is_null() {
        return Ok(None);
    }
    Ok(Some((name, column.type_info().name())))
}

fn pg_value(row: &sqlx::postgres::PgRow, i: usize) -> Result<Value> {
    let Some((name, type_name)) = column(row, i)? else {
        return Ok(Value::Null);
    };
    let read = |e| decode_error(name, e);
    Ok(match type_name {
        "BOOL" => Value::Bool(row.try_get(i).map_err(read)?),
        "INT2" => Value::Int(row.try_get::<i16, _>(i).map_err(read)?.into()),
        "INT4" => Value::Int(row.try_get::<i32, _>(i).map_err(read)?.into()),
        "INT8" => Value::Int(row.try_get(i).map_err(read)?),
        "OID" => Value::Int(
            row.try_get::<sqlx::postgres::types::Oid, _>(i)
                .map_err(read)?
                .0
                .into(),
        ),
        "FLOAT4" => Value::Float(row.try_get::<f32, _>(i).map_err(read)?.into()),
        "FLOAT8" => Value::Float(row.try_get(i).map_err(read)?),
        "NUMERIC" => decimal(row, i, name)?,
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "UNKNOWN" | "CITEXT" => {
            Value::Text(row.try_get_unchecked(i).map_err(read)?)
        }
        "BYTEA" => Value::Bytes(row.try_get(i).map_err(read)?),
        "VOID" => Value::Null,
        other => return Err(unsupported(name, other)),
    })
}

fn mysql_value(row: &sqlx::mysql::MySqlRow, i: usize) -> Result<Value> {
    let Some((name, type_name)) = column(row, i)? else {
        return Ok(Value::Null);
    };
    let read = |e| decode_error(name, e);
    Ok(match type_name {
        "BOOLEAN" | "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => {
            Value::Int(row.try_get_unchecked(i).map_err(read)?)
        }
        t if t.ends_with(" UNSIGNED") => {
            let n: u64 = row.try_get_unchecked(i).map_err(read)?;
            i64::try_from(n).map_or_else(|_| Value::Text(n.to_string()), Value::Int)
        }
        "FLOAT" => Value::Float(row.try_get::<f32, _>(i).map_err(read)?.into()),
        "DOUBLE" => Value::Float(row.try_get(i).map_err(read)?),
        "DECIMAL" => decimal(row, i, name)?,
        "VARCHAR" | "CHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET"
        | "JSON" => Value::Text(row.try_get_unchecked(i).map_err(read)?),
        "VARBINARY" | "BINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BIT"
        | "GEOMETRY" => Value::Bytes(row.try_get_unchecked(i).map_err(read)?),
        "NULL" => Value::Null,
        other => return Err(unsupported(name, other)),
    })
}

fn sqlite_value(row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Value> {
    let name = row.column(i).name();
    let raw = row.try_get_raw(i).map_err(|e| decode_error(name, e))?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    // SQLite types values, not columns: read each by the type of what is stored.
    let stored = raw.type_info().name().to_owned();
    let read = |e| decode_error(name, e);
    Ok(match stored.as_str() {
        "INTEGER" | "BOOLEAN" | "INT8" => Value::Int(row.try_get_unchecked(i).map_err(read)?),
        "REAL" => Value::Float(row.try_get_unchecked(i).map_err(read)?),
        "TEXT" | "DATE" | "TIME" | "DATETIME" | "NUMERIC" => {
            Value::Text(row.try_get_unchecked(i).map_err(read)?)
        }
        "BLOB" => Value::Bytes(row.try_get_unchecked(i).map_err(read)?),
        other => return Err(unsupported(name, other)),
    })
}
