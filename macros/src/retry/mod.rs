//! `#[retry_on_deadlock]`: `attrs` parses the arguments, `check` the function's signature,
//! `expand` wraps the body in `::txkit::core::retry`.

mod attrs;
mod check;
mod expand;
#[cfg(test)]
mod tests;

use proc_macro2::TokenStream;

/// The `#[retry_on_deadlock]` entry point. On an error the function is emitted unchanged
/// next to it, so that the error is the only one reported.
pub(crate) fn attribute(
    args: proc_macro::TokenStream,
    item: proc_macro::TokenStream,
) -> proc_macro::TokenStream {
    let item = TokenStream::from(item);
    match retry_on_deadlock_inner(args.into(), item.clone()) {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            let mut tokens = error.into_compile_error();
            tokens.extend(item);
            tokens.into()
        }
    }
}

/// Parses, checks and expands; testable without a compiler session.
pub(crate) fn retry_on_deadlock_inner(
    args: TokenStream,
    item: TokenStream,
) -> syn::Result<TokenStream> {
    let func: syn::ItemFn = syn::parse2(item)?;
    let attrs = attrs::parse(args);
    let signature = check::signature(&func.sig);
    match (attrs, signature) {
        (Ok(attrs), Ok(())) => Ok(expand::expand(&attrs, func)),
        (Err(mut a), Err(s)) => {
            a.combine(s);
            Err(a)
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}
