//! The entity operations behind `insert`, `update`, `delete`, `find`, `select`,
//! `create_table` and `drop_table` on [`Transaction`](crate::Transaction) and
//! [`ManagedConnection`](crate::ManagedConnection): render, run, interpret the answer.

use super::exec::Executor;
use super::render::{self, check_names};
use super::write::{self, RowWritePlan};
use super::{ColumnDef, Entity, read};
use crate::dialect::{Dialect, SqlFlavor};
use crate::error::{Error, ErrorKind, Result};
use crate::session::Select;
use crate::value::Value;

/// The flavor to render `E`'s statements in, after checking its names with the dialect.
pub(crate) fn flavor_for<E: Entity>(dialect: &dyn Dialect) -> Result<SqlFlavor> {
    flavor_for_table(dialect, E::TABLE, E::COLUMNS)
}

/// The flavor to render a table's statements in, after checking its names with the
/// dialect.
pub(crate) fn flavor_for_table(
    dialect: &dyn Dialect,
    table: &str,
    columns: &[ColumnDef],
) -> Result<SqlFlavor> {
    check_names(
        dialect,
        std::iter::once(table).chain(columns.iter().map(|c| c.name)),
    )?;
    render::flavor_of(dialect)
}

pub(crate) async fn insert<X: Executor, E: Entity>(x: &mut X, entity: &mut E) -> Result<()> {
    let plan = {
        let dialect = x.sql_dialect();
        let flavor = flavor_for::<E>(dialect)?;
        write::insert(flavor, dialect.supports_insert_returning(), entity)?
    };
    let generated: Vec<Value> = if plan.returning {
        let rows = x.fetch(&plan.sql.text, &plan.sql.params).await?;
        let [row] = rows.as_slice() else {
            return Err(Error::new(
                ErrorKind::Database,
                format!(
                    "INSERT … RETURNING into {} returned {} rows, not one",
                    E::TABLE,
                    rows.len()
                ),
            ));
        };
        (0..plan.generated.len())
            .map(|i| row.value(i).cloned())
            .collect::<Result<_>>()?
    } else {
        x.run(&plan.sql.text, &plan.sql.params).await?;
        if plan.generated.is_empty() {
            Vec::new()
        } else {
            let sql = x.sql_dialect().last_insert_id_sql().ok_or_else(|| {
                Error::unsupported(format!(
                    "the {} dialect has neither INSERT … RETURNING nor a query for the last \
                     generated key, so {} cannot be inserted with a generated key",
                    x.sql_dialect().name(),
                    E::TABLE
                ))
            })?;
            let rows = x.fetch(sql, &[]).await?;
            let row = rows.first().ok_or_else(|| {
                Error::new(
                    ErrorKind::Database,
                    "the generated key query returned no row",
                )
            })?;
            vec![row.value(0)?.clone()]
        }
    };
    for (column, value) in plan.generated.iter().zip(generated) {
        entity.set_generated(column, value)?;
    }
    if let Some(version) = plan.version {
        entity.set_version(version)?;
    }
    Ok(())
}

/// The error for an UPDATE or DELETE that matched no row: StaleData for a versioned row.
pub(crate) fn no_row(plan: &RowWritePlan, what: &str) -> Error {
    match &plan.expected {
        Some(expected) => Error::stale(plan.table, &plan.key, expected),
        None => Error::new(
            ErrorKind::Database,
            format!(
                "no row of table {} has primary key {}, so nothing was {what}",
                plan.table, plan.key
            ),
        ),
    }
}

/// The error of a failed versioned write. A serialization failure there is the optimistic
/// race lost, reported by the server before the version could be compared (SQLite's
/// SQLITE_BUSY_SNAPSHOT: another connection wrote since this transaction read; PostgreSQL's
/// "concurrent update" under REPEATABLE READ): it becomes StaleData naming the row, so a
/// lost race is StaleData on every backend. The server's code stays on the error.
pub(crate) fn conflict(e: Error, plan: &RowWritePlan) -> Error {
    match &plan.expected {
        Some(expected) if e.kind() == ErrorKind::SerializationFailure => {
            e.into_stale(plan.table, &plan.key, expected)
        }
        _ => e,
    }
}

/// Runs an UPDATE or DELETE plan of one row; an error when it matched none.
pub(crate) async fn write_row<X: Executor>(
    x: &mut X,
    plan: &RowWritePlan,
    what: &str,
) -> Result<()> {
    match x.run(&plan.sql.text, &plan.sql.params).await {
        Ok(0) => Err(no_row(plan, what)),
        Ok(_) => Ok(()),
        Err(e) => Err(conflict(e, plan)),
    }
}

pub(crate) async fn update<X: Executor, E: Entity>(x: &mut X, entity: &mut E) -> Result<()> {
    let flavor = flavor_for::<E>(x.sql_dialect())?;
    let Some(plan) = write::update(flavor, entity)? else {
        return Ok(());
    };
    write_row(x, &plan, "updated").await?;
    if let Some(version) = plan.version {
        entity.set_version(version)?;
    }
    Ok(())
}

pub(crate) async fn delete<X: Executor, E: Entity>(x: &mut X, entity: &E) -> Result<()> {
    let flavor = flavor_for::<E>(x.sql_dialect())?;
    let plan = write::delete(flavor, entity)?;
    write_row(x, &plan, "deleted").await
}

pub(crate) async fn find<X: Executor, E: Entity>(x: &mut X, key: Vec<Value>) -> Result<Option<E>> {
    let select = Select::<E>::new().filter(read::key_filter::<E>(key)?);
    let sql = select.render(x.sql_dialect())?;
    let rows = x.fetch(&sql.text, &sql.params).await?;
    match rows.as_slice() {
        [] => Ok(None),
        [row] => E::from_row(row).map(Some),
        more => Err(Error::new(
            ErrorKind::Database,
            format!(
                "{} rows of table {} have the primary key that was looked up; is it declared \
                 as the table's primary key?",
                more.len(),
                E::TABLE
            ),
        )),
    }
}

/// Refuses DDL inside a transaction where the server would commit that transaction.
fn ddl_allowed<X: Executor>(dialect: &dyn Dialect) -> Result<()> {
    if X::IN_TRANSACTION && !dialect.transactional_ddl() {
        return Err(Error::unsupported(format!(
            "{} commits the open transaction before running CREATE or DROP TABLE, which would \
             silently end this one; run DDL on a connection outside a transaction",
            dialect.name()
        )));
    }
    Ok(())
}

pub(crate) async fn create_table<X: Executor, E: Entity>(x: &mut X) -> Result<()> {
    let sql = {
        let dialect = x.sql_dialect();
        ddl_allowed::<X>(dialect)?;
        E::table().create_table_sql(dialect, true)?
    };
    x.run(&sql, &[]).await.map(drop)
}

pub(crate) async fn drop_table<X: Executor, E: Entity>(x: &mut X) -> Result<()> {
    let sql = {
        let dialect = x.sql_dialect();
        ddl_allowed::<X>(dialect)?;
        E::table().drop_table_sql(dialect, true)?
    };
    x.run(&sql, &[]).await.map(drop)
}
