//! The pool on every backend: overflow, timeouts, order, recycle, pre-ping, events,
//! leak warnings, Static and Null kinds, and cancellations that keep the counts exact.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use txkit::pool::{CloseReason, PoolEvent, PoolKind, PoolOrder, ResetMode};
use txkit::{ErrorKind, params};

use crate::common::{Kind, TestDb, poll_then_drop};
use crate::logs;

crate::matrix!(
    cancelled_waits_give_back_no_slot,
    overflow_is_handed_over_not_churned,
    overflow_lingers_then_closes,
    overflow_accounting_is_exact,
    pool_timeout_is_prompt_and_explained,
    lifo_and_fifo_order,
    recycle_by_age,
    events_match_status,
    leak_warning_names_the_checkout,
    null_pool_connects_per_checkout,
    closing_connections_roll_back_first,
    full_reset_clears_session_state,
    random_cancellations_keep_counts_exact,
    requests_are_counted,
);

// Both kill a server session by its process id to break a pooled connection. Behind a
// pooler that kills one of the pooler's server connections, which the pooler replaces
// unseen: the client's connection to the pooler stays whole, so there is nothing for the
// pre-ping or the invalidation to find.
crate::matrix!(
    not_pooled("not through a pooler: kills a server session, which the pooler replaces unseen"):
    pre_ping_replaces_killed_connection,
    disconnect_invalidates_older_idle_connections,
);

/// Waits (bounded) until `cond` holds, yielding between checks.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A checkout cancelled while it waits for a connection held no slot, and gives none
/// back: the pool still never has more connections out than its size and overflow allow.
async fn cancelled_waits_give_back_no_slot(db: TestDb) {
    let engine = db
        .builder()
        .pool_size(1)
        .max_overflow(0)
        .pool_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    let held = engine.connection().await.unwrap();
    for polls in 1..4 {
        // It waits (the one connection is held), and is dropped while it does.
        assert!(poll_then_drop(engine.connection(), polls).await.is_none());
    }
    drop(held);
    let first = engine.connection().await.unwrap();
    let second = engine.connection().await;
    let s = engine.status();
    assert_eq!(
        second.as_ref().map(|_| ()).unwrap_err().kind(),
        ErrorKind::PoolTimeout,
        "a second connection out of a pool of one: {s}"
    );
    assert!(s.open <= 1, "{s}");
    drop((first, second));
    engine.close().await;
}

