//! Optimistic locking with a version column: every update says `… WHERE id = ? AND version
//! = ?` and advances the version. A writer whose copy went stale gets `StaleData` and
//! writes nothing; re-reading and applying the change again is the fix (which `retry` with
//! `StaleData` opted in does for you).
//!
//! `cargo run --example optimistic_locking [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use txkit::{Engine, Entity, ErrorKind, RetryPolicy, retry};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A wiki page; `version` guards against lost updates.
#[derive(Debug, Clone, Entity)]
#[txkit(table = "example_optimistic_pages")]
pub(crate) struct Page {
    #[txkit(primary_key)]
    id: i64,
    #[txkit(max_len = 200)]
    body: String,
    #[txkit(version)]
    version: i64,
}

fn main() {
    common::main_with(&common::temp_sqlite_url("optimistic"), |url| async move {
        run(&url).await
    });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let engine = Engine::connect(url).await?;
    engine.connection().await?.drop_table::<Page>().await?;
    txkit::create_all(&engine, &[Page::table()]).await?;
    let mut page = Page {
        id: 1,
        body: "hello".into(),
        version: 0,
    };
    engine.connection().await?.insert(&mut page).await?;
    println!("inserted at version {}", page.version);

    // Two editors read the same version.
    let mut alice: Page = engine
        .connection()
        .await?
        .find(1)
        .await?
        .ok_or("page 1 is missing")?;
    let mut bob = alice.clone();

    alice.body = "hello, world".into();
    engine.connection().await?.update(&mut alice).await?;
    println!("alice saved version {}", alice.version);

    bob.body = "hello there".into();
    let err = match engine.connection().await?.update(&mut bob).await {
        Err(e) => e,
        Ok(()) => return Err("a stale update went through".into()),
    };
    assert_eq!(err.kind(), ErrorKind::StaleData);
    println!("bob's stale save refused: {err}");

    // Re-read and apply again, as a retried unit of work.
    let policy = RetryPolicy::new().retry_on(ErrorKind::StaleData);
    let saved = retry(&policy, async || {
        let mut conn = engine.connection().await?;
        let mut fresh: Page = conn
            .find(1)
            .await?
            .ok_or_else(|| txkit::Error::config("page 1 is missing"))?;
        fresh.body.push_str(" (and there)");
        conn.update(&mut fresh).await?;
        Ok::<Page, txkit::Error>(fresh)
    })
    .await?;
    println!("bob saved version {}: {:?}", saved.version, saved.body);
    assert_eq!(saved.version, 3);
    engine.connection().await?.drop_table::<Page>().await?;
    Ok(())
}
