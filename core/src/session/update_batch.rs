//! One UPDATE for many changed rows of one shape, on PostgreSQL and MySQL/MariaDB:
//!
//! ```sql
//! UPDATE t SET balance = CASE WHEN id = ? THEN ? WHEN id = ? THEN ? … ELSE balance END,
//!              version = CASE WHEN id = ? THEN ? … ELSE version END
//! WHERE (id = ? AND version = ?) OR (id = ? AND version = ?) …
//! ```
//!
//! A flush of 100 changed rows is then one statement and one round trip on MySQL, where
//! the protocol cannot pipeline 100 UPDATEs, and one statement the server runs once on
//! PostgreSQL. Its rows affected must equal the rows flushed (MySQL connections count
//! rows matched); fewer means another transaction changed or deleted a row since it was
//! loaded, and [`probe`] finds which.
//!
//! The number of rows a statement addresses is padded to a power of two (the last row
//! repeated: a repeated `WHEN` never matches first, a repeated condition matches the same
//! row once), so that a table's shape has at most eight texts for the server to prepare
//! and for [`update_texts`](super::update_texts) to keep. On PostgreSQL each new value is
//! cast to its column's type, which a parameter in a `CASE` result cannot be inferred
//! from. SQLite keeps one prepared UPDATE per row: there is no round trip to save.

use sea_query::{Alias, Condition, Expr, ExprTrait, Func, Query};

use super::update_texts::Shape;
use crate::dialect::SqlFlavor;
use crate::entity::bind::to_sea;
use crate::entity::render;
use crate::entity::{ColumnDef, ColumnType};
use crate::error::{Error, Result};
use crate::value::Value;

/// The most rows one statement addresses.
const MOST_ROWS: usize = 128;

/// The most parameters a statement may carry: PostgreSQL and MySQL count them in 16 bits.
const MOST_PARAMS: usize = 65_535;

/// About the most bytes of parameters one statement carries, padding included: far below
/// the smallest packet a MySQL server takes by default (`max_allowed_packet`: 4 MiB on
/// MySQL 5.7, 16 MiB on MariaDB, 64 MiB on MySQL 8), so rows with large text or bytes
/// are split over more statements instead of failing as one.
const MOST_BYTES: usize = 1 << 20;

/// About how many bytes `value` takes as a parameter.
fn bytes_of(value: &Value) -> usize {
    match value {
        Value::Text(text) => text.len(),
        Value::Bytes(bytes) => bytes.len(),
        _ => 8,
    }
}

/// What a batch's statement depends on besides the row count: the table, the columns set,
/// the version column and whether it is compared with `IS NULL`, the key columns.
pub(crate) struct BatchShape<'a> {
    pub(crate) table: &'static str,
    pub(crate) columns: &'static [ColumnDef],
    /// The columns set, each with whether it is set to NULL (the group's `Shape::sets`).
    pub(crate) sets: &'a [(usize, bool)],
    pub(crate) version: Option<usize>,
    pub(crate) version_null: bool,
    pub(crate) keys: &'a [usize],
}

