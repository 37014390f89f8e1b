//! Manual transaction control on a checked-out connection: begin with options, commit or
//! roll back explicitly, and several transactions one after another on the same connection.
//!
//! `cargo run --example manual_control [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use txkit::core::TxState;
use txkit::{TxOptions, params};

use common::BoxError;

fn main() {
    common::main_with("sqlite::memory:", |url| async move { run(&url).await });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let t = "example_manual_events";
    let engine =
        common::engine_with_table(url, t, "id INTEGER PRIMARY KEY, note VARCHAR(50)").await?;

    // One connection, held for a while: the pool will not hand it to anyone else.
    let mut conn = engine.connection().await?;
    println!("checked out connection {} ({})", conn.id(), engine.status());

    let mut tx = conn.begin().await?;
    tx.execute(
        &format!("INSERT INTO {t} (id, note) VALUES (?, ?)"),
        &params![1, "kept"],
    )
    .await?;
    tx.commit().await?;

    let mut tx = conn.begin_with(TxOptions::new()).await?;
    tx.execute(
        &format!("INSERT INTO {t} (id, note) VALUES (?, ?)"),
        &params![2, "undone"],
    )
    .await?;
    tx.rollback().await?;

    {
        let mut tx = conn.begin().await?;
        tx.execute(
            &format!("INSERT INTO {t} (id, note) VALUES (?, ?)"),
            &params![3, "dropped"],
        )
        .await?;
        // dropped without commit: a rollback is owed and paid before the next statement
    }
    println!("after the dropped transaction: {:?}", conn.tx_state());
    assert!(matches!(conn.tx_state(), TxState::RollbackOwed { .. }));

    let rows = conn
        .query(&format!("SELECT id, note FROM {t} ORDER BY id"), &[])
        .await?;
    assert_eq!(conn.tx_state(), TxState::Idle);
    for row in &rows {
        println!(
            "event {} {}",
            row.get::<i64>("id")?,
            row.get::<String>("note")?
        );
    }
    assert_eq!(rows.len(), 1);
    drop(conn);
    engine.execute(&format!("DROP TABLE {t}"), &[]).await?;
    Ok(())
}
