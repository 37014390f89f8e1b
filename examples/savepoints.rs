//! Savepoints, the chapter's scenario: add alice; in savepoint 1 add bob; in savepoint 2
//! add carol and roll it back; release savepoint 1; commit. Alice and bob exist, carol not.
//!
//! `cargo run --example savepoints [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use txkit::params;

use common::BoxError;

fn main() {
    common::main_with("sqlite::memory:", |url| async move { run(&url).await });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let t = "example_savepoint_people";
    let engine = common::engine_with_table(url, t, "name VARCHAR(50) NOT NULL").await?;
    let add = format!("INSERT INTO {t} (name) VALUES (?)");

    let mut tx = engine.begin().await?;
    tx.execute(&add, &params!["alice"]).await?;
    {
        let mut sp1 = tx.savepoint().await?; // SAVEPOINT
        sp1.execute(&add, &params!["bob"]).await?;
        {
            let mut sp2 = sp1.savepoint().await?; // nested SAVEPOINT
            sp2.execute(&add, &params!["carol"]).await?;
            sp2.rollback().await?; // ROLLBACK TO SAVEPOINT: carol undone
        }
        sp1.commit().await?; // RELEASE SAVEPOINT: bob kept
    }
    tx.commit().await?;

    let names: Vec<String> = engine
        .query(&format!("SELECT name FROM {t} ORDER BY name"), &[])
        .await?
        .iter()
        .map(|r| r.get("name"))
        .collect::<txkit::Result<_>>()?;
    println!("people: {names:?}");
    assert_eq!(names, ["alice", "bob"]);
    engine.execute(&format!("DROP TABLE {t}"), &[]).await?;
    Ok(())
}