impl BatchShape<'_> {
    /// Parameters per row: each column set (and the version) with its row's key, then the
    /// row's key and current version for the WHERE clause.
    fn width(&self) -> usize {
        let key = self.keys.len();
        let assigned = self.sets.len() + usize::from(self.version.is_some());
        assigned * (key + 1) + key + usize::from(self.version.is_some() && !self.version_null)
    }

    /// The most rows one statement of this shape addresses: a power of two.
    pub(crate) fn rows_per_statement(&self) -> usize {
        let fit = (MOST_PARAMS / self.width().max(1)).min(MOST_ROWS);
        // The largest power of two not above `fit` (at least one row).
        1 << fit.max(1).ilog2()
    }

    /// `rows` (each row's parameters as the one-row UPDATE takes them) cut into runs of one
    /// statement each: at most [`rows_per_statement`](Self::rows_per_statement) rows, and
    /// about [`MOST_BYTES`] of parameters with the padding (a row above that goes alone).
    pub(crate) fn runs(&self, rows: &[&[Value]]) -> Vec<std::ops::Range<usize>> {
        let per = self.rows_per_statement();
        let mut runs = Vec::new();
        let (mut start, mut bytes) = (0, 0);
        for (i, row) in rows.iter().enumerate() {
            let size: usize = row.iter().map(bytes_of).sum();
            let count = i - start + 1;
            let padding = (padded(count) - count) * size;
            if count > 1 && (count > per || bytes + size + padding > MOST_BYTES) {
                runs.push(start..i);
                (start, bytes) = (i, 0);
            }
            bytes += size;
        }
        if start < rows.len() {
            runs.push(start..rows.len());
        }
        runs
    }

    /// The parameters of rows `rows` (each row's parameters as the one-row UPDATE takes
    /// them: the values set, the new version, the key, the current version), laid out as
    /// the batch statement takes them, padded to `padded` rows with the last row.
    pub(crate) fn lay_out(&self, rows: &[&[Value]], padded: usize, out: &mut Vec<Value>) {
        out.clear();
        let Some(last) = rows.last() else {
            return;
        };
        let padded_rows = || {
            rows.iter()
                .chain(std::iter::repeat_n(last, padded - rows.len()))
        };
        let assigned = self.sets.len() + usize::from(self.version.is_some());
        let key_at = assigned;
        let key = self.keys.len();
        for column in 0..assigned {
            for row in padded_rows() {
                out.extend_from_slice(&row[key_at..key_at + key]);
                out.push(row[column].clone());
            }
        }
        for row in padded_rows() {
            out.extend_from_slice(&row[key_at..key_at + key]);
            if self.version.is_some() && !self.version_null {
                out.push(row[key_at + key].clone());
            }
        }
    }

    /// The statement for `rows` rows. Rendered with each parameter numbered in the order
    /// [`lay_out`](Self::lay_out) gives them, and refused unless the rendered statement
    /// takes them in that order.
    pub(crate) fn render(&self, flavor: SqlFlavor, rows: usize) -> Result<String> {
        let mut next = 0_i64;
        let mut number = || {
            next += 1;
            Expr::val(to_sea(&Value::Int(next - 1)))
        };
        let key_match = |number: &mut dyn FnMut() -> Expr| {
            let mut all = Condition::all();
            for k in self.keys {
                all = all.add(Expr::col(Alias::new(self.columns[*k].name)).eq(number()));
            }
            all
        };
        let mut stmt = Query::update();
        stmt.table(Alias::new(self.table));
        let sets = self.sets.iter().map(|(i, _)| *i);
        for i in sets.chain(self.version) {
            let column = &self.columns[i];
            let name = Alias::new(column.name);
            let mut case = None::<sea_query::CaseStatement>;
            for _ in 0..rows {
                let when = key_match(&mut number);
                let then = match flavor {
                    SqlFlavor::Postgres => {
                        Func::cast_as(number(), Alias::new(pg_type(column))).into()
                    }
                    _ => number(),
                };
                case = Some(match case {
                    None => Expr::case(when, then),
                    Some(case) => case.case(when, then),
                });
            }
            let case = case.ok_or_else(|| Error::internal("a batch UPDATE of no rows"))?;
            stmt.value(name.clone(), case.finally(Expr::col(name)));
        }
        let mut any = Condition::any();
        for _ in 0..rows {
            let mut row = key_match(&mut number);
            if let Some(v) = self.version {
                let version = Expr::col(Alias::new(self.columns[v].name));
                row = row.add(match self.version_null {
                    true => version.is_null(),
                    false => version.eq(number()),
                });
            }
            any = any.add(row);
        }
        stmt.cond_where(any);
        let sql = render::query(flavor, &stmt)?;
        let in_order = (0..next).map(Value::Int).eq(sql.params.iter().cloned());
        if !in_order {
            return Err(Error::internal(format!(
                "the batch UPDATE of {} takes its parameters in another order than the \
                 flush lays them out",
                self.table
            )));
        }
        Ok(sql.text)
    }
}

/// The cache key of the statement for `rows` rows (two or more: one row is the one-row
/// UPDATE's key) of `shape`'s group.
pub(crate) fn shape_for(shape: &Shape, rows: usize) -> Shape {
    debug_assert!(rows >= 2, "a one-row run uses the one-row UPDATE");
    Shape {
        rows,
        ..shape.clone()
    }
}

/// The rows a statement addresses for `n` rows: `n` padded to a power of two.
pub(crate) fn padded(n: usize) -> usize {
    n.next_power_of_two()
}

/// Whether `flavor` flushes many rows of one shape with one statement.
pub(crate) fn batches(flavor: SqlFlavor) -> bool {
    matches!(flavor, SqlFlavor::Postgres | SqlFlavor::MySql)
}

/// The PostgreSQL type a new value of `column` is cast to.
fn pg_type(column: &ColumnDef) -> &'static str {
    match column.ty {
        ColumnType::SmallInt => "smallint",
        ColumnType::Integer => "integer",
        ColumnType::BigInt => "bigint",
        ColumnType::Double => "double precision",
        ColumnType::Bool => "boolean",
        ColumnType::Text => "text",
        ColumnType::Bytes => "bytea",
        ColumnType::Decimal { .. } => "numeric",
        ColumnType::Timestamp => "timestamp",
        ColumnType::TimestampTz => "timestamptz",
        ColumnType::Date => "date",
        ColumnType::Uuid => "uuid",
        ColumnType::Json => "jsonb",
    }
}

