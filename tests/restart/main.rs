//! Server restart under a pool with pre-ping (issue 9, item 5a): no error reaches a caller.
//!
//! Each test starts a private server of its own (`instance.rs`: PostgreSQL via `initdb` /
//! `pg_ctl`, MariaDB via `mariadb-install-db` / `mariadbd`, in a temporary directory on a
//! free port), never the shared ones. An engine with pool size 10 and pre-ping at every
//! checkout opens 10 connections, which then sit idle; the server is restarted (a clean
//! shutdown and start, which ends every session) and, once it answers again, 50 units of
//! work (BEGIN, INSERT, COMMIT) run from 10 tasks at once. Every one must succeed: the pool
//! finds each stale connection by its failed ping (exactly 10 `PrePingFailed` closes) and
//! opens fresh ones. The 50 rows must all be there. `TXKIT_LONG=1` restarts 5 times.
//!
//! The same binary holds `mysql_connection_attributes_reach_the_server`, which needs a
//! MariaDB with `performance_schema` on (the shared one runs without it), so a private one.
//!
//! Without the server programs the tests print `SKIP` (and fail under
//! `TXKIT_REQUIRE_ALL_BACKENDS=1`). This is its own test binary so that restarting servers
//! and the seconds spent making them stay apart from the shared-server matrix.

#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod instance;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use instance::{Instance, MariaInstance, PgInstance};
use txkit::pool::CloseReason;
use txkit::{Engine, params};

const POOL: usize = 10;
const OPS: usize = 50;

fn long() -> bool {
    std::env::var("TXKIT_LONG").is_ok_and(|v| v == "1")
}

/// Prints a skip, or fails when every backend is required.
fn skip(what: &str) {
    if std::env::var("TXKIT_REQUIRE_ALL_BACKENDS").is_ok_and(|v| v == "1") {
        panic!("TXKIT_REQUIRE_ALL_BACKENDS=1 but {what} is not installed");
    }
    println!("SKIP restart: {what} is not installed");
}

