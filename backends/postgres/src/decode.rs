//! Result columns into txkit [`Value`]s.
//!
//! tokio-postgres asks for every column in binary; this module reads the binary forms of the
//! common types: integers and `oid` as `Int`, floats as `Float`, `bool`, `bytea` as `Bytes`,
//! the text types, enums, `json`, `jsonb`, `uuid` and `numeric` as `Text` (NUMERIC as its
//! exact decimal text), and `date`, `time`, `timestamp`, `timestamptz` as ISO 8601 text
//! (`timestamptz` in UTC, `+00`); `void` (what `pg_sleep()` returns) reads as NULL. Any other type is an error that says to cast the column
//! to text in the query (`col::text`).

use std::sync::Arc;

use tokio_postgres::types::{FromSql, Kind, Type};
use txkit_core::{Error, Result, Row, Value};

use crate::datetime;
use crate::numeric;

/// A column's raw bytes (`None` for NULL), whatever its type.
struct RawColumn<'a>(Option<&'a [u8]>);

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl<'a> FromSql<'a> for RawColumn<'a> {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxError> {
        Ok(Self(Some(raw)))
    }

    fn from_sql_null(_ty: &Type) -> std::result::Result<Self, BoxError> {
        Ok(Self(None))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// The column names of a statement's result, shared by all its rows.
pub(crate) fn column_names(columns: &[tokio_postgres::Column]) -> Arc<[String]> {
    columns.iter().map(|c| c.name().to_owned()).collect()
}

/// Converts driver rows into txkit rows sharing one `names`.
pub(crate) fn rows(rows: &[tokio_postgres::Row], names: &Arc<[String]>) -> Result<Vec<Row>> {
    rows.iter()
        .map(|row| {
            let values = (0..row.len())
                .map(|i| {
                    let column = &row.columns()[i];
                    let raw = row
                        .try_get::<_, RawColumn<'_>>(i)
                        .map_err(|e| Error::config(format!("column {:?}: {e}", column.name())))?;
                    match raw.0 {
                        None => Ok(Value::Null),
                        Some(bytes) => value(column.type_(), bytes).map_err(|why| {
                            Error::config(format!(
                                "column {:?} of type {}: {why}",
                                column.name(),
                                column.type_().name()
                            ))
                        }),
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Row::new(Arc::clone(names), values))
        })
        .collect()
}

fn fixed<const N: usize>(raw: &[u8]) -> std::result::Result<[u8; N], String> {
    raw.try_into()
        .map_err(|_| format!("expected {N} bytes, the server sent {}", raw.len()))
}

fn utf8(raw: &[u8]) -> std::result::Result<Value, String> {
    std::str::from_utf8(raw)
        .map(|s| Value::Text(s.to_owned()))
        .map_err(|_| "the server sent text that is not UTF-8".to_owned())
}

/// Whether a type's binary form is its text (so it reads as `Text`).
fn is_textual(ty: &Type) -> bool {
    [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
        Type::JSON,
        Type::XML,
        Type::CHAR,
    ]
    .contains(ty)
        || matches!(ty.kind(), Kind::Enum(_))
        || ty.name() == "citext"
}

/// Decodes one non-NULL value of type `ty`.
pub(crate) fn value(ty: &Type, raw: &[u8]) -> std::result::Result<Value, String> {
    if let Kind::Domain(inner) = ty.kind() {
        return value(inner, raw);
    }
    Ok(match *ty {
        Type::VOID => Value::Null,
        Type::BOOL => Value::Bool(fixed::<1>(raw)?[0] != 0),
        Type::INT2 => Value::Int(i16::from_be_bytes(fixed(raw)?).into()),
        Type::INT4 => Value::Int(i32::from_be_bytes(fixed(raw)?).into()),
        Type::INT8 => Value::Int(i64::from_be_bytes(fixed(raw)?)),
        Type::OID => Value::Int(u32::from_be_bytes(fixed(raw)?).into()),
        Type::FLOAT4 => Value::Float(f32::from_be_bytes(fixed(raw)?).into()),
        Type::FLOAT8 => Value::Float(f64::from_be_bytes(fixed(raw)?)),
        Type::BYTEA => Value::Bytes(raw.to_vec()),
        Type::NUMERIC => Value::Text(numeric::decode(raw)?),
        Type::JSONB => match raw.split_first() {
            Some((1, body)) => utf8(body)?,
            _ => return Err("unknown jsonb version".to_owned()),
        },
        Type::UUID => Value::Text(uuid(&fixed::<16>(raw)?)),
        Type::DATE => Value::Text(datetime::date(i32::from_be_bytes(fixed(raw)?))),
        Type::TIME => Value::Text(datetime::time(i64::from_be_bytes(fixed(raw)?))),
        Type::TIMESTAMP => Value::Text(datetime::timestamp(i64::from_be_bytes(fixed(raw)?), "")),
        Type::TIMESTAMPTZ => {
            Value::Text(datetime::timestamp(i64::from_be_bytes(fixed(raw)?), "+00"))
        }
        ref t if is_textual(t) => utf8(raw)?,
        _ => {
            return Err(
                "txkit does not read this type; cast the column to text in the query \
                 (for example `SELECT col::text`)"
                    .to_owned(),
            );
        }
    })
}

fn uuid(b: &[u8; 16]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars() {
        assert_eq!(value(&Type::INT2, &[0xff, 0xfe]).unwrap(), Value::Int(-2));
        assert_eq!(value(&Type::INT4, &[0, 0, 1, 0]).unwrap(), Value::Int(256));
        assert_eq!(
            value(&Type::OID, &[0xff; 4]).unwrap(),
            Value::Int(4_294_967_295)
        );
        assert_eq!(value(&Type::BOOL, &[1]).unwrap(), Value::Bool(true));
        assert_eq!(
            value(&Type::FLOAT8, &1.5_f64.to_be_bytes()).unwrap(),
            Value::Float(1.5)
        );
        assert_eq!(value(&Type::TEXT, b"hi").unwrap(), Value::Text("hi".into()));
        assert_eq!(
            value(&Type::JSONB, b"\x01{}").unwrap(),
            Value::Text("{}".into())
        );
        assert_eq!(
            value(&Type::UUID, &[0x12; 16]).unwrap(),
            Value::Text("12121212-1212-1212-1212-121212121212".into())
        );
        assert!(value(&Type::INT4, &[0, 0]).unwrap_err().contains("4 bytes"));
        assert!(
            value(&Type::INTERVAL, &[0; 16])
                .unwrap_err()
                .contains("::text")
        );
        assert!(value(&Type::TEXT, &[0xff]).is_err());
    }
}
