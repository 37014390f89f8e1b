//! Several hosts in one PostgreSQL URL, as libpq reads them, on both drivers: a host that
//! does not answer is passed over within the connect timeout; `target_session_attrs` takes
//! only the kind of server asked for; `load_balance_hosts=random` spreads connections; a
//! write refused as read-only gives up a connection opened for a server that takes writes;
//! and, on a primary and hot standby of the tests' own ([`ReplicaSet`]), each kind chosen
//! between them, and a pool that finds the promoted standby after the primary crashed.

use txkit::{Engine, ErrorKind, IsolationLevel, TxOptions, params};

use crate::common::{Kind, TestDb, host_port, until};
use crate::replica_set::ReplicaSet;

const DRIVERS: [&str; 2] = ["tokio-postgres", "txkit"];

/// The direct server's `postgres://user@` prefix, `host:port` and `/database`.
fn parts() -> (String, String, String) {
    let url = TestDb::new(Kind::Postgres).expect("TXKIT_POSTGRES_URL").url;
    let hp = host_port(&url);
    let (prefix, rest) = url.split_once(&hp).expect("host:port in the URL");
    let database = rest.split_once('?').map_or(rest, |(d, _)| d).to_owned();
    (prefix.to_owned(), hp, database)
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_does_not_answer_is_passed_over() {
    let (prefix, server, db) = parts();
    let dead = format!("127.0.0.1:{}", closed_port());
    for driver in DRIVERS {
        let url = format!("{prefix}{dead},{server}{db}?connect_timeout=2&driver={driver}");
        let engine = Engine::connect(&url).await.unwrap();
        let rows = engine.query("SELECT 1 AS one", &[]).await.unwrap();
        assert_eq!(rows[0].get::<i64>("one").unwrap(), 1, "{driver}");
        engine.close().await;
        // Every host dead: one error naming each.
        let url = format!("{prefix}{dead},{dead}{db}?connect_timeout=2&driver={driver}");
        let e = Engine::connect(&url).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionLost, "{driver}: {e}");
        // The URL, then each host's own failure.
        assert!(e.to_string().matches(&dead).count() >= 3, "{driver}: {e}");
    }
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_session_attrs_take_only_the_kind_asked_for() {
    let (prefix, server, db) = parts();
    for driver in DRIVERS {
        for (attrs, found) in [
            ("any", true),
            ("read-write", true),
            ("primary", true),
            ("prefer-standby", true),
            ("standby", false),
            ("read-only", false),
        ] {
            let url = format!(
                "{prefix}{server},{server}{db}?target_session_attrs={attrs}&driver={driver}"
            );
            match Engine::connect(&url).await {
                Ok(engine) => {
                    assert!(found, "{driver} {attrs}: the primary was taken");
                    engine.query("SELECT 1", &[]).await.unwrap();
                    engine.close().await;
                }
                Err(e) => {
                    assert!(!found, "{driver} {attrs}: {e}");
                    assert_eq!(e.kind(), ErrorKind::ConnectionLost, "{e}");
                    let not = format!("not {attrs}");
                    assert_eq!(e.to_string().matches(&not).count(), 2, "{driver}: {e}");
                }
            }
        }
    }
}

/// Through PgBouncer and directly, shuffled: both hosts get connections, told apart by the
/// server session id (none behind the pooler).
#[cfg_attr(
    txkit_skip_pgbouncer,
    ignore = "server test: set TXKIT_PGBOUNCER_URL (and TXKIT_POSTGRES_URL) to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_balancing_spreads_connections_over_the_hosts() {
    let (prefix, server, db) = parts();
    let bouncer = host_port(&std::env::var("TXKIT_PGBOUNCER_URL").unwrap());
    for driver in DRIVERS {
        let url = format!(
            "{prefix}{server},{bouncer}{db}?load_balance_hosts=random&driver={driver}\
             &pool_kind=null"
        );
        let engine = Engine::connect(&url).await.unwrap();
        let (mut direct, mut pooled) = (0, 0);
        for _ in 0..40 {
            let mut conn = engine.connection().await.unwrap();
            conn.query("SELECT 1", &[]).await.unwrap();
            if txkit::core::Connection::server_session_id(conn.raw()).is_some() {
                direct += 1;
            } else {
                pooled += 1;
            }
        }
        assert!(
            direct > 0 && pooled > 0,
            "{driver}: {direct} direct, {pooled} pooled"
        );
        engine.close().await;
    }
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_refused_as_read_only_gives_up_a_read_write_connection() {
    let (prefix, server, db) = parts();
    let table = crate::common::unique("rw_target");
    for driver in DRIVERS {
        for (attrs, given_up) in [("read-write", true), ("any", false)] {
            let url = format!(
                "{prefix}{server}{db}?target_session_attrs={attrs}&driver={driver}\
                 &pool_size=1&max_overflow=0"
            );
            let engine = Engine::connect(&url).await.unwrap();
            engine
                .execute(&format!("CREATE TABLE IF NOT EXISTS {table} (v INT)"), &[])
                .await
                .unwrap();
            let read_only = TxOptions::new()
                .isolation(IsolationLevel::ReadCommitted)
                .read_only();
            let mut tx = engine.begin_with(read_only).await.unwrap();
            let e = tx
                .execute(&format!("INSERT INTO {table} (v) VALUES (?)"), &params![1])
                .await
                .unwrap_err();
            assert_eq!(e.code(), Some("25006"), "{e}");
            drop(tx);
            engine.query("SELECT 1", &[]).await.unwrap();
            let stats = engine.stats();
            let connects = if given_up { 2 } else { 1 };
            assert_eq!(stats.connects, connects, "{driver} {attrs}: {stats}");
            engine.close().await;
        }
    }
    let engine = Engine::connect(&format!("{prefix}{server}{db}"))
        .await
        .unwrap();
    engine
        .execute(&format!("DROP TABLE {table}"), &[])
        .await
        .unwrap();
    engine.close().await;
}

/// Whether the server `url` reaches is in recovery.
async fn in_recovery(engine: &Engine) -> bool {
    let rows = engine
        .query("SELECT pg_is_in_recovery() AS r", &[])
        .await
        .unwrap();
    rows[0].get("r").unwrap()
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it (it makes servers of its own)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_is_chosen_between_a_primary_and_its_standby() {
    let set = tokio::task::spawn_blocking(ReplicaSet::start)
        .await
        .unwrap();
    let hosts = format!("127.0.0.1:{},127.0.0.1:{}", set.standby, set.primary);
    for driver in DRIVERS {
        for (attrs, standby) in [
            ("any", true),
            ("read-write", false),
            ("primary", false),
            ("read-only", true),
            ("standby", true),
            ("prefer-standby", true),
        ] {
            let url = format!(
                "postgres://postgres@{hosts}/postgres?target_session_attrs={attrs}&driver={driver}"
            );
            let engine = Engine::connect(&url).await.unwrap();
            assert_eq!(in_recovery(&engine).await, standby, "{driver} {attrs}");
            engine.close().await;
        }
        // The standby alone: a primary is nowhere, and the error says what each host is.
        let url = format!(
            "{}?target_session_attrs=primary&driver={driver}",
            ReplicaSet::url(set.standby)
        );
        let e = Engine::connect(&url).await.unwrap_err();
        assert!(e.to_string().contains("not primary"), "{driver}: {e}");
    }
    drop(set);
}

/// The primary crashes and the standby is promoted: the engine's broken connections are
/// replaced on the new primary, found by itself from the same URL, and what was committed
/// (and replicated) before is there.
#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it (it makes servers of its own)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_finds_the_promoted_standby_after_the_primary_crashed() {
    for driver in DRIVERS {
        let set = tokio::task::spawn_blocking(ReplicaSet::start)
            .await
            .unwrap();
        let url = format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/postgres?target_session_attrs=primary\
             &connect_timeout=2&driver={driver}&pool_size=2&max_overflow=0",
            set.primary, set.standby
        );
        let engine = Engine::connect(&url).await.unwrap();
        engine
            .execute("CREATE TABLE moves (id INT PRIMARY KEY)", &[])
            .await
            .unwrap();
        engine
            .execute("INSERT INTO moves (id) VALUES (1)", &[])
            .await
            .unwrap();
        assert!(!in_recovery(&engine).await);
        let standby = Engine::connect(&ReplicaSet::url(set.standby))
            .await
            .unwrap();
        until("the insert replayed on the standby", || async {
            standby
                .query("SELECT id FROM moves", &[])
                .await
                .is_ok_and(|rows| rows.len() == 1)
        })
        .await;
        standby.close().await;
        let set = tokio::task::spawn_blocking(move || {
            set.fail_over();
            set
        })
        .await
        .unwrap();
        // The pool's connections to the old primary are dead: each failing call gives one
        // up, and a new one goes to the host that is now the primary.
        let failures = std::sync::atomic::AtomicUsize::new(0);
        until("a write on the new primary", || {
            let engine = engine.clone();
            let failures = &failures;
            async move {
                match engine
                    .execute("INSERT INTO moves (id) VALUES (2)", &[])
                    .await
                {
                    Ok(_) => true,
                    Err(e) => {
                        assert!(e.kind() == ErrorKind::ConnectionLost, "{driver}: {e}");
                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        false
                    }
                }
            }
        })
        .await;
        let failures = failures.into_inner();
        assert!(!in_recovery(&engine).await, "{driver}");
        let ids: Vec<i64> = engine
            .query("SELECT id FROM moves ORDER BY id", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get("id").unwrap())
            .collect();
        assert_eq!(ids, [1, 2], "{driver} after {failures} failed calls");
        engine.close().await;
        drop(set);
    }
}
