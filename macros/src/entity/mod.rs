//! `#[derive(Entity)]`: `attrs` parses the `#[txkit(…)]` grammar, `model` checks it into a
//! typed model (field types in `types`), `expand` generates the code.

mod attrs;
mod expand;
mod model;
mod naming;
#[cfg(test)]
mod tests;
mod types;

use proc_macro2::TokenStream;

/// The `#[derive(Entity)]` entry point.
pub(crate) fn derive(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive_inner(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Parses, checks and expands one derive input; testable without a compiler session.
pub(crate) fn derive_inner(input: syn::DeriveInput) -> syn::Result<TokenStream> {
    let entity = model::build(&input)?;
    Ok(expand::expand(&entity))
}
