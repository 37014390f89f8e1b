//! Change tracking: at flush, every object of the identity map whose values differ from
//! what its row holds is written — only the changed columns, the version checked and
//! advanced. Updates of one shape (one table, the same columns set) go together: on
//! PostgreSQL and MySQL as one UPDATE of up to 128 rows (`update_batch`), on SQLite as one
//! `execute_many` of the one-row UPDATE (one hop).

use std::sync::Arc;

use super::identity::{IdentityMap, Status};
use super::update_batch::{self, BatchShape};
use super::update_texts::{self, Shape};
use crate::dialect::SqlFlavor;
use crate::entity::ColumnDef;
use crate::entity::exec::Executor;
use crate::entity::fit::fit;
use crate::entity::ops::{self, flavor_for_table};
use crate::entity::render;
use crate::entity::write::{RowImage, RowWritePlan, update_row};
use crate::error::{Error, ErrorKind, Result};
use crate::value::Value;

/// Writes the object in `slot` as it is now into `now`, and the indices of the columns
/// that differ from its snapshot into `changed` (both cleared first); false when the object
/// is not persistent. An error when a key or version column was changed by hand.
fn changes_of(
    map: &IdentityMap,
    slot: usize,
    changed: &mut Vec<usize>,
    now: &mut Vec<Value>,
) -> Result<bool> {
    changed.clear();
    now.clear();
    let Some(entry) = map.entry(slot) else {
        return Ok(false);
    };
    if entry.status != Status::Persistent {
        return Ok(false);
    }
    let table = entry.object.table();
    let columns = entry.object.columns();
    entry.object.write_values(now);
    if now.len() != columns.len() || entry.snapshot.len() != columns.len() {
        return Err(Error::config(format!(
            "{table}: values() returned {} values for {} columns",
            now.len(),
            columns.len()
        )));
    }
    for (i, (column, (new, old))) in columns
        .iter()
        .zip(now.iter().zip(&entry.snapshot))
        .enumerate()
    {
        if same_value(new, old) {
            continue;
        }
        if column.primary_key {
            return Err(Error::usage(format!(
                "the primary key column {:?} of a loaded {table} row was changed; a session \
                 does not move rows to another key: expunge() the object and add() a new one",
                column.name
            )));
        }
        if column.version {
            return Err(Error::usage(format!(
                "the version column {:?} of a loaded {table} row was changed by hand; the \
                 session checks and advances it at flush, so leave it as loaded",
                column.name
            )));
        }
        changed.push(i);
    }
    Ok(true)
}

/// Whether any object has changes to write.
pub(crate) fn any_changed(map: &IdentityMap) -> bool {
    let (mut changed, mut now) = (Vec::new(), Vec::new());
    map.slots()
        .any(|slot| match changes_of(map, slot, &mut changed, &mut now) {
            Ok(_) => !changed.is_empty(),
            Err(_) => true,
        })
}

/// Updates of one shape: one table, the same columns set (and which of them to NULL), a
/// version compared with `=` or `IS NULL`. Its statement is rendered once, for the first
/// row; every row brings only its parameters, laid end to end in one list.
struct Group {
    table: &'static str,
    columns: &'static [ColumnDef],
    /// The key of its one-row statement's text (and, with the row count changed, of its
    /// batch statements'): its columns set, each with whether it is set to NULL, and
    /// whether the version is compared with `IS NULL`.
    shape: Shape,
    text: Arc<str>,
    /// The version column, and the key columns, by index.
    version: Option<usize>,
    keys: Vec<usize>,
    /// Every row's parameters, `width` each.
    params: Vec<Value>,
    width: usize,
    /// Every row's new values of the columns set, `sets.len()` each, as the object holds
    /// them (its snapshot's, once written).
    news: Vec<Value>,
    /// (slot, the version written).
    rows: Vec<(usize, Option<Value>)>,
}

impl Group {
    /// Whether a row whose columns `changed` now hold `now` has this group's shape.
    fn fits(&self, table: &str, changed: &[usize], now: &[Value], version_null: bool) -> bool {
        let sets = &self.shape.sets;
        self.table == table
            && self.shape.version_null == version_null
            && sets.len() == changed.len()
            && sets
                .iter()
                .zip(changed)
                .all(|((i, null), c)| i == c && *null == (now[*c] == Value::Null))
    }

    /// Each row's parameters.
    fn param_rows(&self) -> Vec<&[Value]> {
        self.params.chunks(self.width.max(1)).collect()
    }
}

