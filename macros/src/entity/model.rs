//! The typed model of one entity, built from the parsed attributes and checked as a whole:
//! field types, one version column, a primary key, keys that fit their field's type.

use std::collections::HashMap;

use proc_macro2::Ident;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, Path, Type, Visibility};

use super::attrs::{self, DefaultKind, DefaultLit, FieldAttrs};
use super::naming::{screaming_snake_case, snake_case};
use super::types::{BaseType, FieldType, field_type};

/// One `#[derive(Entity)]` struct.
pub(super) struct Entity {
    pub(super) ident: Ident,
    pub(super) vis: Visibility,
    pub(super) table: String,
    pub(super) fields: Vec<Field>,
}

impl Entity {
    /// The mapped fields, in field order.
    pub(super) fn columns(&self) -> impl Iterator<Item = (&Field, &Column)> {
        self.fields.iter().filter_map(|f| match &f.kind {
            FieldKind::Column(c) => Some((f, &**c)),
            FieldKind::Skipped => None,
        })
    }

    /// The version field, if there is one.
    pub(super) fn version(&self) -> Option<(&Field, &Column, &Version)> {
        self.columns()
            .find_map(|(f, c)| c.version.as_ref().map(|v| (f, c, &v.next)))
    }
}

/// One struct field.
pub(super) struct Field {
    pub(super) ident: Ident,
    /// The type as written (for `skip` fields and generator signatures).
    pub(super) ty: Type,
    pub(super) kind: FieldKind,
}

/// Mapped to a column, or `skip`ped.
pub(super) enum FieldKind {
    Column(Box<Column>),
    Skipped,
}

/// A mapped field.
pub(super) struct Column {
    /// The column's name in the database.
    pub(super) name: String,
    /// The field's name without `r#`.
    pub(super) field_name: String,
    pub(super) ty: FieldType,
    pub(super) primary_key: bool,
    pub(super) auto_increment: bool,
    pub(super) unique: bool,
    pub(super) max_len: Option<u32>,
    /// A decimal's precision and scale (the defaults when not given).
    pub(super) decimal: Option<(u8, u8)>,
    pub(super) default: Option<DefaultKind>,
    pub(super) version: Option<VersionSpec>,
    /// The typed handle's name: `BALANCE`.
    pub(super) handle: Ident,
}

/// A version field: how its next value is made, and the `version` key as written.
pub(super) struct VersionSpec {
    pub(super) key: Path,
    pub(super) next: Version,
}

/// How the next version is made.
pub(super) enum Version {
    /// current + 1 (integers).
    Increment,
    /// `version(generator = path)`.
    Generator(Path),
}

/// Builds and checks the model of `input`.
pub(super) fn build(input: &DeriveInput) -> syn::Result<Entity> {
    let named = named_fields(input)?;
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(Entity)] does not support generic structs: an entity maps one table",
        ));
    }
    let struct_attrs = attrs::parse_struct_attrs(&input.attrs)?;
    let table = struct_attrs
        .table
        .map_or_else(|| snake_case(&input.ident.to_string()), |t| t.value());

    let mut errors = Errors::default();
    let mut fields = Vec::with_capacity(named.len());
    for field in named {
        let ident = field.ident.clone().ok_or_else(|| {
            syn::Error::new_spanned(field, "#[derive(Entity)] needs named fields")
        })?;
        match attrs::parse_field_attrs(&field.attrs).and_then(|a| field_kind(&ident, &field.ty, a))
        {
            Ok(kind) => fields.push(Field {
                ident,
                ty: field.ty.clone(),
                kind,
            }),
            Err(e) => errors.push(e),
        }
    }
    errors.finish()?;

    let entity = Entity {
        ident: input.ident.clone(),
        vis: input.vis.clone(),
        table,
        fields,
    };
    check_entity(&entity)?;
    Ok(entity)
}

fn named_fields(
    input: &DeriveInput,
) -> syn::Result<&syn::punctuated::Punctuated<syn::Field, syn::Token![,]>> {
    const NEED: &str =
        "#[derive(Entity)] needs a struct with named fields (`struct Account { id: i64, … }`)";
    match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => Ok(&named.named),
            Fields::Unnamed(unnamed) => Err(syn::Error::new_spanned(
                unnamed,
                format!("{NEED}; a tuple struct has no column names"),
            )),
            Fields::Unit => Err(syn::Error::new_spanned(&input.ident, NEED)),
        },
        Data::Enum(e) => Err(syn::Error::new_spanned(
            e.enum_token,
            format!("{NEED}, not an enum"),
        )),
        Data::Union(u) => Err(syn::Error::new_spanned(
            u.union_token,
            format!("{NEED}, not a union"),
        )),
    }
}

