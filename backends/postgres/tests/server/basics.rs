//! Values, placeholders, the statement cache, transactions and resets on a live server.

use txkit_core::{Connection, ErrorKind, IsolationLevel, ResetMode, TxOptions, Value, params};

use super::support::{connect, connect_with, count, exec, options, scalar, table};

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_round_trip() {
    super::support::require_server();
    let mut c = connect().await;
    let t = table("values");
    exec(
        &mut c,
        &format!(
            "CREATE TABLE {t} (id int4 PRIMARY KEY, i2 int2, i8 int8, f4 float4, f8 float8, \
             b bool, tx text, vc varchar(10), by bytea, amount numeric(12,2), u uuid, \
             j jsonb, d date, ts timestamptz, nothing int4)"
        ),
    )
    .await;
    let inserted = c
        .execute(
            &format!(
                "INSERT INTO {t} (id, i2, i8, f4, f8, b, tx, vc, by, amount, u, j, d, ts, nothing) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            &params![
                1,
                -7,
                i64::MAX,
                1.5,
                0.1,
                true,
                "it's ?",
                "short",
                vec![0_u8, 255],
                "12345.60",
                "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                "{\"k\": [1, 2]}",
                "2024-02-29",
                "2024-02-29 13:05:00.25+02",
                None::<i64>
            ],
        )
        .await
        .unwrap();
    assert_eq!(inserted, 1);
    let rows = c
        .query(&format!("SELECT * FROM {t} WHERE id = ?"), &params![1])
        .await
        .unwrap();
    let row = &rows[0];
    let want = [
        ("id", Value::Int(1)),
        ("i2", Value::Int(-7)),
        ("i8", Value::Int(i64::MAX)),
        ("f4", Value::Float(1.5)),
        ("f8", Value::Float(0.1)),
        ("b", Value::Bool(true)),
        ("tx", Value::Text("it's ?".into())),
        ("vc", Value::Text("short".into())),
        ("by", Value::Bytes(vec![0, 255])),
        ("amount", Value::Text("12345.60".into())),
        (
            "u",
            Value::Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into()),
        ),
        ("j", Value::Text("{\"k\": [1, 2]}".into())),
        ("d", Value::Text("2024-02-29".into())),
        ("ts", Value::Text("2024-02-29 11:05:00.25+00".into())),
        ("nothing", Value::Null),
    ];
    for (name, value) in want {
        assert_eq!(row.value(name).unwrap(), &value, "{name}");
    }
    // Out of range for int2: a Config error naming the placeholder, before anything is sent.
    let e = c
        .execute(
            &format!("UPDATE {t} SET i2 = ? WHERE id = ?"),
            &params![40_000, 1],
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("parameter $1"), "{e}");
    // Wrong count.
    let e = c
        .query(&format!("SELECT * FROM {t} WHERE id = ?"), &[])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    // An unreadable type says how to read it.
    let e = c.query("SELECT interval '1 day'", &[]).await.unwrap_err();
    assert!(e.to_string().contains("::text"), "{e}");
    exec(&mut c, &format!("DROP TABLE {t}")).await;
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numeric_text_is_exact_both_ways() {
    super::support::require_server();
    let mut c = connect().await;
    for text in [
        "0",
        "0.00",
        "-0.5",
        "12.50",
        "123456789012345678901234567890.000000001",
        "NaN",
    ] {
        let got = scalar(&mut c, "SELECT ?::numeric", &params![text]).await;
        assert_eq!(got, Value::Text(text.to_owned()));
    }
    assert_eq!(
        scalar(&mut c, "SELECT 1e-20::numeric", &[]).await,
        Value::Text("0.00000000000000000001".into())
    );
    assert_eq!(
        scalar(&mut c, "SELECT ?::numeric + 1", &params![41]).await,
        Value::Text("42".into())
    );
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_dollar_placeholders_pass_through() {
    super::support::require_server();
    let mut c = connect().await;
    assert_eq!(
        scalar(&mut c, "SELECT $1::int8 + $2", &params![40, 2]).await,
        Value::Int(42)
    );
    // jsonb's ? operator works with $n placeholders.
    assert_eq!(
        scalar(&mut c, "SELECT '{\"a\": 1}'::jsonb ? $1", &params!["a"]).await,
        Value::Bool(true)
    );
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_plan_heals_outside_a_transaction() {
    super::support::require_server();
    let mut c = connect().await;
    let t = table("stale");
    exec(&mut c, &format!("CREATE TABLE {t} (a int4)")).await;
    exec(&mut c, &format!("INSERT INTO {t} VALUES (1)")).await;
    let select = format!("SELECT * FROM {t}");
    assert_eq!(c.query(&select, &[]).await.unwrap()[0].len(), 1);
    exec(
        &mut c,
        &format!("ALTER TABLE {t} ADD COLUMN b int4 DEFAULT 7"),
    )
    .await;
    let rows = c.query(&select, &[]).await.unwrap();
    assert_eq!(rows[0].columns(), ["a", "b"]);
    assert_eq!(rows[0].get::<i64>("b").unwrap(), 7);
    exec(&mut c, &format!("DROP TABLE {t}")).await;
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_plan_inside_a_transaction_fails_then_heals() {
    super::support::require_server();
    let mut c = connect().await;
    let t = table("stale_tx");
    exec(&mut c, &format!("CREATE TABLE {t} (a int4)")).await;
    let select = format!("SELECT * FROM {t}");
    c.query(&select, &[]).await.unwrap();
    c.begin(&TxOptions::new()).await.unwrap();
    exec(&mut c, &format!("ALTER TABLE {t} ADD COLUMN b int4")).await;
    let e = c.query(&select, &[]).await.unwrap_err();
    assert_eq!(e.code(), Some("0A000"));
    assert!(e.to_string().contains("run it again"), "{e}");
    c.rollback().await.unwrap();
    // The rolled-back ALTER is gone; the evicted statement is prepared afresh.
    c.begin(&TxOptions::new()).await.unwrap();
    exec(&mut c, &format!("ALTER TABLE {t} ADD COLUMN b int4")).await;
    assert_eq!(c.query(&select, &[]).await.unwrap().len(), 0);
    c.commit().await.unwrap();
    exec(&mut c, &format!("DROP TABLE {t}")).await;
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_cache_is_bounded() {
    super::support::require_server();
    let mut c = connect_with("sslmode=disable&statement_cache_size=2").await;
    for n in 1..=3 {
        assert_eq!(
            scalar(&mut c, &format!("SELECT {n}::int8"), &[]).await,
            Value::Int(n)
        );
    }
    assert_eq!(c.cached_statements(), 2);
    let mut none = connect_with("sslmode=disable&statement_cache_size=0").await;
    assert_eq!(
        scalar(&mut none, "SELECT 1::int8", &[]).await,
        Value::Int(1)
    );
    assert_eq!(none.cached_statements(), 0);
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_state_as_the_server_sees_it() {
    super::support::require_server();
    let mut c = connect().await;
    c.ping().await.unwrap();
    assert!(!c.server_in_transaction().await.unwrap());
    c.rollback().await.unwrap(); // nothing open: still fine
    c.begin(&TxOptions::new()).await.unwrap();
    assert!(c.server_in_transaction().await.unwrap());
    assert!(c.query("SELECT 1/0", &[]).await.is_err());
    assert!(c.server_in_transaction().await.unwrap()); // failed, still open
    c.rollback().await.unwrap();
    assert!(!c.server_in_transaction().await.unwrap());
    c.ping().await.unwrap();
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn begin_sends_the_options_asked_for() {
    super::support::require_server();
    let mut c = connect().await;
    let opts = TxOptions::new()
        .isolation(IsolationLevel::Serializable)
        .read_only()
        .deferrable();
    c.begin(&opts).await.unwrap();
    let row = &c
        .query(
            "SELECT current_setting('transaction_isolation'), \
             current_setting('transaction_read_only'), \
             current_setting('transaction_deferrable')",
            &[],
        )
        .await
        .unwrap()[0];
    assert_eq!(row.get::<String>(0).unwrap(), "serializable");
    assert_eq!(row.get::<String>(1).unwrap(), "on");
    assert_eq!(row.get::<String>(2).unwrap(), "on");
    c.rollback().await.unwrap();
    c.begin(&TxOptions::new().isolation(IsolationLevel::ReadUncommitted))
        .await
        .unwrap();
    assert_eq!(
        scalar(
            &mut c,
            "SELECT current_setting('transaction_isolation')",
            &[]
        )
        .await,
        Value::Text("read uncommitted".into())
    );
    c.commit().await.unwrap();
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_of_a_failed_transaction_is_an_error() {
    super::support::require_server();
    let mut c = connect().await;
    let t = table("failed_commit");
    exec(&mut c, &format!("CREATE TABLE {t} (a int4)")).await;
    c.begin(&TxOptions::new()).await.unwrap();
    exec(&mut c, &format!("INSERT INTO {t} VALUES (1)")).await;
    assert!(c.execute("SELECT 1/0", &[]).await.is_err());
    let e = c.commit().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Database);
    assert!(
        e.to_string()
            .contains("rolled it back instead of committing"),
        "{e}"
    );
    assert!(!c.server_in_transaction().await.unwrap());
    assert_eq!(count(&mut c, &t).await, 0);
    // A healthy commit still works.
    c.begin(&TxOptions::new()).await.unwrap();
    exec(&mut c, &format!("INSERT INTO {t} VALUES (2)")).await;
    c.commit().await.unwrap();
    assert_eq!(count(&mut c, &t).await, 1);
    exec(&mut c, &format!("DROP TABLE {t}")).await;
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_reset_clears_the_session_and_keeps_statements() {
    super::support::require_server();
    let mut c = connect().await;
    let select = "SELECT current_setting('search_path')";
    let before = scalar(&mut c, select, &[]).await;
    c.batch("SET search_path = nowhere; CREATE TEMP TABLE scratch (a int4)")
        .await
        .unwrap();
    assert_eq!(
        scalar(&mut c, select, &[]).await,
        Value::Text("nowhere".into())
    );
    c.reset(ResetMode::Full).await.unwrap();
    assert_eq!(scalar(&mut c, select, &[]).await, before); // cached statement still valid
    assert!(c.query("SELECT * FROM scratch", &[]).await.is_err());
    // Inside a transaction, the reset rolls back first.
    c.begin(&TxOptions::new()).await.unwrap();
    c.reset(ResetMode::Full).await.unwrap();
    assert!(!c.server_in_transaction().await.unwrap());
    c.reset(ResetMode::Rollback).await.unwrap();
    c.reset(ResetMode::None).await.unwrap();
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connection_names_the_redacted_url() {
    super::support::require_server();
    let url = txkit_core::DatabaseUrl::parse(
        "postgres://postgres:S3ntinel@127.0.0.1:1/test?sslmode=disable&connect_timeout=5",
    )
    .unwrap();
    let e = txkit_postgres::PgConnectOptions::from_url(&url)
        .unwrap()
        .connect()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionLost);
    let text = format!("{e} {e:?}");
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(text.contains("check that the server is running"), "{text}");
    assert!(!text.contains("S3ntinel"), "{text}");
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_connects() {
    super::support::require_server();
    let dir = "/var/run/postgresql";
    if !std::path::Path::new(dir).join(".s.PGSQL.5432").exists() {
        eprintln!("skipped: no PostgreSQL socket in {dir}");
        return;
    }
    let opts = options("").host(dir).port(5432);
    let mut c = opts.connect().await.unwrap();
    assert_eq!(scalar(&mut c, "SELECT 1::int8", &[]).await, Value::Int(1));
    // No TLS over a socket.
    let e = opts
        .ssl_mode(txkit_postgres::SslMode::Require)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
}
