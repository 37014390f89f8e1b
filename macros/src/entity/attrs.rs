//! `#[txkit(…)]` attributes, parsed once into typed values that keep their spans.
//!
//! This file checks the grammar only (known keys, no duplicates, value syntax); what the
//! keys mean together (types, one version column, a primary key) is checked in `model.rs`.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, ExprUnary, Lit, LitInt, LitStr, Path, Token, UnOp};

const STRUCT_KEYS: &str = "table";
const FIELD_KEYS: &str = "primary_key, auto_increment, column, unique, max_len, precision, scale, \
     default, skip, version";

/// The struct's `#[txkit(…)]` keys.
#[derive(Default)]
pub(super) struct StructAttrs {
    /// `table = "…"`.
    pub(super) table: Option<LitStr>,
}

/// A field's `#[txkit(…)]` keys; each `Path` is the key as written, for error spans.
#[derive(Default)]
pub(super) struct FieldAttrs {
    pub(super) primary_key: Option<Path>,
    pub(super) auto_increment: Option<Path>,
    pub(super) column: Option<(Path, LitStr)>,
    pub(super) unique: Option<Path>,
    pub(super) max_len: Option<(Path, u32)>,
    /// `precision = n` of a decimal, with the literal for error spans.
    pub(super) precision: Option<(Path, LitInt)>,
    /// `scale = n` of a decimal.
    pub(super) scale: Option<(Path, LitInt)>,
    pub(super) default: Option<(Path, DefaultLit)>,
    pub(super) skip: Option<Path>,
    pub(super) version: Option<VersionAttr>,
}

impl FieldAttrs {
    /// The keys other than `skip` that are present, for "`skip` combined with …" errors.
    pub(super) fn keys_besides_skip(&self) -> Vec<&Path> {
        [
            self.primary_key.as_ref(),
            self.auto_increment.as_ref(),
            self.column.as_ref().map(|(k, _)| k),
            self.unique.as_ref(),
            self.max_len.as_ref().map(|(k, _)| k),
            self.precision.as_ref().map(|(k, _)| k),
            self.scale.as_ref().map(|(k, _)| k),
            self.default.as_ref().map(|(k, _)| k),
            self.version.as_ref().map(|v| &v.key),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// `version` or `version(generator = path)`.
pub(super) struct VersionAttr {
    pub(super) key: Path,
    pub(super) generator: Option<Path>,
}

/// The literal of `default = …`, with the span of what was written.
#[derive(Clone)]
pub(super) struct DefaultLit {
    pub(super) value: DefaultKind,
    pub(super) span: Span,
}

/// The kinds of literal `default = …` accepts.
#[derive(Clone)]
pub(super) enum DefaultKind {
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
}

/// Parses every `#[txkit(…)]` on the struct.
pub(super) fn parse_struct_attrs(attrs: &[Attribute]) -> syn::Result<StructAttrs> {
    let mut out = StructAttrs::default();
    for attr in txkit_attrs(attrs) {
        attr.parse_nested_meta(|meta| {
            let key = key_name(&meta.path);
            match key.as_str() {
                "table" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    non_empty(&lit, "table")?;
                    set_once(&mut out.table, lit, &meta)
                }
                _ if is_field_key(&key) => Err(syn::Error::new_spanned(
                    &meta.path,
                    format!("`{key}` goes on a field, not on the struct; the struct takes: {STRUCT_KEYS}"),
                )),
                _ => Err(unknown_key(&meta.path, &key, "a struct", STRUCT_KEYS)),
            }
        })?;
    }
    Ok(out)
}

/// Parses every `#[txkit(…)]` on one field.
pub(super) fn parse_field_attrs(attrs: &[Attribute]) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in txkit_attrs(attrs) {
        attr.parse_nested_meta(|meta| parse_field_key(&mut out, &meta))?;
    }
    Ok(out)
}

fn parse_field_key(out: &mut FieldAttrs, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let key = key_name(&meta.path);
    let path = meta.path.clone();
    match key.as_str() {
        "primary_key" => flag(meta, &key).and_then(|()| set_once(&mut out.primary_key, path, meta)),
        "auto_increment" => {
            flag(meta, &key).and_then(|()| set_once(&mut out.auto_increment, path, meta))
        }
        "unique" => flag(meta, &key).and_then(|()| set_once(&mut out.unique, path, meta)),
        "skip" => flag(meta, &key).and_then(|()| set_once(&mut out.skip, path, meta)),
        "column" => {
            let lit: LitStr = meta.value()?.parse()?;
            non_empty(&lit, "column")?;
            set_once(&mut out.column, (path, lit), meta)
        }
        "max_len" => {
            let lit: LitInt = meta.value()?.parse()?;
            let n: u32 = lit.base10_parse()?;
            if n == 0 {
                return Err(syn::Error::new_spanned(lit, "`max_len` must be at least 1"));
            }
            set_once(&mut out.max_len, (path, n), meta)
        }
        "precision" => {
            let lit: LitInt = meta.value()?.parse()?;
            set_once(&mut out.precision, (path, lit), meta)
        }
        "scale" => {
            let lit: LitInt = meta.value()?.parse()?;
            set_once(&mut out.scale, (path, lit), meta)
        }
        "default" => {
            let expr: Expr = meta.value()?.parse()?;
            let lit = default_lit(&expr)?;
            set_once(&mut out.default, (path, lit), meta)
        }
        "version" => {
            let generator = version_generator(meta)?;
            set_once(
                &mut out.version,
                VersionAttr {
                    key: path,
                    generator,
                },
                meta,
            )
        }
        "table" => Err(syn::Error::new_spanned(
            &meta.path,
            format!("`table` goes on the struct, not on a field; a field takes: {FIELD_KEYS}"),
        )),
        _ => Err(unknown_key(&meta.path, &key, "a field", FIELD_KEYS)),
    }
}

/// `version` alone, or `version(generator = path)`.
fn version_generator(meta: &ParseNestedMeta<'_>) -> syn::Result<Option<Path>> {
    if !meta.input.peek(syn::token::Paren) {
        flag(meta, "version")?;
        return Ok(None);
    }
    let mut generator = None;
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("generator") {
            let path: Path = inner.value()?.parse()?;
            set_once(&mut generator, path, &inner)
        } else {
            let key = key_name(&inner.path);
            Err(unknown_key(&inner.path, &key, "`version(…)`", "generator"))
        }
    })?;
    match generator {
        Some(path) => Ok(Some(path)),
        None => Err(meta.error("write `version` or `version(generator = path::to::fn)`")),
    }
}

