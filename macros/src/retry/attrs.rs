//! The `#[retry_on_deadlock(…)]` grammar, parsed once into [`RetryAttrs`] with spans for
//! every error.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Ident, LitBool, LitInt, Token};

/// The keys the attribute accepts, in the order the documentation lists them.
const KEYS: &str = "max_attempts, base_delay_ms, max_delay_ms, deadline_ms, jitter, also";

/// What the attribute asked for; `None` keeps the policy's default.
#[derive(Debug, Default)]
pub(crate) struct RetryAttrs {
    pub(crate) max_attempts: Option<u32>,
    pub(crate) base_delay_ms: Option<u64>,
    pub(crate) max_delay_ms: Option<u64>,
    pub(crate) deadline_ms: Option<u64>,
    pub(crate) jitter: Option<bool>,
    pub(crate) also: Vec<AlsoKind>,
}

/// A failure kind retried on top of the defaults (deadlock, serialization failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AlsoKind {
    LockTimeout,
    LockNotAvailable,
    StaleData,
}

impl AlsoKind {
    fn from_ident(ident: &Ident) -> syn::Result<Self> {
        match ident.to_string().as_str() {
            "lock_timeout" => Ok(Self::LockTimeout),
            "lock_not_available" => Ok(Self::LockNotAvailable),
            "stale_data" => Ok(Self::StaleData),
            "deadlock" | "serialization_failure" => Err(syn::Error::new(
                ident.span(),
                format!(
                    "`{ident}` is always retried; `also` adds lock_timeout, lock_not_available or stale_data"
                ),
            )),
            "commit_outcome_unknown" => Err(syn::Error::new(
                ident.span(),
                "commit_outcome_unknown is never retried: the attempt may have committed, and \
                 running it again would apply it twice",
            )),
            _ => Err(syn::Error::new(
                ident.span(),
                format!(
                    "unknown kind `{ident}` in `also`; expected lock_timeout, \
                     lock_not_available or stale_data"
                ),
            )),
        }
    }

    /// The `ErrorKind` variant's name.
    pub(crate) fn variant(self) -> Ident {
        let name = match self {
            Self::LockTimeout => "LockTimeout",
            Self::LockNotAvailable => "LockNotAvailable",
            Self::StaleData => "StaleData",
        };
        Ident::new(name, Span::call_site())
    }
}

/// Parses the attribute's arguments (empty for a bare `#[retry_on_deadlock]`).
pub(crate) fn parse(args: TokenStream) -> syn::Result<RetryAttrs> {
    let mut attrs = RetryAttrs::default();
    let mut seen: Vec<String> = Vec::new();
    let parser = syn::meta::parser(|meta| {
        let Some(ident) = meta.path.get_ident() else {
            return Err(syn::Error::new_spanned(
                &meta.path,
                format!("expected one of: {KEYS}"),
            ));
        };
        let key = ident.to_string();
        if seen.contains(&key) {
            return Err(syn::Error::new_spanned(
                &meta.path,
                format!("duplicate key `{key}`: give each key once"),
            ));
        }
        match key.as_str() {
            "max_attempts" => {
                let lit: LitInt = meta.value()?.parse()?;
                let n: u32 = lit.base10_parse()?;
                if n == 0 {
                    return Err(syn::Error::new_spanned(
                        lit,
                        "max_attempts counts the first attempt too: it must be at least 1",
                    ));
                }
                attrs.max_attempts = Some(n);
            }
            "base_delay_ms" => attrs.base_delay_ms = Some(millis(&meta)?),
            "max_delay_ms" => attrs.max_delay_ms = Some(millis(&meta)?),
            "deadline_ms" => attrs.deadline_ms = Some(millis(&meta)?),
            "jitter" => {
                let lit: LitBool = meta.value()?.parse()?;
                attrs.jitter = Some(lit.value);
            }
            "also" => attrs.also = also_list(&meta)?,
            _ => {
                return Err(syn::Error::new_spanned(
                    &meta.path,
                    format!("unknown key `{key}`; expected one of: {KEYS}"),
                ));
            }
        }
        seen.push(key);
        Ok(())
    });
    parser.parse2(args)?;
    Ok(attrs)
}

/// `= <integer>`, milliseconds.
fn millis(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<u64> {
    let lit: LitInt = meta.value()?.parse()?;
    lit.base10_parse()
}

/// `= [kind, …]`, each kind once.
fn also_list(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Vec<AlsoKind>> {
    let input = meta.value()?;
    let content;
    syn::bracketed!(content in input);
    let idents = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
    let mut kinds = Vec::new();
    for ident in &idents {
        let kind = AlsoKind::from_ident(ident)?;
        if kinds.contains(&kind) {
            return Err(syn::Error::new(
                ident.span(),
                format!("`{ident}` is listed twice in `also`"),
            ));
        }
        kinds.push(kind);
    }
    Ok(kinds)
}
