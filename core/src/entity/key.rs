//! Primary-key values given to `find`: one value, a tuple for a composite key, or a list.

use crate::value::Value;

/// Primary-key values, in the order of the entity's primary-key columns: a single value
/// (`tx.find::<Account>(7)`), a tuple for a composite key (`(2024, "eu")`), or a
/// `Vec<Value>`. The count must match the key's columns.
pub trait IntoKey {
    /// The key's values, in primary-key column order.
    fn into_key(self) -> Vec<Value>;
}

impl<T: Into<Value>> IntoKey for T {
    fn into_key(self) -> Vec<Value> {
        vec![self.into()]
    }
}

impl<A: Into<Value>, B: Into<Value>> IntoKey for (A, B) {
    fn into_key(self) -> Vec<Value> {
        vec![self.0.into(), self.1.into()]
    }
}

impl<A: Into<Value>, B: Into<Value>, C: Into<Value>> IntoKey for (A, B, C) {
    fn into_key(self) -> Vec<Value> {
        vec![self.0.into(), self.1.into(), self.2.into()]
    }
}

impl IntoKey for Vec<Value> {
    fn into_key(self) -> Vec<Value> {
        self
    }
}

/// A key as text, for messages and [`StaleInfo`](crate::StaleInfo): `7`, `alice`, or
/// `(2024, eu)` for a composite key.
pub(crate) fn key_text(values: &[Value]) -> String {
    match values {
        [one] => value_text(one),
        many => format!(
            "({})",
            many.iter().map(value_text).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// One value as text: integers and floats as written, text as it is, bytes in hex.
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Text(s) => s.clone(),
        Value::Bytes(b) => {
            let mut out = String::with_capacity(2 + b.len() * 2);
            out.push_str("0x");
            for byte in b {
                out.push_str(&format!("{byte:02x}"));
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_text() {
        assert_eq!(7_i64.into_key(), vec![Value::Int(7)]);
        assert_eq!(
            (1, "eu").into_key(),
            vec![Value::Int(1), Value::Text("eu".into())]
        );
        assert_eq!(key_text(&[Value::Int(7)]), "7");
        assert_eq!(key_text(&(1, "eu").into_key()), "(1, eu)");
        assert_eq!(value_text(&Value::Bytes(vec![0, 171])), "0x00ab");
    }
}