/// Waits (bounded) until a fresh connection runs a query.
async fn wait_answering(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let attempt = async {
            let engine = Engine::builder(url).pool_size(1).build().await?;
            let result = engine.query("SELECT 1 AS one", &[]).await;
            engine.close().await;
            result
        };
        if attempt.await.is_ok() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not answer within 60 s of its restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens `POOL` connections at once, so the pool then holds that many idle ones.
async fn fill_pool(engine: &Engine) {
    let mut held = Vec::new();
    for _ in 0..POOL {
        let mut conn = engine.connection().await.unwrap();
        conn.query("SELECT 1 AS one", &[]).await.unwrap();
        held.push(conn);
    }
    drop(held);
    let status = engine.status();
    assert_eq!((status.open, status.idle), (POOL, POOL), "{status}");
}

async fn restart_case(mut inst: Box<dyn Instance>) {
    let url = inst.url();
    let engine = Engine::builder(&url)
        .pool_size(POOL)
        .max_overflow(0)
        .pool_pre_ping(Duration::ZERO)
        .pool_timeout(Duration::from_secs(30))
        .build()
        .await
        .unwrap();
    let table = format!("restart_{}", std::process::id());
    engine
        .execute(
            &format!("CREATE TABLE {table} (round INT NOT NULL, n INT NOT NULL)"),
            &[],
        )
        .await
        .unwrap();
    let rounds = if long() { 5 } else { 1 };
    let errors = Arc::new(AtomicU32::new(0));
    let mut max_restart = Duration::ZERO;
    let mut max_op = Duration::ZERO;
    for round in 0..rounds {
        fill_pool(&engine).await;
        let before = engine.stats().closed_for(CloseReason::PrePingFailed);
        let started = Instant::now();
        tokio::task::block_in_place(|| inst.restart());
        wait_answering(&url).await;
        max_restart = max_restart.max(started.elapsed());

        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..POOL {
            let engine = engine.clone();
            let errors = errors.clone();
            let insert = format!("INSERT INTO {table} (round, n) VALUES (?, ?)");
            tasks.spawn(async move {
                let mut slowest = Duration::ZERO;
                for i in 0..OPS / POOL {
                    let t0 = Instant::now();
                    let unit = async {
                        let mut tx = engine.begin().await?;
                        tx.execute(&insert, &params![round as i64, (worker * 100 + i) as i64])
                            .await?;
                        tx.commit().await
                    };
                    if let Err(e) = unit.await {
                        errors.fetch_add(1, Ordering::SeqCst);
                        eprintln!("an error reached the caller after the restart: {e}");
                    }
                    slowest = slowest.max(t0.elapsed());
                }
                slowest
            });
        }
        while let Some(slowest) = tasks.join_next().await {
            max_op = max_op.max(slowest.unwrap());
        }
        let pinged_out = engine.stats().closed_for(CloseReason::PrePingFailed) - before;
        assert_eq!(
            pinged_out, POOL as u64,
            "round {round}: every stale connection is found by its ping"
        );
        let rows = engine
            .query(
                &format!("SELECT count(*) AS n FROM {table} WHERE round = ?"),
                &params![round as i64],
            )
            .await
            .unwrap();
        assert_eq!(
            rows[0].get::<i64>("n").unwrap(),
            OPS as i64,
            "round {round}"
        );
    }
    let errors = errors.load(Ordering::SeqCst);
    assert_eq!(errors, 0, "errors reached callers after a restart");
    let stats = engine.stats();
    println!(
        "RELIABILITY restart {} pool={POOL} pre_ping=always restarts={rounds} idle_before={POOL} \
         ops_per_restart={OPS} errors={errors} preping_failed={} connects={} \
         max_restart_ms={} max_op_ms={}",
        inst.name(),
        stats.closed_for(CloseReason::PrePingFailed),
        stats.connects,
        max_restart.as_millis(),
        max_op.as_millis()
    );
    engine.close().await;
    // Dropping `inst` stops the server and removes its directory.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_postgres() {
    let Some(bin) = PgInstance::bin_dir() else {
        skip("PostgreSQL (initdb, pg_ctl)");
        return;
    };
    let inst = tokio::task::block_in_place(|| PgInstance::start(bin));
    restart_case(Box::new(inst)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mysql() {
    if !MariaInstance::available() {
        skip("MariaDB (mariadbd, mariadb-install-db, mariadb-admin)");
        return;
    }
    let inst = tokio::task::block_in_place(MariaInstance::start);
    restart_case(Box::new(inst)).await;
}

/// The connection attributes txkit sends (`application_name` as `program_name`, on a
/// `mariadb://` URL) as the server records them for that very session, in
/// `performance_schema.session_connect_attrs` (which the shared MariaDB does not keep:
/// `backends/mysql`'s `connects_by_scheme_socket_and_attributes` can only connect).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_connection_attributes_reach_the_server() {
    if !MariaInstance::available() {
        skip("MariaDB (mariadbd, mariadb-install-db, mariadb-admin)");
        return;
    }
    // With the grant tables skipped (as the restart tests run it), MariaDB 10.11 records no
    // connection attributes at all, not even its own client's: keep them here.
    let inst = tokio::task::block_in_place(|| {
        MariaInstance::start_with(&["--performance-schema=ON", "--skip-grant-tables=0"])
    });
    let url = inst.url().replacen("mysql://", "mariadb://", 1);
    let engine = Engine::builder(&format!("{url}?application_name=txkit-attrs"))
        .pool_size(1)
        .build()
        .await
        .unwrap();
    let rows = engine
        .query(
            "SELECT ATTR_NAME AS n, ATTR_VALUE AS v \
             FROM performance_schema.session_connect_attrs \
             WHERE PROCESSLIST_ID = CONNECTION_ID() ORDER BY ATTR_NAME",
            &[],
        )
        .await
        .unwrap();
    let attrs: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.get("n").unwrap(), r.get("v").unwrap()))
        .collect();
    assert!(
        attrs.contains(&("program_name".to_owned(), "txkit-attrs".to_owned())),
        "the session's attributes name the application: {attrs:?}"
    );
    engine.close().await;
}
