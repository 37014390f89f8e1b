//! Optimistic locking with a version column: every update says `… WHERE id = ? AND version
//! = ?` and advances the version. A writer whose copy went stale gets `StaleData` and
//! writes nothing; re-reading and applying the change again is the fix (which `retry` with
//! `StaleData` opted in does for you).
//!
//! `cargo run --example optimistic_locking [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use txkit::{Engine, Entity, ErrorKind, RetryPolicy, retry};

use common::BoxError;

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
    let mut session = engine.session();
    session.add(Page {
        id: 1,
        body: "hello".into(),
        version: 0,
    });
    session.commit().await?; // inserted at version 1

    // Two editors, each in a session of their own, read the same version…
    let mut alice = engine.session();
    let mut bob = engine.session();
    alice.get::<Page>(1).await?.ok_or("page 1 is missing")?.body = "hello, world".into();
    bob.get::<Page>(1).await?.ok_or("page 1 is missing")?.body = "hello there".into();

    // …alice saves first: UPDATE … SET body = ?, version = 2 WHERE id = 1 AND version = 1.
    alice.commit().await?;
    println!("alice saved version 2");

    // bob's UPDATE finds no row at version 1: StaleData on every backend, nothing written.
    let err = match bob.commit().await {
        Err(e) => e,
        Ok(()) => return Err("a stale update went through".into()),
    };
    assert_eq!(err.kind(), ErrorKind::StaleData);
    assert!(err.is_conflict());
    println!("bob's stale save refused: {err}");

    // Re-read and apply again, as a retried unit of work (StaleData is retryable).
    let policy = RetryPolicy::new();
    let body = retry(&policy, async || {
        let mut session = engine.session();
        let page = session
            .get::<Page>(1)
            .await?
            .ok_or_else(|| txkit::Error::config("page 1 is missing"))?;
        page.body.push_str(" (and there)");
        let body = page.body.clone();
        session.commit().await?;
        Ok::<_, txkit::Error>(body)
    })
    .await?;
    let mut conn = engine.connection().await?;
    let saved: Page = conn.find(1).await?.ok_or("page 1 is missing")?;
    println!("bob saved version {}: {:?}", saved.version, saved.body);
    // Inserted at 1, alice's save made 2, bob's re-applied save 3.
    assert_eq!((saved.version, saved.body.as_str()), (3, body.as_str()));
    drop(conn);
    engine.connection().await?.drop_table::<Page>().await?;
    Ok(())
}
