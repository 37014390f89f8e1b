//! SELECT statements for an entity: by primary key, or by [`Filter`], ordered by the key.
//!
//! [`select_statement`] is the base a fuller query builder (order, limit, row locks) adds
//! to: every column of the entity named, from its table, under a condition.

use sea_query::{Alias, Condition, Expr, ExprTrait, Order, Query, SelectStatement};

use super::bind::to_sea;
use super::filter::Filter;
use super::filter_sql;
use super::fit::{fit, fit_filter};
use super::render::{self, Sql};
use super::{ColumnDef, Entity};
use crate::dialect::SqlFlavor;
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

/// The row of `E` with primary key `key` (values in key-column order).
pub(crate) fn find<E: Entity>(flavor: SqlFlavor, key: &[Value]) -> Result<Sql> {
    let columns: Vec<&ColumnDef> = E::primary_key().collect();
    if columns.is_empty() || columns.len() != key.len() {
        return Err(Error::config(format!(
            "{} has {} primary-key column(s), but {} key value(s) were given",
            E::TABLE,
            columns.len(),
            key.len()
        )));
    }
    let mut condition = Condition::all();
    for (column, value) in columns.iter().zip(key) {
        let value = fit(flavor, E::TABLE, column, value.clone())?;
        condition = condition.add(Expr::col(Alias::new(column.name)).eq(to_sea(&value)));
    }
    render::query(flavor, &select_statement::<E>(Some(condition)))
}

/// The rows of `E` matching `filter` (all rows for `None`), ordered by primary key.
pub(crate) fn select<E: Entity>(flavor: SqlFlavor, filter: Option<&Filter>) -> Result<Sql> {
    let condition = match filter {
        Some(filter) => {
            check_columns::<E>(filter)?;
            Some(filter_sql::condition(&fit_filter::<E>(flavor, filter)?)?)
        }
        None => None,
    };
    let mut stmt = select_statement::<E>(condition);
    for column in E::primary_key() {
        stmt.order_by(Alias::new(column.name), Order::Asc);
    }
    render::query(flavor, &stmt)
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
