//! Lazy BEGIN, measured: how many round trips a session's first statement costs.
//!
//! A counting TCP proxy on 127.0.0.1 sits between the engine (one pooled connection) and
//! the server. It counts *turns*: a client→server write that follows a server→client
//! write (or opens the connection) starts a new turn; writes the client makes before the
//! server has answered belong to the same turn. Turns are round trips. The runtime is
//! single-threaded so the connection task cannot run between the two pipelined requests.
//!
//! PostgreSQL: a session's first query goes out with BEGIN (1 turn) and COMMIT is 1 turn:
//! 2, against 3 for `engine.begin()` + query + commit. MySQL/MariaDB is not measured: its
//! client has no pipelining (the session uses the default BEGIN-then-statement, as many
//! round trips as an explicit transaction), and mysql_async moves loopback TCP connections
//! to the server's Unix socket (`prefer_socket`), past any TCP proxy. SQLite has no
//! network: BEGIN and the statement are one command to the worker thread by construction
//! (`SqliteConnection::begin_and_query`), so there is nothing to count here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use txkit::{Engine, params};

use crate::common::{Kind, TestDb, host_port, unique};

#[derive(Default)]
pub(crate) struct Turns {
    pub(crate) turns: AtomicU64,
    server_spoke: AtomicBool,
}

/// Starts a proxy to `target`; returns its address and its counter.
pub(crate) async fn proxy(target: String) -> (String, Arc<Turns>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let turns = Arc::new(Turns::default());
    let counter = turns.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = TcpStream::connect(&target).await.unwrap();
            counter.server_spoke.store(true, Ordering::SeqCst);
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let up = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = cr.read(&mut buf).await {
                    if up.server_spoke.swap(false, Ordering::SeqCst) {
                        up.turns.fetch_add(1, Ordering::SeqCst);
                    }
                    if sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
            let down = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = sr.read(&mut buf).await {
                    down.server_spoke.store(true, Ordering::SeqCst);
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (addr, turns)
}

/// `url` with its host:port replaced by `addr`.
pub(crate) fn through(url: &str, addr: &str) -> String {
    url.replacen(&host_port(url), addr, 1)
}

async fn measure(kind: Kind) -> Option<(u64, u64)> {
    let db = TestDb::new(kind)?;
    let (addr, turns) = proxy(host_port(&db.url)).await;
    let url = through(&db.url, &addr);
    let engine = Engine::builder(&url).pool_size(1).build().await.unwrap();
    let table = unique("lazy_rt");
    engine
        .execute(
            &format!("CREATE TABLE {table} (id INT PRIMARY KEY, v INT)"),
            &[],
        )
        .await
        .unwrap();
    engine
        .execute(&format!("INSERT INTO {table} (id, v) VALUES (1, 10)"), &[])
        .await
        .unwrap();
    let sql = format!("SELECT v FROM {table} WHERE id = ?");
    let session_once = || async {
        let mut s = engine.session();
        let rows = s.query_sql(&sql, &params![1]).await.unwrap();
        assert_eq!(rows.len(), 1);
        s.commit().await.unwrap();
    };
    let explicit_once = || async {
        let mut tx = engine.begin().await.unwrap();
        let rows = tx.query(&sql, &params![1]).await.unwrap();
        assert_eq!(rows.len(), 1);
        tx.commit().await.unwrap();
    };
    // Warm the prepared-statement caches, so only BEGIN / statement / COMMIT are counted.
    session_once().await;
    explicit_once().await;
    let t0 = turns.turns.load(Ordering::SeqCst);
    session_once().await;
    let t1 = turns.turns.load(Ordering::SeqCst);
    explicit_once().await;
    let t2 = turns.turns.load(Ordering::SeqCst);
    engine
        .execute(&format!("DROP TABLE {table}"), &[])
        .await
        .unwrap();
    engine.close().await;
    println!(
        "{kind:?}: session (lazy BEGIN + query + COMMIT) {} round trips; engine.begin() + \
         query + commit {} round trips",
        t1 - t0,
        t2 - t1
    );
    Some((t1 - t0, t2 - t1))
}

#[tokio::test(flavor = "current_thread")]
async fn lazy_begin_round_trips_postgres() {
    if let Some((session, explicit)) = measure(Kind::Postgres).await {
        assert_eq!((session, explicit), (2, 3));
    }
}
