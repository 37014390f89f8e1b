//! Hooks that get the connection, on every backend: `after_connect` sets session state
//! every user sees, `on_checkout` and `on_checkin` run once per checkout and return; a
//! hook that fails or hangs discards its connection and the caller gets an error naming
//! the hook, bounded by the pool's timeouts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use txkit::ErrorKind;
use txkit::pool::{CloseReason, ManagedConnection};

use crate::common::{Kind, TestDb};

crate::matrix!(
    after_connect_sets_what_every_user_sees,
    checkout_and_checkin_hooks_run_once_each,
    failing_hooks_discard_the_connection,
    hanging_checkout_hook_is_bounded,
    connect_events_name_the_server_session,
);

/// A session setting per backend, and the query that reads it back.
fn setting(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::Postgres => (
            "SET application_name = 'txkit_hooked'",
            "SHOW application_name",
            "txkit_hooked",
        ),
        Kind::MySql => (
            "SET @txkit_hooked = 'txkit_hooked'",
            "SELECT @txkit_hooked",
            "txkit_hooked",
        ),
        // Read through the table-valued function: a plain SELECT, which (unlike a PRAGMA
        // statement) does not mark the session as changed and so costs no reset.
        Kind::Sqlite => (
            "PRAGMA cache_size = -4321",
            "SELECT cache_size FROM pragma_cache_size()",
            "-4321",
        ),
    }
}

/// The first column of `sql`'s first row, as text.
async fn read_text(conn: &mut ManagedConnection, sql: &str) -> String {
    let rows = conn.query(sql, &[]).await.unwrap();
    match rows[0].value(0).unwrap() {
        txkit::Value::Text(t) => t.clone(),
        txkit::Value::Bytes(b) => String::from_utf8(b.clone()).unwrap(),
        txkit::Value::Int(i) => i.to_string(),
        other => panic!("{sql}: {other:?}"),
    }
}

async fn after_connect_sets_what_every_user_sees(db: TestDb) {
    let (set, show, want) = setting(db.kind);
    let connects = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&connects);
    let built = db
        .builder()
        .pool_size(2)
        .max_overflow(0)
        .after_connect(move |conn| {
            let seen = Arc::clone(&seen);
            Box::pin(async move {
                conn.execute(set, &[]).await?;
                seen.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
        })
        .build()
        .await;
    if db.pooled {
        // Behind a pooler a session setting would land on a server connection other
        // clients use next, not on this client's: the hook's SET is refused, saying so.
        let refused = built.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Usage, "{refused}");
        assert!(refused.to_string().contains("pooler"), "{refused}");
        assert_eq!(connects.load(Ordering::SeqCst), 0);
        return;
    }
    let engine = built.unwrap();
    // Two connections at once: each was set up by the hook.
    let mut a = engine.connection().await.unwrap();
    let mut b = engine.connection().await.unwrap();
    assert_ne!(a.id(), b.id());
    assert_eq!(read_text(&mut a, show).await, want);
    assert_eq!(read_text(&mut b, show).await, want);
    drop((a, b));
    let stats = engine.stats();
    assert_eq!(
        connects.load(Ordering::SeqCst) as u64,
        stats.connects,
        "{stats}"
    );

    // A user's own session change is reset on return; the hook's setting is set up again
    // after that reset, so the next user still sees it.
    let mut c = engine.connection().await.unwrap();
    let id = c.id();
    let change = match db.kind {
        Kind::Postgres => "SET statement_timeout = 4321",
        Kind::MySql => "SET @txkit_user_change = 1",
        Kind::Sqlite => "CREATE TEMP TABLE txkit_user_change (a INTEGER)",
    };
    c.execute(change, &[]).await.unwrap();
    assert!(c.session_changed());
    drop(c);
    let deadline = Instant::now() + Duration::from_secs(10);
    while engine.status().idle < 2 {
        assert!(Instant::now() < deadline, "the reset did not finish");
        tokio::task::yield_now().await;
    }
    // LIFO: the connection returned last is handed out first.
    let mut c = engine.connection().await.unwrap();
    assert_eq!(c.id(), id, "the same connection, reset");
    assert!(!c.session_changed());
    assert_eq!(read_text(&mut c, show).await, want);
    drop(c);
    engine.close().await;
}

