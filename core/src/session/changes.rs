//! Change tracking: at flush, every object of the identity map whose values differ from
//! what its row holds is written — only the changed columns, the version checked and
//! advanced. Updates of one shape (one table, the same columns set) go as one
//! `execute_many`: one round trip on PostgreSQL, one hop on SQLite.

use super::identity::{IdentityMap, Status};
use crate::dialect::SqlFlavor;
use crate::entity::ColumnDef;
use crate::entity::exec::Executor;
use crate::entity::fit::fit;
use crate::entity::ops::{self, flavor_for_table};
use crate::entity::render;
use crate::entity::write::{RowImage, RowWritePlan, update_row};
use crate::error::{Error, Result};
use crate::value::Value;

/// The columns of the object in `slot` that changed since its snapshot, or an error when a
/// key or version column was changed by hand.
fn changed_columns(map: &IdentityMap, slot: usize) -> Result<Vec<(usize, Value)>> {
    let Some(entry) = map.entry(slot) else {
        return Ok(Vec::new());
    };
    if entry.status != Status::Persistent {
        return Ok(Vec::new());
    }
    let table = entry.object.table();
    let columns = entry.object.columns();
    let now = entry.object.values();
    if now.len() != columns.len() || entry.snapshot.len() != columns.len() {
        return Err(Error::config(format!(
            "{table}: values() returned {} values for {} columns",
            now.len(),
            columns.len()
        )));
    }
    let mut sets = Vec::new();
    for (i, (column, (new, old))) in columns
        .iter()
        .zip(now.into_iter().zip(&entry.snapshot))
        .enumerate()
    {
        if same_values(std::slice::from_ref(&new), std::slice::from_ref(old)) {
            continue;
        }
        if column.primary_key {
            return Err(Error::config(format!(
                "the primary key column {:?} of a loaded {table} row was changed; a session \
                 does not move rows to another key: expunge() the object and add() a new one",
                column.name
            )));
        }
        if column.version {
            return Err(Error::config(format!(
                "the version column {:?} of a loaded {table} row was changed by hand; the \
                 session checks and advances it at flush, so leave it as loaded",
                column.name
            )));
        }
        sets.push((i, new));
    }
    Ok(sets)
}

/// Whether any object has changes to write.
pub(crate) fn any_changed(map: &IdentityMap) -> bool {
    map.slots().any(|slot| {
        !changed_columns(map, slot)
            .map(|c| c.is_empty())
            .unwrap_or(false)
    })
}

/// Updates of one shape: one table, the same columns set (and which of them to NULL), a
/// version compared with `=` or `IS NULL`. Its statement is rendered once, for the first
/// row; every row brings only its parameters.
struct Group {
    table: &'static str,
    sets: Vec<(usize, bool)>,
    version_null: bool,
    text: String,
    /// (slot, parameters, the version written).
    rows: Vec<(usize, Vec<Value>, Option<Value>)>,
}

/// One changed object's UPDATE, planned.
struct Planned {
    table: &'static str,
    columns: &'static [ColumnDef],
    sets: Vec<(usize, Value)>,
    next: Option<Value>,
}

impl Planned {
    /// The statement's shape, as [`Group`] keys it.
    fn shape(&self, snapshot: &[Value]) -> (Vec<(usize, bool)>, bool) {
        let sets = self
            .sets
            .iter()
            .map(|(i, v)| (*i, *v == Value::Null))
            .collect();
        let version_null = self
            .columns
            .iter()
            .position(|c| c.version)
            .is_some_and(|v| snapshot[v] == Value::Null);
        (sets, version_null)
    }

    /// The UPDATE rendered by sea-query (the one renderer of writes).
    fn render(self, flavor: SqlFlavor, snapshot: &[Value]) -> Result<Option<RowWritePlan>> {
        let row = RowImage {
            table: self.table,
            columns: self.columns,
            values: snapshot,
        };
        update_row(flavor, &row, self.sets, self.next, false)
    }