impl Group {
    /// Appends the parameters of one row's UPDATE, in the order the rendered statement
    /// takes them: the values set, the new version, the key, the current version (unless
    /// IS NULL).
    fn push_params(
        &mut self,
        flavor: SqlFlavor,
        columns: &'static [ColumnDef],
        (now, snapshot, next): (&[Value], &[Value], Option<&Value>),
    ) -> Result<()> {
        let (table, params) = (self.table, &mut self.params);
        for (i, _) in &self.shape.sets {
            params.push(fit(flavor, table, &columns[*i], now[*i].clone())?);
        }
        if let Some(v) = self.version {
            let next = next.ok_or_else(|| {
                Error::config(format!(
                    "{table} has a version column but next_version() returned None"
                ))
            })?;
            params.push(fit(flavor, table, &columns[v], next.clone())?);
        }
        for k in &self.keys {
            params.push(fit(flavor, table, &columns[*k], snapshot[*k].clone())?);
        }
        if let Some(v) = self.version
            && !self.shape.version_null
        {
            params.push(fit(flavor, table, &columns[v], snapshot[v].clone())?);
        }
        Ok(())
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
        let row = RowImage {
            table: entry.object.table(),
            columns: entry.object.columns(),
            values: &entry.snapshot,
        };
        update_row(flavor, &row, Vec::new(), entry.object.next_version(), true)
    });
    match plan {
        Some(Ok(Some(plan))) => failure(&plan),
        Some(Err(e)) => e,
        _ => Error::internal("a flushed object vanished from the session"),
    }
}

/// Writes a group's rows with its one-row UPDATE each: one `execute_many`.
async fn write_each<X: Executor>(
    x: &mut X,
    map: &IdentityMap,
    flavor: SqlFlavor,
    group: &Group,
) -> Result<()> {
    let counts = if let [_] = group.rows.as_slice() {
        x.run(&group.text, &group.params).await.map(|n| vec![n])
    } else {
        x.run_many(&group.text, &group.param_rows()).await
    };
    let first = group.rows[0].0;
    let counts =
        counts.map_err(|e| row_error(map, flavor, first, |plan| ops::conflict(e, plan)))?;
    match group.rows.iter().zip(&counts).find(|(_, n)| **n == 0) {
        Some(((slot, _), _)) => Err(row_error(map, flavor, *slot, |plan| {
            ops::no_row(plan, "updated")
        })),
        None => Ok(()),
    }
}

/// Writes a group's rows with one UPDATE per run of rows ([`BatchShape::runs`]); an
/// error naming a row the server did not write when one was not.
async fn write_batched<X: Executor>(
    x: &mut X,
    map: &IdentityMap,
    flavor: SqlFlavor,
    group: &Group,
) -> Result<()> {
    let batch = BatchShape {
        table: group.table,
        columns: group.columns,
        sets: &group.shape.sets,
        version: group.version,
        version_null: group.shape.version_null,
        keys: &group.keys,
    };
    let rows = group.param_rows();
    let mut params = Vec::new();
    for run in batch.runs(&rows) {
        let chunk = &rows[run.clone()];
        let slots = &group.rows[run];
        let written = match chunk {
            // A run of one row (a large one) is the one-row UPDATE.
            [row] => x.run(&group.text, row).await,
            _ => {
                let padded = update_batch::padded(chunk.len());
                let text = batch_text(flavor, &batch, &group.shape, padded)?;
                batch.lay_out(chunk, padded, &mut params);
                x.run(&text, &params).await
            }
        }
        .map_err(|e| row_error(map, flavor, slots[0].0, |plan| ops::conflict(e, plan)))?;
        if written < chunk.len() as u64 {
            return Err(unwritten(x, map, flavor, &batch, slots, chunk).await);
        }
    }
    Ok(())
}

/// The text of the batch UPDATE of `rows` rows of `batch`, rendered once per process.
fn batch_text(
    flavor: SqlFlavor,
    batch: &BatchShape<'_>,
    shape: &Shape,
    rows: usize,
) -> Result<Arc<str>> {
    let shape = update_batch::shape_for(shape, rows);
    if let Some(text) = update_texts::get(&shape) {
        return Ok(text);
    }
    let text: Arc<str> = Arc::from(batch.render(flavor, rows)?);
    update_texts::put(shape, Arc::clone(&text));
    Ok(text)
}

/// The error for a batch UPDATE that wrote fewer rows than it addressed: names the first
/// row a probe does not find as the batch would have left it. Should every row be found
/// (another transaction wrote the very values and version this flush wrote), the error
/// names the batch instead of a row.
async fn unwritten<X: Executor>(
    x: &mut X,
    map: &IdentityMap,
    flavor: SqlFlavor,
    batch: &BatchShape<'_>,
    slots: &[(usize, Option<Value>)],
    rows: &[&[Value]],
) -> Error {
    for ((slot, _), row) in slots.iter().zip(rows) {
        let found = match update_batch::probe(batch, flavor, row) {
            Ok(probe) => x.fetch(&probe.text, &probe.params).await,
            Err(e) => Err(e),
        };
        match found {
            Ok(found) if found.is_empty() => {
                return row_error(map, flavor, *slot, |plan| ops::no_row(plan, "updated"));
            }
            Ok(_) => {}
            Err(e) => return e.context("finding the row a flush's UPDATE did not write"),
        }
    }
    let kind = match batch.version {
        Some(_) => ErrorKind::StaleData,
        None => ErrorKind::Database,
    };
    Error::new(
        kind,
        format!(
            "a flush's UPDATE of {} rows of table {} wrote fewer of them: another \
             transaction changed or deleted one since this session loaded it; re-read them \
             and apply the change again",
            rows.len(),
            batch.table
        ),
    )
}

