//! PostgreSQL behind PgBouncer (`TXKIT_PGBOUNCER_URL`, transaction pool mode), beyond what
//! the matrix's `postgres_pgbouncer` cells run: that a pool of two server connections breaks
//! named statements, so the cells' passing means something; that txkit finds the pooler by
//! itself and finds none on a direct connection; statement pool mode; session state refused
//! with what to do instead; and a startup option PgBouncer refuses, explained.

use std::sync::Arc;

use tokio::sync::Barrier;
use txkit::postgres::{PgConnectOptions, PgConnection, PgWireConnection, Pooler};
use txkit::{Engine, ErrorKind, params};

use crate::common::{TestDb, bounded, unique};

/// The PgBouncer database that reaches the `postgres_pgbouncer` cells' database through a
/// pool of two server connections.
const TWO_SERVER_CONNECTIONS: &str = "txkit_two_server_connections";

/// The PgBouncer database that reaches `test` in statement pool mode.
const STATEMENT_MODE: &str = "txkit_statement_mode";

/// The PgBouncer URL with database `name` and `query` options.
async fn bouncer_url(name: &str, query: &str) -> String {
    // Makes sure the cells' databases exist, which the two-connection pool reaches.
    let db = TestDb::new_postgres_pgbouncer(false)
        .await
        .expect("TXKIT_PGBOUNCER_URL");
    let base = db.url.split_once('?').map_or(db.url.as_str(), |(b, _)| b);
    let server = &base[..base.rfind('/').expect("a database")];
    format!("{server}/{name}?application_name={}{query}", db.app)
}

/// Four clients, each running the same statements in twenty transactions, through a pool
/// of two server connections.
async fn four_clients(engine: &Engine, table: &str) -> Vec<txkit::Error> {
    let barrier = Arc::new(Barrier::new(4));
    let tasks: Vec<_> = (0..4_i64)
        .map(|client| {
            let engine = engine.clone();
            let barrier = Arc::clone(&barrier);
            let table = table.to_owned();
            tokio::spawn(async move {
                let mut conn = engine.connection().await.unwrap();
                barrier.wait().await;
                let mut errors = Vec::new();
                for i in 0..20_i64 {
                    let insert = format!("INSERT INTO {table} (client, n) VALUES (?, ?)");
                    if let Err(e) = conn.execute(&insert, &params![client, i]).await {
                        errors.push(e);
                    }
                    let count = format!("SELECT count(*) AS n FROM {table} WHERE client = ?");
                    if let Err(e) = conn.query(&count, &params![client]).await {
                        errors.push(e);
                    }
                }
                errors
            })
        })
        .collect();
    let mut errors = Vec::new();
    for task in tasks {
        errors.extend(bounded("a client", task).await.unwrap());
    }
    errors
}

/// Through two shared server connections, named statements (`pooler=none`) fail with an
/// error that names the option; the default finds the pooler and the same work passes.
async fn named_statements_fail_and_unnamed_pass(driver: &str) {
    let table = unique("pooled_stmts");
    let admin = Engine::connect(&bouncer_url(TWO_SERVER_CONNECTIONS, "").await)
        .await
        .unwrap();
    admin
        .execute(
            &format!("CREATE TABLE {table} (client BIGINT NOT NULL, n BIGINT NOT NULL)"),
            &[],
        )
        .await
        .unwrap();
    for (pooler, must_fail) in [("none", true), ("auto", false), ("transaction", false)] {
        let url = bouncer_url(
            TWO_SERVER_CONNECTIONS,
            &format!("&driver={driver}&pooler={pooler}"),
        )
        .await;
        let engine = Engine::builder(&url).pool_size(4).build().await.unwrap();
        let errors = four_clients(&engine, &table).await;
        if must_fail {
            assert!(
                !errors.is_empty(),
                "{driver}: named statements passed through a shared server connection"
            );
            // Mostly 26000 and 42P05, each naming the fix. Not only those: a name another
            // client (or an earlier process) left on a server connection runs *its*
            // statement, which here fails on a table since dropped, and could as well write.
            let named = errors
                .iter()
                .find(|e| matches!(e.code(), Some("26000" | "42P05")));
            let named = named.unwrap_or_else(|| panic!("{driver}: {errors:?}"));
            assert!(named.to_string().contains("pooler=transaction"), "{named}");
        } else {
            assert!(errors.is_empty(), "{driver} pooler={pooler}: {errors:?}");
        }
        engine.close().await;
    }
    admin
        .execute(&format!("DROP TABLE {table}"), &[])
        .await
        .unwrap();
    admin.close().await;
}

#[cfg_attr(
    txkit_skip_pgbouncer,
    ignore = "server test: set TXKIT_PGBOUNCER_URL (and TXKIT_POSTGRES_URL) to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_statements_fail_through_shared_server_connections_and_unnamed_pass() {
    named_statements_fail_and_unnamed_pass("tokio-postgres").await;
    named_statements_fail_and_unnamed_pass("txkit").await;
}

