//! Two ways to run a unit of work: `engine.begin()` (a transaction guard: statements run as
//! you send them) and `engine.session()` (a unit of work: objects are added and written at
//! flush, BEGIN goes out lazily with the first statement, and commit flushes first).
//!
//! `cargo run --example session_begin [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use txkit::{Engine, Entity, SortOrder, params};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A note, with a key the database generates.
#[derive(Debug, Entity)]
#[txkit(table = "example_session_notes")]
pub(crate) struct Note {
    #[txkit(primary_key, auto_increment)]
    id: i64,
    #[txkit(max_len = 100)]
    text: String,
}

fn main() {
    common::main_with("sqlite::memory:", |url| async move { run(&url).await });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let engine = Engine::connect(url).await?;
    engine.connection().await?.drop_table::<Note>().await?;
    txkit::create_all(&engine, &[Note::table()]).await?;

    // engine.begin(): explicit statements inside one transaction.
    let mut tx = engine.begin().await?;
    tx.execute(
        "INSERT INTO example_session_notes (text) VALUES (?)",
        &params!["from a transaction"],
    )
    .await?;
    tx.commit().await?;

    // engine.session(): a unit of work. Nothing is sent until the flush at commit, which
    // inserts both notes and writes their generated ids back.
    let mut first = Note {
        id: 0,
        text: "from a session".into(),
    };
    let mut second = Note {
        id: 0,
        text: "also from the session".into(),
    };
    {
        let mut session = engine.session();
        session.add(&mut first);
        session.add(&mut second);
        println!("pending before commit: {}", session.pending());
        session.commit().await?;
    }
    println!("generated ids: {} and {}", first.id, second.id);
    assert!(first.id > 0 && second.id > first.id);

    // A session that is rolled back (or dropped) writes nothing.
    let mut discarded = Note {
        id: 0,
        text: "never written".into(),
    };
    {
        let mut session = engine.session();
        session.add(&mut discarded);
        session.rollback().await?;
    }

    let mut session = engine.session();
    let notes = session
        .query::<Note>()
        .order_by(Note::ID, SortOrder::Asc)
        .all()
        .await?;
    session.commit().await?;
    for note in &notes {
        println!("note {}: {}", note.id, note.text);
    }
    assert_eq!(notes.len(), 3);
    engine.connection().await?.drop_table::<Note>().await?;
    Ok(())
}
