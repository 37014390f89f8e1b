//! Conversion between txkit's [`Value`] and mysql_async's, in both directions.
//!
//! Reading, by column type: integers (and YEAR, BIT) are `Int` (an unsigned BIGINT above
//! `i64::MAX` is `Text`); FLOAT and DOUBLE are `Float`; DECIMAL is `Text`, so no cent is
//! lost; DATE, TIME, DATETIME and TIMESTAMP are `Text` in the server's own format
//! (`2024-01-31 12:00:00.250000`); character columns are `Text`, and binary ones
//! (character set 63: BINARY, VARBINARY, BLOB) and GEOMETRY are `Bytes`. The text protocol
//! (statements that cannot be prepared) and the binary protocol read the same.

use std::sync::Arc;

use mysql_async::consts::ColumnType;
use mysql_async::{Column, Params};
use txkit_core::{Row, Value};

/// The character set number of binary strings.
const BINARY_CHARSET: u16 = 63;

/// A txkit parameter as a mysql_async value. Booleans become 0/1 (MySQL has no boolean).
pub(crate) fn to_mysql(value: &Value) -> mysql_async::Value {
    match value {
        Value::Null => mysql_async::Value::NULL,
        Value::Bool(b) => mysql_async::Value::Int(i64::from(*b)),
        Value::Int(i) => mysql_async::Value::Int(*i),
        Value::Float(f) => mysql_async::Value::Double(*f),
        Value::Text(s) => mysql_async::Value::Bytes(s.clone().into_bytes()),
        Value::Bytes(b) => mysql_async::Value::Bytes(b.clone()),
    }
}

/// Statement parameters for mysql_async.
pub(crate) fn to_params(values: &[Value]) -> Params {
    if values.is_empty() {
        Params::Empty
    } else {
        Params::Positional(values.iter().map(to_mysql).collect())
    }
}

/// The column names of a result, shared by all its rows.
pub(crate) fn column_names(columns: &[Column]) -> Arc<[String]> {
    columns.iter().map(|c| c.name_str().into_owned()).collect()
}

/// A mysql_async row as a txkit row under `names`.
pub(crate) fn decode_row(row: mysql_async::Row, names: &Arc<[String]>) -> Row {
    let columns = row.columns();
    let values = row
        .unwrap_raw()
        .into_iter()
        .zip(columns.iter())
        .map(|(value, column)| value.map_or(Value::Null, |v| from_mysql(v, column)))
        .collect();
    Row::new(Arc::clone(names), values)
}

/// A value read from `column` as a txkit value.
pub(crate) fn from_mysql(value: mysql_async::Value, column: &Column) -> Value {
    match value {
        mysql_async::Value::NULL => Value::Null,
        mysql_async::Value::Int(i) => Value::Int(i),
        mysql_async::Value::UInt(u) => unsigned(u),
        // The shortest decimal form of the f32 (0.1, not 0.10000000149011612), as the text
        // protocol would have sent it.
        mysql_async::Value::Float(f) => Value::Float(f.to_string().parse().unwrap_or(f64::from(f))),
        mysql_async::Value::Double(d) => Value::Float(d),
        mysql_async::Value::Date(y, mo, d, h, mi, s, us) => {
            Value::Text(render_date((y, mo, d, h, mi, s, us), column))
        }
        mysql_async::Value::Time(neg, days, h, mi, s, us) => {
            Value::Text(render_time(neg, days, h, mi, s, us, column))
        }
        mysql_async::Value::Bytes(bytes) => from_bytes(bytes, column),
    }
}

fn unsigned(u: u64) -> Value {
    i64::try_from(u).map_or_else(|_| Value::Text(u.to_string()), Value::Int)
}