/// `pooler=auto` finds PgBouncer at connect and nothing on a direct connection, on both
/// drivers: by the statements each connection keeps (none when sent unnamed) and the server
/// session it names (none behind a pooler).
#[cfg_attr(
    txkit_skip_pgbouncer,
    ignore = "server test: set TXKIT_PGBOUNCER_URL (and TXKIT_POSTGRES_URL) to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_finds_the_pooler_and_nothing_on_a_direct_connection() {
    use txkit::core::Connection as _;
    let direct = TestDb::new(crate::common::Kind::Postgres).unwrap().url;
    let pooled = bouncer_url("txkit_pgbouncer", "").await;
    for (url, behind) in [(direct.as_str(), false), (pooled.as_str(), true)] {
        let opts =
            PgConnectOptions::from_url(&txkit::core::DatabaseUrl::parse(url).unwrap()).unwrap();
        assert_eq!(opts.get_pooler(), Pooler::Auto);
        let mut tokio: PgConnection = opts.connect().await.unwrap();
        tokio.query("SELECT 1 AS one", &[]).await.unwrap();
        assert_eq!(tokio.cached_statements(), usize::from(!behind), "{url}");
        assert_eq!(tokio.server_session_id().is_none(), behind, "{url}");
        let mut wire = PgWireConnection::connect(&opts).await.unwrap();
        wire.query("SELECT 1 AS one", &[]).await.unwrap();
        assert_eq!(wire.cached_statements(), usize::from(!behind), "{url}");
        assert_eq!(wire.server_session_id().is_none(), behind, "{url}");
        // Told, not found: the pooler is taken at its word.
        let told = opts.clone().pooler(Pooler::None);
        let mut named = told.connect().await.unwrap();
        named.query("SELECT 1 AS one", &[]).await.unwrap();
        assert_eq!(named.cached_statements(), 1, "{url}");
    }
}

/// In statement pool mode a transaction is refused: before it is sent with
/// `pooler=statement`, and as PgBouncer refuses it otherwise, both times as Unsupported with
/// what to change. Single statements run.
#[cfg_attr(
    txkit_skip_pgbouncer,
    ignore = "server test: set TXKIT_PGBOUNCER_URL (and TXKIT_POSTGRES_URL) to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_mode_refuses_transactions_and_runs_statements() {
    for driver in ["tokio-postgres", "txkit"] {
        for told in [true, false] {
            let query = if told {
                format!("&driver={driver}&pooler=statement")
            } else {
                format!("&driver={driver}")
            };
            let engine = Engine::connect(&bouncer_url(STATEMENT_MODE, &query).await)
                .await
                .unwrap();
            let rows = engine
                .query("SELECT ? + 1 AS n", &params![41])
                .await
                .unwrap();
            assert_eq!(rows[0].get::<i64>("n").unwrap(), 42);
            let mut conn = engine.connection().await.unwrap();
            let refused = match conn.begin().await {
                Ok(mut tx) => tx.query("SELECT 1", &[]).await.map(drop).unwrap_err(),
                Err(e) => e,
            };
            assert_eq!(
                refused.kind(),
                ErrorKind::Unsupported,
                "{driver}: {refused}"
            );
            if told {
                // Refused before anything was sent: the connection lives on.
                assert!(
                    refused.to_string().contains("pool_mode=transaction"),
                    "{refused}"
                );
                conn.query("SELECT 1", &[]).await.unwrap();
            } else {
                // PgBouncer refused BEGIN and closed the connection.
                assert!(
                    refused.to_string().contains("pooler=statement"),
                    "{refused}"
                );
                assert!(conn.query("SELECT 1", &[]).await.is_err());
            }
            drop(conn);
            engine.close().await;
        }
    }
}

/// Session state is refused with what to use instead; its transaction-scoped forms work.
#[cfg_attr(
    txkit_skip_pgbouncer,
    ignore = "server test: set TXKIT_PGBOUNCER_URL (and TXKIT_POSTGRES_URL) to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_state_is_refused_and_its_transaction_forms_work() {
    for wire in [false, true] {
        let db = TestDb::new_postgres_pgbouncer(wire).await.unwrap();
        let engine = db.engine().await;
        for (sql, instead) in [
            ("SET statement_timeout = 1000", "SET LOCAL"),
            ("SELECT pg_advisory_lock(7)", "pg_advisory_xact_lock"),
            ("LISTEN jobs", "connection of their own"),
            ("PREPARE p AS SELECT 1", "unnamed"),
        ] {
            let e = engine.execute(sql, &[]).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage, "{sql}: {e}");
            assert!(e.to_string().contains(instead), "{sql}: {e}");
        }
        let mut tx = engine.begin().await.unwrap();
        tx.execute("SET LOCAL statement_timeout = 1234", &[])
            .await
            .unwrap();
        tx.query("SELECT pg_advisory_xact_lock(7)", &[])
            .await
            .unwrap();
        let rows = tx
            .query("SELECT current_setting('statement_timeout') AS v", &[])
            .await
            .unwrap();
        assert_eq!(rows[0].get::<String>("v").unwrap(), "1234ms");
        tx.commit().await.unwrap();
        engine.close().await;
    }
}

/// PgBouncer refuses the `options` startup parameter; the error says what to do instead.
/// A column of a type txkit does not know is refused on the protocol layer with the cast
/// that reads it.
#[cfg_attr(
    txkit_skip_pgbouncer,
    ignore = "server test: set TXKIT_PGBOUNCER_URL (and TXKIT_POSTGRES_URL) to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_pooler_cannot_carry_is_explained() {
    let url = bouncer_url("txkit_pgbouncer", "&options=-c%20search_path%3Dapp").await;
    let e = Engine::connect(&url).await.unwrap_err();
    assert!(e.to_string().contains("ALTER ROLE"), "{e}");

    let db = TestDb::new_postgres_pgbouncer(true).await.unwrap();
    let engine = db.engine().await;
    let ty = unique("mood");
    engine
        .execute(&format!("CREATE TYPE {ty} AS ENUM ('sad', 'happy')"), &[])
        .await
        .unwrap();
    let e = engine
        .query(&format!("SELECT 'happy'::{ty} AS m"), &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("::text"), "{e}");
    let rows = engine
        .query(&format!("SELECT 'happy'::{ty}::text AS m"), &[])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<String>("m").unwrap(), "happy");
    engine
        .execute(&format!("DROP TYPE {ty}"), &[])
        .await
        .unwrap();
    engine.close().await;
}
