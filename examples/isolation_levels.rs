//! Isolation levels per engine, per connection and per transaction. The engine's default
//! applies unless a connection sets its own (restored when it goes back to the pool), and a
//! transaction's own options win over both. SQLite runs every transaction serializably,
//! which meets any level asked for.
//!
//! `cargo run --example isolation_levels [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use txkit::{Engine, IsolationLevel, TxOptions};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    common::main_with("sqlite::memory:", |url| async move { run(&url).await });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    // Per engine: every transaction of this engine is REPEATABLE READ unless told otherwise.
    // (The URL can say the same: `?isolation=repeatable_read`.)
    let engine = Engine::builder(url)
        .isolation(IsolationLevel::RepeatableRead)
        .build()
        .await?;
    println!(
        "engine default: {:?}",
        engine.default_options().isolation_level()
    );

    let tx = engine.begin().await?;
    println!("engine.begin(): {}", shown(&engine, tx).await?);

    // Per connection: this checkout only.
    {
        let mut conn = engine.connection().await?;
        conn.set_isolation(IsolationLevel::Serializable);
        let mut tx = conn.begin().await?;
        println!(
            "connection set to SERIALIZABLE: {}",
            level_sql(&mut tx).await?
        );
        tx.commit().await?;
    }

    // Per transaction.
    let tx = engine
        .begin_with(
            TxOptions::new()
                .isolation(IsolationLevel::ReadCommitted)
                .read_only(),
        )
        .await?;
    println!(
        "transaction READ COMMITTED, READ ONLY: {}",
        shown(&engine, tx).await?
    );

    // Per session: the lazily begun transaction carries the session's options.
    let mut session = engine.session_with(TxOptions::new().isolation(IsolationLevel::Serializable));
    session.query_sql("SELECT 1", &[]).await?;
    session.commit().await?;
    println!("session with SERIALIZABLE: committed");

    // Names are parsed forgivingly, and refused clearly.
    let parsed: IsolationLevel = "read-committed".parse()?;
    println!("parsed {parsed}");
    if let Err(err) = "snapshot".parse::<IsolationLevel>() {
        println!("refused: {err}");
    }
    Ok(())
}

async fn shown(_engine: &Engine, mut tx: txkit::Transaction<'static>) -> txkit::Result<String> {
    let level = level_sql(&mut tx).await?;
    tx.commit().await?;
    Ok(level)
}

/// What the server says the transaction's level is.
async fn level_sql(tx: &mut txkit::Transaction<'_>) -> txkit::Result<String> {
    let sql = match tx.dialect().name() {
        "postgres" => "SHOW transaction_isolation",
        "sqlite" => return Ok("SERIALIZABLE (SQLite)".to_owned()),
        // MySQL applies the level with SET TRANSACTION in the same round trip as START
        // TRANSACTION; it has no cheap way to read it back inside the transaction.
        _ => return Ok("set by SET TRANSACTION ISOLATION LEVEL".to_owned()),
    };
    let row = tx.query_one(sql, &[]).await?;
    row.get(0)
}
