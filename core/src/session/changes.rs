//! Change tracking: at flush, every object of the identity map whose values differ from
//! what its row holds is written — only the changed columns, the version checked and
//! advanced. Updates of one shape (one table, the same columns set) go as one
//! `execute_many`: one round trip on PostgreSQL, one hop on SQLite.

use super::identity::{IdentityMap, Status};
use crate::entity::exec::Executor;
use crate::entity::ops::{self, flavor_for_table};
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
        if new == *old {
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

/// Writes every changed object of `map` and records what each row now holds.
pub(crate) async fn write_changes<X: Executor>(x: &mut X, map: &mut IdentityMap) -> Result<()> {
    // Plans grouped by statement text, in the order the objects were loaded.
    let mut groups: Vec<(String, Vec<(usize, RowWritePlan)>)> = Vec::new();
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
        let flavor = flavor_for_table(x.sql_dialect(), table, columns)?;
        let row = RowImage {
            table,
            columns,
            values: &entry.snapshot,
        };
        let Some(plan) = update_row(flavor, &row, sets, entry.object.next_version(), false)? else {
            continue;
        };
        match groups.iter_mut().find(|g| g.0 == plan.sql.text) {
            Some((_, plans)) => plans.push((slot, plan)),
            None => groups.push((plan.sql.text.clone(), vec![(slot, plan)])),
        }
    }
    for (text, mut plans) in groups {
        let counts = if let [(_, plan)] = plans.as_slice() {
            x.run(&text, &plan.sql.params).await.map(|n| vec![n])
        } else {
            let params: Vec<Vec<Value>> = plans
                .iter_mut()
                .map(|(_, plan)| std::mem::take(&mut plan.sql.params))
                .collect();
            x.run_many(&text, &params).await
        };
        let counts = counts.map_err(|e| ops::conflict(e, &plans[0].1))?;
        if let Some(((_, plan), _)) = plans.iter().zip(&counts).find(|(_, n)| **n == 0) {
            return Err(ops::no_row(plan, "updated"));
        }
        for (slot, plan) in plans {
            if let Some(entry) = map.entry_mut(slot) {
                if let Some(version) = plan.version {
                    entry.object.set_version(version)?;
                }
                entry.snapshot = entry.object.values();
            }
        }
    }
    Ok(())
}
