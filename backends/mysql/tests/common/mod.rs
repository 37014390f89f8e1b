//! Shared helpers of the MySQL/MariaDB server tests.

#![allow(dead_code, unreachable_pub)]

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use txkit_core::{
    Connection, DatabaseUrl, ErrorKind, IsolationLevel, Row, Transaction, TxOptions, Value,
};
use txkit_mysql::{MySqlConnectOptions, MySqlConnection};

/// The server under test.
pub fn url_text() -> String {
    std::env::var("TXKIT_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

pub fn options() -> MySqlConnectOptions {
    let url = DatabaseUrl::parse(&url_text()).expect("TXKIT_MYSQL_URL parses");
    MySqlConnectOptions::from_url(&url).expect("TXKIT_MYSQL_URL options")
}

/// The guard at the top of every server test: `TXKIT_MYSQL_URL` must be set. A build
/// without it marks the server tests ignored (build.rs), so a server test that runs
/// without the URL is a failure, never a silent pass: it lacks that `#[cfg_attr(..)]`, or
/// `--include-ignored` asked for tests that cannot run, or the binary was built with a URL
/// (or `TXKIT_REQUIRE_ALL_BACKENDS=1`) the run does not have.
pub fn require_server() {
    assert!(
        std::env::var("TXKIT_MYSQL_URL").is_ok_and(|u| !u.is_empty()),
        "{}",
        if cfg!(txkit_skip_mysql) {
            "a MySQL/MariaDB server test ran without TXKIT_MYSQL_URL: it lacks \
             #[cfg_attr(txkit_skip_mysql, ignore = ..)], or --include-ignored asked for it"
        } else {
            "TXKIT_MYSQL_URL is not set, but this build needs it (TXKIT_REQUIRE_ALL_BACKENDS=1, \
             or the URL was set when it was built)"
        }
    );
}

/// A new connection to the server under test, after [`require_server`]; an unreachable
/// server is a failure.
pub async fn connect() -> MySqlConnection {
    require_server();
    match options().connect().await {
        Ok(conn) => conn,
        Err(e) => panic!("TXKIT_MYSQL_URL is set but the server is not reachable: {e}"),
    }
}

/// A connection that must exist once [`connect`] gave one.
pub async fn another() -> MySqlConnection {
    options().connect().await.expect("second connection")
}

/// A table name unique to this process and call.
pub fn table(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "txkit_{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates `name (id INT PRIMARY KEY, v INT)` with rows `(id, id)` for each id.
pub async fn make_table(conn: &mut MySqlConnection, name: &str, ids: &[i64]) {
    conn.execute(&format!("DROP TABLE IF EXISTS {name}"), &[])
        .await
        .expect("drop");
    conn.execute(
        &format!("CREATE TABLE {name} (id BIGINT PRIMARY KEY, v BIGINT) ENGINE=InnoDB"),
        &[],
    )
    .await
    .expect("create");
    for id in ids {
        conn.execute(
            &format!("INSERT INTO {name} (id, v) VALUES (?, ?)"),
            &[Value::Int(*id), Value::Int(*id)],
        )
        .await
        .expect("insert");
    }
}

pub async fn drop_table(conn: &mut MySqlConnection, name: &str) {
    conn.execute(&format!("DROP TABLE IF EXISTS {name}"), &[])
        .await
        .expect("drop table");
}

/// The first column of the first row as i64.
pub async fn scalar(conn: &mut MySqlConnection, sql: &str) -> i64 {
    let rows = conn.query(sql, &[]).await.expect(sql);
    rows[0].get::<i64>(0).expect("integer")
}

pub async fn count(conn: &mut MySqlConnection, table: &str) -> i64 {
    scalar(conn, &format!("SELECT COUNT(*) FROM {table}")).await
}

/// Waits (bounded, without sleeping) until connection `id` is executing a statement that
/// contains `fragment` (per the process list, which, unlike `innodb_trx`, is not a cache
/// that refreshes only after 100 ms without readers).
pub async fn until_running(observer: &mut MySqlConnection, id: u32, fragment: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let sql = "SELECT COUNT(*) FROM information_schema.processlist WHERE id = ? AND info LIKE ?";
    loop {
        let rows = observer
            .query(
                sql,
                &[
                    Value::Int(i64::from(id)),
                    Value::Text(format!("%{fragment}%")),
                ],
            )
            .await
            .expect("processlist");
        if rows[0].get::<i64>(0).expect("count") > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "connection {id} never ran {fragment:?}"
        );
        tokio::task::yield_now().await;
    }
}

/// The isolation level `a`'s open transaction behaves as, probed with `b` on table `t`
/// (rows 1 and 2 with v = id). innodb_trx.trx_isolation_level is not reliable on MariaDB
/// (it keeps the level of the session's first InnoDB transaction), so this watches
/// behaviour: SERIALIZABLE share-locks plain reads; READ UNCOMMITTED sees uncommitted
/// writes; READ COMMITTED sees later commits; REPEATABLE READ sees neither.
pub async fn observed_level<A: Querier>(
    a: &mut A,
    b: &mut MySqlConnection,
    t: &str,
) -> IsolationLevel {
    assert_eq!(read(a, t, 1).await, 1);
    assert_eq!(read(a, t, 2).await, 2);
    let probe = b
        .query(
            &format!("SELECT v FROM {t} WHERE id = 1 FOR UPDATE NOWAIT"),
            &[],
        )
        .await;
    if let Err(e) = probe {
        assert_eq!(e.kind(), ErrorKind::LockNotAvailable, "{e}");
        return IsolationLevel::Serializable;
    }
    b.begin(&TxOptions::new()).await.expect("b begin");
    b.execute(&format!("UPDATE {t} SET v = 100 WHERE id = 2"), &[])
        .await
        .expect("b update");
    let dirty = read(a, t, 2).await;
    b.commit().await.expect("b commit");
    let after_commit = read(a, t, 2).await;
    b.execute(&format!("UPDATE {t} SET v = 2 WHERE id = 2"), &[])
        .await
        .expect("b restore");
    match (dirty, after_commit) {
        (100, _) => IsolationLevel::ReadUncommitted,
        (2, 100) => IsolationLevel::ReadCommitted,
        (2, 2) => IsolationLevel::RepeatableRead,
        other => panic!("unexpected reads {other:?}"),
    }
}

pub async fn read<A: Querier>(conn: &mut A, t: &str, id: i64) -> i64 {
    let rows = conn
        .run(&format!("SELECT v FROM {t} WHERE id = {id}"))
        .await
        .expect("read");
    rows[0].get::<i64>(0).expect("v")
}

pub async fn refuses_writes<A: Querier>(conn: &mut A, t: &str) -> bool {
    match conn.run(&format!("INSERT INTO {t} VALUES (50, 50)")).await {
        Ok(_) => false,
        Err(e) => {
            assert_eq!(e.code(), Some("1792"), "{e}");
            assert_eq!(e.kind(), ErrorKind::Database);
            assert!(e.to_string().contains("READ ONLY"), "{e}");
            true
        }
    }
}

/// Something that runs a query: a raw connection or a transaction guard.
#[allow(async_fn_in_trait)]
pub trait Querier {
    async fn run(&mut self, sql: &str) -> txkit_core::Result<Vec<Row>>;
}

impl Querier for MySqlConnection {
    async fn run(&mut self, sql: &str) -> txkit_core::Result<Vec<Row>> {
        self.query(sql, &[]).await
    }
}

impl Querier for Transaction<'_, MySqlConnection> {
    async fn run(&mut self, sql: &str) -> txkit_core::Result<Vec<Row>> {
        self.query(sql, &[]).await
    }
}

struct Flag {
    woken: AtomicBool,
    outer: Mutex<Option<Waker>>,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if let Some(w) = self.outer.lock().expect("waker lock").take() {
            w.wake();
        }
    }
}

/// Polls `fut` up to `k` times — each poll after the previous one was woken, so every poll
/// is one step past an await point — then drops it. `Some` if it finished within `k` polls.
pub async fn poll_k_then_drop<F: Future>(fut: F, k: usize) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let flag = Arc::new(Flag {
        woken: AtomicBool::new(false),
        outer: Mutex::new(None),
    });
    let waker = Waker::from(Arc::clone(&flag));
    for i in 0..k {
        if i > 0 {
            poll_fn(|cx: &mut Context<'_>| {
                *flag.outer.lock().expect("waker lock") = Some(cx.waker().clone());
                if flag.woken.swap(false, Ordering::SeqCst) {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            })
            .await;
        }
        let mut cx = Context::from_waker(&waker);
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return Some(out);
        }
    }
    None
}

/// Runs `body` for k = 0, 1, 2, … until the cancelled operation finished within k polls.
pub const MAX_POLLS: usize = 400;