    /// The parameters of this row's UPDATE in the order the rendered statement takes them:
    /// the values set, the new version, the key, the current version (unless IS NULL).
    fn params(&self, flavor: SqlFlavor, snapshot: &[Value]) -> Result<Vec<Value>> {
        let (table, columns) = (self.table, self.columns);
        let mut params = Vec::with_capacity(self.sets.len() + 4);
        for (i, value) in &self.sets {
            params.push(fit(flavor, table, &columns[*i], value.clone())?);
        }
        let version = columns.iter().position(|c| c.version);
        if let (Some(v), Some(next)) = (version, &self.next) {
            params.push(fit(flavor, table, &columns[v], next.clone())?);
        }
        for (column, value) in columns.iter().zip(snapshot) {
            if column.primary_key {
                params.push(fit(flavor, table, column, value.clone())?);
            }
        }
        if let Some(v) = version
            && snapshot[v] != Value::Null
        {
            params.push(fit(flavor, table, &columns[v], snapshot[v].clone())?);
        }
        Ok(params)
    }
}

/// The error for row `slot` of a failed group: the UPDATE it would send, rendered now
/// (only on this path) for the key and version it names.
fn row_error(
    map: &IdentityMap,
    flavor: SqlFlavor,
    slot: usize,
    failure: impl FnOnce(&RowWritePlan) -> Error,
) -> Error {
    let plan = map.entry(slot).map(|entry| {
        let planned = Planned {
            table: entry.object.table(),
            columns: entry.object.columns(),
            sets: Vec::new(),
            next: entry.object.next_version(),
        };
        let row = RowImage {
            table: planned.table,
            columns: planned.columns,
            values: &entry.snapshot,
        };
        update_row(flavor, &row, planned.sets, planned.next, true)
    });
    match plan {
        Some(Ok(Some(plan))) => failure(&plan),
        Some(Err(e)) => e,
        _ => Error::config("internal: a flushed object vanished from the session"),
    }
}

/// Whether two parameter lists are the same, a float NaN equal to itself.
fn same_values(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|pair| match pair {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits() || x == y,
            (x, y) => x == y,
        })
}

/// Writes every changed object of `map` and records what each row now holds.
pub(crate) async fn write_changes<X: Executor>(x: &mut X, map: &mut IdentityMap) -> Result<()> {
    let flavor = render::flavor_of(x.sql_dialect())?;
    let mut checked: Vec<&'static str> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    let slots: Vec<usize> = map.slots().collect();
    for slot in slots {
        let sets = changed_columns(map, slot)?;
        if sets.is_empty() {
            continue;
        }
        let Some(entry) = map.entry(slot) else {
            continue;
        };
        let (table, columns) = (entry.object.table(), entry.object.columns());
        if !checked.contains(&table) {
            flavor_for_table(x.sql_dialect(), table, columns)?;
            checked.push(table);
        }
        let planned = Planned {
            table,
            columns,
            sets,
            next: entry.object.next_version(),
        };
        let params = planned.params(flavor, &entry.snapshot)?;
        let next = planned.next.clone();
        let (shape, version_null) = planned.shape(&entry.snapshot);
        let found = groups
            .iter_mut()
            .find(|g| g.table == table && g.version_null == version_null && g.sets == shape);
        match found {
            Some(group) => group.rows.push((slot, params, next)),
            None => {
                let Some(plan) = planned.render(flavor, &entry.snapshot)? else {
                    continue;
                };
                if !same_values(&plan.sql.params, &params) {
                    return Err(Error::config(format!(
                        "internal: the flush's parameters for {table} ({params:?}) differ from \
                         the rendered statement's ({:?})",
                        plan.sql.params
                    )));
                }
                groups.push(Group {
                    table,
                    sets: shape,
                    version_null,
                    text: plan.sql.text,
                    rows: vec![(slot, params, next)],
                });
            }
        }
    }
    for mut group in groups {
        let counts = if let [(_, params, _)] = group.rows.as_slice() {
            x.run(&group.text, params).await.map(|n| vec![n])
        } else {
            let params: Vec<Vec<Value>> = group
                .rows
                .iter_mut()
                .map(|(_, params, _)| std::mem::take(params))
                .collect();
            x.run_many(&group.text, &params).await
        };
        let first = group.rows[0].0;
        let counts =
            counts.map_err(|e| row_error(map, flavor, first, |plan| ops::conflict(e, plan)))?;
        if let Some(((slot, _, _), _)) = group.rows.iter().zip(&counts).find(|(_, n)| **n == 0) {
            return Err(row_error(map, flavor, *slot, |plan| {
                ops::no_row(plan, "updated")
            }));
        }
        for (slot, _, next) in group.rows {
            if let Some(entry) = map.entry_mut(slot) {
                if let Some(version) = next {
                    entry.object.set_version(version)?;
                }
                entry.snapshot = entry.object.values();
            }
        }
    }
    Ok(())
}
