//! Pessimistic locking: `SELECT … FOR UPDATE` holds rows until commit; NOWAIT fails at once
//! instead of waiting; a shared lock (FOR SHARE / LOCK IN SHARE MODE) admits other readers
//! that lock too. A session's `with_for_update` renders each clause for the server, which
//! refuses what it cannot do (SQLite has no row locks: an exclusive locking read begins the
//! transaction IMMEDIATE, which takes the database's write lock instead; a shared one takes
//! no lock, since the transaction's reads stay stable until it ends).
//!
//! `cargo run --example pessimistic_locking [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use std::time::Duration;

use txkit::{Engine, Entity, ErrorKind, RowLock, create_all};

use common::BoxError;

/// Stock of one item.
#[derive(Debug, Entity)]
#[txkit(table = "example_pessimistic_stock")]
pub(crate) struct Stock {
    #[txkit(primary_key, max_len = 20)]
    sku: String,
    qty: i64,
}

fn main() {
    common::main_with(&common::temp_sqlite_url("pessimistic"), |url| async move {
        run(&url).await
    });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let engine = Engine::connect(url).await?;
    engine.connection().await?.drop_table::<Stock>().await?;
    create_all(&engine, &[Stock::table()]).await?;
    let mut session = engine.session();
    session.add(Stock {
        sku: "apple".into(),
        qty: 10,
    });
    session.commit().await?;
    let sqlite = engine.backend() == "sqlite";

    // Take one apple: lock the row, check, change, commit.
    let mut session = engine.session();
    let apple = session
        .query::<Stock>()
        .filter_by(Stock::SKU, "apple")
        .with_for_update(RowLock::update())
        .one()
        .await?;
    apple.qty -= 1;
    if sqlite {
        println!("sqlite: no row locks; the IMMEDIATE transaction holds the write lock");
    } else {
        // While it is held, another transaction asking with NOWAIT fails at once (bounded
        // here, so a NOWAIT that waited would end the example instead of hanging it).
        let mut other = engine.session();
        let asked = other
            .query::<Stock>()
            .filter_by(Stock::SKU, "apple")
            .with_for_update(RowLock::update().nowait())
            .one();
        let err = match tokio::time::timeout(Duration::from_secs(10), asked).await {
            Ok(Err(e)) => e,
            Ok(Ok(_)) => return Err("NOWAIT on a locked row succeeded".into()),
            Err(_) => return Err("NOWAIT on a locked row waited".into()),
        };
        println!("NOWAIT while locked: {err}");
        assert_eq!(err.kind(), ErrorKind::LockNotAvailable);
        other.rollback().await?;
    }
    session.commit().await?; // UPDATE … SET qty = 9, COMMIT

    // Shared locks: two readers at once, on every backend (on SQLite a shared lock does not
    // take the write lock).
    {
        let mut a = engine.session();
        let mut b = engine.session();
        let share = || RowLock::share();
        a.query::<Stock>().with_for_update(share()).all().await?;
        let second = b.query::<Stock>().with_for_update(share()).all();
        tokio::time::timeout(Duration::from_secs(10), second)
            .await
            .map_err(|_| "a second shared lock waited")??;
        println!("two shared locks held together");
        a.commit().await?;
        b.commit().await?;
    }
    let left = engine
        .connection()
        .await?
        .find::<Stock>("apple")
        .await?
        .ok_or("no apple row")?
        .qty;
    println!("apples left: {left}");
    assert_eq!(left, 9);
    engine.connection().await?.drop_table::<Stock>().await?;
    Ok(())
}
