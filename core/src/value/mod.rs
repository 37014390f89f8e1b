//! Values bound as statement parameters and read back from rows.
//!
//! Money: store amounts as integers in minor units (cents) in an `i64` column, or in a
//! DECIMAL/NUMERIC column as a `rust_decimal::Decimal` (feature `decimal`) or as text;
//! never as `f64`, whose rounding loses cents.
//!
//! Beyond the built-in kinds, these Rust types convert to and from a [`Value`], each in its
//! own file: the unsigned integers (`unsigned`, always), and behind a Cargo feature
//! `Decimal` (`decimal`), chrono's `NaiveDate`, `NaiveDateTime` and `DateTime<Utc>`
//! (`chrono`), `Uuid` (`uuid`) and `serde_json::Value` (`json`). They need no variant of
//! their own: each is written as [`Value::Text`] in a form all three databases parse
//! (`12.50`, `2024-01-31`, `2024-01-31 12:00:00.250000`, `…+00:00`, a hyphenated UUID,
//! compact JSON), and read back from the text (or, for unsigned integers, the integer) the
//! backends return. A value that does not parse or does not fit is a
//! [`Config`](ErrorKind::Config) error naming the column, never a panic, a rounding or a
//! truncation.

#[cfg(feature = "chrono")]
mod datetime;
#[cfg(feature = "decimal")]
mod decimal;
#[cfg(feature = "json")]
mod json;
mod unsigned;
#[cfg(feature = "uuid")]
mod uuid;

use crate::error::{Error, ErrorKind, Result};

/// One SQL value. Parameters are always bound as values, never spliced into SQL text.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean (stored as 0/1 by SQLite and MySQL).
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A double-precision float.
    Float(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

impl Value {
    /// A name of the variant, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "NULL",
            Self::Bool(_) => "bool",
            Self::Int(_) => "integer",
            Self::Float(_) => "float",
            Self::Text(_) => "text",
            Self::Bytes(_) => "bytes",
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::Int(i64::from(v))
            }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(f64::from(v))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Bytes(v.to_vec())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Builds a `Vec<Value>` of statement parameters: `params![from, to, "memo"]`.
#[macro_export]
macro_rules! params {
    () => { ::std::vec::Vec::<$crate::Value>::new() };
    ($($v:expr),+ $(,)?) => { ::std::vec![$($crate::Value::from($v)),+] };
}

/// A Rust type that a column value decodes into.
pub trait FromValue: Sized {
    /// Decodes `value`; `column` names it in the error.
    fn from_value(value: &Value, column: &str) -> Result<Self>;
}

pub(crate) fn mismatch(value: &Value, column: &str, wanted: &str) -> Error {
    Error::new(
        ErrorKind::Config,
        format!(
            "column {column:?} holds {} which cannot be read as {wanted}",
            value.type_name()
        ),
    )
}

/// Text from the server that does not parse as `wanted`; `why` is the parser's reason.
#[cfg(any(
    feature = "chrono",
    feature = "decimal",
    feature = "json",
    feature = "uuid"
))]
pub(crate) fn unreadable(
    text: &str,
    column: &str,
    wanted: &str,
    why: &dyn std::fmt::Display,
) -> Error {
    // A long JSON document is cut in the message (on a character boundary).
    let shown: String = text.chars().take(80).collect();
    let more = if shown.len() < text.len() { "…" } else { "" };
    Error::new(
        ErrorKind::Config,
        format!("column {column:?} holds {shown:?}{more}, which cannot be read as {wanted}: {why}"),
    )
}

impl FromValue for i64 {
    fn from_value(value: &Value, column: &str) -> Result<Self> {
        match value {
            Value::Int(v) => Ok(*v),
            Value::Bool(b) => Ok(i64::from(*b)),
            Value::Text(t) => t.trim().parse().map_err(|_| mismatch(value, column, "i64")),
            _ => Err(mismatch(value, column, "i64")),
        }
    }
}

impl FromValue for i32 {
    fn from_value(value: &Value, column: &str) -> Result<Self> {
        let wide = i64::from_value(value, column)?;
        i32::try_from(wide).map_err(|_| mismatch(value, column, "i32 (out of range)"))
    }
}

impl FromValue for i16 {
    fn from_value(value: &Value, column: &str) -> Result<Self> {
        let wide = i64::from_value(value, column)?;
        i16::try_from(wide).map_err(|_| mismatch(value, column, "i16 (out of range)"))
    }
}

impl FromValue for f64 {
    fn from_value(value: &Value, column: &str) -> Result<Self> {
        match value {
            Value::Float(v) => Ok(*v),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(v) => Ok(*v as f64),
            Value::Text(t) => t.trim().parse().map_err(|_| mismatch(value, column, "f64")),
            _ => Err(mismatch(value, column, "f64")),
        }
    }
}

impl FromValue for bool {
    fn from_value(value: &Value, column: &str) -> Result<Self> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::Int(0) => Ok(false),
            Value::Int(1) => Ok(true),
            _ => Err(mismatch(value, column, "bool")),
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value, column: &str) -> Result<Self> {
        match value {
            Value::Text(t) => Ok(t.clone()),
            Value::Bytes(b) => {
                String::from_utf8(b.clone()).map_err(|_| mismatch(value, column, "UTF-8 String"))
            }
            _ => Err(mismatch(value, column, "String")),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value, column: &str) -> Result<Self> {
        match value {
            Value::Bytes(b) => Ok(b.clone()),
            Value::Text(t) => Ok(t.clone().into_bytes()),
            _ => Err(mismatch(value, column, "bytes")),
        }
    }
}

impl FromValue for Value {
    fn from_value(value: &Value, _column: &str) -> Result<Self> {
        Ok(value.clone())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value, column: &str) -> Result<Self> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other, column).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_macro_converts() {
        let p = params![1_i64, "x", None::<i64>, true, 2.5_f64];
        assert_eq!(
            p,
            vec![
                Value::Int(1),
                Value::Text("x".into()),
                Value::Null,
                Value::Bool(true),
                Value::Float(2.5)
            ]
        );
    }

    #[test]
    fn null_into_non_option_is_an_error() {
        let err = i64::from_value(&Value::Null, "balance").expect_err("null");
        assert!(err.to_string().contains("balance"));
        assert_eq!(
            Option::<i64>::from_value(&Value::Null, "b").expect("opt"),
            None
        );
    }
}