/// SQLAlchemy's default sizes under load: 16 tasks of short transactions on a pool of 5
/// plus 10 overflow. A returned connection goes to a waiting task, and an overflow
/// connection is closed only when the pool already keeps its size idle, so at most 15
/// connections are ever opened — not one per checkout, which a pool that closes every
/// connection beyond its size on return degenerates into. A null pool is the control: it
/// opens one per checkout.
async fn overflow_is_handed_over_not_churned(db: TestDb) {
    const TASKS: usize = 16;
    const ROUNDS: usize = 25;
    let run = |engine: txkit::Engine| async move {
        // The engine checks a connection out once as it is built.
        let before = engine.stats();
        // The first 15 transactions meet at a barrier while holding their connections, so
        // the 16th task must wait for one to be handed over (bounded: a pool that cannot
        // open 15 connections fails here instead of hanging).
        let barrier = Arc::new(tokio::sync::Barrier::new(15));
        let tickets = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let (engine, barrier, tickets) =
                (engine.clone(), Arc::clone(&barrier), Arc::clone(&tickets));
            tasks.push(tokio::spawn(async move {
                for _ in 0..ROUNDS {
                    let mut tx = engine.begin().await.unwrap();
                    tx.query("SELECT 1", &[]).await.unwrap();
                    if tickets.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 15 {
                        tokio::time::timeout(Duration::from_secs(20), barrier.wait())
                            .await
                            .expect("15 transactions at once");
                    }
                    tokio::task::yield_now().await;
                    tx.commit().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let stats = engine.stats();
        let status = engine.status();
        engine.close().await;
        let checkouts = stats.checkouts - before.checkouts;
        (stats, status, checkouts)
    };
    let queue = db
        .builder()
        .pool_size(5)
        .max_overflow(10)
        .pool_timeout(Duration::from_secs(30))
        .build()
        .await
        .unwrap();
    let (stats, status, checkouts) = run(queue).await;
    assert_eq!(checkouts, (TASKS * ROUNDS) as u64, "{stats}");
    assert!(stats.connects <= 15, "{stats}");
    assert!(
        stats.waits > 0,
        "the 16 tasks never waited, so nothing was handed over: {stats}"
    );
    // Back to its size once the load is gone: the overflow connections were closed.
    assert!(status.open <= 15 && status.idle >= 5, "{status}");

    let null = db
        .builder()
        .pool_kind(PoolKind::Null)
        .pool_size(5)
        .max_overflow(10)
        .pool_timeout(Duration::from_secs(30))
        .build()
        .await
        .unwrap();
    let (stats, _, checkouts) = run(null).await;
    assert_eq!(checkouts, (TASKS * ROUNDS) as u64, "{stats}");
    assert!(
        stats.connects >= checkouts,
        "one connection per checkout: {stats}"
    );
}

/// With nobody waiting, an overflow connection is kept idle for `overflow_idle` — a burst
/// that stops and starts again reuses it — and then closed, down to the pool's size.
async fn overflow_lingers_then_closes(db: TestDb) {
    let engine = db
        .builder()
        .pool_size(1)
        .max_overflow(2)
        .overflow_idle(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    let burst = || async {
        let held: Vec<_> = futures_burst(&engine).await;
        drop(held);
    };
    burst().await;
    let s = engine.status();
    assert_eq!((s.open, s.idle, s.overflow), (3, 3, 2), "lingering: {s}");
    let connects = engine.stats().connects;
    burst().await; // the second burst reuses the lingering connections
    assert_eq!(engine.stats().connects, connects, "{}", engine.stats());
    eventually("the overflow closed after overflow_idle", || {
        engine.status().open == 1
    })
    .await;
    let stats = engine.stats();
    assert_eq!(stats.closed_for(CloseReason::Overflow), 2, "{stats}");
    assert_eq!(engine.status().idle, 1, "{}", engine.status());
    engine.close().await;
}

/// Three connections checked out at once.
async fn futures_burst(engine: &txkit::Engine) -> Vec<txkit::pool::PooledConnection> {
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(engine.connection().await.unwrap());
    }
    held
}

async fn overflow_accounting_is_exact(db: TestDb) {
    // SQLAlchemy's accounting: an overflow connection closes as soon as it comes back to a
    // pool already holding its size idle.
    let engine = db
        .builder()
        .pool_size(2)
        .max_overflow(3)
        .overflow_idle(Duration::ZERO)
        .pool_timeout(Duration::from_secs(20))
        .build()
        .await
        .unwrap();
    // Five checkouts: two kept, three overflow.
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(engine.connection().await.unwrap());
    }
    let s = engine.status();
    assert_eq!(
        (s.open, s.checked_out, s.overflow, s.idle, s.waiting),
        (5, 5, 3, 0, 0),
        "{s}"
    );

    // A sixth caller waits.
    let waiter = {
        let engine = engine.clone();
        tokio::spawn(async move {
            let mut c = engine.connection().await.unwrap();
            c.ping().await.unwrap();
        })
    };
    eventually("a waiter", || engine.status().waiting == 1).await;
    // One return hands the connection itself to the waiter: nothing is closed, nothing
    // opened.
    held.pop();
    waiter.await.unwrap();
    let s = engine.status();
    assert_eq!((s.waiting, s.checked_out, s.open), (0, 4, 5), "{s}");
    assert_eq!(engine.stats().connects, 5, "{}", engine.stats());
    drop(held);
    let s = engine.status();
    assert_eq!(
        (s.open, s.checked_out, s.overflow, s.idle),
        (2, 0, 0, 2),
        "{s}"
    );
    let stats = engine.stats();
    assert_eq!(
        stats.closed_for(CloseReason::Overflow),
        stats.connects - 2,
        "{stats}"
    );
    assert_eq!(stats.waits, 1, "{stats}");
    assert!(stats.wait_p50 > Duration::ZERO);

    // Under concurrency: 24 tasks, each checking out and running a query 5 times.
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                let mut c = engine.connection().await.unwrap();
                c.query("SELECT 1", &[]).await.unwrap();
                let s = engine.status();
                assert!(s.open <= 5 && s.checked_out <= 5, "{s}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let s = engine.status();
    assert_eq!(
        (s.open, s.checked_out, s.overflow, s.waiting),
        (2, 0, 0, 0),
        "{s}"
    );
    let stats = engine.stats();
    assert_eq!(stats.connects - stats.closed_total(), 2, "{stats}");
}

async fn pool_timeout_is_prompt_and_explained(db: TestDb) {
    let engine = db
        .builder()
        .pool_size(1)
        .max_overflow(0)
        .pool_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    // A task holding the only connection and asking for a second: PoolTimeout, not a hang.
    let held = engine.connection().await.unwrap();
    let started = Instant::now();
    let err = engine.connection().await.unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::PoolTimeout, "{err}");
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_millis(400), "{waited:?}");
    let text = err.to_string();
    for needle in ["pool size 1", "1 checked out", "300ms", "pool_size"] {
        assert!(text.contains(needle), "{needle:?} missing from: {text}");
    }
    assert_eq!(engine.stats().timeouts, 1);
    drop(held);
    assert_eq!(engine.status().waiting, 0);
    engine.connection().await.unwrap();
}

async fn lifo_and_fifo_order(db: TestDb) {
    for (order, expect_last) in [(PoolOrder::Lifo, true), (PoolOrder::Fifo, false)] {
        let engine = db
            .builder()
            .pool_size(3)
            .pool_order(order)
            .build()
            .await
            .unwrap();
        let a = engine.connection().await.unwrap();
        let b = engine.connection().await.unwrap();
        let c = engine.connection().await.unwrap();
        let ids = [a.id(), b.id(), c.id()];
        drop(a);
        drop(b);
        drop(c);
        let next = engine.connection().await.unwrap();
        let want = if expect_last { ids[2] } else { ids[0] };
        assert_eq!(next.id(), want, "{order:?}: returned in order {ids:?}");
    }
}

async fn recycle_by_age(db: TestDb) {
    // Younger than the limit: reused.
    let engine = db
        .builder()
        .pool_size(1)
        .pool_recycle(Duration::from_secs(3600))
        .build()
        .await
        .unwrap();
    let first = engine.connection().await.unwrap().id();
    assert_eq!(engine.connection().await.unwrap().id(), first);
    assert_eq!(engine.stats().closed_for(CloseReason::Recycled), 0);
    // Older than the limit (zero): replaced at every checkout.
    let engine = db
        .builder()
        .pool_size(1)
        .pool_recycle(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let first = engine.connection().await.unwrap().id();
    let second = engine.connection().await.unwrap().id();
    assert_ne!(first, second);
    assert!(engine.stats().closed_for(CloseReason::Recycled) >= 1);
    assert_eq!(engine.status().open, 1);
}

/// The statement that kills `conn`'s server session, or `None` on SQLite (no server).
async fn kill_statement(db: &TestDb, conn: &mut txkit::pool::PooledConnection) -> Option<String> {
    let (query, kill) = match db.kind {
        Kind::Sqlite => return None,
        Kind::Postgres => (
            "SELECT pg_backend_pid() AS id",
            "SELECT pg_terminate_backend",
        ),
        Kind::MySql => ("SELECT CONNECTION_ID() AS id", "KILL CONNECTION "),
    };
    let id: i64 = conn.query(query, &[]).await.unwrap()[0].get("id").unwrap();
    Some(if db.kind == Kind::Postgres {
        format!("{kill}({id})")
    } else {
        format!("{kill}{id}")
    })
}

async fn pre_ping_replaces_killed_connection(db: TestDb) {
    let engine = db
        .builder()
        .pool_size(1)
        .pool_pre_ping(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let Some(kill) = kill_statement(&db, &mut engine.connection().await.unwrap()).await else {
        // SQLite has no server to kill a session; its pre-ping path still runs.
        engine.query("SELECT 1", &[]).await.unwrap();
        return;
    };
    let killer = db.builder().pool_size(1).build().await.unwrap();
    let before = engine.connection().await.unwrap().id();
    killer.execute(&kill, &[]).await.unwrap();
    // The next checkout finds the connection dead and replaces it; the caller sees nothing.
    let mut conn = engine.connection().await.unwrap();
    assert_ne!(conn.id(), before);
    conn.query("SELECT 1", &[]).await.unwrap();
    drop(conn);
    let stats = engine.stats();
    assert_eq!(stats.closed_for(CloseReason::PrePingFailed), 1, "{stats}");
    assert_eq!(engine.status().open, 1);
}

async fn events_match_status(db: TestDb) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let engine = db
        .builder()
        .pool_size(2)
        .max_overflow(1)
        .overflow_idle(Duration::ZERO)
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .await
        .unwrap();
    {
        let a = engine.connection().await.unwrap();
        let b = engine.connection().await.unwrap();
        let c = engine.connection().await.unwrap(); // overflow
        drop((a, b, c));
    }
    {
        let mut tx = engine.begin().await.unwrap();
        tx.query("SELECT 1", &[]).await.unwrap();
        // Dropped: the connection owes a rollback and is reset before reuse.
    }
    engine.connection().await.unwrap();
    // The dropped transaction's connection may still be rolling back.
    eventually("every connection back", || engine.status().checked_out == 0).await;
    let log = events.lock().unwrap().clone();
    let count = |f: &dyn Fn(&PoolEvent) -> bool| log.iter().filter(|e| f(e)).count();
    let connects = count(&|e| matches!(e, PoolEvent::Connect { .. }));
    let closes = count(&|e| matches!(e, PoolEvent::Close { .. }));
    let checkouts = count(&|e| matches!(e, PoolEvent::Checkout { .. }));
    let checkins = count(&|e| matches!(e, PoolEvent::Checkin { .. }));
    let s = engine.status();
    assert_eq!(connects - closes, s.open, "{s} {log:?}");
    assert_eq!(checkouts - checkins, s.checked_out, "{s}");
    assert_eq!(count(&|e| matches!(e, PoolEvent::FirstConnect { .. })), 1);
    assert_eq!(
        count(&|e| matches!(e, PoolEvent::Reset { .. })),
        1,
        "{log:?}"
    );
    assert_eq!(
        count(&|e| matches!(
            e,
            PoolEvent::Close {
                reason: CloseReason::Overflow,
                ..
            }
        )),
        1
    );
    // Order: every connection connects before its first checkout, and each checkin follows
    // a checkout of the same connection.
    let first_connect = log
        .iter()
        .position(|e| matches!(e, PoolEvent::Connect { .. }))
        .unwrap();
    let first_fc = log
        .iter()
        .position(|e| matches!(e, PoolEvent::FirstConnect { .. }))
        .unwrap();
    assert_eq!(first_fc, first_connect + 1);
    let mut out = std::collections::HashSet::new();
    for e in &log {
        match e {
            PoolEvent::Checkout { id } => assert!(out.insert(*id), "double checkout of {id}"),
            PoolEvent::Checkin { id } => {
                assert!(out.remove(id), "checkin without checkout of {id}")
            }
            _ => {}
        }
    }
}

async fn leak_warning_names_the_checkout(db: TestDb) {
    let captured = logs::captured();
    let engine = db
        .builder()
        .pool_size(1)
        .leak_threshold(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let held = engine.connection().await.unwrap(); // this line is named in the warning
    let line = line!() - 1;
    let needle = format!("pool.rs:{line}");
    let label = format!("pool={}", engine.url());
    let warned = || {
        captured
            .text()
            .lines()
            .any(|l| l.contains(&needle) && l.contains(&label) && l.contains("leak threshold"))
    };
    eventually("the leak warning", warned).await;
    drop(held);
}

async fn null_pool_connects_per_checkout(db: TestDb) {
    let engine = db
        .builder()
        .pool_kind(PoolKind::Null)
        .build()
        .await
        .unwrap();
    let a = engine.connection().await.unwrap().id();
    let b = engine.connection().await.unwrap().id();
    assert_ne!(a, b);
    let s = engine.status();
    assert_eq!((s.open, s.idle), (0, 0), "{s}");
    let stats = engine.stats();
    assert_eq!(
        stats.connects,
        stats.closed_for(CloseReason::NotPooled),
        "{stats}"
    );
}

/// A connection returned inside a transaction and then closed (overflow, or a null pool)
/// is rolled back by txkit before it is closed, not left for the server to roll back as the
/// session ends — MariaDB shows such a rollback to snapshot reads while it runs. On the
/// servers the server shows it: held between the rollback and the close, the session is
/// connected, outside any transaction, its row lock free. On SQLite there is no session to
/// watch apart from the process itself: only the order of the pool's events is checked.
async fn closing_connections_roll_back_first(db: TestDb) {
    let server = db.kind != Kind::Sqlite;
    let observer = db.engine().await;
    let table = crate::common::unique("rb_close");
    if server {
        for sql in [
            format!("CREATE TABLE {table} (id INT PRIMARY KEY, v INT)"),
            format!("INSERT INTO {table} (id, v) VALUES (1, 0)"),
        ] {
            observer.execute(&sql, &[]).await.unwrap();
        }
    }
    for kind in [PoolKind::Queue, PoolKind::Null] {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&events);
        // On a server, the cleaning task is held at the connection's Reset event (after
        // its rollback, before its close) until the test has looked at the server.
        let armed = Arc::new(AtomicU64::new(u64::MAX));
        let armed_in = Arc::clone(&armed);
        let (paused, paused_rx) = std::sync::mpsc::channel::<()>();
        let (resume, resume_rx) = std::sync::mpsc::channel::<()>();
        let resume_rx = Mutex::new(resume_rx);
        let engine = db
            .builder()
            .pool_kind(kind)
            .pool_size(1)
            .max_overflow(1)
            .overflow_idle(Duration::ZERO)
            .on_event(move |e| {
                sink.lock().unwrap().push(e.clone());
                if matches!(e, PoolEvent::Reset { id } if *id == armed_in.load(Ordering::SeqCst)) {
                    // Bounded: a test that never answers fails on its own wait first. The
                    // worker's other tasks (the test's own, woken by this send) move to
                    // another thread while this one waits.
                    let _ = paused.send(());
                    tokio::task::block_in_place(|| {
                        let _ = resume_rx
                            .lock()
                            .unwrap()
                            .recv_timeout(Duration::from_secs(10));
                    });
                }
            })
            .build()
            .await
            .unwrap();
        // With a queue pool, the other connection comes back first and is kept idle, so the
        // transaction's is surplus (overflow) when its rollback ends.
        let held = engine.connection().await.unwrap();
        let mut conn = engine.connection().await.unwrap();
        let id = conn.id();
        drop(held);
        let mut session = None;
        {
            let mut tx = conn.begin().await.unwrap();
            if server {
                // A row lock only this transaction holds, and the session's id on the server.
                let lock = format!("SELECT v FROM {table} WHERE id = 1 FOR UPDATE");
                tx.query(&lock, &[]).await.unwrap();
                let sql = if db.kind == Kind::Postgres {
                    "SELECT pg_backend_pid()::bigint AS s"
                } else {
                    "SELECT CAST(CONNECTION_ID() AS SIGNED) AS s"
                };
                let s: i64 = tx.query(sql, &[]).await.unwrap()[0].get("s").unwrap();
                session = Some(s);
                armed.store(id, Ordering::SeqCst);
            } else {
                tx.query("SELECT 1", &[]).await.unwrap();
            }
            // Dropped unfinished: a rollback is owed.
        }
        drop(conn);
        if let Some(session) = session {
            // Woken from a blocking thread, not from the worker the listener blocks.
            tokio::task::spawn_blocking(move || paused_rx.recv_timeout(Duration::from_secs(10)))
                .await
                .unwrap()
                .expect("the transaction's connection was reset (its Reset event)");
            assert_transaction_ended_in_a_live_session(&db, &observer, &table, session).await;
            resume.send(()).unwrap();
        }
        let reason = if kind == PoolKind::Null {
            CloseReason::NotPooled
        } else {
            CloseReason::Overflow
        };
        // The cleaning task counts the connection in (which ended the wait above) just
        // before it announces the close, on its own thread: wait for that announcement.
        eventually("the rolled-back connection's close", || {
            events.lock().unwrap().iter().any(
                |e| matches!(e, PoolEvent::Close { id: c, reason: r } if *c == id && *r == reason),
            )
        })
        .await;
        let log = events.lock().unwrap().clone();
        let reset = log
            .iter()
            .position(|e| matches!(e, PoolEvent::Reset { id: r } if *r == id));
        let close = log.iter().position(
            |e| matches!(e, PoolEvent::Close { id: c, reason: r } if *c == id && *r == reason),
        );
        assert!(
            matches!((reset, close), (Some(r), Some(c)) if r < c),
            "{kind:?}: connection {id} must be rolled back, then closed: {log:?}"
        );
        engine.close().await;
        // A closed pool refuses, and says it is the caller's to fix, not the server's.
        let refused = engine.connection().await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Usage, "{refused}");
        assert!(refused.to_string().contains("closed"), "{refused}");
    }
    if server {
        observer
            .execute(&format!("DROP TABLE {table}"), &[])
            .await
            .unwrap();
    }
    observer.close().await;
}

/// At the pause between a dropped transaction's rollback and its connection's close, as the
/// server shows it: the session `session` is still connected, it has no transaction open,
/// and the row lock its transaction took is free. A connection closed without its ROLLBACK
/// would still be in its transaction here, holding the lock (the server would roll it back
/// only at the disconnect, which this pause holds off).
async fn assert_transaction_ended_in_a_live_session(
    db: &TestDb,
    observer: &txkit::Engine,
    table: &str,
    session: i64,
) {
    let (alive, open) = if db.kind == Kind::Postgres {
        (
            "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ?",
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE pid = ? AND (state <> 'idle' OR xact_start IS NOT NULL)",
        )
    } else {
        (
            "SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?",
            "SELECT count(*) AS n FROM information_schema.INNODB_TRX \
             WHERE trx_mysql_thread_id = ?",
        )
    };
    let count = |sql: &'static str| async move {
        let rows = observer.query(sql, &params![session]).await.unwrap();
        rows[0].get::<i64>("n").unwrap()
    };
    if db.pooled {
        // Behind a pooler the server session was the client's only for its transaction:
        // after the ROLLBACK the pooler may hand it to anyone. Without the ROLLBACK it would
        // still be pinned to this client, idle in the transaction, under this test's name.
        let rows = observer
            .query(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE application_name = ? AND state LIKE 'idle in transaction%'",
                &params![db.app.clone()],
            )
            .await
            .unwrap();
        let n: i64 = rows[0].get("n").unwrap();
        assert_eq!(
            n, 0,
            "a server session of this test is still in its transaction"
        );
    } else {
        assert_eq!(
            count(alive).await,
            1,
            "session {session} is still connected"
        );
        assert_eq!(
            count(open).await,
            0,
            "session {session} has no transaction open before its close (its ROLLBACK ran)"
        );
    }
    let free = observer
        .query(
            &format!("SELECT v FROM {table} WHERE id = 1 FOR UPDATE NOWAIT"),
            &[],
        )
        .await;
    assert!(
        free.is_ok(),
        "the transaction's row lock is free before its close: {free:?}"
    );
}

async fn full_reset_clears_session_state(db: TestDb) {
    let engine = db
        .builder()
        .pool_size(1)
        .max_overflow(0)
        .reset_on_return(ResetMode::Full)
        .build()
        .await
        .unwrap();
    let (set, get) = match db.kind {
        Kind::Sqlite => return, // no session state beyond what the state machine tracks
        Kind::Postgres => (
            "SET application_name = 'dirty'",
            "SELECT current_setting('application_name') AS v",
        ),
        Kind::MySql => (
            "SET @txkit_probe = 'dirty'",
            "SELECT COALESCE(@txkit_probe, 'clean') AS v",
        ),
    };
    {
        let mut c = engine.connection().await.unwrap();
        if db.pooled {
            // Behind a pooler there is no session state to reset: the setting would land on
            // a server connection other clients use next, so it is refused, saying so.
            let refused = c.execute(set, &[]).await.unwrap_err();
            assert_eq!(refused.kind(), ErrorKind::Usage, "{refused}");
            assert!(refused.to_string().contains("SET LOCAL"), "{refused}");
            return;
        }
        c.execute(set, &[]).await.unwrap();
    }
    let v: String = engine.query(get, &[]).await.unwrap()[0].get("v").unwrap();
    assert_ne!(v, "dirty");
    let stats = engine.stats();
    assert_eq!(stats.closed_total(), 0, "reset, not replaced: {stats}");
}

async fn random_cancellations_keep_counts_exact(db: TestDb) {
    let engine = db
        .builder()
        .pool_size(2)
        .max_overflow(1)
        .build()
        .await
        .unwrap();
    let t = crate::common::people_table(&db, &engine).await;
    let insert = format!("INSERT INTO {t} (name) VALUES (?)");
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    for _ in 0..1000 {
        let polls = next(12) as usize;
        match next(4) {
            0 => {
                poll_then_drop(engine.connection(), polls).await;
            }
            1 => {
                poll_then_drop(engine.begin(), polls).await;
            }
            2 => {
                let work = async {
                    let mut tx = engine.begin().await?;
                    tx.execute(&insert, &params!["x"]).await?;
                    let mut sp = tx.savepoint().await?;
                    sp.execute(&insert, &params!["y"]).await?;
                    sp.commit().await?;
                    tx.rollback().await
                };
                poll_then_drop(work, polls).await;
            }
            _ => {
                let work = async {
                    let mut tx = engine.begin().await?;
                    tx.execute(&insert, &params!["z"]).await?;
                    tx.rollback().await
                };
                poll_then_drop(work, polls).await;
            }
        }
    }
    // Every connection comes back (cleaning may still be running for the last one).
    eventually("all connections back", || engine.status().checked_out == 0).await;
    let s = engine.status();
    let stats = engine.stats();
    assert_eq!(
        s.open as u64,
        stats.connects - stats.closed_total(),
        "{s} / {stats}"
    );
    // Never more than size + overflow (an idle overflow connection may still linger).
    assert!(s.open <= 3 && s.waiting == 0, "{s}");
    // Nothing was ever committed, and no connection is left inside a transaction.
    assert_eq!(crate::common::count(&engine, &t).await, 0);
    let mut conns = Vec::new();
    for _ in 0..s.open {
        let mut c = engine.connection().await.unwrap();
        assert!(!c.server_in_transaction().await.unwrap());
        conns.push(c);
    }
    drop(conns);
    db.assert_no_idle_in_transaction().await;
}

async fn disconnect_invalidates_older_idle_connections(db: TestDb) {
    // No pre-ping: the pool must notice on its own that a lost connection means the older
    // ones may be dead too.
    let engine = db.builder().pool_size(3).build().await.unwrap();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(engine.connection().await.unwrap());
    }
    drop(held);
    let mut kills = Vec::new();
    for _ in 0..3 {
        // Each checkout here is a different idle connection only if we hold them all.
        kills.push(engine.connection().await.unwrap());
    }
    let mut ids = Vec::new();
    for conn in &mut kills {
        let Some(kill) = kill_statement(&db, conn).await else {
            return; // SQLite: no server to disconnect from
        };
        ids.push(kill);
    }
    drop(kills);
    let killer = db.builder().pool_size(1).build().await.unwrap();
    for kill in &ids {
        killer.execute(kill, &[]).await.unwrap();
    }
    // The first user may meet a dead connection (unless the driver already noticed the
    // socket closed, in which case the pool drops it unseen): that error is the server's
    // doing, and says so.
    if let Err(err) = engine.query("SELECT 1", &[]).await {
        assert_eq!(err.kind(), ErrorKind::ConnectionLost, "{err}");
    }
    // Every later checkout checks the idle connections older than that loss and replaces
    // them: no caller sees another error.
    for _ in 0..6 {
        engine.query("SELECT 1", &[]).await.unwrap();
    }
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = engine.connection().await.unwrap();
        c.query("SELECT 1", &[]).await.unwrap();
        held.push(c);
    }
    drop(held);
    let stats = engine.stats();
    let broken = stats.closed_for(CloseReason::Broken);
    assert!(broken >= 1, "{stats}");
    assert_eq!(
        broken + stats.closed_for(CloseReason::PrePingFailed),
        3,
        "{stats}"
    );
    assert_eq!(engine.status().open, 3);
}

