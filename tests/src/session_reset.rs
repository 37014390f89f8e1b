//! Session state does not leak between checkouts under the default `reset_on_return`, a
//! connection that changed nothing is not reset, and an idle connection the server killed
//! never reaches a caller, without pre-ping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use txkit::Engine;
use txkit::pool::PoolEvent;

use crate::common::{Kind, TestDb};

crate::matrix!(
    session_changes_do_not_reach_the_next_user,
    plain_statements_skip_the_reset,
);

// Behind a pooler, killing the server session by pid kills one of the pooler's server
// connections, which it replaces unseen: the client's connection stays whole.
crate::matrix!(
    not_pooled("not through a pooler: kills a server session, which the pooler replaces unseen"):
    killed_idle_connection_is_replaced_without_pre_ping,
);

/// An engine of one connection whose pool events are recorded.
async fn recorded(db: &TestDb, url: &str) -> (Engine, Arc<Mutex<Vec<PoolEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let engine = Engine::builder(url)
        .pool_size(1)
        .max_overflow(0)
        .on_event(move |e| sink.lock().unwrap().push(e.clone()))
        .build()
        .await
        .unwrap();
    let _ = db;
    (engine, events)
}

fn resets(events: &Mutex<Vec<PoolEvent>>) -> usize {
    let log = events.lock().unwrap();
    log.iter()
        .filter(|e| matches!(e, PoolEvent::Reset { .. }))
        .count()
}

/// What a fresh user sees: the probe's `v`, or "error".
async fn observe(engine: &Engine, probe: &str) -> String {
    let mut conn = engine.connection().await.unwrap();
    match conn.query(probe, &[]).await {
        Ok(rows) => rows
            .first()
            .map_or_else(|| "no row".to_owned(), |r| r.get::<String>("v").unwrap()),
        Err(_) => "error".to_owned(),
    }
}

/// Per backend: the statements one user runs, and a probe whose answer they would change.
fn cases(kind: Kind) -> Vec<(&'static str, Vec<&'static str>, &'static str)> {
    let temp_probe = "SELECT 'present' AS v FROM (SELECT count(*) AS n FROM txkit_tmp_probe) x";
    match kind {
        Kind::Postgres => vec![
            (
                "SET search_path",
                vec!["SET search_path = txkit_dirty"],
                "SELECT current_setting('search_path') AS v",
            ),
            (
                "SET statement_timeout",
                vec!["SET statement_timeout = 123456"],
                "SELECT current_setting('statement_timeout') AS v",
            ),
            (
                "temp table",
                vec!["CREATE TEMP TABLE txkit_tmp_probe (id int)"],
                temp_probe,
            ),
            (
                "PREPARE",
                vec!["PREPARE txkit_probe AS SELECT 1"],
                "SELECT count(*)::text AS v FROM pg_prepared_statements \
                 WHERE name = 'txkit_probe'",
            ),
        ],
        Kind::MySql => vec![
            (
                "SET SESSION sql_mode",
                vec!["SET SESSION sql_mode = 'ANSI_QUOTES'"],
                "SELECT @@SESSION.sql_mode AS v",
            ),
            (
                "SET @x",
                vec!["SET @txkit_probe = 'dirty'"],
                "SELECT COALESCE(@txkit_probe, 'clean') AS v",
            ),
            (
                "temp table",
                vec!["CREATE TEMPORARY TABLE txkit_tmp_probe (id int)"],
                temp_probe,
            ),
            (
                "USE",
                vec!["USE mysql"],
                // Not DATABASE(): MariaDB fixes it when a statement is prepared.
                "SELECT 'mysql' AS v FROM (SELECT count(*) AS n FROM help_topic) x",
            ),
            (
                "PREPARE",
                vec!["PREPARE txkit_probe FROM 'SELECT ''dirty'' AS v'"],
                "EXECUTE txkit_probe",
            ),
        ],
        Kind::Sqlite => vec![
            (
                "temp table",
                vec!["CREATE TEMP TABLE txkit_tmp_probe (id int)"],
                temp_probe,
            ),
            (
                "ATTACH",
                vec!["ATTACH DATABASE ':memory:' AS txkit_extra"],
                "SELECT CAST(count(*) AS TEXT) AS v FROM pragma_database_list \
                 WHERE name = 'txkit_extra'",
            ),
            (
                "PRAGMA",
                vec!["PRAGMA foreign_keys = OFF"],
                "SELECT CAST(foreign_keys AS TEXT) AS v FROM pragma_foreign_keys",
            ),
        ],
    }
}

