//! Two ways to run a unit of work: `engine.begin()` (a transaction guard: statements run as
//! you send them) and `engine.session()` (a unit of work: objects are added and written at
//! flush, BEGIN goes out lazily with the first statement, and commit flushes first).
//!
//! `cargo run --example session_begin [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use txkit::{Engine, Entity, SortOrder, params};

use common::BoxError;

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

    // engine.session(): a unit of work that owns what it is given. Nothing is sent until
    // the flush, which inserts both notes and stores their generated ids in them.
    let mut session = engine.session();
    let first = session.add(Note {
        id: 0,
        text: "from a session".into(),
    });
    let second = session.add(Note {
        id: 0,
        text: "also from the session".into(),
    });
    println!("pending before flush: {}", session.pending());
    session.flush().await?;
    let ids = (
        session.entity(first).map(|n| n.id),
        session.entity(second).map(|n| n.id),
    );
    session.commit().await?;
    println!("generated ids: {ids:?}");
    assert!(matches!(ids, (Some(a), Some(b)) if a > 0 && b > a));

    // Load, change, commit: the session writes the changed column of the note it loaded.
    let mut session = engine.session();
    let note = session
        .query::<Note>()
        .filter(Note::TEXT.eq("also from the session"))
        .one()
        .await?;
    note.text = "changed in a session".into();
    session.commit().await?;

    // A session that is rolled back (or dropped) writes nothing.
    let mut session = engine.session();
    session.add(Note {
        id: 0,
        text: "never written".into(),
    });
    session.rollback().await?;

    let mut session = engine.session();
    let notes: Vec<(i64, String)> = session
        .query::<Note>()
        .order_by(Note::ID, SortOrder::Asc)
        .all()
        .await?
        .into_iter()
        .map(|n| (n.id, n.text.clone()))
        .collect();
    session.commit().await?;
    for (id, text) in &notes {
        println!("note {id}: {text}");
    }
    assert_eq!(notes.len(), 3);
    assert_eq!(notes[2].1, "changed in a session");
    engine.connection().await?.drop_table::<Note>().await?;
    Ok(())
}