/// Checks one field's keys against its type.
fn field_kind(ident: &Ident, ty: &Type, attrs: FieldAttrs) -> syn::Result<FieldKind> {
    if attrs.skip.is_some() {
        return match attrs.keys_besides_skip().first() {
            Some(other) => Err(syn::Error::new_spanned(
                other,
                format!(
                    "`skip` cannot be combined with `{}`: a skipped field is not a column",
                    other
                        .segments
                        .iter()
                        .map(|s| s.ident.to_string())
                        .collect::<Vec<_>>()
                        .join("::")
                ),
            )),
            None => Ok(FieldKind::Skipped),
        };
    }
    let field_type = field_type(ty)?;
    let field_name = ident.unraw().to_string();
    let name = attrs
        .column
        .as_ref()
        .map_or_else(|| field_name.clone(), |(_, lit)| lit.value());

    if let Some(key) = &attrs.auto_increment {
        if !field_type.base.is_integer() {
            return Err(syn::Error::new_spanned(
                key,
                format!(
                    "`auto_increment` needs an integer field (i16, i32, i64, u8, u16, u32 or \
                     u64), not {}",
                    field_type.base.rust_name()
                ),
            ));
        }
    }
    if let Some((key, _)) = &attrs.max_len {
        if field_type.base != BaseType::String {
            return Err(syn::Error::new_spanned(
                key,
                "`max_len` applies to text fields (String or Option<String>)",
            ));
        }
    }
    let decimal = decimal_digits(field_type.base, &attrs)?;
    if let Some((_, default)) = &attrs.default {
        check_default(
            default,
            field_type.base,
            attrs.max_len.as_ref().map(|(_, n)| *n),
        )?;
    }
    let version = match &attrs.version {
        Some(v) => Some(VersionSpec {
            key: v.key.clone(),
            next: version_kind(v, ty, &field_type, &attrs)?,
        }),
        None => None,
    };

    Ok(FieldKind::Column(Box::new(Column {
        handle: Ident::new(&screaming_snake_case(&field_name), ident.span()),
        name,
        field_name,
        ty: field_type,
        primary_key: attrs.primary_key.is_some(),
        auto_increment: attrs.auto_increment.is_some(),
        unique: attrs.unique.is_some(),
        max_len: attrs.max_len.map(|(_, n)| n),
        decimal,
        default: attrs.default.map(|(_, d)| d.value),
        version,
    })))
}

/// The precision and scale of a `Decimal` field: `precision = p` (1 to 65, MySQL's limit;
/// default 28, all a `Decimal` holds) and `scale = s` (at most `p` and 30). Without either
/// key, `(28, 10)`; with `precision` alone, scale 0, as SQL reads `DECIMAL(p)`. Other
/// fields take neither key.
fn decimal_digits(base: BaseType, attrs: &FieldAttrs) -> syn::Result<Option<(u8, u8)>> {
    if base != BaseType::Decimal {
        if let Some((key, _)) = attrs.precision.as_ref().or(attrs.scale.as_ref()) {
            return Err(syn::Error::new_spanned(
                key,
                "`precision` and `scale` apply to decimal fields (Decimal or Option<Decimal>)",
            ));
        }
        return Ok(None);
    }
    let precision = match &attrs.precision {
        Some((_, lit)) => match lit.base10_parse::<u8>() {
            Ok(p @ 1..=65) => p,
            _ => {
                return Err(syn::Error::new_spanned(
                    lit,
                    "`precision` must be 1 to 65 (MySQL's limit; a Decimal holds 28 digits)",
                ));
            }
        },
        None => 28,
    };
    let scale = match &attrs.scale {
        Some((_, lit)) => match lit.base10_parse::<u8>() {
            Ok(s) if s <= precision && s <= 30 => s,
            _ => {
                return Err(syn::Error::new_spanned(
                    lit,
                    format!(
                        "`scale` must be 0 to {} (at most the precision, and 30)",
                        precision.min(30)
                    ),
                ));
            }
        },
        None if attrs.precision.is_some() => 0,
        None => 10,
    };
    Ok(Some((precision, scale)))
}

