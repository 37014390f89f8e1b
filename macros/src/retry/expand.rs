//! The expansion: the same function, whose body runs inside `::txkit::core::retry`.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, ItemFn, ReturnType};

use super::attrs::RetryAttrs;

/// `async fn f(args) -> R { body }` becomes
///
/// ```text
/// async fn f(args) -> R {
///     let policy = ::txkit::core::RetryPolicy::new().named("f") /* .max_attempts(…) … */;
///     ::txkit::core::retry(&policy, async || -> R { body }).await
/// }
/// ```
///
/// The async closure captures the arguments by reference, so each attempt runs the whole
/// body (its BEGIN and COMMIT included) on the same inputs.
pub(crate) fn expand(attrs: &RetryAttrs, mut func: ItemFn) -> TokenStream {
    let policy_ident = Ident::new("__txkit_retry_policy", Span::mixed_site());
    let policy = policy_expr(attrs, &func.sig.ident.to_string());
    let output = match &func.sig.output {
        ReturnType::Type(_, ty) => quote!(-> #ty),
        ReturnType::Default => TokenStream::new(),
    };
    let block = &func.block;
    // Errors about the closure (a body that moves an argument) point at the body.
    let closure = quote_spanned! {block.span()=> async || #output #block };
    let body = quote! {{
        let #policy_ident = #policy;
        ::txkit::core::retry(&#policy_ident, #closure).await
    }};
    *func.block = syn::parse_quote!(#body);
    quote!(#func)
}

/// `::txkit::core::RetryPolicy::new().named("f")` plus one call per key given.
fn policy_expr(attrs: &RetryAttrs, name: &str) -> TokenStream {
    let mut expr = quote!(::txkit::core::RetryPolicy::new().named(#name));
    if let Some(n) = attrs.max_attempts {
        let n = Literal::u32_unsuffixed(n);
        expr.extend(quote!(.max_attempts(#n)));
    }
    let millis = |ms: u64| {
        let ms = Literal::u64_unsuffixed(ms);
        quote!(::core::time::Duration::from_millis(#ms))
    };
    if let Some(ms) = attrs.base_delay_ms {
        let d = millis(ms);
        expr.extend(quote!(.base_delay(#d)));
    }
    if let Some(ms) = attrs.max_delay_ms {
        let d = millis(ms);
        expr.extend(quote!(.max_delay(#d)));
    }
    if let Some(ms) = attrs.deadline_ms {
        let d = millis(ms);
        expr.extend(quote!(.deadline(#d)));
    }
    if let Some(on) = attrs.jitter {
        expr.extend(quote!(.jitter(#on)));
    }
    for kind in &attrs.also {
        let variant = kind.variant();
        expr.extend(quote!(.retry_on(::txkit::core::ErrorKind::#variant)));
    }
    expr
}
