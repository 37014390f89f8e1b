//! Isolation levels per engine, per connection and per transaction. The engine's default
//! applies unless a connection sets its own (restored when it goes back to the pool), and a
//! transaction's own options win over both. SQLite runs every transaction serializably,
//! which meets any level asked for.
//!
//! `cargo run --example isolation_levels [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use txkit::{Engine, IsolationLevel, TxOptions};

use common::BoxError;

fn main() {
    common::main_with("sqlite::memory:", |url| async move { run(&url).await });
}

/// The table each transaction reads (and the read-only one tries to change).
const TABLE: &str = "example_isolation_rows";

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    // Per engine: every transaction of this engine is REPEATABLE READ unless told otherwise.
    // (The URL can say the same: `?isolation=repeatable_read`.)
    let engine = Engine::builder(url)
        .isolation(IsolationLevel::RepeatableRead)
        .build()
        .await?;
    engine
        .execute(&format!("DROP TABLE IF EXISTS {TABLE}"), &[])
        .await?;
    engine
        .execute(
            &format!("CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"),
            &[],
        )
        .await?;
    engine
        .execute(&format!("INSERT INTO {TABLE} (id, n) VALUES (1, 0)"), &[])
        .await?;
    println!(
        "engine default: {:?}",
        engine.default_options().isolation_level()
    );

    let mut tx = engine.begin().await?;
    println!(
        "engine.begin(): {}",
        level_sql(&engine, &mut tx, IsolationLevel::RepeatableRead).await?
    );
    tx.commit().await?;

    // Per connection: this checkout only.
    {
        let mut conn = engine.connection().await?;
        conn.set_isolation(IsolationLevel::Serializable);
        let mut tx = conn.begin().await?;
        println!(
            "connection set to SERIALIZABLE: {}",
            level_sql(&engine, &mut tx, IsolationLevel::Serializable).await?
        );
        tx.commit().await?;
    }

    // Per transaction.
    let mut tx = engine
        .begin_with(
            TxOptions::new()
                .isolation(IsolationLevel::ReadCommitted)
                .read_only(),
        )
        .await?;
    println!(
        "transaction READ COMMITTED, READ ONLY: {}",
        level_sql(&engine, &mut tx, IsolationLevel::ReadCommitted).await?
    );
    // READ ONLY is the server's to enforce, on every backend (SQLite: `query_only`).
    match tx
        .execute(&format!("UPDATE {TABLE} SET n = n + 1"), &[])
        .await
    {
        Ok(n) => return Err(format!("a READ ONLY transaction updated {n} row(s)").into()),
        Err(e) => println!("  and its UPDATE refused: {e}"),
    }
    tx.rollback().await?;

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
    engine.execute(&format!("DROP TABLE {TABLE}"), &[]).await?;
    Ok(())
}

/// What the server shows of the open transaction's level; an error when it is not `want`.
async fn level_sql(
    engine: &Engine,
    tx: &mut txkit::Transaction<'_>,
    want: IsolationLevel,
) -> Result<String, BoxError> {
    // The transaction's first read (its snapshot, where the level has one).
    tx.query(&format!("SELECT n FROM {TABLE} WHERE id = 1"), &[])
        .await?;
    let (level, shown) = match tx.dialect().name() {
        "postgres" => {
            let level: String = tx
                .query_one("SHOW transaction_isolation", &[])
                .await?
                .get(0)?;
            (level.parse::<IsolationLevel>()?, level)
        }
        // SQLite has one level, SERIALIZABLE, which meets any level asked for.
        "sqlite" => return Ok("SERIALIZABLE (SQLite)".to_owned()),
        _ => innodb_level(engine, tx).await?,
    };
    if level != want {
        return Err(format!("asked for {want}, the server runs {shown}").into());
    }
    Ok(shown)
}

/// MySQL and MariaDB keep no variable with the running transaction's level (SET TRANSACTION
/// sets the next one's, and InnoDB's transaction list is a cache that lags), so the
/// example watches what the level does, from a second connection: a SERIALIZABLE read
/// locks the row it read; READ COMMITTED sees a change committed after its first read,
/// REPEATABLE READ keeps its snapshot.
async fn innodb_level(
    engine: &Engine,
    tx: &mut txkit::Transaction<'_>,
) -> Result<(IsolationLevel, String), BoxError> {
    let mut other = engine.begin().await?;
    let locked = other
        .query(
            &format!("SELECT n FROM {TABLE} WHERE id = 1 FOR UPDATE NOWAIT"),
            &[],
        )
        .await;
    other.rollback().await?;
    match locked {
        Err(e) if e.is_lock_failure() => {
            let shown = "SERIALIZABLE (its plain read locked the row)";
            return Ok((IsolationLevel::Serializable, shown.to_owned()));
        }
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    let read = format!("SELECT n FROM {TABLE} WHERE id = 1");
    let before: i64 = tx.query_one(&read, &[]).await?.get(0)?;
    engine
        .execute(&format!("UPDATE {TABLE} SET n = n + 1 WHERE id = 1"), &[])
        .await?;
    let after: i64 = tx.query_one(&read, &[]).await?.get(0)?;
    Ok(if after == before {
        let shown = "REPEATABLE READ (a committed change stayed unseen)";
        (IsolationLevel::RepeatableRead, shown.to_owned())
    } else {
        let shown = "READ COMMITTED (a committed change was seen)";
        (IsolationLevel::ReadCommitted, shown.to_owned())
    })
}