/// Bytes as sent by the text protocol for any type, or by the binary protocol for strings,
/// DECIMAL and BIT.
fn from_bytes(bytes: Vec<u8>, column: &Column) -> Value {
    use ColumnType::*;
    match column.column_type() {
        MYSQL_TYPE_NULL => Value::Null,
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG
        | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => {
            let text = text_or_bytes(bytes);
            match &text {
                Value::Text(t) => t
                    .parse::<i64>()
                    .map(Value::Int)
                    .or_else(|_| t.parse::<u64>().map(unsigned))
                    .unwrap_or(text),
                _ => text,
            }
        }
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => {
            let text = text_or_bytes(bytes);
            match &text {
                Value::Text(t) => t.parse::<f64>().map(Value::Float).unwrap_or(text),
                _ => text,
            }
        }
        MYSQL_TYPE_BIT => bit_value(&bytes),
        MYSQL_TYPE_GEOMETRY => Value::Bytes(bytes),
        MYSQL_TYPE_DECIMAL
        | MYSQL_TYPE_NEWDECIMAL
        | MYSQL_TYPE_JSON
        | MYSQL_TYPE_ENUM
        | MYSQL_TYPE_SET
        | MYSQL_TYPE_DATE
        | MYSQL_TYPE_NEWDATE
        | MYSQL_TYPE_TIME
        | MYSQL_TYPE_TIME2
        | MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_TIMESTAMP2 => text_or_bytes(bytes),
        _ if column.character_set() == BINARY_CHARSET => Value::Bytes(bytes),
        _ => text_or_bytes(bytes),
    }
}

/// UTF-8 text, or the bytes themselves when they are not UTF-8.
fn text_or_bytes(bytes: Vec<u8>) -> Value {
    String::from_utf8(bytes).map_or_else(|e| Value::Bytes(e.into_bytes()), Value::Text)
}

/// A BIT(n) value (big-endian bytes) as an integer; wider than 63 bits, as bytes.
fn bit_value(bytes: &[u8]) -> Value {
    let significant = bytes.iter().skip_while(|b| **b == 0).count();
    if significant > 8 {
        return Value::Bytes(bytes.to_vec());
    }
    let n = bytes
        .iter()
        .fold(0_u64, |acc, b| (acc << 8) | u64::from(*b));
    i64::try_from(n).map_or_else(|_| Value::Bytes(bytes.to_vec()), Value::Int)
}

/// The fraction of a second as the column shows it: as many digits as its declared
/// precision (6 when unknown and non-zero).
fn fraction(micros: u32, column: &Column) -> String {
    let digits = match column.decimals() {
        d @ 0..=6 => usize::from(d),
        _ if micros != 0 => 6,
        _ => 0,
    };
    if digits == 0 {
        return String::new();
    }
    let all = format!("{micros:06}");
    format!(".{}", &all[..digits])
}

type DateParts = (u16, u8, u8, u8, u8, u8, u32);

fn render_date((y, mo, d, h, mi, s, us): DateParts, column: &Column) -> String {
    let date = format!("{y:04}-{mo:02}-{d:02}");
    match column.column_type() {
        ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE => date,
        _ => format!("{date} {h:02}:{mi:02}:{s:02}{}", fraction(us, column)),
    }
}

