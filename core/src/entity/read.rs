//! The pieces every entity SELECT is built from: every column of the entity named, from its
//! table, under a condition; the check that a filter names only the entity's columns; and
//! the filter that addresses one row by primary key. [`Select`](crate::Select) renders the
//! whole statement (order, limit, row locks) for every caller: sessions, transactions and
//! pooled connections.

use sea_query::{Alias, Condition, Query, SelectStatement};

use super::filter::Filter;
use super::filter_sql;
use super::{ColumnDef, Entity};
use crate::error::{Error, Result};
use crate::value::Value;

/// `SELECT <every column> FROM <table> [WHERE <condition>]`.
pub(crate) fn select_statement<E: Entity>(condition: Option<Condition>) -> SelectStatement {
    let mut stmt = Query::select();
    stmt.columns(E::COLUMNS.iter().map(|c| Alias::new(c.name)))
        .from(Alias::new(E::TABLE));
    if let Some(condition) = condition {
        stmt.cond_where(condition);
    }
    stmt
}

/// `pk1 = ? AND pk2 = ?`: the row of `E` with primary key `key` (values in key-column
/// order).
pub(crate) fn key_filter<E: Entity>(key: Vec<Value>) -> Result<Filter> {
    let columns: Vec<&ColumnDef> = E::primary_key().collect();
    if columns.is_empty() || columns.len() != key.len() {
        return Err(Error::config(format!(
            "{} has {} primary-key column(s), but {} key value(s) were given",
            E::TABLE,
            columns.len(),
            key.len()
        )));
    }
    let mut parts = columns
        .into_iter()
        .zip(key)
        .map(|(column, value)| Filter::compare(column.name, "=", value));
    let first = parts
        .next()
        .ok_or_else(|| Error::config(format!("{} has no primary key", E::TABLE)))?;
    Ok(parts.fold(first, Filter::and))
}

/// Refuses a filter on a column `E` does not have (a handle of another entity).
pub(crate) fn check_columns<E: Entity>(filter: &Filter) -> Result<()> {
    let mut used = Vec::new();
    filter_sql::columns(filter, &mut used);
    match used
        .into_iter()
        .find(|name| !E::COLUMNS.iter().any(|c| c.name == *name))
    {
        Some(name) => Err(Error::config(format!(
            "the filter names column {name:?}, which {} does not have",
            E::TABLE
        ))),
        None => Ok(()),
    }
}
