//! Several savepoints in one transaction, named by the caller, one after another and
//! nested: each undoes only its own work; rolling back an outer one also undoes inner ones
//! that were already released.
//!
//! `cargo run --example multiple_savepoints [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use txkit::params;

use common::BoxError;

fn main() {
    common::main_with("sqlite::memory:", |url| async move { run(&url).await });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let t = "example_multi_sp_items";
    let engine = common::engine_with_table(url, t, "item VARCHAR(50) NOT NULL").await?;
    let add = format!("INSERT INTO {t} (item) VALUES (?)");

    let mut tx = engine.begin().await?;
    // Import three batches; the second one fails validation and is undone alone.
    for (batch, items) in [
        ("batch_1", ["a", "b"]),
        ("batch_2", ["bad", "c"]),
        ("batch_3", ["d", "e"]),
    ] {
        let mut sp = tx.savepoint_named(batch).await?;
        for item in items {
            sp.execute(&add, &params![item]).await?;
        }
        if items.contains(&"bad") {
            println!("{batch}: rolled back");
            sp.rollback().await?;
        } else {
            println!("{batch}: released");
            sp.commit().await?;
        }
    }
    // An outer savepoint with a released inner one, rolled back together.
    {
        let mut outer = tx.savepoint_named("outer").await?;
        let mut inner = outer.savepoint_named("inner").await?;
        inner.execute(&add, &params!["inner"]).await?;
        inner.commit().await?;
        outer.rollback().await?;
    }
    tx.commit().await?;

    let items: Vec<String> = engine
        .query(&format!("SELECT item FROM {t} ORDER BY item"), &[])
        .await?
        .iter()
        .map(|r| r.get("item"))
        .collect::<txkit::Result<_>>()?;
    println!("items: {items:?}");
    assert_eq!(items, ["a", "b", "d", "e"]);
    engine.execute(&format!("DROP TABLE {t}"), &[]).await?;
    Ok(())
}