fn render_time(neg: bool, days: u32, h: u8, mi: u8, s: u8, us: u32, column: &Column) -> String {
    let hours = u64::from(days) * 24 + u64::from(h);
    let sign = if neg { "-" } else { "" };
    format!("{sign}{hours:02}:{mi:02}:{s:02}{}", fraction(us, column))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_async::Value as My;

    fn col(t: ColumnType) -> Column {
        Column::new(t).with_character_set(45).with_name(b"c")
    }

    #[test]
    fn parameters() {
        assert_eq!(to_mysql(&Value::Null), My::NULL);
        assert_eq!(to_mysql(&Value::Bool(true)), My::Int(1));
        assert_eq!(to_mysql(&Value::Int(-5)), My::Int(-5));
        assert_eq!(to_mysql(&Value::Float(2.5)), My::Double(2.5));
        assert_eq!(to_mysql(&Value::Text("é".into())), My::Bytes("é".into()));
        assert_eq!(to_mysql(&Value::Bytes(vec![0, 1])), My::Bytes(vec![0, 1]));
        assert_eq!(to_params(&[]), Params::Empty);
    }

    #[test]
    fn binary_protocol_values() {
        use ColumnType::*;
        assert_eq!(from_mysql(My::Int(7), &col(MYSQL_TYPE_LONG)), Value::Int(7));
        assert_eq!(
            from_mysql(My::UInt(u64::MAX), &col(MYSQL_TYPE_LONGLONG)),
            Value::Text("18446744073709551615".into())
        );
        assert_eq!(
            from_mysql(My::UInt(3), &col(MYSQL_TYPE_LONGLONG)),
            Value::Int(3)
        );
        assert_eq!(
            from_mysql(My::Float(0.1), &col(MYSQL_TYPE_FLOAT)),
            Value::Float(0.1)
        );
        assert_eq!(
            from_mysql(My::Bytes(b"12.30".to_vec()), &col(MYSQL_TYPE_NEWDECIMAL)),
            Value::Text("12.30".into())
        );
        assert_eq!(
            from_mysql(My::Date(2024, 1, 31, 0, 0, 0, 0), &col(MYSQL_TYPE_DATE)),
            Value::Text("2024-01-31".into())
        );
        let dt6 = col(MYSQL_TYPE_DATETIME).with_decimals(6);
        assert_eq!(
            from_mysql(My::Date(2024, 1, 31, 12, 5, 9, 250_000), &dt6),
            Value::Text("2024-01-31 12:05:09.250000".into())
        );
        let dt0 = col(MYSQL_TYPE_TIMESTAMP);
        assert_eq!(
            from_mysql(My::Date(2024, 1, 31, 12, 5, 9, 0), &dt0),
            Value::Text("2024-01-31 12:05:09".into())
        );
        assert_eq!(
            from_mysql(My::Time(true, 1, 2, 3, 4, 0), &col(MYSQL_TYPE_TIME)),
            Value::Text("-26:03:04".into())
        );
        let binary = Column::new(MYSQL_TYPE_BLOB).with_character_set(BINARY_CHARSET);
        assert_eq!(
            from_mysql(My::Bytes(vec![0xff, 0]), &binary),
            Value::Bytes(vec![0xff, 0])
        );
        assert_eq!(
            from_mysql(My::Bytes(b"hi".to_vec()), &col(MYSQL_TYPE_VAR_STRING)),
            Value::Text("hi".into())
        );
        assert_eq!(
            from_mysql(My::Bytes(vec![1, 2]), &col(MYSQL_TYPE_BIT)),
            Value::Int(258)
        );
        assert_eq!(from_mysql(My::NULL, &col(MYSQL_TYPE_LONG)), Value::Null);
    }

    #[test]
    fn text_protocol_values() {
        use ColumnType::*;
        let text = |s: &str, t| from_mysql(My::Bytes(s.as_bytes().to_vec()), &col(t));
        assert_eq!(text("-42", MYSQL_TYPE_LONGLONG), Value::Int(-42));
        assert_eq!(text("2024", MYSQL_TYPE_YEAR), Value::Int(2024));
        assert_eq!(
            text("18446744073709551615", MYSQL_TYPE_LONGLONG),
            Value::Text("18446744073709551615".into())
        );
        assert_eq!(text("1.5", MYSQL_TYPE_DOUBLE), Value::Float(1.5));
        assert_eq!(
            text("0.10", MYSQL_TYPE_NEWDECIMAL),
            Value::Text("0.10".into())
        );
        assert_eq!(
            text("2024-01-31 00:00:00", MYSQL_TYPE_DATETIME),
            Value::Text("2024-01-31 00:00:00".into())
        );
        assert_eq!(
            text("{\"a\":1}", MYSQL_TYPE_JSON),
            Value::Text("{\"a\":1}".into())
        );
    }

    #[test]
    fn rows_share_column_names() {
        let columns: Arc<[Column]> = Arc::from(vec![
            col(ColumnType::MYSQL_TYPE_LONG).with_name(b"id"),
            col(ColumnType::MYSQL_TYPE_VAR_STRING).with_name(b"name"),
        ]);
        let names = column_names(&columns);
        let row = mysql_common::row::new_row(
            vec![My::Int(1), My::Bytes(b"a".to_vec())],
            Arc::clone(&columns),
        );
        let row = decode_row(row, &names);
        assert_eq!(row.columns(), &["id".to_owned(), "name".to_owned()]);
        assert_eq!(row.values(), &[Value::Int(1), Value::Text("a".into())]);
    }
}
