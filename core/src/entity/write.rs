//! INSERT, UPDATE and DELETE statements for an entity, rendered but not yet run: each
//! plan carries what the run needs to interpret the answer (generated columns, the key and
//! expected version for a StaleData error, the version to store on success).

use sea_query::{Alias, Expr, ExprTrait, IntoIden, MysqlQueryBuilder, Query, QuotedBuilder};

use super::bind::to_sea;
use super::fit::fit;
use super::key::{key_text, value_text};
use super::render::{self, Sql};
use super::{ColumnDef, Entity};
use crate::dialect::SqlFlavor;
use crate::error::{Error, Result};
use crate::value::Value;

/// A rendered INSERT.
#[derive(Debug)]
pub(crate) struct InsertPlan {
    pub(crate) sql: Sql,
    /// The auto-increment columns left out, whose values the database makes.
    pub(crate) generated: Vec<&'static str>,
    /// Whether the statement returns them (`RETURNING`); else they are read with
    /// `SELECT LAST_INSERT_ID()`.
    pub(crate) returning: bool,
    /// The version written, to store in the entity once the insert succeeded.
    pub(crate) version: Option<Value>,
}

/// A rendered UPDATE or DELETE of one row by primary key.
#[derive(Debug)]
pub(crate) struct RowWritePlan {
    pub(crate) sql: Sql,
    /// The table written.
    pub(crate) table: &'static str,
    /// The key, as text, for errors.
    pub(crate) key: String,
    /// The version the row must still have, as text; `None` when not versioned.
    pub(crate) expected: Option<String>,
    /// The version written (UPDATE of a versioned entity), to store on success.
    pub(crate) version: Option<Value>,
}

/// The entity's values, checked against its column list and fitted to their columns in
/// `flavor` (see `fit`).
pub(crate) fn values_of<E: Entity>(flavor: SqlFlavor, entity: &E) -> Result<Vec<Value>> {
    let values = entity.values();
    if values.len() == E::COLUMNS.len() {
        E::COLUMNS
            .iter()
            .zip(values)
            .map(|(column, value)| fit(flavor, E::TABLE, column, value))
            .collect()
    } else {
        Err(Error::config(format!(
            "{}: values() returned {} values for {} columns",
            E::TABLE,
            values.len(),
            E::COLUMNS.len()
        )))
    }
}

/// The version `next_version()` gives, which a versioned entity must, as it is written
/// to `column`.
fn next_version<E: Entity>(flavor: SqlFlavor, column: &ColumnDef, entity: &E) -> Result<Value> {
    let next = entity.next_version().ok_or_else(|| {
        Error::config(format!(
            "{} has a version column but next_version() returned None",
            E::TABLE
        ))
    })?;
    fit(flavor, E::TABLE, column, next)
}

/// INSERT of `entity`. An auto-increment column holding 0 or NULL is left out for the
/// database to fill; a versioned entity is written with its next version.
pub(crate) fn insert<E: Entity>(
    flavor: SqlFlavor,
    returning_ok: bool,
    entity: &E,
) -> Result<InsertPlan> {
    let values = values_of(flavor, entity)?;
    let version = match E::version_column() {
        Some(column) => Some(next_version(flavor, column, entity)?),
        None => None,
    };
    let mut columns = Vec::with_capacity(values.len());
    let mut row = Vec::with_capacity(values.len());
    let mut generated = Vec::new();
    for (column, value) in E::COLUMNS.iter().zip(values) {
        let value = match (&version, column.version) {
            (Some(v), true) => v.clone(),
            _ => value,
        };
        if column.auto_increment && matches!(value, Value::Null | Value::Int(0)) {
            generated.push(column.name);
            continue;
        }
        columns.push(Alias::new(column.name));
        row.push(Expr::val(to_sea(&value)));
    }
    if !returning_ok && generated.len() > 1 {
        return Err(Error::unsupported(format!(
            "{}: this server has no INSERT … RETURNING, and LAST_INSERT_ID() reports only \
             one generated column, but {} were left to the database",
            E::TABLE,
            generated.len()
        )));
    }
    let mut stmt = Query::insert();
    stmt.into_table(Alias::new(E::TABLE));
    if columns.is_empty() {
        stmt.or_default_values();
    } else {
        stmt.columns(columns)
            .values(row)
            .map_err(|e| Error::config(format!("{}: {e}", E::TABLE)))?;
    }
    let returning = returning_ok && !generated.is_empty();
    if returning {
        stmt.returning(Query::returning().columns(generated.iter().map(|c| Alias::new(*c))));
    }
    let mut sql = render::query(flavor, &stmt)?;
    if returning && flavor == SqlFlavor::MySql {
        // sea-query's MySQL builder has no RETURNING; MariaDB 10.5+ takes it after VALUES.
        sql.text.push_str(" RETURNING ");
        for (i, column) in generated.iter().enumerate() {
            if i > 0 {
                sql.text.push_str(", ");
            }
            MysqlQueryBuilder.prepare_iden(&Alias::new(*column).into_iden(), &mut sql.text);
        }
    }
    Ok(InsertPlan {
        sql,
        generated,
        returning,
        version,
    })
}

/// `pk = value` for every primary-key column of `table`, and the key's values.
fn key_condition(
    flavor: SqlFlavor,
    table: &str,
    columns: &[ColumnDef],
    values: &[Value],
) -> Result<(Vec<Expr>, Vec<Value>)> {
    let mut conditions = Vec::new();
    let mut key = Vec::new();
    for (column, value) in columns.iter().zip(values) {
        if !column.primary_key {
            continue;
        }
        if *value == Value::Null {
            return Err(Error::config(format!(
                "{table}: primary-key column {:?} is NULL",
                column.name
            )));
        }
        let fitted = fit(flavor, table, column, value.clone())?;
        conditions.push(Expr::col(Alias::new(column.name)).eq(to_sea(&fitted)));
        key.push(value.clone());
    }
    if key.is_empty() {
        return Err(Error::config(format!(
            "{table} has no primary-key column, so one row cannot be addressed"
        )));
    }
    Ok((conditions, key))
}

