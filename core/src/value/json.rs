//! `serde_json::Value` (feature `json`), for JSONB (PostgreSQL), JSON (MySQL; on MariaDB a
//! LONGTEXT checked with `JSON_VALID`) and TEXT (SQLite) columns.
//!
//! Written as compact JSON [`Value::Text`]; read by parsing the text (or UTF-8 bytes) the
//! backends return. SQL NULL and JSON `null` stay apart: an `Option<serde_json::Value>` is
//! `None` for SQL NULL and `Some(Value::Null)` for the JSON document `null`.

use super::{FromValue, Value, mismatch, unreadable};
use crate::error::Result;

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Self {
        Value::Text(v.to_string())
    }
}

impl FromValue for serde_json::Value {
    fn from_value(value: &Value, column: &str) -> Result<Self> {
        const WANTED: &str = "serde_json::Value";
        match value {
            Value::Text(t) => {
                serde_json::from_str(t).map_err(|e| unreadable(t, column, WANTED, &e))
            }
            Value::Bytes(b) => serde_json::from_slice(b)
                .map_err(|e| unreadable(&String::from_utf8_lossy(b), column, WANTED, &e)),
            _ => Err(mismatch(value, column, WANTED)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn round_trips_nested_documents() {
        let doc = json!({"a": [1, 2.5, {"b": null}], "c": "é\"", "d": true});
        let Value::Text(text) = Value::from(&doc) else {
            panic!("text");
        };
        assert_eq!(
            serde_json::Value::from_value(&Value::Text(text), "doc").unwrap(),
            doc
        );
        // jsonb's own spacing reads the same.
        let spaced =
            Value::Text("{\"d\": true, \"c\": \"é\\\"\", \"a\": [1, 2.5, {\"b\": null}]}".into());
        assert_eq!(serde_json::Value::from_value(&spaced, "doc").unwrap(), doc);
        assert_eq!(
            Option::<serde_json::Value>::from_value(&Value::Text("null".into()), "doc").unwrap(),
            Some(serde_json::Value::Null)
        );
        assert_eq!(
            Option::<serde_json::Value>::from_value(&Value::Null, "doc").unwrap(),
            None
        );
    }

    #[test]
    fn refuses_malformed_json_by_column() {
        for value in [
            Value::Text("{\"a\":".into()),
            Value::Bytes(vec![0xff]),
            Value::Int(1),
        ] {
            let err = serde_json::Value::from_value(&value, "doc").unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Config);
            assert!(err.to_string().contains("\"doc\""), "{err}");
        }
    }
}
