//! Shared helpers: the server URL, connections, unique table names, polling.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use txkit_core::{Connection, DatabaseUrl, Value};

use txkit_postgres::{PgConnectOptions, PgConnection};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The guard at the top of every server test: `TXKIT_POSTGRES_URL` must be set. A build
/// without it marks the server tests ignored (build.rs), so a server test that runs
/// without the URL is a failure, never a silent pass: it lacks that `#[cfg_attr(..)]`, or
/// `--include-ignored` asked for tests that cannot run, or the binary was built with a URL
/// (or `TXKIT_REQUIRE_ALL_BACKENDS=1`) the run does not have.
pub(crate) fn require_server() {
    assert!(
        std::env::var("TXKIT_POSTGRES_URL").is_ok_and(|u| !u.is_empty()),
        "{}",
        if cfg!(txkit_skip_postgres) {
            "a PostgreSQL server test ran without TXKIT_POSTGRES_URL: it lacks \
             #[cfg_attr(txkit_skip_postgres, ignore = ..)], or --include-ignored asked for it"
        } else {
            "TXKIT_POSTGRES_URL is not set, but this build needs it (TXKIT_REQUIRE_ALL_BACKENDS=1, \
             or the URL was set when it was built)"
        }
    );
}

/// The test server's URL.
pub(crate) fn url() -> String {
    std::env::var("TXKIT_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// The test URL with extra query options (`"a=1&b=2"`).
pub(crate) fn url_with(extra: &str) -> String {
    let base = url();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{extra}")
}

pub(crate) fn options(extra: &str) -> PgConnectOptions {
    let url = if extra.is_empty() {
        url()
    } else {
        url_with(extra)
    };
    PgConnectOptions::from_url(&DatabaseUrl::parse(&url).unwrap()).unwrap()
}

/// A plain-text connection (so tests do not depend on the `tls` feature).
pub(crate) async fn connect() -> PgConnection {
    connect_with("sslmode=disable").await
}

pub(crate) async fn connect_with(extra: &str) -> PgConnection {
    options(extra).connect().await.unwrap()
}

/// A table name no other test (or test process) uses.
pub(crate) fn table(what: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "txpg_{what}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A number unique to this process and call, for advisory-lock keys.
pub(crate) fn unique_key() -> i64 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    i64::from(std::process::id()) * 1000
        + i64::try_from(NEXT.fetch_add(1, Ordering::Relaxed)).unwrap()
}

pub(crate) async fn exec(conn: &mut PgConnection, sql: &str) {
    conn.execute(sql, &[]).await.unwrap();
}

pub(crate) async fn scalar(conn: &mut PgConnection, sql: &str, params: &[Value]) -> Value {
    let rows = conn.query(sql, params).await.unwrap();
    rows[0].value(0).unwrap().clone()
}

pub(crate) async fn count(conn: &mut PgConnection, table: &str) -> i64 {
    let rows = conn
        .query(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap();
    rows[0].get::<i64>(0).unwrap()
}

pub(crate) async fn backend_pid(conn: &mut PgConnection) -> i64 {
    match scalar(conn, "SELECT pg_backend_pid()", &[]).await {
        Value::Int(pid) => pid,
        other => panic!("pid {other:?}"),
    }
}

/// Wakes a waiting test when the future it polls asks to be polled again.
struct NotifyOnWake(Notify);

impl Wake for NotifyOnWake {
    fn wake(self: Arc<Self>) {
        self.0.notify_one();
    }
}

/// Polls `fut` up to `polls` times, each time only after it asked to be woken (so each poll
/// is one of its await points), and drops it if it has not finished; returns its output
/// if it did.
pub(crate) async fn poll_then_drop<F: Future>(fut: F, polls: usize) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let notify = Arc::new(NotifyOnWake(Notify::new()));
    let waker = Waker::from(Arc::clone(&notify));
    let mut cx = Context::from_waker(&waker);
    for _ in 0..polls {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return Some(out);
        }
        tokio::time::timeout(Duration::from_secs(10), notify.0.notified())
            .await
            .expect("the future was never woken");
    }
    None
}

/// Waits (bounded) until `check` holds, asking again every few milliseconds.
pub(crate) async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
