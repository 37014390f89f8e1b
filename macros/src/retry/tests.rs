//! Expansion snapshots (`tests/expand/retry_*.expanded.rs`; `TXKIT_BLESS=1` rewrites
//! them) and the text of the errors.

use std::path::PathBuf;

use proc_macro2::TokenStream;
use quote::quote;

use super::retry_on_deadlock_inner;

/// Compares the pretty-printed expansion with `tests/expand/retry_{name}.expanded.rs`,
/// writing the file when it is missing or `TXKIT_BLESS=1`.
fn snapshot(name: &str, args: TokenStream, item: TokenStream) {
    let tokens = retry_on_deadlock_inner(args, item).unwrap();
    let file: syn::File = syn::parse2(tokens).unwrap();
    let actual = prettyplease::unparse(&file);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expand")
        .join(format!("retry_{name}.expanded.rs"));
    let bless = std::env::var("TXKIT_BLESS").is_ok_and(|v| v == "1");
    if bless || !path.exists() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert!(
        expected == actual,
        "{} differs from the expansion; if the change is intended, rerun with \
         TXKIT_BLESS=1\n--- actual ---\n{actual}",
        path.display()
    );
}

fn error(args: TokenStream, item: TokenStream) -> String {
    match retry_on_deadlock_inner(args, item) {
        Ok(tokens) => panic!("expected an error, got:\n{tokens}"),
        Err(e) => e
            .into_iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn transfer() -> TokenStream {
    quote! {
        /// Moves money.
        pub async fn transfer(engine: &Engine, from: i64, to: i64) -> txkit::Result<()> {
            let mut tx = engine.begin().await?;
            tx.execute("UPDATE a SET n = n - 1 WHERE id = ?", &params![from]).await?;
            tx.execute("UPDATE a SET n = n + 1 WHERE id = ?", &params![to]).await?;
            tx.commit().await
        }
    }
}

#[test]
fn expands_with_the_default_policy() {
    snapshot("default", quote!(), transfer());
}

#[test]
fn expands_every_key() {
    snapshot(
        "full",
        quote!(
            max_attempts = 5,
            base_delay_ms = 50,
            max_delay_ms = 1000,
            deadline_ms = 10000,
            jitter = false,
            also = [lock_timeout, lock_not_available, stale_data]
        ),
        transfer(),
    );
}

#[test]
fn expands_a_method() {
    snapshot(
        "method",
        quote!(max_attempts = 10),
        quote! {
            async fn deposit<'a>(&self, account: &'a str, cents: i64) -> Result<u64, Error>
            where
                Self: Sync,
            {
                let mut tx = self.engine.begin().await?;
                let n = tx.execute("UPDATE a SET n = n + ? WHERE name = ?", &params![cents, account]).await?;
                tx.commit().await?;
                Ok(n)
            }
        },
    );
}

#[test]
fn rejects_unknown_and_duplicate_keys() {
    let item = transfer();
    let e = error(quote!(attempts = 3), item.clone());
    assert!(e.contains("unknown key `attempts`"), "{e}");
    assert!(e.contains("max_attempts, base_delay_ms"), "{e}");
    let e = error(quote!(max_attempts = 3, max_attempts = 4), item.clone());
    assert!(e.contains("duplicate key `max_attempts`"), "{e}");
    let e = error(quote!(also = [lock_timeout, lock_timeout]), item.clone());
    assert!(e.contains("listed twice"), "{e}");
    let e = error(quote!(also = [deadlock]), item.clone());
    assert!(e.contains("always retried"), "{e}");
    let e = error(quote!(also = [commit_outcome_unknown]), item.clone());
    assert!(e.contains("never retried"), "{e}");
    let e = error(quote!(also = [typo]), item.clone());
    assert!(e.contains("unknown kind `typo`"), "{e}");
    let e = error(quote!(max_attempts = 0), item.clone());
    assert!(e.contains("at least 1"), "{e}");
    let e = error(quote!(jitter = 1), item.clone());
    assert!(e.contains("expected boolean literal"), "{e}");
    let e = error(quote!(max_attempts = "3"), item);
    assert!(e.contains("expected integer literal"), "{e}");
}

#[test]
fn rejects_functions_it_cannot_retry() {
    let e = error(
        quote!(),
        quote!(
            fn f() -> Result<(), Error> {
                Ok(())
            }
        ),
    );
    assert!(e.contains("needs an `async fn`"), "{e}");
    let e = error(
        quote!(),
        quote!(
            async fn f() -> u32 {
                1
            }
        ),
    );
    assert!(e.contains("returning `Result<T, E>`"), "{e}");
    let e = error(
        quote!(),
        quote!(
            async fn f() {}
        ),
    );
    assert!(e.contains("returning `Result<T, E>`"), "{e}");
    for ty in [
        quote!(&mut Transaction<'_>),
        quote!(&mut txkit::Transaction<'static, AnyConnection>),
        quote!(&mut PooledConnection),
        quote!(&mut txkit::pool::ManagedConnection),
        quote!(Option<&mut Session>),
        quote!(&sea_orm::DatabaseTransaction),
        quote!(&SeaTx<'_>),
    ] {
        let e = error(
            quote!(),
            quote!(async fn f(x: #ty) -> Result<(), Error> { Ok(()) }),
        );
        assert!(
            e.contains("cannot retry inside a transaction it was given"),
            "{e}"
        );
        assert!(e.contains("Take `&Engine`"), "{e}");
    }
    // every problem is reported, not just the first
    let e = error(
        quote!(bogus = 1),
        quote!(
            fn f(t: &mut Transaction) -> u8 {
                0
            }
        ),
    );
    assert_eq!(e.lines().count(), 4, "{e}");
}

#[test]
fn an_engine_parameter_is_fine() {
    retry_on_deadlock_inner(
        quote!(),
        quote!(
            async fn f(engine: &Engine, pool: &Pool, n: TransactionCount) -> Result<(), E> {
                Ok(())
            }
        ),
    )
    .unwrap();
}
