//! The Rust field types an entity maps, and their `ColumnType`s.

use syn::{GenericArgument, PathArguments, Type};

const SUPPORTED: &str = "i16, i32, i64, u8, u16, u32, u64, f64, bool, String, Vec<u8>, \
     Decimal (feature `decimal`), NaiveDate, NaiveDateTime, DateTime<Utc> (feature `chrono`), \
     Uuid (feature `uuid`), serde_json::Value or JsonValue (feature `json`), and Option<T> of \
     these";

/// A supported field type: a base type, maybe in an `Option`.
#[derive(Clone)]
pub(super) struct FieldType {
    pub(super) base: BaseType,
    pub(super) nullable: bool,
    /// The base type as the field spells it (`rust_decimal::Decimal`, `DateTime<Utc>`), for
    /// generated code that names a type from another crate.
    pub(super) written: Type,
}

/// The Rust types that map to a `ColumnType`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum BaseType {
    I16,
    I32,
    I64,
    F64,
    Bool,
    String,
    Bytes,
    U8,
    U16,
    U32,
    U64,
    /// `rust_decimal::Decimal`.
    Decimal,
    /// `chrono::NaiveDate`.
    Date,
    /// `chrono::NaiveDateTime`.
    Timestamp,
    /// `chrono::DateTime<Utc>`.
    TimestampTz,
    /// `uuid::Uuid`.
    Uuid,
    /// `serde_json::Value`.
    Json,
}

impl BaseType {
    /// The Rust spelling, for messages.
    pub(super) fn rust_name(self) -> &'static str {
        match self {
            Self::I16 => "i16",
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::F64 => "f64",
            Self::Bool => "bool",
            Self::String => "String",
            Self::Bytes => "Vec<u8>",
            Self::U8 => "u8",
            Self::U16 => "u16",
            Self::U32 => "u32",
            Self::U64 => "u64",
            Self::Decimal => "Decimal",
            Self::Date => "NaiveDate",
            Self::Timestamp => "NaiveDateTime",
            Self::TimestampTz => "DateTime<Utc>",
            Self::Uuid => "Uuid",
            Self::Json => "serde_json::Value",
        }
    }

    pub(super) fn is_integer(self) -> bool {
        self.integer_range().is_some()
    }

    /// Values are `Copy` (read without a clone).
    pub(super) fn is_copy(self) -> bool {
        !matches!(self, Self::String | Self::Bytes | Self::Json)
    }

    /// A type from another crate, named in generated code as the field spells it.
    pub(super) fn is_foreign(self) -> bool {
        matches!(
            self,
            Self::Decimal
                | Self::Date
                | Self::Timestamp
                | Self::TimestampTz
                | Self::Uuid
                | Self::Json
        )
    }

    /// The values an integer type holds in its column (`u64`: the BIGINT's, up to
    /// `i64::MAX`).
    pub(super) fn integer_range(self) -> Option<(i64, i64)> {
        match self {
            Self::I16 => Some((i16::MIN.into(), i16::MAX.into())),
            Self::I32 => Some((i32::MIN.into(), i32::MAX.into())),
            Self::I64 => Some((i64::MIN, i64::MAX)),
            Self::U8 => Some((0, u8::MAX.into())),
            Self::U16 => Some((0, u16::MAX.into())),
            Self::U32 => Some((0, u32::MAX.into())),
            Self::U64 => Some((0, i64::MAX)),
            _ => None,
        }
    }
}

/// Maps a field's type, or explains which types are supported.
pub(super) fn field_type(ty: &Type) -> syn::Result<FieldType> {
    let unsupported = || {
        syn::Error::new_spanned(
            ty,
            format!(
                "unsupported field type `{}`: an entity field must be one of {SUPPORTED}; \
                 mark other fields #[txkit(skip)]",
                quote::ToTokens::to_token_stream(ty)
                    .to_string()
                    .replace(' ', "")
            ),
        )
    };
    let (name, arg) = last_segment(ty).ok_or_else(unsupported)?;
    if name == "Option" {
        let inner = arg.ok_or_else(unsupported)?;
        let base = base_type(inner).ok_or_else(unsupported)?;
        return Ok(FieldType {
            base,
            nullable: true,
            written: inner.clone(),
        });
    }
    let base = base_type(ty).ok_or_else(unsupported)?;
    Ok(FieldType {
        base,
        nullable: false,
        written: ty.clone(),
    })
}

fn base_type(ty: &Type) -> Option<BaseType> {
    let (name, arg) = last_segment(ty)?;
    let base = match (name.as_str(), arg) {
        ("i16", None) => BaseType::I16,
        ("i32", None) => BaseType::I32,
        ("i64", None) => BaseType::I64,
        ("f64", None) => BaseType::F64,
        ("bool", None) => BaseType::Bool,
        ("String", None) => BaseType::String,
        ("Vec", Some(inner))
            if last_segment(inner).is_some_and(|(n, a)| n == "u8" && a.is_none()) =>
        {
            BaseType::Bytes
        }
        ("u8", None) => BaseType::U8,
        ("u16", None) => BaseType::U16,
        ("u32", None) => BaseType::U32,
        ("u64", None) => BaseType::U64,
        ("Decimal", None) => BaseType::Decimal,
        ("NaiveDate", None) => BaseType::Date,
        ("NaiveDateTime", None) => BaseType::Timestamp,
        ("DateTime", Some(zone))
            if last_segment(zone).is_some_and(|(n, a)| n == "Utc" && a.is_none()) =>
        {
            BaseType::TimestampTz
        }
        ("Uuid", None) => BaseType::Uuid,
        ("JsonValue", None) => BaseType::Json,
        // `Value` alone could be txkit's own; only `serde_json::Value` is JSON.
        ("Value", None) if is_serde_json_value(ty) => BaseType::Json,
        _ => return None,
    };
    Some(base)
}

/// `serde_json::Value` or `::serde_json::Value` (or through txkit's re-export,
/// `txkit::core::serde_json::Value`).
fn is_serde_json_value(ty: &Type) -> bool {
    let Type::Path(p) = ty else {
        return false;
    };
    let segments: Vec<_> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segments.len() >= 2 && segments[segments.len() - 2] == "serde_json"
}

/// The last path segment's name and its single type argument, if the type is a plain path.
fn last_segment(ty: &Type) -> Option<(String, Option<&Type>)> {
    let path = match ty {
        Type::Path(p) if p.qself.is_none() => &p.path,
        Type::Group(g) => return last_segment(&g.elem),
        Type::Paren(p) => return last_segment(&p.elem),
        _ => return None,
    };
    let seg = path.segments.last()?;
    let arg = match &seg.arguments {
        PathArguments::None => None,
        PathArguments::AngleBracketed(a) if a.args.len() == 1 => match a.args.first() {
            Some(GenericArgument::Type(t)) => Some(t),
            _ => return None,
        },
        _ => return None,
    };
    Some((seg.ident.to_string(), arg))
}
