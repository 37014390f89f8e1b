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
    println!(
        "engine.begin(): {}",
        shown(tx, IsolationLevel::RepeatableRead).await?
    );

    // Per connection: this checkout only.
    {
        let mut conn = engine.connection().await?;
        conn.set_isolation(IsolationLevel::Serializable);
        let mut tx = conn.begin().await?;
        println!(
            "connection set to SERIALIZABLE: {}",
            level_sql(&mut tx, IsolationLevel::Serializable).await?
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
        shown(tx, IsolationLevel::ReadCommitted).await?
    );

    // Per session: the lazily begun transaction carries the session's options.
    let mut session = engine.session_with(TxOptions::new().isolation(IsolationLevel::Serializable));
    session.query_sql("SELECT 1", &[]).await?;
    session.commit().await?;
    println!("session with SERIALIZABLE: committed");

    // Names are parsed forgivingly, and refused clearly.
    let parsed: IsolationLevel = "read-committed".parse()?;
    if parsed != IsolationLevel::ReadCommitted {
        return Err(format!("read-committed parsed as {parsed}").into());
    }
    println!("parsed {parsed}");
    match "snapshot".parse::<IsolationLevel>() {
        Ok(level) => return Err(format!("snapshot accepted as {level}").into()),
        Err(err) => println!("refused: {err}"),
    }
    Ok(())
}

async fn shown(
    mut tx: txkit::Transaction<'static>,
    want: IsolationLevel,
) -> Result<String, BoxError> {
    let level = level_sql(&mut tx, want).await?;
    tx.commit().await?;
    Ok(level)
}

/// What the server says the transaction's level is; an error when it is not `want`.
async fn level_sql(
    tx: &mut txkit::Transaction<'_>,
    want: IsolationLevel,
) -> Result<String, BoxError> {
    let sql = match tx.dialect().name() {
        "postgres" => "SHOW transaction_isolation",
        "sqlite" => return Ok("SERIALIZABLE (SQLite)".to_owned()),
        // MySQL applies the level with SET TRANSACTION in the same round trip as START
        // TRANSACTION; it has no cheap way to read it back inside the transaction.
        _ => return Ok("set by SET TRANSACTION ISOLATION LEVEL".to_owned()),
    };
    let row = tx.query_one(sql, &[]).await?;
    let level: String = row.get(0)?;
    if level.parse::<IsolationLevel>()? != want {
        return Err(format!("asked for {want}, the server runs {level}").into());
    }
    Ok(level)
}
