//! A value made ready for the column it is written to or compared with, per SQL flavor:
//! the checks a `From<T> for Value` cannot make because it does not know the column, and
//! the one spelling a server needs that the others do not.
//!
//! - An integer column refuses decimal text (a `u64` above `i64::MAX`): no BIGINT holds it,
//!   and SQLite would otherwise store it as text.
//! - A `Decimal { precision, scale }` column refuses a number with more digits after the
//!   point than `scale`, or before it than `precision - scale`: PostgreSQL and MySQL would
//!   round the fraction silently, and SQLite keeps whatever text it is given.
//! - A `TimestampTz` column on MySQL gets its `+00:00` (or `Z`) removed: MariaDB refuses an
//!   offset in a DATETIME literal, and the column holds UTC.
//!
//! Every refusal is a Config error naming the table and column.

use super::filter::Filter;
use super::{ColumnDef, ColumnType, Entity};
use crate::dialect::SqlFlavor;
use crate::error::{Error, Result};
use crate::value::Value;

/// `value` as it is written to, or compared with, `column` of `table` in `flavor`.
pub(crate) fn fit(
    flavor: SqlFlavor,
    table: &str,
    column: &ColumnDef,
    value: Value,
) -> Result<Value> {
    let bad = |why: String| {
        Error::config(format!(
            "column {:?} of table {table:?}: {why}",
            column.name
        ))
    };
    match (column.ty, value) {
        (ty, Value::Text(t)) if ty.is_integer() && t.trim().parse::<u64>().is_ok() => {
            Err(bad(format!(
                "{t} does not fit an integer column, which holds at most {} (a u64 field is \
                 stored in a BIGINT)",
                i64::MAX
            )))
        }
        (ColumnType::Decimal { precision, scale }, value) => {
            check_digits(&value, precision, scale).map_err(bad)?;
            Ok(value)
        }
        (ColumnType::TimestampTz, Value::Text(t)) if flavor == SqlFlavor::MySql => {
            let utc = t.strip_suffix("+00:00").or_else(|| t.strip_suffix('Z'));
            Ok(Value::Text(utc.map_or(t.clone(), str::to_owned)))
        }
        (_, value) => Ok(value),
    }
}

/// Refuses a decimal text or integer with more digits than `precision` and `scale` keep.
fn check_digits(value: &Value, precision: u8, scale: u8) -> std::result::Result<(), String> {
    let text = match value {
        Value::Text(t) => t.trim().to_owned(),
        Value::Int(i) => i.to_string(),
        _ => return Ok(()),
    };
    let digits = text.strip_prefix(['-', '+']).unwrap_or(&text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(format!("{text:?} is not a decimal number"));
    }
    let whole = whole.trim_start_matches('0').len();
    let fraction = fraction.trim_end_matches('0').len();
    let type_name = format!("DECIMAL({precision}, {scale})");
    if fraction > usize::from(scale) {
        return Err(format!(
            "{text} has {fraction} digits after the point, more than {type_name} keeps; \
             round it in Rust first (the database would round it silently)"
        ));
    }
    if whole > usize::from(precision - scale.min(precision)) {
        return Err(format!(
            "{text} has {whole} digits before the point, more than {type_name} holds"
        ));
    }
    Ok(())
}

/// `filter` with each compared value fitted to the column of `E` it names (columns the
/// entity does not have are left for `check_columns` to report).
pub(crate) fn fit_filter<E: Entity>(flavor: SqlFlavor, filter: &Filter) -> Result<Filter> {
    let one =
        |column: &'static str, value: &Value| match E::COLUMNS.iter().find(|c| c.name == column) {
            Some(def) => fit(flavor, E::TABLE, def, value.clone()),
            None => Ok(value.clone()),
        };
    Ok(match filter {
        Filter::Compare { column, op, value } => Filter::Compare {
            column,
            op,
            value: one(column, value)?,
        },
        Filter::In { column, values } => Filter::In {
            column,
            values: values
                .iter()
                .map(|v| one(column, v))
                .collect::<Result<_>>()?,
        },
        Filter::IsNull { .. } => filter.clone(),
        Filter::And(all) => Filter::And(
            all.iter()
                .map(|f| fit_filter::<E>(flavor, f))
                .collect::<Result<_>>()?,
        ),
        Filter::Or(any) => Filter::Or(
            any.iter()
                .map(|f| fit_filter::<E>(flavor, f))
                .collect::<Result<_>>()?,
        ),
        Filter::Not(inner) => Filter::Not(Box::new(fit_filter::<E>(flavor, inner)?)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRICE: ColumnDef = ColumnDef::new(
        "price",
        "price",
        ColumnType::Decimal {
            precision: 19,
            scale: 4,
        },
    );
    const BIG: ColumnDef = ColumnDef::new("big", "big", ColumnType::BigInt);
    const AT: ColumnDef = ColumnDef::new("at", "at", ColumnType::TimestampTz);

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn decimals_within_precision_and_scale_pass_unchanged() {
        for v in [
            text("123456789012345.1234"),
            text("-0.5"),
            text("1.50000"),
            text("0"),
            Value::Int(-999_999_999_999_999),
            Value::Null,
        ] {
            assert_eq!(fit(SqlFlavor::Postgres, "t", &PRICE, v.clone()).unwrap(), v);
        }
    }

    #[test]
    fn decimals_with_too_many_digits_are_refused_by_column() {
        for (v, says) in [
            (text("1.23456"), "5 digits after the point"),
            (text("1234567890123456"), "16 digits before the point"),
            (Value::Int(1_000_000_000_000_000), "16 digits before"),
            (text("1e5"), "not a decimal number"),
            (text("."), "not a decimal number"),
        ] {
            let err = fit(SqlFlavor::MySql, "shop", &PRICE, v).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains("\"price\"") && msg.contains("\"shop\""),
                "{msg}"
            );
            assert!(msg.contains(says), "{msg}");
        }
    }

    #[test]
    fn integer_columns_refuse_u64_text() {
        let err = fit(SqlFlavor::Sqlite, "t", &BIG, Value::from(u64::MAX)).unwrap_err();
        assert!(err.to_string().contains("\"big\""), "{err}");
        assert!(err.to_string().contains("18446744073709551615"), "{err}");
        assert_eq!(
            fit(SqlFlavor::Sqlite, "t", &BIG, Value::Int(5)).unwrap(),
            Value::Int(5)
        );
    }

    #[test]
    fn instants_lose_their_utc_offset_on_mysql_only() {
        let v = text("2024-01-31 12:00:00.250000+00:00");
        assert_eq!(
            fit(SqlFlavor::MySql, "t", &AT, v.clone()).unwrap(),
            text("2024-01-31 12:00:00.250000")
        );
        assert_eq!(fit(SqlFlavor::Postgres, "t", &AT, v.clone()).unwrap(), v);
        assert_eq!(fit(SqlFlavor::Sqlite, "t", &AT, v.clone()).unwrap(), v);
    }
}
