//! Unsigned integers. `u8`, `u16` and `u32` are written as [`Value::Int`] (every one fits);
//! a `u64` is `Int` up to `i64::MAX` and decimal [`Value::Text`] above it, which an entity
//! write into a BIGINT column refuses by name (`entity::fit`). Reading takes an `Int`, or the
//! decimal text MySQL returns for a BIGINT UNSIGNED above `i64::MAX`; a negative or too
//! large value is an error naming the column.

use super::{FromValue, Value, mismatch};
use crate::error::{Error, Result};

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        i64::try_from(v).map_or_else(|_| Value::Text(v.to_string()), Value::Int)
    }
}

/// The value as a `u64` no larger than `max`; `name` is the Rust type, for the message.
fn unsigned(value: &Value, column: &str, name: &str, max: u64) -> Result<u64> {
    let wide = match value {
        Value::Text(t) => match t.trim().parse::<u64>() {
            Ok(n) => n,
            // Not a non-negative integer: a negative one reads as out of range below.
            Err(_) => {
                let signed =
                    i64::from_value(value, column).map_err(|_| mismatch(value, column, name))?;
                return Err(out_of_range(&signed.to_string(), column, name, max));
            }
        },
        _ => {
            let signed =
                i64::from_value(value, column).map_err(|_| mismatch(value, column, name))?;
            u64::try_from(signed)
                .map_err(|_| out_of_range(&signed.to_string(), column, name, max))?
        }
    };
    if wide > max {
        return Err(out_of_range(&wide.to_string(), column, name, max));
    }
    Ok(wide)
}

fn out_of_range(shown: &str, column: &str, name: &str, max: u64) -> Error {
    Error::config(format!(
        "column {column:?} holds {shown}, which is out of range for {name} (0..={max})"
    ))
}

macro_rules! from_value_unsigned {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: &Value, column: &str) -> Result<Self> {
                let wide = unsigned(value, column, stringify!($t), u64::from(<$t>::MAX))?;
                // In range: checked against MAX above.
                <$t>::try_from(wide).map_err(|_| mismatch(value, column, stringify!($t)))
            }
        }
    )*};
}
from_value_unsigned!(u8, u16, u32, u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_is_int_up_to_i64_max_and_text_above() {
        assert_eq!(Value::from(7_u64), Value::Int(7));
        assert_eq!(Value::from(i64::MAX as u64), Value::Int(i64::MAX));
        assert_eq!(
            Value::from(u64::MAX),
            Value::Text("18446744073709551615".into())
        );
        assert_eq!(Value::from(u32::MAX), Value::Int(4_294_967_295));
    }

    #[test]
    fn reads_in_range_values() {
        assert_eq!(u8::from_value(&Value::Int(255), "c").unwrap(), 255);
        assert_eq!(u16::from_value(&Value::Int(65_535), "c").unwrap(), 65_535);
        assert_eq!(
            u32::from_value(&Value::Int(4_294_967_295), "c").unwrap(),
            u32::MAX
        );
        assert_eq!(
            u64::from_value(&Value::Text("18446744073709551615".into()), "c").unwrap(),
            u64::MAX
        );
        assert_eq!(u64::from_value(&Value::Int(0), "c").unwrap(), 0);
        assert_eq!(Option::<u32>::from_value(&Value::Null, "c").unwrap(), None);
    }

    #[test]
    fn refuses_negative_too_large_and_wrong_kinds_by_column() {
        for (err, says) in [
            (
                u8::from_value(&Value::Int(256), "small").unwrap_err(),
                "256",
            ),
            (u8::from_value(&Value::Int(-1), "small").unwrap_err(), "-1"),
            (u64::from_value(&Value::Int(-5), "small").unwrap_err(), "-5"),
            (
                u64::from_value(&Value::Text("-5".into()), "small").unwrap_err(),
                "-5",
            ),
            (
                u32::from_value(&Value::Text("4294967296".into()), "small").unwrap_err(),
                "4294967296",
            ),
            (
                u16::from_value(&Value::Text("x".into()), "small").unwrap_err(),
                "u16",
            ),
            (
                u16::from_value(&Value::Float(1.5), "small").unwrap_err(),
                "u16",
            ),
            (u32::from_value(&Value::Null, "small").unwrap_err(), "NULL"),
        ] {
            let text = err.to_string();
            assert_eq!(err.kind(), crate::ErrorKind::Config, "{text}");
            assert!(text.contains("\"small\""), "{text}");
            assert!(text.contains(says), "{text}");
        }
    }
}