async fn session_changes_do_not_reach_the_next_user(db: TestDb) {
    let (engine, events) = recorded(&db, &db.url).await;
    let cases = cases(db.kind);
    for (i, (what, change, probe)) in cases.iter().enumerate() {
        let before = observe(&engine, probe).await;
        let resets_before = resets(&events);
        if db.pooled {
            // Behind a pooler the change would land on a server connection other clients
            // use next: it is refused, saying so.
            let mut conn = engine.connection().await.unwrap();
            for sql in change {
                let refused = conn.execute(sql, &[]).await.unwrap_err();
                assert_eq!(refused.kind(), txkit::ErrorKind::Usage, "{what}: {refused}");
                assert!(refused.to_string().contains("pooler"), "{what}: {refused}");
            }
            drop(conn);
            assert_eq!(observe(&engine, probe).await, before, "{what}");
            continue;
        }
        {
            let mut conn = engine.connection().await.unwrap();
            for sql in change {
                conn.execute(sql, &[]).await.unwrap();
            }
            // The change is real: this user sees it.
            let mine = match conn.query(probe, &[]).await {
                Ok(rows) => rows.first().map(|r| r.get::<String>("v").unwrap()),
                Err(_) => Some("error".to_owned()),
            };
            assert_ne!(mine.as_deref(), Some(before.as_str()), "{what}: no change");
        }
        let after = observe(&engine, probe).await;
        assert_eq!(
            after, before,
            "case {i} ({what}) leaked into the next checkout"
        );
        // One reset for the change (the probe itself may change the session too, as
        // EXECUTE does, and be reset once more).
        assert!(resets(&events) > resets_before, "{what}: no reset");
    }
    let closes = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, PoolEvent::Close { .. }))
        .count();
    assert_eq!(closes, 0, "reset, not replaced");
}

async fn plain_statements_skip_the_reset(db: TestDb) {
    let (engine, events) = recorded(&db, &db.url).await;
    let t = crate::common::people_table(&db, &engine).await;
    let baseline = resets(&events);
    for _ in 0..3 {
        let mut conn = engine.connection().await.unwrap();
        conn.query("SELECT 1", &[]).await.unwrap();
        conn.execute(&format!("INSERT INTO {t} (name) VALUES ('a')"), &[])
            .await
            .unwrap();
        conn.execute(&format!("UPDATE {t} SET name = 'b'"), &[])
            .await
            .unwrap();
        let mut tx = conn.begin().await.unwrap();
        tx.query(&format!("SELECT name FROM {t}"), &[])
            .await
            .unwrap();
        tx.execute(&format!("DELETE FROM {t}"), &[]).await.unwrap();
        tx.commit().await.unwrap();
    }
    engine.query("SELECT 1", &[]).await.unwrap();
    assert_eq!(resets(&events), baseline, "plain statements paid a reset");
    // The count can move: a session change is reset once.
    let set = match db.kind {
        // Behind a pooler session settings are refused; a temporary table that is
        // dropped with its transaction passes, and may still change the session.
        Kind::Postgres if db.pooled => "CREATE TEMP TABLE txkit_probe (a int) ON COMMIT DROP",
        Kind::Postgres => "SET application_name = 'txkit_dirty'",
        Kind::MySql => "SET @txkit_probe = 1",
        Kind::Sqlite => "PRAGMA cache_size = 100",
    };
    engine
        .connection()
        .await
        .unwrap()
        .execute(set, &[])
        .await
        .unwrap();
    engine.query("SELECT 1", &[]).await.unwrap();
    assert_eq!(resets(&events), baseline + 1);
}

/// The server's id for the pooled connection, the statement that kills it from another
/// session, and a query counting sessions with that id.
async fn session_of(db: &TestDb, engine: &Engine) -> Option<(i64, String, String)> {
    let (id_sql, kill, gone) = match db.kind {
        Kind::Sqlite => return None,
        Kind::Postgres => (
            "SELECT pg_backend_pid()::bigint AS id",
            "SELECT pg_terminate_backend",
            "SELECT count(*)::bigint AS n FROM pg_stat_activity WHERE pid = ",
        ),
        Kind::MySql => (
            "SELECT CONNECTION_ID() AS id",
            "KILL CONNECTION ",
            "SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ",
        ),
    };
    let id: i64 = engine.query(id_sql, &[]).await.unwrap()[0]
        .get("id")
        .unwrap();
    let kill = if db.kind == Kind::Postgres {
        format!("{kill}({id})")
    } else {
        format!("{kill}{id}")
    };
    Some((id, kill, format!("{gone}{id}")))
}

async fn killed_idle_connection_is_replaced_without_pre_ping(db: TestDb) {
    // MySQL/MariaDB: the connection's checkout ping after any idle time (mysql_async hides
    // its socket); PostgreSQL needs no option (its socket is peeked).
    let url = if db.kind == Kind::MySql {
        let sep = if db.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}idle_ping_after=0", db.url)
    } else {
        db.url.clone()
    };
    let (engine, events) = recorded(&db, &url).await;
    let Some((_, kill, gone)) = session_of(&db, &engine).await else {
        // SQLite has no server to end a session: a checkout still works.
        engine.query("SELECT 1", &[]).await.unwrap();
        return;
    };
    let before = engine.connection().await.unwrap().id();
    let killer = db.builder().pool_size(1).build().await.unwrap();
    killer.execute(&kill, &[]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: i64 = killer.query(&gone, &[]).await.unwrap()[0].get("n").unwrap();
        if n == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the killed session never went away"
        );
        tokio::task::yield_now().await;
    }
    let mut conn = engine.connection().await.unwrap();
    assert_ne!(conn.id(), before, "the dead connection was handed out");
    conn.query("SELECT 1", &[]).await.unwrap();
    drop(conn);
    let closed = events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, PoolEvent::Close { id, .. } if *id == before));
    assert!(closed, "no Close event for the dead connection");
}