async fn requests_are_counted(db: TestDb) {
    let engine = db.builder().pool_size(1).build().await.unwrap();
    let t = crate::common::people_table(&db, &engine).await;
    let before = engine.stats().requests;
    let mut tx = engine.begin().await.unwrap();
    tx.execute(&format!("INSERT INTO {t} (name) VALUES (?)"), &params!["x"])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // BEGIN (with its options, one request on every backend), the INSERT, and COMMIT.
    assert_eq!(engine.stats().requests - before, 3, "{}", engine.stats());
}

/// The server's count of the pool's sessions under SQLAlchemy's default sizes: 16 tasks of
/// short transactions on 5 + 10, each transaction asking the server which session it runs
/// on; at most 15 distinct sessions ever serve them. On the servers, through txkit's pool
/// and through a sea-orm engine (whose sqlx pool takes the same sizes).
mod server_sessions_under_default_sizes {
    crate::matrix!(@cell run postgres Postgres server_sessions_under_default_sizes);
    crate::matrix!(@cell run mysql MySql server_sessions_under_default_sizes);
    crate::matrix!(@cell run_sea_orm sea_orm_postgres Postgres server_sessions_under_default_sizes);
    crate::matrix!(@cell run_sea_orm sea_orm_mysql MySql server_sessions_under_default_sizes);
}

async fn server_sessions_under_default_sizes(db: TestDb) {
    const TASKS: usize = 16;
    const ROUNDS: usize = 25;
    let ask = match db.kind {
        Kind::Postgres => "SELECT pg_backend_pid()::bigint",
        _ => "SELECT CONNECTION_ID()",
    };
    let engine = db
        .builder()
        .pool_size(5)
        .max_overflow(10)
        .pool_timeout(Duration::from_secs(30))
        .build()
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(std::collections::HashSet::new()));
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (engine, seen) = (engine.clone(), Arc::clone(&seen));
        tasks.push(tokio::spawn(async move {
            for _ in 0..ROUNDS {
                let mut tx = engine.begin().await.unwrap();
                let session: i64 = tx.query_one(ask, &[]).await.unwrap().get(0).unwrap();
                tokio::task::yield_now().await;
                tx.commit().await.unwrap();
                seen.lock().unwrap().insert(session);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let sessions = seen.lock().unwrap().len();
    assert!(
        (1..=15).contains(&sessions),
        "{sessions} server sessions served {} transactions",
        TASKS * ROUNDS
    );
    engine.close().await;
}
