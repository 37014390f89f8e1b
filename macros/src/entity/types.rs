//! The Rust field types an entity maps, and their `ColumnType`s.

use syn::{GenericArgument, PathArguments, Type};

const SUPPORTED: &str = "i16, i32, i64, f64, bool, String, Vec<u8>, and Option<T> of these";

/// A supported field type: a base type, maybe in an `Option`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct FieldType {
    pub(super) base: BaseType,
    pub(super) nullable: bool,
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
        }
    }

    pub(super) fn is_integer(self) -> bool {
        matches!(self, Self::I16 | Self::I32 | Self::I64)
    }

    /// Values are `Copy` (read without a clone).
    pub(super) fn is_copy(self) -> bool {
        !matches!(self, Self::String | Self::Bytes)
    }

    pub(super) fn integer_range(self) -> Option<(i64, i64)> {
        match self {
            Self::I16 => Some((i16::MIN.into(), i16::MAX.into())),
            Self::I32 => Some((i32::MIN.into(), i32::MAX.into())),
            Self::I64 => Some((i64::MIN, i64::MAX)),
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
        });
    }
    let base = base_type(ty).ok_or_else(unsupported)?;
    Ok(FieldType {
        base,
        nullable: false,
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
        _ => return None,
    };
    Some(base)
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
