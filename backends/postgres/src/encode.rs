//! Binding txkit's untyped [`Value`]s to the parameter types the server inferred when it
//! prepared the statement.
//!
//! Exact combinations go in binary: integers into `int2`/`int4`/`int8` (range-checked),
//! floats into `float4`/`float8`, booleans, bytes into `bytea`. Everything else goes as text
//! and the server parses it with the type's own input function: text into `numeric`,
//! `timestamptz`, `uuid`, `jsonb`, `interval`, an enum, …, and integers or floats into
//! `numeric` or `text` (rendered in their shortest exact decimal form). So `NUMERIC` values
//! never pass through a float on their way in.

use bytes::{BufMut, BytesMut};
use smallvec::SmallVec;
use tokio_postgres::types::{Format, IsNull, Kind, ToSql, Type};
use txkit_core::dialects::placeholders;
use txkit_core::{Error, Result, Value};

/// A statement's parameters, encoded: inline up to 4 of them, so a typical statement's
/// cost no allocation.
pub(crate) type EncodedParams<'a> = SmallVec<[Encoded<'a>; 4]>;

/// One parameter, already encoded for its type.
#[derive(Debug)]
pub(crate) enum Encoded<'a> {
    /// SQL NULL.
    Null,
    /// Bytes borrowed from the value (text or bytea), in `format`.
    Borrowed(&'a [u8], Format),
    /// Bytes made for the value (text, or a numeric value's decimal form).
    Owned(Vec<u8>, Format),
    /// A fixed-width binary value (an integer, float or boolean), kept inline: the most
    /// common parameters cost no allocation.
    Fixed(Fixed),
}

/// Up to 8 bytes of a binary-format value, big-endian as the wire wants it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fixed {
    bytes: [u8; 8],
    len: u8,
}

impl Fixed {
    /// The value's bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// A fixed-width binary value from its big-endian bytes (at most 8).
fn fixed<const N: usize>(be: [u8; N]) -> Encoded<'static> {
    const { assert!(N <= 8) };
    let mut bytes = [0; 8];
    bytes[..N].copy_from_slice(&be);
    // N <= 8, checked at compile time above.
    #[allow(clippy::cast_possible_truncation)]
    Encoded::Fixed(Fixed {
        bytes,
        len: N as u8,
    })
}

impl ToSql for Encoded<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Encoded::Null => return Ok(IsNull::Yes),
            Encoded::Borrowed(bytes, _) => out.put_slice(bytes),
            Encoded::Owned(bytes, _) => out.put_slice(bytes),
            Encoded::Fixed(fixed) => out.put_slice(fixed.as_slice()),
        }
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.to_sql(ty, out)
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        match self {
            Encoded::Null | Encoded::Fixed(_) => Format::Binary,
            Encoded::Borrowed(_, f) | Encoded::Owned(_, f) => *f,
        }
    }
}

/// Encodes `params` for a statement whose parameter types are `types`; a count mismatch or
/// a value that cannot be had in its type is a Config error naming the placeholder (`$n`).
pub(crate) fn encode_all<'a>(params: &'a [Value], types: &[Type]) -> Result<EncodedParams<'a>> {
    check_count(types.len(), params.len())?;
    // A plain loop: collecting a Result into a SmallVec cost three times as many
    // instructions per parameter (callgrind).
    let mut out = EncodedParams::new();
    for (i, (value, ty)) in params.iter().zip(types).enumerate() {
        let encoded =
            encode(value, ty).map_err(|e| Error::config(format!("parameter ${}: {e}", i + 1)))?;
        out.push(encoded);
    }
    Ok(out)
}

/// A Config error when a statement with `placeholders` is given another number of values.
fn check_count(placeholders: usize, given: usize) -> Result<()> {
    if placeholders == given {
        return Ok(());
    }
    Err(Error::config(format!(
        "the statement has {placeholders} placeholder(s) but {given} parameter(s) were given"
    )))
}

/// Encodes `params` for `sql` sent as an unnamed statement whose parameter types the server
/// infers from the statement (sent as unspecified): every value as text, parsed by the
/// inferred type's input function, as libpq's `PQexecParams` sends them. Bytes go in
/// bytea's hex form. A count that does not match the statement's placeholders is the same
/// Config error as for a prepared statement, before anything is sent.
pub(crate) fn encode_untyped<'a>(sql: &str, params: &'a [Value]) -> Result<EncodedParams<'a>> {
    check_count(placeholders::count(sql), params.len())?;
    Ok(params
        .iter()
        .map(|value| match value {
            Value::Null => Encoded::Null,
            Value::Text(s) => Encoded::Borrowed(s.as_bytes(), Format::Text),
            Value::Int(i) => text(i.to_string()),
            Value::Float(f) => text(float_text(*f)),
            Value::Bool(b) => text(b.to_string()),
            Value::Bytes(b) => {
                const DIGITS: &[u8; 16] = b"0123456789abcdef";
                let mut hex = Vec::with_capacity(2 + 2 * b.len());
                hex.extend_from_slice(b"\\x");
                for byte in b {
                    hex.push(DIGITS[usize::from(byte >> 4)]);
                    hex.push(DIGITS[usize::from(byte & 0x0f)]);
                }
                Encoded::Owned(hex, Format::Text)
            }
        })
        .collect())
}

