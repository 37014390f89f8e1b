//! `uuid::Uuid` (feature `uuid`), for UUID columns (CHAR(36) on MySQL, TEXT on SQLite).
//!
//! Written as [`Value::Text`], hyphenated and lowercase
//! (`67e55044-10b1-426f-9247-bb680e5fe0c8`): the form PostgreSQL returns, so text
//! comparisons on MySQL and SQLite agree with PostgreSQL's. Read from that text (any case,
//! with or without hyphens or braces) or from 16 bytes (a BINARY(16) column).

use uuid::Uuid;

use super::{FromValue, Value, mismatch, unreadable};
use crate::error::Result;

impl From<Uuid> for Value {
    fn from(v: Uuid) -> Self {
        Value::Text(v.hyphenated().to_string())
    }
}

impl FromValue for Uuid {
    fn from_value(value: &Value, column: &str) -> Result<Self> {
        match value {
            Value::Text(t) => {
                Uuid::parse_str(t.trim()).map_err(|e| unreadable(t, column, "Uuid", &e))
            }
            Value::Bytes(b) => Uuid::from_slice(b).map_err(|e| {
                crate::Error::config(format!(
                    "column {column:?} holds {} bytes, which cannot be read as Uuid: {e}",
                    b.len()
                ))
            }),
            _ => Err(mismatch(value, column, "Uuid")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "67e55044-10b1-426f-9247-bb680e5fe0c8";

    #[test]
    fn round_trips_as_lowercase_hyphenated_text() {
        let id = Uuid::parse_str(TEXT).unwrap();
        assert_eq!(Value::from(id), Value::Text(TEXT.into()));
        assert_eq!(
            Uuid::from_value(&Value::Text(TEXT.to_uppercase()), "id").unwrap(),
            id
        );
        assert_eq!(
            Uuid::from_value(&Value::Bytes(id.as_bytes().to_vec()), "id").unwrap(),
            id
        );
        assert_eq!(
            Option::<Uuid>::from_value(&Value::Null, "id").unwrap(),
            None
        );
    }

    #[test]
    fn refuses_malformed_values_by_column() {
        for value in [
            Value::Text("67e55044-10b1-426f-9247-bb680e5fe0c".into()),
            Value::Text("not a uuid".into()),
            Value::Bytes(vec![1, 2, 3]),
            Value::Int(1),
            Value::Null,
        ] {
            let err = Uuid::from_value(&value, "ident").unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Config);
            assert!(err.to_string().contains("\"ident\""), "{err}");
        }
    }
}
