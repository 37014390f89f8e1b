//! txkit [`Value`]s to and from SQLite values.

use rusqlite::types::{ToSqlOutput, ValueRef};
use txkit_core::Value;

/// A parameter as rusqlite binds it, borrowing text and bytes. `Bool` is stored as 0 / 1,
/// SQLite's own convention.
pub(crate) fn to_sql(value: &Value) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(match value {
        Value::Null => ValueRef::Null,
        Value::Bool(b) => ValueRef::Integer(i64::from(*b)),
        Value::Int(i) => ValueRef::Integer(*i),
        Value::Float(f) => ValueRef::Real(*f),
        Value::Text(s) => ValueRef::Text(s.as_bytes()),
        Value::Bytes(b) => ValueRef::Blob(b),
    })
}

/// A column value as txkit holds it. Text that is not valid UTF-8 (SQLite does not check)
/// is returned as bytes rather than altered.
pub(crate) fn from_sql(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => Value::Text(s.to_owned()),
            Err(_) => Value::Bytes(t.to_vec()),
        },
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_value_ref() {
        for (value, back) in [
            (Value::Null, Value::Null),
            (Value::Bool(true), Value::Int(1)),
            (Value::Bool(false), Value::Int(0)),
            (Value::Int(i64::MIN), Value::Int(i64::MIN)),
            (Value::Float(2.5), Value::Float(2.5)),
            (Value::Text("héllo".into()), Value::Text("héllo".into())),
            (Value::Bytes(vec![0, 255]), Value::Bytes(vec![0, 255])),
        ] {
            let ToSqlOutput::Borrowed(r) = to_sql(&value) else {
                panic!("owned output for {value:?}");
            };
            assert_eq!(from_sql(r), back);
        }
        assert_eq!(
            from_sql(ValueRef::Text(&[0xff, 0x00])),
            Value::Bytes(vec![0xff, 0])
        );
    }
}
