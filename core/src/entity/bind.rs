//! Conversion between txkit [`Value`]s and sea-query's values, both ways: txkit values go
//! into statements as sea-query values, and the values a built statement collected come
//! back as txkit parameters.

use sea_query::Value as Sea;

use crate::error::{Error, Result};
use crate::value::Value;

/// A txkit value as a sea-query value (NULL as an untyped-looking `String(None)`: every
/// backend binds it as NULL whatever the column type).
pub(crate) fn to_sea(value: &Value) -> Sea {
    match value {
        Value::Null => Sea::String(None),
        Value::Bool(b) => Sea::Bool(Some(*b)),
        Value::Int(i) => Sea::BigInt(Some(*i)),
        Value::Float(f) => Sea::Double(Some(*f)),
        Value::Text(s) => Sea::String(Some(s.clone())),
        Value::Bytes(b) => Sea::Bytes(Some(b.clone())),
    }
}

/// A value a sea-query statement collected, as a txkit parameter. Only the kinds txkit
/// puts in (and small integers sea-query adds itself, such as `1 = 2` for an empty IN
/// list) occur; anything else is an internal error rather than a guess.
pub(crate) fn from_sea(value: Sea) -> Result<Value> {
    Ok(match value {
        Sea::Bool(v) => v.map_or(Value::Null, Value::Bool),
        Sea::TinyInt(v) => v.map_or(Value::Null, Value::from),
        Sea::SmallInt(v) => v.map_or(Value::Null, Value::from),
        Sea::Int(v) => v.map_or(Value::Null, Value::from),
        Sea::BigInt(v) => v.map_or(Value::Null, Value::Int),
        Sea::TinyUnsigned(v) => v.map_or(Value::Null, Value::from),
        Sea::SmallUnsigned(v) => v.map_or(Value::Null, Value::from),
        Sea::Unsigned(v) => v.map_or(Value::Null, Value::from),
        Sea::BigUnsigned(None)
        | Sea::Float(None)
        | Sea::Double(None)
        | Sea::String(None)
        | Sea::Char(None)
        | Sea::Bytes(None) => Value::Null,
        Sea::BigUnsigned(Some(u)) => i64::try_from(u)
            .map(Value::Int)
            .map_err(|_| Error::config(format!("{u} does not fit a 64-bit signed parameter")))?,
        Sea::Float(Some(f)) => Value::from(f),
        Sea::Double(Some(f)) => Value::Float(f),
        Sea::String(Some(s)) => Value::Text(s),
        Sea::Char(Some(c)) => Value::Text(c.to_string()),
        Sea::Bytes(Some(b)) => Value::Bytes(b),
        other => {
            return Err(Error::internal(format!(
                "a statement collected a sea-query value txkit cannot bind: \
                 {other:?}"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for v in [
            Value::Null,
            Value::Bool(true),
            Value::Int(i64::MIN),
            Value::Float(-0.5),
            Value::Text("é\"'`".into()),
            Value::Bytes(vec![0, 255]),
        ] {
            assert_eq!(from_sea(to_sea(&v)).unwrap(), v);
        }
        assert_eq!(from_sea(Sea::Int(Some(2))).unwrap(), Value::Int(2));
        assert_eq!(from_sea(Sea::Int(None)).unwrap(), Value::Null);
        assert!(from_sea(Sea::BigUnsigned(Some(u64::MAX))).is_err());
    }
}
