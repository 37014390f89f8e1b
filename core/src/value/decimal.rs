//! `rust_decimal::Decimal` (feature `decimal`), for DECIMAL / NUMERIC columns.
//!
//! Written as [`Value::Text`] in plain decimal notation with trailing zeros removed
//! (`12.5`, not `12.50`), so that SQLite, which keeps a decimal as text, finds a value by
//! equality whatever scale it was written with; PostgreSQL and MySQL parse the text
//! exactly. Read from the exact text every backend returns for DECIMAL / NUMERIC (and from
//! an integer); never through a float. A text with more significant digits than a
//! `Decimal` holds (28) is an error, not a rounding.

use rust_decimal::Decimal;

use super::{FromValue, Value, mismatch, unreadable};
use crate::error::Result;

impl From<Decimal> for Value {
    fn from(v: Decimal) -> Self {
        Value::Text(v.normalize().to_string())
    }
}

impl FromValue for Decimal {
    fn from_value(value: &Value, column: &str) -> Result<Self> {
        match value {
            Value::Text(t) => {
                Decimal::from_str_exact(t.trim()).map_err(|e| unreadable(t, column, "Decimal", &e))
            }
            Value::Int(i) => Ok(Decimal::from(*i)),
            // A float is refused: it may already have lost digits.
            _ => Err(mismatch(
                value,
                column,
                "Decimal (exact text or an integer)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn writes_plain_text_without_trailing_zeros() {
        assert_eq!(
            Value::from(dec("12345678901234.5678")),
            Value::Text("12345678901234.5678".into())
        );
        assert_eq!(Value::from(dec("12.500")), Value::Text("12.5".into()));
        assert_eq!(Value::from(dec("-0.000")), Value::Text("0".into()));
        assert_eq!(Value::from(dec("100")), Value::Text("100".into()));
        assert_eq!(Value::from(Some(dec("-1.25"))), Value::Text("-1.25".into()));
    }

    #[test]
    fn reads_exact_text_and_integers() {
        let read = |v: Value| Decimal::from_value(&v, "price").unwrap();
        assert_eq!(
            read(Value::Text("12345678901234.5678000000".into())),
            dec("12345678901234.5678")
        );
        assert_eq!(read(Value::Text("-0.0001".into())), dec("-0.0001"));
        assert_eq!(read(Value::Int(-42)), dec("-42"));
        // Every digit of a 28-digit value survives.
        assert_eq!(
            read(Value::Text("1234567890123456789.012345678".into())).to_string(),
            "1234567890123456789.012345678"
        );
    }

    #[test]
    fn refuses_malformed_text_floats_and_excess_digits_by_column() {
        for value in [
            Value::Text("12,50".into()),
            Value::Text("NaN".into()),
            Value::Text("".into()),
            Value::Text("0.00000000000000000000000000001".into()),
            Value::Text("123456789012345678901234567890".into()),
            Value::Float(0.1),
            Value::Bool(true),
            Value::Null,
        ] {
            let err = Decimal::from_value(&value, "price").unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Config);
            assert!(err.to_string().contains("\"price\""), "{err}");
            assert!(err.to_string().contains("Decimal"), "{err}");
        }
    }
}
