//! Several hosts in one PostgreSQL URL, as libpq reads them, on both drivers: a host that
//! does not answer is passed over within the connect timeout; `target_session_attrs` takes
//! only the kind of server asked for; `load_balance_hosts=random` spreads connections; a
//! write refused as read-only gives up a connection opened for a server that takes writes.
//! (What here is not yet run against a real standby: choosing one; see docs/distributed.md.)

use txkit::{Engine, ErrorKind, IsolationLevel, TxOptions, params};

use crate::common::{Kind, TestDb, host_port};

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