/// The type under any domains.
fn base(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(inner) => base(inner),
        _ => ty,
    }
}

fn text(value: String) -> Encoded<'static> {
    Encoded::Owned(value.into_bytes(), Format::Text)
}

/// Encodes one value for type `ty`.
pub(crate) fn encode<'a>(value: &'a Value, ty: &Type) -> std::result::Result<Encoded<'a>, String> {
    let ty = base(ty);
    let refuse = |why: &str| {
        format!(
            "a {} value cannot be bound to PostgreSQL type {}{why}",
            value.type_name(),
            ty.name()
        )
    };
    Ok(match value {
        Value::Null => Encoded::Null,
        Value::Bytes(b) if *ty == Type::BYTEA => Encoded::Borrowed(b, Format::Binary),
        Value::Bytes(_) => return Err(refuse(" (bytes go only into bytea)")),
        Value::Text(s) if *ty == Type::BYTEA => Encoded::Borrowed(s.as_bytes(), Format::Binary),
        Value::Text(s) => Encoded::Borrowed(s.as_bytes(), Format::Text),
        Value::Int(i) => encode_int(*i, ty).map_err(|why| refuse(&why))?,
        Value::Float(f) => encode_float(*f, ty).map_err(|why| refuse(&why))?,
        Value::Bool(b) => {
            if *ty == Type::BOOL {
                fixed([u8::from(*b)])
            } else if is_int(ty) {
                encode_int(i64::from(*b), ty).map_err(|why| refuse(&why))?
            } else if is_float(ty) {
                return Err(refuse(""));
            } else {
                text(b.to_string())
            }
        }
    })
}

fn is_int(ty: &Type) -> bool {
    *ty == Type::INT2 || *ty == Type::INT4 || *ty == Type::INT8
}

fn is_float(ty: &Type) -> bool {
    *ty == Type::FLOAT4 || *ty == Type::FLOAT8
}

fn encode_int(i: i64, ty: &Type) -> std::result::Result<Encoded<'static>, String> {
    let out_of_range = |range: &str| format!(" ({i} is outside its range {range})");
    Ok(if *ty == Type::INT8 {
        fixed(i.to_be_bytes())
    } else if *ty == Type::INT4 {
        let v = i32::try_from(i).map_err(|_| out_of_range("-2147483648..=2147483647"))?;
        fixed(v.to_be_bytes())
    } else if *ty == Type::INT2 {
        let v = i16::try_from(i).map_err(|_| out_of_range("-32768..=32767"))?;
        fixed(v.to_be_bytes())
    } else if *ty == Type::FLOAT8 {
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let f = i as f64;
        #[allow(clippy::cast_possible_truncation)]
        if f as i64 != i || f >= 9.223_372_036_854_776e18 {
            return Err(format!(" ({i} has no exact float8 value)"));
        }
        fixed(f.to_be_bytes())
    } else if *ty == Type::FLOAT4 {
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let f = i as f32;
        #[allow(clippy::cast_possible_truncation)]
        if f64::from(f) >= 9.223_372_036_854_776e18 || f as i64 != i {
            return Err(format!(" ({i} has no exact float4 value)"));
        }
        fixed(f.to_be_bytes())
    } else if *ty == Type::BOOL {
        match i {
            0 | 1 => fixed([u8::from(i == 1)]),
            _ => return Err(" (only 0 and 1 are booleans)".to_owned()),
        }
    } else {
        text(i.to_string())
    })
}

/// A float as text the server parses back to the same value (`NaN`, `Infinity` spelled as
/// PostgreSQL spells them).
fn float_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        f.to_string()
    }
}

