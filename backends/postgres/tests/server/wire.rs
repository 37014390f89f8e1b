//! txkit's own protocol layer (`driver=txkit`): what the test matrix does not reach —
//! refused COPY input, types read as text, a dropped request's answers, the flush's
//! rollback, uncached statements, a killed session, and the options it refuses.

use txkit_core::{Connection, DatabaseUrl, ErrorKind, TxOptions, Value, params};

use super::support::{
    connect, options, poll_then_drop, require_server, table, url_with, wait_until,
};
use txkit_postgres::{PgConnectOptions, PgWireConnection};

async fn wire(extra: &str) -> PgWireConnection {
    let url = url_with(&format!("sslmode=disable&driver=txkit{extra}"));
    let opts = PgConnectOptions::from_url(&DatabaseUrl::parse(&url).unwrap()).unwrap();
    PgWireConnection::connect(&opts).await.unwrap()
}

async fn one(conn: &mut PgWireConnection, sql: &str, params: &[Value]) -> Value {
    let rows = conn.query(sql, params).await.unwrap();
    rows[0].value(0).unwrap().clone()
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_from_stdin_is_refused_and_the_connection_goes_on() {
    require_server();
    let t = table("wire_copy");
    let mut c = wire("").await;
    c.batch(&format!("CREATE TABLE {t} (id int)"))
        .await
        .unwrap();
    let e = c
        .execute(&format!("COPY {t} FROM STDIN"), &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("COPY"), "{e}");
    let e = c.batch(&format!("COPY {t} FROM STDIN")).await.unwrap_err();
    assert!(e.to_string().contains("COPY"), "{e}");
    assert_eq!(one(&mut c, "SELECT 41 + 1", &[]).await, Value::Int(42));
    c.batch(&format!("DROP TABLE {t}")).await.unwrap();
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn types_it_does_not_know_are_read_and_bound_as_text() {
    require_server();
    let ty = table("wire_mood");
    let mut c = wire("").await;
    c.batch(&format!("CREATE TYPE {ty} AS ENUM ('sad', 'ok', 'happy')"))
        .await
        .unwrap();
    let read = one(&mut c, &format!("SELECT 'happy'::{ty}"), &[]).await;
    assert_eq!(read, Value::Text("happy".into()));
    let bound = one(&mut c, &format!("SELECT ?::{ty}::text"), &params!["ok"]).await;
    assert_eq!(bound, Value::Text("ok".into()));
    c.batch(&format!("DROP TYPE {ty}")).await.unwrap();
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_request_is_read_to_its_end_before_the_next() {
    require_server();
    let mut c = wire("").await;
    // Polled once: the request is written, its answer not yet read. A million rows (about
    // 15 MB) cannot all be in the socket buffers at once, so one poll cannot finish it
    // (a thousand could, on a loaded machine: it failed once so).
    let dropped = poll_then_drop(c.query("SELECT generate_series(1, 1000000)", &[]), 1).await;
    assert!(dropped.is_none(), "the query should not finish in one poll");
    assert_eq!(one(&mut c, "SELECT 7", &[]).await, Value::Int(7));
    assert!(!c.server_in_transaction().await.unwrap());
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_flush_commits_nothing_and_leaves_no_transaction() {
    require_server();
    let t = table("wire_flush");
    let mut c = wire("").await;
    c.batch(&format!("CREATE TABLE {t} (id int PRIMARY KEY)"))
        .await
        .unwrap();
    let insert = format!("INSERT INTO {t} (id) VALUES (?)");
    c.begin(&TxOptions::new()).await.unwrap();
    let e = c
        .execute_all_and_commit(&[
            (&insert, &params![1]),
            (&insert, &params![1]),
            (&insert, &params![2]),
        ])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UniqueViolation, "{e}");
    assert!(e.to_string().contains("nothing was committed"), "{e}");
    assert!(!c.server_in_transaction().await.unwrap());
    assert_eq!(
        one(&mut c, &format!("SELECT count(*) FROM {t}"), &[]).await,
        Value::Int(0)
    );

    // A statement failed before COMMIT: the server answers COMMIT with ROLLBACK.
    c.begin(&TxOptions::new()).await.unwrap();
    c.execute(&insert, &params![3]).await.unwrap();
    assert!(c.execute(&insert, &params![3]).await.is_err());
    let e = c.commit().await.unwrap_err();
    assert!(e.to_string().contains("nothing was committed"), "{e}");
    assert_eq!(
        one(&mut c, &format!("SELECT count(*) FROM {t}"), &[]).await,
        Value::Int(0)
    );

    // And a flush that succeeds counts every statement.
    c.begin(&TxOptions::new()).await.unwrap();
    let counts = c
        .execute_all_and_commit(&[(&insert, &params![4]), (&insert, &params![5])])
        .await
        .unwrap();
    assert_eq!(counts, [1, 1]);
    assert_eq!(
        one(&mut c, &format!("SELECT count(*) FROM {t}"), &[]).await,
        Value::Int(2)
    );
    c.batch(&format!("DROP TABLE {t}")).await.unwrap();
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_statement_cache_nothing_stays_prepared() {
    require_server();
    let t = table("wire_nocache");
    let mut c = wire("&statement_cache_size=0").await;
    c.batch(&format!("CREATE TABLE {t} (id int, note text)"))
        .await
        .unwrap();
    let a = format!("INSERT INTO {t} (id) VALUES (?)");
    let b = format!("INSERT INTO {t} (id, note) VALUES (?, ?)");
    c.begin(&TxOptions::new()).await.unwrap();
    let counts = c
        .execute_all_and_commit(&[(&a, &params![1]), (&b, &params![2, "two"])])
        .await
        .unwrap();
    assert_eq!(counts, [1, 1]);
    let counts = c
        .execute_many(&a, &[&params![3], &params![4]])
        .await
        .unwrap();
    assert_eq!(counts, [1, 1]);
    assert_eq!(c.cached_statements(), 0);
    let kept = one(&mut c, "SELECT count(*) FROM pg_prepared_statements", &[]).await;
    // Only the statement reading the count is still prepared, until its Close is sent.
    assert!(matches!(kept, Value::Int(n) if n <= 1), "{kept:?}");
    let rows = c
        .query(&format!("SELECT id, note FROM {t} ORDER BY id"), &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1].get::<String>("note").unwrap(), "two");
    c.batch(&format!("DROP TABLE {t}")).await.unwrap();
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_evicted_during_its_own_request_still_runs() {
    require_server();
    let t = table("wire_evict");
    let mut c = wire("&statement_cache_size=2").await;
    c.batch(&format!("CREATE TABLE {t} (id int, n int)"))
        .await
        .unwrap();
    let [a, b, d] = [1, 2, 3].map(|n| format!("INSERT INTO {t} (id, n) VALUES (?, {n})"));
    c.execute(&a, &params![1]).await.unwrap();
    c.execute(&b, &params![2]).await.unwrap();
    assert_eq!(c.cached_statements(), 2);
    // Two cached statements and a third, in one flush, with the cache full.
    c.begin(&TxOptions::new()).await.unwrap();
    let counts = c
        .execute_all_and_commit(&[(&a, &params![3]), (&d, &params![4]), (&b, &params![5])])
        .await
        .unwrap();
    assert_eq!(counts, [1, 1, 1]);
    assert_eq!(c.cached_statements(), 2);
    // The cache keeps its size; what it evicted is closed once no request holds it.
    for _ in 0..3 {
        c.execute(&d, &params![6]).await.unwrap();
    }
    assert_eq!(c.cached_statements(), 2);
    let sum = one(&mut c, &format!("SELECT sum(n)::int8 FROM {t}"), &[]).await;
    assert_eq!(sum, Value::Int(1 + 2 + 1 + 3 + 2 + 3 * 3));
    let kept = one(&mut c, "SELECT count(*) FROM pg_prepared_statements", &[]).await;
    // The two cached, and the one reading the count (its predecessor's Close went with it).
    assert!(matches!(kept, Value::Int(n) if n <= 3), "{kept:?}");
    c.batch(&format!("DROP TABLE {t}")).await.unwrap();
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_gone_stale_is_prepared_again_outside_a_transaction() {
    require_server();
    let t = table("wire_stale");
    let mut c = wire("").await;
    c.batch(&format!("CREATE TABLE {t} (id int)"))
        .await
        .unwrap();
    c.execute(&format!("INSERT INTO {t} VALUES (1)"), &[])
        .await
        .unwrap();
    let select = format!("SELECT * FROM {t}");
    assert_eq!(c.query(&select, &[]).await.unwrap()[0].len(), 1);
    c.batch(&format!("ALTER TABLE {t} ADD COLUMN extra int"))
        .await
        .unwrap();
    assert_eq!(c.query(&select, &[]).await.unwrap()[0].len(), 2);
    c.batch(&format!("DROP TABLE {t}")).await.unwrap();
}

/// Ends `victim`'s session from another connection while `victim` sits idle, then checks
/// that `is_broken` sees it without a request, and that the next request and `recover`
/// report the connection lost.
async fn killed_while_idle_is_found_broken(mut victim: PgWireConnection) {
    let mut killer = connect().await;
    let pid = one(&mut victim, "SELECT pg_backend_pid()", &[]).await;
    assert!(!victim.is_broken());
    killer
        .query("SELECT pg_terminate_backend(?::int4)", &[pid])
        .await
        .unwrap();
    wait_until("the killed session is seen as broken", || {
        std::future::ready(victim.is_broken())
    })
    .await;
    let e = victim.query("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionLost, "{e}");
    assert_eq!(
        victim.recover().await.unwrap_err().kind(),
        ErrorKind::ConnectionLost
    );
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_killed_while_idle_is_found_broken() {
    require_server();
    killed_while_idle_is_found_broken(wire("").await).await;
}

/// The same over the server's Unix socket, where the idle check peeks with `recv` itself
/// (tokio has no peek for Unix sockets). The test server is local, so its socket is
/// required; a server elsewhere has none to test here.
#[cfg(unix)]
#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_killed_while_idle_on_a_unix_socket_is_found_broken() {
    require_server();
    if !matches!(options("").get_host(), "127.0.0.1" | "localhost" | "::1") {
        return;
    }
    let dirs = one(&mut wire("").await, "SHOW unix_socket_directories", &[]).await;
    let Value::Text(dirs) = dirs else {
        panic!("unix_socket_directories is text, not {dirs:?}")
    };
    let dir = dirs.split(',').next().unwrap_or_default().trim().to_owned();
    let mut victim = wire(&format!("&host={dir}")).await;
    let client = one(&mut victim, "SELECT inet_client_addr()::text", &[]).await;
    assert_eq!(
        client,
        Value::Null,
        "a socket connection has no client address"
    );
    killed_while_idle_is_found_broken(victim).await;
}

#[tokio::test]
async fn what_it_cannot_do_yet_is_refused_up_front() {
    let parse =
        |extra: &str| PgConnectOptions::from_url(&DatabaseUrl::parse(&url_with(extra)).unwrap());
    let e = parse("driver=libpq").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("tokio-postgres"), "{e}");
    // Without the `tls` feature, a mode that needs TLS is refused before any connection
    // is tried (with it, see `tls` below).
    #[cfg(not(feature = "tls"))]
    if let Ok(opts) = parse("driver=txkit&sslmode=require") {
        let e = PgWireConnection::connect(&opts).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        assert!(e.to_string().contains("`tls` Cargo feature"), "{e}");
    }
}

/// `sslmode` on txkit's own protocol layer, against the local server (which has TLS on
/// where these tests run; where it has not, `require` must fail) and a stand-in without
/// TLS.
#[cfg(feature = "tls")]
mod tls {
    use txkit_core::{Connection, DatabaseUrl, ErrorKind, TxOptions, Value, params};

    use super::super::support::{require_server, url_with};
    use super::super::tls::{assert_refused_certificate, server_without_tls};
    use super::{killed_while_idle_is_found_broken, one};
    use txkit_postgres::{PgConnectOptions, PgWireConnection, SslMode};

    fn opts(mode: &str) -> PgConnectOptions {
        let url = url_with(&format!("sslmode={mode}&driver=txkit"));
        PgConnectOptions::from_url(&DatabaseUrl::parse(&url).unwrap()).unwrap()
    }

    async fn encrypted(conn: &mut PgWireConnection) -> Value {
        one(
            conn,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
    }

    async fn server_has_tls() -> bool {
        let mut plain = PgWireConnection::connect(&opts("disable")).await.unwrap();
        assert_eq!(encrypted(&mut plain).await, Value::Bool(false));
        one(&mut plain, "SELECT current_setting('ssl')", &[]).await == Value::Text("on".into())
    }

    #[cfg_attr(
        txkit_skip_postgres,
        ignore = "server test: set TXKIT_POSTGRES_URL to run it"
    )]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn require_encrypts_and_everything_runs_over_it() {
        require_server();
        if !server_has_tls().await {
            let e = PgWireConnection::connect(&opts("require"))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            assert!(e.to_string().contains("does not support TLS"), "{e}");
            return;
        }
        let mut c = PgWireConnection::connect(&opts("require")).await.unwrap();
        assert_eq!(encrypted(&mut c).await, Value::Bool(true));
        // A pipelined transaction: BEGIN with a statement, then statements with COMMIT.
        let big = "x".repeat(100_000); // more than one TLS record each way
        let got = c
            .begin_and_query(
                &TxOptions::new(),
                "SELECT ?::text AS t",
                &params![big.as_str()],
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got[0].get::<String>("t").unwrap(), big);
        let counts = c
            .execute_all_and_commit(&[("SELECT 1", &[]), ("SELECT 2", &[])])
            .await
            .unwrap();
        assert_eq!(counts.len(), 2);
        assert!(!c.is_broken());
        killed_while_idle_is_found_broken(c).await;
    }

    #[cfg_attr(
        txkit_skip_postgres,
        ignore = "server test: set TXKIT_POSTGRES_URL to run it"
    )]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn prefer_encrypts_when_it_can_and_verify_full_checks_the_certificate() {
        require_server();
        if !server_has_tls().await {
            // No TLS at all: verify-full must still refuse, never fall back.
            let e = PgWireConnection::connect(&opts("verify-full"))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            return;
        }
        let mut p = PgWireConnection::connect(&opts("prefer")).await.unwrap();
        assert_eq!(encrypted(&mut p).await, Value::Bool(true));
        // The test server's certificate is self-signed: verify-full (checked against the
        // Mozilla roots) refuses it, as the tokio-postgres driver does.
        let e = PgWireConnection::connect(&opts("verify-full"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("TLS with"), "{e}");
        assert_refused_certificate(&e, "UnknownIssuer");
    }

    #[cfg_attr(
        txkit_skip_postgres,
        ignore = "server test: set TXKIT_POSTGRES_URL to run it"
    )]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn require_never_falls_back_and_prefer_does() {
        require_server();
        let (port, server) = server_without_tls().await;
        let e = PgWireConnection::connect(
            &opts("disable")
                .host("127.0.0.1")
                .port(port)
                .ssl_mode(SslMode::Require),
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        assert!(e.to_string().contains("does not support TLS"), "{e}");
        assert!(e.to_string().contains("sslmode=require"), "{e}");
        assert_eq!(server.await.unwrap(), 0, "no plain-text startup was sent");

        let (port, server) = server_without_tls().await;
        let prefer = opts("disable")
            .host("127.0.0.1")
            .port(port)
            .ssl_mode(SslMode::Prefer);
        // The stand-in answers N, then reads what comes next and never answers it: the
        // connect is given up after a bounded wait, and only what was sent is checked.
        let attempt = tokio::time::timeout(
            std::time::Duration::from_millis(500),
            PgWireConnection::connect(&prefer),
        );
        drop(attempt.await);
        assert!(
            server.await.unwrap() > 0,
            "prefer sent a plain-text startup after N"
        );
    }
}