fn version_kind(
    v: &attrs::VersionAttr,
    ty: &Type,
    field_type: &FieldType,
    attrs: &FieldAttrs,
) -> syn::Result<Version> {
    if field_type.nullable {
        return Err(syn::Error::new_spanned(
            ty,
            "a version field cannot be an Option: NULL never equals the expected version",
        ));
    }
    for (other, what) in [
        (&attrs.primary_key, "primary_key"),
        (&attrs.auto_increment, "auto_increment"),
    ] {
        if let Some(other) = other {
            return Err(syn::Error::new_spanned(
                other,
                format!("a version field cannot also be `{what}`"),
            ));
        }
    }
    match (&v.generator, field_type.base.is_integer()) {
        (Some(path), _) => Ok(Version::Generator(path.clone())),
        (None, true) => Ok(Version::Increment),
        (None, false) => Err(syn::Error::new_spanned(
            &v.key,
            format!(
                "a `version` field of type {} needs a generator: \
                 #[txkit(version(generator = path::to::fn))] with fn(&{0}) -> {0}; \
                 only integers advance by themselves",
                field_type.base.rust_name()
            ),
        )),
    }
}

fn check_default(default: &DefaultLit, base: BaseType, max_len: Option<u32>) -> syn::Result<()> {
    let err = |msg: String| Err(syn::Error::new(default.span, msg));
    match (&default.value, base) {
        (DefaultKind::Int(n), _) if base.is_integer() => match base.integer_range() {
            Some((lo, hi)) if *n < lo || *n > hi => {
                err(format!("default {n} does not fit in {}", base.rust_name()))
            }
            _ => Ok(()),
        },
        (DefaultKind::Int(_) | DefaultKind::Float(_), BaseType::F64)
        | (DefaultKind::Bool(_), BaseType::Bool) => Ok(()),
        (DefaultKind::Text(s), BaseType::String) => match max_len {
            Some(max) if s.chars().count() > max as usize => err(format!(
                "the default is {} characters long, more than max_len = {max}",
                s.chars().count()
            )),
            _ => Ok(()),
        },
        (_, BaseType::Bytes) => err("a Vec<u8> column cannot have a default".to_owned()),
        (_, base) if base.is_foreign() => err(format!(
            "a {} column cannot have a default here; set the value in Rust",
            base.rust_name()
        )),
        (kind, base) => err(format!(
            "a {} default does not fit a {} field",
            match kind {
                DefaultKind::Int(_) => "integer",
                DefaultKind::Float(_) => "float",
                DefaultKind::Text(_) => "string",
                DefaultKind::Bool(_) => "bool",
            },
            base.rust_name()
        )),
    }
}

/// Checks across fields: a primary key, at most one version and one auto_increment
/// column, no two columns or handles with one name.
fn check_entity(entity: &Entity) -> syn::Result<()> {
    let mut errors = Errors::default();
    if !entity.columns().any(|(_, c)| c.primary_key) {
        errors.push(syn::Error::new_spanned(
            &entity.ident,
            format!(
                "entity `{}` has no primary key: mark its key field(s) #[txkit(primary_key)]",
                entity.ident
            ),
        ));
    }
    let mut version: Option<&Field> = None;
    let mut auto: Option<&Field> = None;
    let mut names: HashMap<String, &Field> = HashMap::new();
    let mut handles: HashMap<String, &Field> = HashMap::new();
    for (field, column) in entity.columns() {
        if let Some(spec) = &column.version {
            match version {
                Some(first) => errors.push(syn::Error::new_spanned(
                    &spec.key,
                    format!(
                        "an entity has at most one version field, and `{}` already is one",
                        first.ident
                    ),
                )),
                None => version = Some(field),
            }
        }
        if column.auto_increment {
            match auto {
                Some(first) => errors.push(syn::Error::new_spanned(
                    &field.ident,
                    format!(
                        "an entity has at most one auto_increment field, and `{}` already is one",
                        first.ident
                    ),
                )),
                None => auto = Some(field),
            }
        }
        if let Some(first) = names.insert(column.name.to_lowercase(), field) {
            errors.push(syn::Error::new_spanned(
                &field.ident,
                format!(
                    "`{}` maps to column {:?}, like `{}`: give one of them another #[txkit(column = \"…\")]",
                    field.ident, column.name, first.ident
                ),
            ));
        }
        if let Some(first) = handles.insert(column.handle.to_string(), field) {
            errors.push(syn::Error::new_spanned(
                &field.ident,
                format!(
                    "`{}` and `{}` would both get the column handle `{}::{}`; rename one",
                    first.ident, field.ident, entity.ident, column.handle
                ),
            ));
        }
    }
    errors.finish()
}

/// Collects errors so that one build reports all of them.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}