/// `version = current` (or `IS NULL`), and the current version as text.
fn version_condition(
    flavor: SqlFlavor,
    table: &str,
    column: &ColumnDef,
    current: &Value,
) -> Result<(Expr, String)> {
    let col = Expr::col(Alias::new(column.name));
    let condition = match fit(flavor, table, column, current.clone())? {
        Value::Null => col.is_null(),
        v => col.eq(to_sea(&v)),
    };
    Ok((condition, value_text(current)))
}

/// The version column's index, if `columns` has one.
fn version_index(columns: &[ColumnDef]) -> Option<usize> {
    columns.iter().position(|c| c.version)
}

/// One row of a table as a write addresses it: its metadata and the values its row holds
/// in the database (the key and the current version are read from them).
pub(crate) struct RowImage<'v> {
    pub(crate) table: &'static str,
    pub(crate) columns: &'static [ColumnDef],
    pub(crate) values: &'v [Value],
}

/// UPDATE of the row `row` addresses (by key, and by version when versioned), setting
/// `sets` (column index and value) and, when versioned, the version to `next`. `None` when
/// there is nothing to set (with `bump_alone`, a versioned row gets its version advanced
/// even then).
pub(crate) fn update_row(
    flavor: SqlFlavor,
    row: &RowImage<'_>,
    sets: impl IntoIterator<Item = (usize, Value)>,
    next: Option<Value>,
    bump_alone: bool,
) -> Result<Option<RowWritePlan>> {
    let (conditions, key) = key_condition(flavor, row.table, row.columns, row.values)?;
    let mut stmt = Query::update();
    stmt.table(Alias::new(row.table));
    let mut any = false;
    for (i, value) in sets {
        let value = fit(flavor, row.table, &row.columns[i], value)?;
        stmt.value(Alias::new(row.columns[i].name), Expr::val(to_sea(&value)));
        any = true;
    }
    let (mut expected, mut version, mut check) = (None, None, None);
    if let Some(v) = version_index(row.columns) {
        let next = next.ok_or_else(|| {
            Error::config(format!(
                "{} has a version column but next_version() returned None",
                row.table
            ))
        })?;
        if !any && !bump_alone {
            return Ok(None);
        }
        any = true;
        let next = fit(flavor, row.table, &row.columns[v], next)?;
        stmt.value(Alias::new(row.columns[v].name), Expr::val(to_sea(&next)));
        let (condition, current) =
            version_condition(flavor, row.table, &row.columns[v], &row.values[v])?;
        (expected, version, check) = (Some(current), Some(next), Some(condition));
    }
    if !any {
        return Ok(None);
    }
    for condition in conditions.into_iter().chain(check) {
        stmt.and_where(condition);
    }
    Ok(Some(RowWritePlan {
        sql: render::query(flavor, &stmt)?,
        table: row.table,
        key: key_text(&key),
        expected,
        version,
    }))
}

/// UPDATE of every column but the key (and the version, which is advanced) of the row with
/// `entity`'s key and, for a versioned entity, its current version. `None` when the entity
/// has no column to set.
pub(crate) fn update<E: Entity>(flavor: SqlFlavor, entity: &E) -> Result<Option<RowWritePlan>> {
    let values = values_of(flavor, entity)?;
    let next = match E::version_column() {
        Some(column) => Some(next_version(flavor, column, entity)?),
        None => None,
    };
    let sets: Vec<(usize, Value)> = E::COLUMNS
        .iter()
        .zip(&values)
        .enumerate()
        .filter(|(_, (c, _))| !c.primary_key && !c.version)
        .map(|(i, (_, v))| (i, v.clone()))
        .collect();
    let row = RowImage {
        table: E::TABLE,
        columns: E::COLUMNS,
        values: &values,
    };
    // A full update of a versioned entity advances the version even with nothing else to
    // set (an entity of only a key and a version).
    update_row(flavor, &row, sets, next, true)
}

/// DELETE of the row `row` addresses (by key, and by version when versioned).
pub(crate) fn delete_row(flavor: SqlFlavor, row: &RowImage<'_>) -> Result<RowWritePlan> {
    let (conditions, key) = key_condition(flavor, row.table, row.columns, row.values)?;
    let mut stmt = Query::delete();
    stmt.from_table(Alias::new(row.table));
    for condition in conditions {
        stmt.and_where(condition);
    }
    let mut expected = None;
    if let Some(v) = version_index(row.columns) {
        let (condition, current) =
            version_condition(flavor, row.table, &row.columns[v], &row.values[v])?;
        stmt.and_where(condition);
        expected = Some(current);
    }
    Ok(RowWritePlan {
        sql: render::query(flavor, &stmt)?,
        table: row.table,
        key: key_text(&key),
        expected,
        version: None,
    })
}

/// DELETE of the row with `entity`'s key and, for a versioned entity, its current version.
pub(crate) fn delete<E: Entity>(flavor: SqlFlavor, entity: &E) -> Result<RowWritePlan> {
    let values = values_of(flavor, entity)?;
    delete_row(
        flavor,
        &RowImage {
            table: E::TABLE,
            columns: E::COLUMNS,
            values: &values,
        },
    )
}