fn encode_float(f: f64, ty: &Type) -> std::result::Result<Encoded<'static>, String> {
    Ok(if *ty == Type::FLOAT8 {
        fixed(f.to_be_bytes())
    } else if *ty == Type::FLOAT4 {
        #[allow(clippy::cast_possible_truncation)]
        let g = f as f32;
        if f.is_finite() && !g.is_finite() {
            return Err(format!(" ({f} is outside float4's range)"));
        }
        fixed(g.to_be_bytes())
    } else if is_int(ty) {
        #[allow(clippy::cast_possible_truncation)]
        let i = f as i64;
        #[allow(clippy::cast_precision_loss)]
        if !f.is_finite() || f.fract() != 0.0 || i as f64 != f {
            return Err(format!(" ({f} is not a whole number)"));
        }
        return encode_int(i, ty);
    } else if *ty == Type::BOOL {
        return Err(String::new());
    } else {
        text(float_text(f))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(e: &Encoded<'_>) -> (Vec<u8>, bool) {
        match e {
            Encoded::Null => (Vec::new(), false),
            Encoded::Borrowed(b, f) => (b.to_vec(), matches!(f, Format::Text)),
            Encoded::Owned(b, f) => (b.clone(), matches!(f, Format::Text)),
            Encoded::Fixed(b) => (b.as_slice().to_vec(), false),
        }
    }

    #[test]
    fn integers_fit_their_type() {
        let v = Value::Int(7);
        assert_eq!(
            bytes(&encode(&v, &Type::INT2).unwrap()),
            (vec![0, 7], false)
        );
        assert_eq!(
            bytes(&encode(&v, &Type::INT4).unwrap()),
            (vec![0, 0, 0, 7], false)
        );
        assert_eq!(bytes(&encode(&v, &Type::INT8).unwrap()).0.len(), 8);
        assert_eq!(
            bytes(&encode(&v, &Type::NUMERIC).unwrap()),
            (b"7".to_vec(), true)
        );
        let big = Value::Int(3_000_000_000);
        let e = encode(&big, &Type::INT4).unwrap_err();
        assert!(e.contains("3000000000") && e.contains("int4"), "{e}");
        assert!(encode(&Value::Int(40_000), &Type::INT2).is_err());
        assert!(encode(&Value::Int(i64::MAX), &Type::FLOAT8).is_err());
        assert!(encode(&Value::Int(1 << 53), &Type::FLOAT8).is_ok());
        assert!(encode(&Value::Int((1 << 53) + 1), &Type::FLOAT8).is_err());
        assert!(encode(&Value::Int(2), &Type::BOOL).is_err());
    }

    #[test]
    fn floats_and_bools() {
        assert!(encode(&Value::Float(2.5), &Type::INT4).is_err());
        assert_eq!(
            bytes(&encode(&Value::Float(2.0), &Type::INT2).unwrap()).0,
            vec![0, 2]
        );
        assert!(encode(&Value::Float(1e300), &Type::FLOAT4).is_err());
        assert_eq!(
            bytes(&encode(&Value::Float(0.1), &Type::NUMERIC).unwrap()),
            (b"0.1".to_vec(), true)
        );
        assert_eq!(
            bytes(&encode(&Value::Float(f64::NAN), &Type::NUMERIC).unwrap()).0,
            b"NaN".to_vec()
        );
        assert_eq!(
            bytes(&encode(&Value::Bool(true), &Type::BOOL).unwrap()).0,
            vec![1]
        );
        assert_eq!(
            bytes(&encode(&Value::Bool(true), &Type::INT4).unwrap()).0,
            vec![0, 0, 0, 1]
        );
        assert_eq!(
            bytes(&encode(&Value::Bool(false), &Type::TEXT).unwrap()).0,
            b"false".to_vec()
        );
        assert!(encode(&Value::Bool(true), &Type::FLOAT8).is_err());
    }

    #[test]
    fn text_and_bytes() {
        let t = Value::Text("12.50".into());
        assert_eq!(
            bytes(&encode(&t, &Type::NUMERIC).unwrap()),
            (b"12.50".to_vec(), true)
        );
        assert_eq!(
            bytes(&encode(&t, &Type::BYTEA).unwrap()),
            (b"12.50".to_vec(), false)
        );
        let b = Value::Bytes(vec![0, 1]);
        assert_eq!(
            bytes(&encode(&b, &Type::BYTEA).unwrap()),
            (vec![0, 1], false)
        );
        assert!(encode(&b, &Type::TEXT).is_err());
        assert!(matches!(
            encode(&Value::Null, &Type::INT4).unwrap(),
            Encoded::Null
        ));
    }

    #[test]
    fn count_mismatch_names_both_numbers() {
        let e = encode_all(&[Value::Int(1)], &[Type::INT4, Type::INT4]).unwrap_err();
        assert!(
            e.to_string()
                .contains("2 placeholder(s) but 1 parameter(s)"),
            "{e}"
        );
        let e = encode_all(&[Value::Int(1 << 40)], &[Type::INT4]).unwrap_err();
        assert!(e.to_string().contains("parameter $1"), "{e}");
    }

    #[test]
    fn untyped_values_go_as_text_the_server_parses() {
        let params = [
            Value::Int(-42),
            Value::Float(0.1),
            Value::Bool(true),
            Value::Text("x".into()),
            Value::Bytes(vec![0x00, 0xab]),
            Value::Null,
        ];
        let sql = "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)";
        let encoded = encode_untyped(sql, &params).unwrap();
        let texts: Vec<(Vec<u8>, bool)> = encoded[..5].iter().map(bytes).collect();
        assert_eq!(
            texts,
            [
                (b"-42".to_vec(), true),
                (b"0.1".to_vec(), true),
                (b"true".to_vec(), true),
                (b"x".to_vec(), true),
                (b"\\x00ab".to_vec(), true),
            ]
        );
        assert!(matches!(encoded[5], Encoded::Null));
        let e = encode_untyped("SELECT $1, $2", &params[..1]).unwrap_err();
        assert!(e.to_string().contains("2 placeholder(s) but 1"), "{e}");
    }
}