/// `default = 1`, `-1`, `2.5`, `"text"`, `true`.
fn default_lit(expr: &Expr) -> syn::Result<DefaultLit> {
    let span = expr.span();
    let (negative, lit) = match expr {
        Expr::Lit(ExprLit { lit, .. }) => (false, lit),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            Expr::Lit(ExprLit { lit, .. }) => (true, lit),
            _ => return Err(bad_default(expr)),
        },
        _ => return Err(bad_default(expr)),
    };
    let value = match (lit, negative) {
        (Lit::Int(i), _) => {
            let digits = if negative {
                format!("-{}", i.base10_digits())
            } else {
                i.base10_digits().to_owned()
            };
            let n = digits.parse::<i64>().map_err(|_| {
                syn::Error::new_spanned(expr, "this integer default does not fit in an i64")
            })?;
            DefaultKind::Int(n)
        }
        (Lit::Float(f), _) => {
            let n: f64 = f.base10_parse()?;
            if !n.is_finite() {
                return Err(syn::Error::new_spanned(
                    expr,
                    "a float default must be finite",
                ));
            }
            DefaultKind::Float(if negative { -n } else { n })
        }
        (Lit::Str(s), false) => DefaultKind::Text(s.value()),
        (Lit::Bool(b), false) => DefaultKind::Bool(b.value),
        _ => return Err(bad_default(expr)),
    };
    Ok(DefaultLit { value, span })
}

fn bad_default(expr: &Expr) -> syn::Error {
    syn::Error::new_spanned(
        expr,
        "`default` takes a literal: an integer, a float, a string or a bool",
    )
}

fn txkit_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("txkit"))
}

fn key_name(path: &Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

fn is_field_key(key: &str) -> bool {
    FIELD_KEYS.split(", ").any(|k| k == key)
}

/// A key that must not carry a value: `primary_key`, not `primary_key = true`.
fn flag(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<()> {
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        Ok(())
    } else {
        Err(syn::Error::new_spanned(
            &meta.path,
            format!("`{key}` takes no value: write #[txkit({key})]"),
        ))
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if slot.is_some() {
        let key = key_name(&meta.path);
        return Err(syn::Error::new_spanned(
            &meta.path,
            format!("duplicate key `{key}`: give it once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn non_empty(lit: &LitStr, key: &str) -> syn::Result<()> {
    let value = lit.value();
    if value.is_empty() {
        Err(syn::Error::new_spanned(
            lit,
            format!("`{key}` cannot be empty"),
        ))
    } else if value.contains('\0') {
        Err(syn::Error::new_spanned(
            lit,
            format!("`{key}` cannot contain a NUL character"),
        ))
    } else {
        Ok(())
    }
}

fn unknown_key(path: &Path, key: &str, on: &str, expected: &str) -> syn::Error {
    syn::Error::new_spanned(
        path,
        format!("unknown key `{key}` in #[txkit(…)] on {on}; expected one of: {expected}"),
    )
}
