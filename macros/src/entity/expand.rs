//! Code generation from the checked model: the `Entity` impl, the `Versioned` impl, and the
//! typed column handles. Every path goes through `::txkit::core` so users depend on `txkit`
//! alone; table and column names are emitted as string data, never as SQL text.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::attrs::DefaultKind;
use super::model::{Column, Entity, Field, FieldKind, Version};
use super::types::{BaseType, FieldType};

/// Everything `#[derive(Entity)]` adds for `entity`.
pub(super) fn expand(entity: &Entity) -> TokenStream {
    let entity_impl = entity_impl(entity);
    let versioned_impl = versioned_impl(entity);
    let handles = column_handles(entity);
    quote! {
        #entity_impl
        #versioned_impl
        #handles
    }
}

fn entity_impl(entity: &Entity) -> TokenStream {
    let ident = &entity.ident;
    let table = &entity.table;
    let columns = entity.columns().map(|(_, c)| column_def(c));
    let from_row = from_row(entity);
    let values: Vec<TokenStream> = entity
        .columns()
        .map(|(f, c)| {
            let read = read_field(f, &c.ty);
            quote!(::txkit::core::Value::from(#read))
        })
        .collect();
    let count = values.len();
    let set_generated = set_generated(entity);
    let version_fns = version_fns(entity);
    quote! {
        #[automatically_derived]
        impl ::txkit::core::Entity for #ident {
            const TABLE: &'static str = #table;
            const COLUMNS: &'static [::txkit::core::ColumnDef] = &[#(#columns),*];

            fn from_row(row: &::txkit::core::Row) -> ::txkit::core::Result<Self> {
                #from_row
            }

            fn values(&self) -> ::std::vec::Vec<::txkit::core::Value> {
                ::std::vec![#(#values),*]
            }

            fn write_values(&self, out: &mut ::std::vec::Vec<::txkit::core::Value>) {
                out.reserve(#count);
                #(out.push(#values);)*
            }

            #set_generated
            #version_fns
        }
    }
}

/// `ColumnDef::new(name, field, ty)`, with the flags that differ from `new`'s.
fn column_def(c: &Column) -> TokenStream {
    let name = &c.name;
    let field = &c.field_name;
    let ty = column_type(c);
    let new = quote!(::txkit::core::ColumnDef::new(#name, #field, ::txkit::core::ColumnType::#ty));
    let mut set = Vec::new();
    for (on, flag) in [
        (c.ty.nullable, quote!(nullable)),
        (c.primary_key, quote!(primary_key)),
        (c.auto_increment, quote!(auto_increment)),
        (c.unique, quote!(unique)),
        (c.version.is_some(), quote!(version)),
    ] {
        if on {
            set.push(quote!(#flag: true));
        }
    }
    if let Some(n) = c.max_len {
        let n = Literal::u32_unsuffixed(n);
        set.push(quote!(max_len: ::core::option::Option::Some(#n)));
    }
    if let Some(d) = &c.default {
        let value = default_value(d);
        set.push(quote!(default: ::core::option::Option::Some(#value)));
    }
    if set.is_empty() {
        new
    } else {
        quote!(::txkit::core::ColumnDef { #(#set,)* ..#new })
    }
}

/// The `ColumnType` of a column. Unsigned integers go into the signed type one size up
/// (`u64` into a BIGINT, which refuses values above `i64::MAX` when written).
fn column_type(c: &Column) -> TokenStream {
    match c.ty.base {
        BaseType::I16 | BaseType::U8 => quote!(SmallInt),
        BaseType::I32 | BaseType::U16 => quote!(Integer),
        BaseType::I64 | BaseType::U32 | BaseType::U64 => quote!(BigInt),
        BaseType::F64 => quote!(Double),
        BaseType::Bool => quote!(Bool),
        BaseType::String => quote!(Text),
        BaseType::Bytes => quote!(Bytes),
        BaseType::Decimal => {
            let (precision, scale) = c.decimal.unwrap_or((28, 10));
            let (p, s) = (
                Literal::u8_unsuffixed(precision),
                Literal::u8_unsuffixed(scale),
            );
            quote!(Decimal { precision: #p, scale: #s })
        }
        BaseType::Date => quote!(Date),
        BaseType::Timestamp => quote!(Timestamp),
        BaseType::TimestampTz => quote!(TimestampTz),
        BaseType::Uuid => quote!(Uuid),
        BaseType::Json => quote!(Json),
    }
}

fn default_value(d: &DefaultKind) -> TokenStream {
    match d {
        DefaultKind::Int(n) => {
            let n = Literal::i64_unsuffixed(*n);
            quote!(::txkit::core::DefaultValue::Int(#n))
        }
        DefaultKind::Float(x) => {
            let x = Literal::f64_unsuffixed(*x);
            quote!(::txkit::core::DefaultValue::Float(#x))
        }
        DefaultKind::Text(s) => quote!(::txkit::core::DefaultValue::Text(#s)),
        DefaultKind::Bool(b) => quote!(::txkit::core::DefaultValue::Bool(#b)),
    }
}

/// The Rust type a base type is decoded as: a type from another crate as the field spells
/// it (it is in scope where the struct is).
fn base_rust(ty: &FieldType) -> TokenStream {
    if ty.base.is_foreign() {
        return quote::ToTokens::to_token_stream(&ty.written);
    }
    match ty.base {
        BaseType::I16 => quote!(i16),
        BaseType::I32 => quote!(i32),
        BaseType::I64 => quote!(i64),
        BaseType::F64 => quote!(f64),
        BaseType::Bool => quote!(bool),
        BaseType::String => quote!(::std::string::String),
        BaseType::Bytes => quote!(::std::vec::Vec<u8>),
        BaseType::U8 => quote!(u8),
        BaseType::U16 => quote!(u16),
        BaseType::U32 => quote!(u32),
        BaseType::U64 => quote!(u64),
        // Foreign types are returned above.
        _ => quote::ToTokens::to_token_stream(&ty.written),
    }
}

fn field_rust(ty: &FieldType) -> TokenStream {
    let base = base_rust(ty);
    if ty.nullable {
        quote!(::core::option::Option<#base>)
    } else {
        base
    }
}

/// The field's value, copied or cloned.
fn read_field(f: &Field, ty: &FieldType) -> TokenStream {
    let ident = &f.ident;
    if ty.base.is_copy() {
        quote!(self.#ident)
    } else {
        quote!(::core::clone::Clone::clone(&self.#ident))
    }
}

/// An expression of type `Result<field type>` decoding `value` (a `&Value`) read from
/// column `c`. `i16` is read as `i64` and range-checked (core has no `FromValue for i16`).
fn decode(c: &Column, value: &TokenStream) -> TokenStream {
    let name = &c.name;
    if c.ty.base != BaseType::I16 {
        let ty = field_rust(&c.ty);
        return quote!(<#ty as ::txkit::core::FromValue>::from_value(#value, #name));
    }
    let narrow = quote! {
        |wide: i64| <i16 as ::core::convert::TryFrom<i64>>::try_from(wide).map_err(|_| {
            ::txkit::core::Error::config(::std::format!(
                "column {:?} holds {} which is out of range for i16", #name, wide
            ))
        })
    };
    if c.ty.nullable {
        quote! {
            <::core::option::Option<i64> as ::txkit::core::FromValue>::from_value(#value, #name)
                .and_then(|wide| wide.map(#narrow).transpose())
        }
    } else {
        quote! {
            <i64 as ::txkit::core::FromValue>::from_value(#value, #name).and_then(#narrow)
        }
    }
}

fn from_row(entity: &Entity) -> TokenStream {
    let inits = entity.fields.iter().map(|f| {
        let ident = &f.ident;
        match &f.kind {
            FieldKind::Column(c) => {
                let name = &c.name;
                let decode = decode(c, &quote!(::txkit::core::Row::value(row, #name)?));
                quote!(#ident: #decode?)
            }
            FieldKind::Skipped => {
                let ty = &f.ty;
                let default =
                    quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default());
                quote!(#ident: #default)
            }
        }
    });
    quote!(::core::result::Result::Ok(Self { #(#inits),* }))
}

fn set_generated(entity: &Entity) -> TokenStream {
    let table = &entity.table;
    let auto: Vec<_> = entity.columns().filter(|(_, c)| c.auto_increment).collect();
    if auto.is_empty() {
        return quote! {
            fn set_generated(
                &mut self,
                column: &str,
                value: ::txkit::core::Value,
            ) -> ::txkit::core::Result<()> {
                let _ = value;
                ::core::result::Result::Err(::txkit::core::Error::config(::std::format!(
                    "table {} has no auto_increment column (asked to set {:?})", #table, column
                )))
            }
        };
    }
    let names: Vec<&str> = auto.iter().map(|(_, c)| c.name.as_str()).collect();
    let known = names.join(", ");
    let arms = auto.iter().map(|(f, c)| {
        let ident = &f.ident;
        let name = &c.name;
        let context = format!("storing the generated value of {table}.{name}");
        let decode = decode(c, &quote!(&value));
        quote! {
            #name => {
                self.#ident = #decode.map_err(|e| e.context(#context))?;
                ::core::result::Result::Ok(())
            }
        }
    });
    quote! {
        fn set_generated(
            &mut self,
            column: &str,
            value: ::txkit::core::Value,
        ) -> ::txkit::core::Result<()> {
            match column {
                #(#arms)*
                other => ::core::result::Result::Err(::txkit::core::Error::config(::std::format!(
                    "{:?} is not an auto_increment column of table {}; it has: {}",
                    other, #table, #known
                ))),
            }
        }
    }
}

fn version_fns(entity: &Entity) -> TokenStream {
    let Some((field, column, version)) = entity.version() else {
        return TokenStream::new();
    };
    let ident = &field.ident;
    let read = read_field(field, &column.ty);
    let next = match version {
        Version::Increment => quote! {
            self.#ident.checked_add(1).map(::txkit::core::Value::from)
        },
        Version::Generator(path) => {
            // A direct call (not a `VersionGenerator<T>` coercion) lets deref coercion
            // accept `fn(&str) -> String` as well as `fn(&String) -> String`.
            let ty = &field.ty;
            let mut arg = ident.clone();
            arg.set_span(path.span());
            let next = quote_spanned! {path.span()=>
                let next: #ty = #path(&self.#arg);
            };
            quote! {
                #next
                ::core::option::Option::Some(::txkit::core::Value::from(next))
            }
        }
    };
    let context = format!(
        "storing the new version of {}.{}",
        entity.table, column.name
    );
    let decode = decode(column, &quote!(&value));
    quote! {
        fn version(&self) -> ::core::option::Option<::txkit::core::Value> {
            ::core::option::Option::Some(::txkit::core::Value::from(#read))
        }

        fn next_version(&self) -> ::core::option::Option<::txkit::core::Value> {
            #next
        }

        fn set_version(&mut self, value: ::txkit::core::Value) -> ::txkit::core::Result<()> {
            self.#ident = #decode.map_err(|e| e.context(#context))?;
            ::core::result::Result::Ok(())
        }
    }
}

fn versioned_impl(entity: &Entity) -> TokenStream {
    let Some((_, column, _)) = entity.version() else {
        return TokenStream::new();
    };
    let ident = &entity.ident;
    let name = &column.name;
    quote! {
        #[automatically_derived]
        impl ::txkit::core::Versioned for #ident {
            const VERSION_COLUMN: &'static str = #name;
        }
    }
}

fn column_handles(entity: &Entity) -> TokenStream {
    let ident = &entity.ident;
    let vis = &entity.vis;
    let consts = entity.columns().map(|(_, c)| {
        let handle = &c.handle;
        let name = &c.name;
        let ty = base_rust(&c.ty);
        let doc = format!(
            " The `{name}` column of table `{}` ({}{}), for filters: `{ident}::{handle}.eq(…)`.",
            entity.table,
            c.ty.base.rust_name(),
            if c.ty.nullable { ", nullable" } else { "" },
        );
        quote! {
            #[doc = #doc]
            #vis const #handle: ::txkit::core::Column<#ident, #ty> = ::txkit::core::Column::new(#name);
        }
    });
    quote! {
        #[automatically_derived]
        #[allow(dead_code)]
        impl #ident {
            #(#consts)*
        }
    }
}
