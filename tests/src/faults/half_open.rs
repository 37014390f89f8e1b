//! A half-open peer: a checkout with pre-ping gives up within the validation timeout
//! instead of hanging.
//!
//! The engine (pool size 1, pre-ping at every checkout, validation timeout 1 s, connect
//! timeout 2 s) reaches the server through the fault proxy. After one good checkout the
//! proxy stalls: it keeps every socket open and forwards nothing, and new connections are
//! accepted and never served — a peer that vanished without closing. The next checkout's
//! pre-ping must be given up after the validation timeout (measured from the pool's
//! `PrePingFailed` event), and the checkout must then fail with ConnectionLost once the
//! replacement connection's connect timeout runs out, never hang. PostgreSQL and MariaDB.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use txkit::pool::{CloseReason, PoolEvent};
use txkit::{Engine, ErrorKind};

use super::proxy::{Proxy, Wire};
use super::{backend_name, through};
use crate::common::{Kind, TestDb, host_port};

const VALIDATION: Duration = Duration::from_secs(1);
const CONNECT: Duration = Duration::from_secs(2);
/// Scheduling slack on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(1500);

async fn half_open(kind: Kind) {
    let Some(db) = TestDb::new(kind) else {
        return;
    };
    let wire = match kind {
        Kind::MySql => Wire::MySql,
        _ => Wire::Postgres,
    };
    let proxy = Proxy::start(host_port(&db.url), wire).await;
    let ping_failed: Arc<Mutex<Option<Instant>>> = Arc::default();
    let seen = ping_failed.clone();
    let engine = Engine::builder(&through(&db.url, proxy.addr()))
        .pool_size(1)
        .max_overflow(0)
        .pool_pre_ping(Duration::ZERO)
        .connect_timeout(CONNECT)
        .pool_config(|c| c.validation_timeout = VALIDATION)
        .on_event(move |e| {
            if let PoolEvent::Invalidate {
                reason: CloseReason::PrePingFailed,
                ..
            } = e
            {
                seen.lock().unwrap().get_or_insert_with(Instant::now);
            }
        })
        .build()
        .await
        .unwrap();
    let rows = engine.query("SELECT 1 AS one", &[]).await.unwrap();
    assert_eq!(rows[0].get::<i64>("one").unwrap(), 1);
    assert_eq!(
        engine.status().idle,
        1,
        "one idle connection before the stall"
    );

    let accepted = proxy.accepted();
    proxy.stall();
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(30), engine.connection()).await;
    let total = started.elapsed();
    let result = outcome.expect("a checkout hung on a half-open peer for 30 s");
    let Err(e) = result else {
        panic!("a checkout through a half-open peer succeeded");
    };
    assert_eq!(e.kind(), ErrorKind::ConnectionLost, "{e}");
    let ping_at = ping_failed
        .lock()
        .unwrap()
        .expect("the pre-ping was never given up");
    let ping = ping_at.duration_since(started);
    assert!(
        ping >= VALIDATION && ping <= VALIDATION + SLACK,
        "pre-ping given up after {ping:?}, validation timeout {VALIDATION:?}"
    );
    assert!(
        total <= VALIDATION + CONNECT + SLACK,
        "checkout failed after {total:?}"
    );
    assert_eq!(engine.stats().closed_for(CloseReason::PrePingFailed), 1);
    let new_links = proxy.accepted() - accepted;
    println!(
        "RELIABILITY half-open {} validation_timeout_ms={} connect_timeout_ms={} \
         ping_given_up_ms={} checkout_failed_ms={} new_links_stalled={new_links} error={:?} hung=0",
        backend_name(&db),
        VALIDATION.as_millis(),
        CONNECT.as_millis(),
        ping.as_millis(),
        total.as_millis(),
        e.kind()
    );
    engine.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_postgres() {
    half_open(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_mysql() {
    half_open(Kind::MySql).await;
}