async fn checkout_and_checkin_hooks_run_once_each(db: TestDb) {
    let (checkouts, checkins) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (out, back) = (Arc::clone(&checkouts), Arc::clone(&checkins));
    let engine = db
        .builder()
        .pool_size(2)
        .on_checkout(move |conn| {
            let out = Arc::clone(&out);
            Box::pin(async move {
                conn.query("SELECT 1", &[]).await?;
                out.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
        })
        .on_checkin(move |conn| {
            let back = Arc::clone(&back);
            Box::pin(async move {
                // After the rollback of a dropped transaction: the connection is clean.
                assert!(conn.is_clean());
                conn.query("SELECT 1", &[]).await?;
                back.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
        })
        .build()
        .await
        .unwrap();
    let before = engine.stats().checkouts as usize;
    for _ in 0..5 {
        let mut tx = engine.begin().await.unwrap();
        tx.query("SELECT 1", &[]).await.unwrap();
        // Dropped unfinished: rolled back, then the checkin hook runs.
    }
    engine.execute("SELECT 1", &[]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while engine.status().checked_out > 0 {
        assert!(Instant::now() < deadline, "returns not done");
        tokio::task::yield_now().await;
    }
    let stats = engine.stats();
    let made = stats.checkouts as usize;
    assert_eq!(checkouts.load(Ordering::SeqCst), made, "{stats}");
    assert_eq!(made - before, 6, "{stats}");
    assert_eq!(checkins.load(Ordering::SeqCst), made, "{stats}");
    db.assert_no_idle_in_transaction().await;
    engine.close().await;
}

async fn failing_hooks_discard_the_connection(db: TestDb) {
    // after_connect: the engine cannot be built (its first connection fails), and the
    // error names the hook and keeps the server's kind.
    let err = db
        .builder()
        .after_connect(|conn| {
            Box::pin(async move {
                conn.execute("SELECT * FROM txkit_no_such_table_for_hooks", &[])
                    .await?;
                Ok(())
            })
        })
        .build()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("after_connect hook failed"),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Database, "{err}");

    // on_checkout: the caller gets the error; the connection is closed, not reused.
    let engine = db
        .builder()
        .eager(false)
        .pool_size(1)
        .on_checkout(|conn| {
            Box::pin(async move {
                conn.execute("SELECT * FROM txkit_no_such_table_for_hooks", &[])
                    .await?;
                Ok(())
            })
        })
        .build()
        .await
        .unwrap();
    let err = engine.connection().await.unwrap_err();
    assert!(err.to_string().contains("on_checkout hook failed"), "{err}");
    let stats = engine.stats();
    assert_eq!(stats.closed_for(CloseReason::HookFailed), 1, "{stats}");
    assert_eq!(engine.status().open, 0, "{}", engine.status());

    // A hook that leaves a transaction open is refused the same way.
    let engine = db
        .builder()
        .eager(false)
        .on_checkout(|conn| {
            Box::pin(async move {
                let tx = conn.begin().await?;
                std::mem::forget(tx);
                Ok(())
            })
        })
        .build()
        .await
        .unwrap();
    let err = engine.connection().await.unwrap_err();
    assert!(err.to_string().contains("left a transaction open"), "{err}");
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
}

async fn hanging_checkout_hook_is_bounded(db: TestDb) {
    let engine = db
        .builder()
        .eager(false)
        .pool_timeout(Duration::from_millis(300))
        .on_checkout(|_conn| Box::pin(std::future::pending()))
        .build()
        .await
        .unwrap();
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(20), engine.connection())
        .await
        .expect("the hook's wait is bounded by the pool timeout")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PoolTimeout, "{err}");
    assert!(
        err.to_string().contains("on_checkout hook did not finish"),
        "{err}"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        engine.stats().closed_for(CloseReason::HookFailed),
        1,
        "{}",
        engine.stats()
    );
}

/// Connect events name the server's own session and the (redacted) address, so a
/// connection in the pool's events can be found in the server's views.
async fn connect_events_name_the_server_session(db: TestDb) {
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let engine = db
        .builder()
        .pool_size(1)
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .await
        .unwrap();
    let mut conn = engine.connection().await.unwrap();
    let own = match db.kind {
        // Behind a pooler the server session changes from one transaction to the next:
        // the event names none rather than a wrong one.
        Kind::Postgres if db.pooled => None,
        Kind::Postgres => Some(read_text(&mut conn, "SELECT pg_backend_pid()::text").await),
        Kind::MySql => Some(read_text(&mut conn, "SELECT CONNECTION_ID()").await),
        Kind::Sqlite => None,
    };
    let log = events.lock().unwrap().clone();
    let Some(txkit::pool::PoolEvent::Connect {
        server_session,
        address,
        ..
    }) = log
        .iter()
        .find(|e| matches!(e, txkit::pool::PoolEvent::Connect { .. }))
    else {
        panic!("no Connect event: {log:?}");
    };
    assert_eq!(server_session.map(|s| s.to_string()), own, "{log:?}");
    assert_eq!(&**address, engine.url().redacted());
    drop(conn);
    engine.close().await;
}
