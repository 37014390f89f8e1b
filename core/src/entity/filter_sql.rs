//! [`Filter`] trees as sea-query conditions: every column quoted by the builder, every
//! value a bound parameter.

use sea_query::{Alias, Condition, Expr, ExprTrait};

use super::bind::to_sea;
use super::filter::Filter;
use crate::error::{Error, Result};
use crate::value::Value;

/// The condition `filter` stands for. An operator outside `=`, `<>`, `<`, `<=`, `>`, `>=`
/// is a Config error (the typed column handles never make one). `= NULL` and `<> NULL`
/// (`Column::eq(None)`) mean IS NULL and IS NOT NULL, as they do in Rust.
pub(crate) fn condition(filter: &Filter) -> Result<Condition> {
    Ok(match filter {
        Filter::Compare {
            column,
            op,
            value: Value::Null,
        } if matches!(*op, "=" | "<>" | "!=") => {
            let col = Expr::col(Alias::new(*column));
            Condition::all().add(if *op == "=" {
                col.is_null()
            } else {
                col.is_not_null()
            })
        }
        Filter::Compare { column, op, value } => {
            let col = Expr::col(Alias::new(*column));
            let value = to_sea(value);
            Condition::all().add(match *op {
                "=" => col.eq(value),
                "<>" | "!=" => col.ne(value),
                "<" => col.lt(value),
                "<=" => col.lte(value),
                ">" => col.gt(value),
                ">=" => col.gte(value),
                other => {
                    return Err(Error::config(format!(
                        "filter on column {column:?} uses operator {other:?}; txkit renders \
                         =, <>, <, <=, > and >="
                    )));
                }
            })
        }
        // No value: FALSE (an empty `any`), not sea-query's `1 = 2` of two untyped
        // parameters, which PostgreSQL would have to guess types for.
        Filter::In { values, .. } if values.is_empty() => Condition::any(),
        Filter::In { column, values } => {
            Condition::all().add(Expr::col(Alias::new(*column)).is_in(values.iter().map(to_sea)))
        }
        Filter::IsNull { column, null } => {
            let col = Expr::col(Alias::new(*column));
            Condition::all().add(if *null {
                col.is_null()
            } else {
                col.is_not_null()
            })
        }
        Filter::And(all) => all
            .iter()
            .try_fold(Condition::all(), |acc, f| Ok(acc.add(condition(f)?)))?,
        Filter::Or(any) => any
            .iter()
            .try_fold(Condition::any(), |acc, f| Ok(acc.add(condition(f)?)))?,
        Filter::Not(inner) => condition(inner)?.not(),
    })
}

/// The names of the columns `filter` mentions, for checking against the entity.
pub(crate) fn columns(filter: &Filter, out: &mut Vec<&'static str>) {
    match filter {
        Filter::Compare { column, .. }
        | Filter::In { column, .. }
        | Filter::IsNull { column, .. } => out.push(column),
        Filter::And(list) | Filter::Or(list) => list.iter().for_each(|f| columns(f, out)),
        Filter::Not(inner) => columns(inner, out),
    }
}
