//! Simple transactions: `engine.begin()` … `commit()`; an error or an early return rolls
//! back, because a transaction guard dropped unfinished rolls back.
//!
//! `cargo run --example simple_transactions [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use txkit::{ErrorKind, params};

use common::BoxError;

fn main() {
    common::main_with("sqlite::memory:", |url| async move { run(&url).await });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let t = "example_simple_users";
    let engine = common::engine_with_table(url, t, "name VARCHAR(50) PRIMARY KEY").await?;

    // Commit: both rows or neither.
    let mut tx = engine.begin().await?;
    tx.execute(
        &format!("INSERT INTO {t} (name) VALUES (?)"),
        &params!["alice"],
    )
    .await?;
    tx.execute(
        &format!("INSERT INTO {t} (name) VALUES (?)"),
        &params!["bob"],
    )
    .await?;
    tx.commit().await?;

    // A failure inside the unit of work: `?` returns early, the guard is dropped, and the
    // insert of carol is rolled back before the connection is used again.
    let outcome: txkit::Result<()> = async {
        let mut tx = engine.begin().await?;
        tx.execute(
            &format!("INSERT INTO {t} (name) VALUES (?)"),
            &params!["carol"],
        )
        .await?;
        tx.execute(
            &format!("INSERT INTO {t} (name) VALUES (?)"),
            &params!["alice"],
        )
        .await?; // duplicate
        tx.commit().await
    }
    .await;
    let err = outcome.expect_err("alice already exists");
    assert_eq!(err.kind(), ErrorKind::UniqueViolation);
    println!("second transaction refused: {err}");

    let names: Vec<String> = engine
        .query(&format!("SELECT name FROM {t} ORDER BY name"), &[])
        .await?
        .iter()
        .map(|r| r.get("name"))
        .collect::<txkit::Result<_>>()?;
    println!("users: {names:?}");
    assert_eq!(
        names,
        ["alice", "bob"],
        "carol was rolled back with her transaction"
    );
    engine.execute(&format!("DROP TABLE {t}"), &[]).await?;
    Ok(())
}
