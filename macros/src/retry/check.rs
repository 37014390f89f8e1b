//! What a `#[retry_on_deadlock]` function must look like: async, returning a `Result`, and
//! taking nothing that could be inside a transaction its caller began.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::{FnArg, ReturnType, Signature, Type};

/// Types whose presence in a parameter means the function would run inside a transaction
/// it did not begin (a transaction guard, or a connection that may hold one): txkit's, and
/// sea-orm's (`DatabaseTransaction`, and txkit-sea-orm's `SeaTx`).
const OUTER_TRANSACTION_TYPES: [&str; 6] = [
    "Transaction",
    "PooledConnection",
    "ManagedConnection",
    "Session",
    "DatabaseTransaction",
    "SeaTx",
];

/// Checks `sig`; every problem found is reported, each at its own span.
pub(crate) fn signature(sig: &Signature) -> syn::Result<()> {
    let mut errors: Vec<syn::Error> = Vec::new();
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "#[retry_on_deadlock] needs an `async fn`: it runs the function's body as an \
             async closure, once per attempt",
        ));
    }
    match &sig.output {
        ReturnType::Type(_, ty) if is_result(ty) => {}
        ReturnType::Type(_, ty) => errors.push(syn::Error::new_spanned(ty, NOT_RESULT)),
        ReturnType::Default => errors.push(syn::Error::new_spanned(&sig.ident, NOT_RESULT)),
    }
    for input in &sig.inputs {
        let FnArg::Typed(arg) = input else {
            continue;
        };
        if let Some(name) = mentions_outer_transaction(arg.ty.to_token_stream()) {
            errors.push(syn::Error::new_spanned(
                &arg.ty,
                format!(
                    "#[retry_on_deadlock] cannot retry inside a transaction it was given (this \
                     parameter's type is a `{name}`): a deadlock or serialization failure \
                     rolls back the caller's whole transaction, including the work done before \
                     this call, and re-running only this function cannot bring that back. Take \
                     `&Engine` (or `&Pool`) and begin the transaction inside the function, so \
                     that every attempt starts a new one"
                ),
            ));
        }
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            first.extend(errors);
            Err(first)
        }
    }
}

const NOT_RESULT: &str = "#[retry_on_deadlock] needs a function returning `Result<T, E>`, \
     where E tells retry which kind of failure it met (`txkit::Error`, or a type implementing \
     `txkit::core::RetryError`)";

/// Whether `ty` is a path ending in `Result` (`Result<T, E>`, `txkit::Result<T>`, …).
fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Result"),
        Type::Group(g) => is_result(&g.elem),
        Type::Paren(p) => is_result(&p.elem),
        _ => false,
    }
}

/// The first of [`OUTER_TRANSACTION_TYPES`] named anywhere in `tokens` (type arguments,
/// references, trait objects included).
fn mentions_outer_transaction(tokens: TokenStream) -> Option<&'static str> {
    tokens.into_iter().find_map(|tree| match tree {
        TokenTree::Ident(ident) => OUTER_TRANSACTION_TYPES
            .iter()
            .copied()
            .find(|name| ident == name),
        TokenTree::Group(group) => mentions_outer_transaction(group.stream()),
        _ => None,
    })
}