/// Whether two values are the same, a float NaN equal to itself.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits() || x == y,
        (x, y) => x == y,
    }
}

/// Whether two parameter lists are the same, value by value.
fn same_values(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_value(x, y))
}

/// Writes every changed object of `map` and records what each row now holds.
pub(crate) async fn write_changes<X: Executor>(x: &mut X, map: &mut IdentityMap) -> Result<()> {
    let flavor = render::flavor_of(x.sql_dialect())?;
    let mut checked: Vec<&'static str> = Vec::new();
    let mut groups: Vec<Group> = Vec::new();
    let (mut changed, mut now) = (Vec::new(), Vec::new());
    let slots: Vec<usize> = map.slots().collect();
    for (n, &slot) in slots.iter().enumerate() {
        if !changes_of(map, slot, &mut changed, &mut now)? || changed.is_empty() {
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
        let next = entry.object.next_version();
        let version = columns.iter().position(|c| c.version);
        let version_null = version.is_some_and(|v| entry.snapshot[v] == Value::Null);
        let (g, rendered) = match groups
            .iter()
            .position(|g| g.fits(table, &changed, &now, version_null))
        {
            Some(g) => (g, None),
            None => {
                let shape = Shape {
                    entity: entry.type_id,
                    flavor,
                    sets: changed
                        .iter()
                        .map(|i| (*i, now[*i] == Value::Null))
                        .collect(),
                    version_null,
                    rows: 1,
                };
                let (text, rendered) = match update_texts::get(&shape) {
                    Some(text) => (text, None),
                    None => {
                        let image = RowImage {
                            table,
                            columns,
                            values: &entry.snapshot,
                        };
                        let sets = changed.iter().map(|i| (*i, now[*i].clone()));
                        let Some(plan) = update_row(flavor, &image, sets, next.clone(), false)?
                        else {
                            continue;
                        };
                        let text: Arc<str> = Arc::from(plan.sql.text);
                        (text, Some((shape.clone(), plan.sql.params)))
                    }
                };
                // Room for every object left to look at, should all of them fit here.
                let room = slots.len() - n;
                let width = changed.len()
                    + usize::from(version.is_some())
                    + columns.iter().filter(|c| c.primary_key).count()
                    + usize::from(version.is_some() && !version_null);
                groups.push(Group {
                    table,
                    columns,
                    shape,
                    text,
                    version,
                    keys: (0..columns.len())
                        .filter(|i| columns[*i].primary_key)
                        .collect(),
                    params: Vec::with_capacity(width * room),
                    width,
                    news: Vec::with_capacity(changed.len() * room),
                    rows: Vec::with_capacity(room),
                });
                (groups.len() - 1, rendered)
            }
        };
        let group = &mut groups[g];
        let start = group.params.len();
        let row = (now.as_slice(), entry.snapshot.as_slice(), next.as_ref());
        group.push_params(flavor, columns, row)?;
        if let Some((shape, rendered)) = rendered {
            // Checked once per shape, before its text is kept for later flushes.
            if !same_values(&rendered, &group.params[start..]) {
                return Err(Error::internal(format!(
                    "the flush's parameters for {table} ({:?}) differ from the \
                     rendered statement's ({rendered:?})",
                    &group.params[start..]
                )));
            }
            update_texts::put(shape, Arc::clone(&group.text));
        }
        group.news.extend(changed.iter().map(|i| now[*i].clone()));
        group.rows.push((slot, next));
    }
    for group in groups {
        if group.rows.len() > 1 && update_batch::batches(flavor) {
            write_batched(x, map, flavor, &group).await?;
        } else {
            write_each(x, map, flavor, &group).await?;
        }
        let mut news = group.news.into_iter();
        for (slot, next) in group.rows {
            let Some(entry) = map.entry_mut(slot) else {
                continue;
            };
            for ((i, _), value) in group.shape.sets.iter().zip(news.by_ref()) {
                entry.snapshot[*i] = value;
            }
            if let Some(version) = next {
                entry.object.set_version(version.clone())?;
                if let Some(v) = group.version {
                    entry.snapshot[v] = version;
                }
            }
        }
    }
    Ok(())
}
