//! Pool configuration, events and status: size and overflow, timeout, pre-ping, recycle;
//! a callback on every pool event; `status()` counts and `stats()` history.
//!
//! `cargo run --example pool_status [-- --url URL]`

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use txkit::Engine;
use txkit::pool::PoolEvent;

use common::BoxError;

fn main() {
    common::main_with(&common::temp_sqlite_url("pool"), |url| async move {
        run(&url).await
    });
}

/// The example, callable from the test suite on any database.
pub(crate) async fn run(url: &str) -> Result<(), BoxError> {
    let checkouts = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&checkouts);
    let engine = Engine::builder(url)
        .pool_size(2)
        .max_overflow(1)
        .pool_timeout(Duration::from_secs(5))
        .pool_pre_ping(Duration::from_secs(1))
        .pool_recycle(Duration::from_secs(3600))
        // An overflow connection that nobody waits for is kept idle this long (default 5 s)
        // so a burst that stops and starts again reuses it; then it is closed.
        .overflow_idle(Duration::from_millis(200))
        .on_event(move |event| {
            if matches!(event, PoolEvent::Checkout { .. }) {
                seen.fetch_add(1, Ordering::Relaxed);
            }
            if let PoolEvent::Close { id, reason } = event {
                println!("  event: connection {id} closed ({reason})");
            }
        })
        .build()
        .await?;
    println!("{}", engine.status());
    let a = engine.connection().await?;
    let b = engine.connection().await?;
    let c = engine.connection().await?; // beyond pool_size: an overflow connection
    println!("three checked out: {}", engine.status());
    drop((a, b, c)); // the overflow one lingers idle for overflow_idle
    println!("all returned:      {}", engine.status());
    assert_eq!(engine.status().open, 3);
    // Then the pool's maintenance task closes it (bounded wait).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while engine.status().open > 2 {
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "the overflow connection was not closed: {}",
                engine.status()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("after overflow_idle: {}", engine.status());
    println!("stats: {}", engine.stats());
    assert_eq!(engine.status().open, 2);
    assert_eq!(
        checkouts.load(Ordering::Relaxed) as u64,
        engine.stats().checkouts
    );
    Ok(())
}