/// A query that finds row `row` (parameters as the one-row UPDATE takes them) as the
/// batch would have left it: its key, its new version when versioned, and the new value
/// of each column set (but JSON, which MySQL does not compare with a parameter). A row
/// it does not find is one the batch did not write.
pub(crate) fn probe(
    shape: &BatchShape<'_>,
    flavor: SqlFlavor,
    row: &[Value],
) -> Result<render::Sql> {
    let assigned = shape.sets.len() + usize::from(shape.version.is_some());
    let mut stmt = Query::select();
    stmt.expr(Expr::val(1)).from(Alias::new(shape.table));
    let columns = shape.sets.iter().map(|(i, _)| *i).chain(shape.version);
    let keys = shape.keys.iter().copied().zip(&row[assigned..]);
    for (i, value) in columns.zip(row).chain(keys) {
        let column = &shape.columns[i];
        let name = Expr::col(Alias::new(column.name));
        stmt.and_where(match value {
            Value::Null => name.is_null(),
            _ if column.ty == ColumnType::Json => continue,
            value => name.eq(to_sea(value)),
        });
    }
    render::query(flavor, &stmt)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: &[ColumnDef] = &[
        ColumnDef {
            primary_key: true,
            ..ColumnDef::new("id", "id", ColumnType::BigInt)
        },
        ColumnDef::new("balance", "balance", ColumnType::BigInt),
        ColumnDef {
            version: true,
            ..ColumnDef::new("version", "version", ColumnType::BigInt)
        },
    ];

    fn shape(version_null: bool) -> BatchShape<'static> {
        BatchShape {
            table: "accounts",
            columns: COLUMNS,
            sets: &[(1, false)],
            version: Some(2),
            version_null,
            keys: &[0],
        }
    }

    #[test]
    fn two_rows_in_one_statement_each_flavor() {
        let pg = shape(false).render(SqlFlavor::Postgres, 2).unwrap();
        assert_eq!(
            pg,
            r#"UPDATE "accounts" SET "balance" = (CASE WHEN ("id" = $1) THEN CAST($2 AS bigint) WHEN ("id" = $3) THEN CAST($4 AS bigint) ELSE "balance" END), "version" = (CASE WHEN ("id" = $5) THEN CAST($6 AS bigint) WHEN ("id" = $7) THEN CAST($8 AS bigint) ELSE "version" END) WHERE ("id" = $9 AND "version" = $10) OR ("id" = $11 AND "version" = $12)"#
        );
        let my = shape(true).render(SqlFlavor::MySql, 2).unwrap();
        assert_eq!(
            my,
            "UPDATE `accounts` SET `balance` = (CASE WHEN (`id` = ?) THEN ? WHEN (`id` = ?) THEN ? ELSE `balance` END), `version` = (CASE WHEN (`id` = ?) THEN ? WHEN (`id` = ?) THEN ? ELSE `version` END) WHERE (`id` = ? AND `version` IS NULL) OR (`id` = ? AND `version` IS NULL)"
        );
    }

    #[test]
    fn parameters_follow_the_text_and_padding_repeats_the_last_row() {
        // One-row layout: balance, next version, id, current version.
        let a = [Value::Int(110), Value::Int(2), Value::Int(1), Value::Int(1)];
        let b = [Value::Int(220), Value::Int(6), Value::Int(2), Value::Int(5)];
        let mut out = Vec::new();
        shape(false).lay_out(&[&a, &b], 4, &mut out);
        let ints: Vec<i64> = out
            .iter()
            .map(|v| match v {
                Value::Int(n) => *n,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            ints,
            [
                1, 110, 2, 220, 2, 220, 2, 220, // balance
                1, 2, 2, 6, 2, 6, 2, 6, // version
                1, 1, 2, 5, 2, 5, 2, 5, // where
            ]
        );
        assert_eq!(out.len(), shape(false).width() * 4);
    }

    #[test]
    fn runs_keep_to_the_row_and_byte_limits() {
        let row = |text: usize| {
            vec![
                Value::Text("x".repeat(text)),
                Value::Int(2),
                Value::Int(1),
                Value::Int(1),
            ]
        };
        let small: Vec<Vec<Value>> = (0..300).map(|_| row(10)).collect();
        let refs: Vec<&[Value]> = small.iter().map(Vec::as_slice).collect();
        assert_eq!(shape(false).runs(&refs), [0..128, 128..256, 256..300]);
        // 300 KiB a row: three fit (padded to four: 1.2 MiB is too many), so two a run.
        let large: Vec<Vec<Value>> = (0..5).map(|_| row(300 << 10)).collect();
        let refs: Vec<&[Value]> = large.iter().map(Vec::as_slice).collect();
        assert_eq!(shape(false).runs(&refs), [0..2, 2..4, 4..5]);
        // A row larger than the limit goes alone, and so does the row after it.
        let huge: Vec<Vec<Value>> = vec![row(10), row(2 << 20), row(10)];
        let refs: Vec<&[Value]> = huge.iter().map(Vec::as_slice).collect();
        assert_eq!(shape(false).runs(&refs), [0..1, 1..2, 2..3]);
        assert!(shape(false).runs(&[]).is_empty());
    }

    #[test]
    fn rows_per_statement_is_a_power_of_two_within_the_parameter_limit() {
        assert_eq!(shape(false).rows_per_statement(), 128);
        let wide: Vec<(usize, bool)> = vec![(1, false); 600];
        let many = BatchShape {
            sets: &wide,
            ..shape(false)
        };
        // 601 assigned columns × 2 + 2 = 1,204 parameters a row: 54 rows fit, 32 are used.
        assert_eq!(many.rows_per_statement(), 32);
        assert_eq!(padded(100), 128);
        assert_eq!(padded(1), 1);
        assert_eq!(padded(2), 2);
        assert_eq!(padded(3), 4);
    }
}
