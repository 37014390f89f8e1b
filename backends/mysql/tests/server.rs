//! Connecting, server detection, values, transactions and session state on a live server.

mod common;

use std::time::Duration;

use common::{connect, count, drop_table, make_table, require_server, scalar, table};
use txkit_core::{
    AccessMode, Connection, DatabaseUrl, ErrorKind, IsolationLevel, ResetMode, TxOptions, Value,
};
use txkit_mysql::{MySqlConnectOptions, MySqlConnection, ServerFlavor};

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn detects_the_server() {
    let mut conn = connect().await;
    let rows = conn.query("SELECT VERSION()", &[]).await.expect("version");
    let version: String = rows[0].get(0).expect("text");
    let info = conn.server().clone();
    assert_eq!(info.version_string(), version);
    if version.to_ascii_lowercase().contains("mariadb") {
        assert_eq!(info.flavor(), ServerFlavor::MariaDb);
        assert_eq!(conn.dialect().name(), "mariadb");
    } else {
        assert_eq!(conn.dialect().name(), "mysql");
    }
    assert!(info.version().0 >= 5, "{info}");
    let id = scalar(&mut conn, "SELECT CONNECTION_ID()").await;
    assert_eq!(id, i64::from(conn.connection_id()));
    conn.ping().await.expect("ping");
    conn.close().await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn values_round_trip() {
    let mut conn = connect().await;
    let t = table("values");
    conn.execute(
        &format!(
            "CREATE TABLE {t} (id INT PRIMARY KEY, i BIGINT, u BIGINT UNSIGNED, f DOUBLE, \
             r FLOAT, d DECIMAL(12,2), s VARCHAR(20), b VARBINARY(8), bl BLOB, tx TEXT, \
             dt DATE, ts DATETIME(6), tm TIME, y YEAR, bit BIT(12), n INT NULL, \
             flag BOOLEAN) ENGINE=InnoDB"
        ),
        &[],
    )
    .await
    .expect("create");
    let params = vec![
        Value::Int(1),
        Value::Int(-9_000_000_000),
        Value::Text("18446744073709551615".into()),
        Value::Float(2.5),
        Value::Float(0.1),
        Value::Text("12345.67".into()),
        Value::Text("héllo".into()),
        Value::Bytes(vec![0, 255, 1]),
        Value::Bytes(vec![9; 3]),
        Value::Text("long text".into()),
        Value::Text("2024-02-29".into()),
        Value::Text("2024-02-29 13:14:15.250000".into()),
        Value::Text("-25:00:01".into()),
        Value::Int(2024),
        Value::Int(5),
        Value::Null,
        Value::Bool(true),
    ];
    let n = conn
        .execute(
            &format!("INSERT INTO {t} VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"),
            &params,
        )
        .await
        .expect("insert");
    assert_eq!(n, 1);
    let rows = conn
        .query(&format!("SELECT * FROM {t} WHERE id = ?"), &[Value::Int(1)])
        .await
        .expect("select");
    let row = &rows[0];
    let expect = [
        ("id", Value::Int(1)),
        ("i", Value::Int(-9_000_000_000)),
        ("u", Value::Text("18446744073709551615".into())),
        ("f", Value::Float(2.5)),
        ("r", Value::Float(0.1)),
        ("d", Value::Text("12345.67".into())),
        ("s", Value::Text("héllo".into())),
        ("b", Value::Bytes(vec![0, 255, 1])),
        ("bl", Value::Bytes(vec![9; 3])),
        ("tx", Value::Text("long text".into())),
        ("dt", Value::Text("2024-02-29".into())),
        ("ts", Value::Text("2024-02-29 13:14:15.250000".into())),
        ("tm", Value::Text("-25:00:01".into())),
        ("y", Value::Int(2024)),
        ("bit", Value::Int(5)),
        ("n", Value::Null),
        ("flag", Value::Int(1)),
    ];
    for (name, value) in expect {
        assert_eq!(row.value(name).expect(name), &value, "column {name}");
    }
    // One Arc of names per result.
    let rows = conn
        .query("SELECT 1 AS a UNION ALL SELECT 2", &[])
        .await
        .expect("union");
    assert_eq!(rows.len(), 2);
    assert!(std::ptr::eq(rows[0].columns(), rows[1].columns()));
    drop_table(&mut conn, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn affected_rows_count_matched_rows() {
    let mut conn = connect().await;
    let t = table("found");
    make_table(&mut conn, &t, &[1]).await;
    let n = conn
        .execute(&format!("UPDATE {t} SET v = v WHERE id = 1"), &[])
        .await
        .expect("update");
    assert_eq!(n, 1, "an unchanged but matched row counts");
    assert_eq!(
        conn.execute(&format!("UPDATE {t} SET v = 0 WHERE id = 99"), &[])
            .await
            .expect("none"),
        0
    );
    drop_table(&mut conn, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn client_side_mistakes_keep_the_connection() {
    let mut conn = connect().await;
    let e = conn
        .query("SELECT ? + ?", &[Value::Int(1)])
        .await
        .expect_err("count");
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.to_string().contains("2 `?` placeholders"), "{e}");
    let e = conn
        .query("SELECT :a", &[Value::Int(1)])
        .await
        .expect_err("named");
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    let e = conn.query("SELEC 1", &[]).await.expect_err("syntax");
    assert_eq!(e.kind(), ErrorKind::Database);
    assert_eq!(e.code(), Some("1064"));
    assert!(!conn.is_broken());
    assert_eq!(scalar(&mut conn, "SELECT ':a'  = ':a'").await, 1);
    // Several statements in one text: every result is read, and an error in a later one
    // is reported (begin relies on this for `SET TRANSACTION …; START TRANSACTION`).
    conn.batch("SET @txkit_a = 1; SET @txkit_b = 2")
        .await
        .expect("two");
    assert_eq!(scalar(&mut conn, "SELECT @txkit_a + @txkit_b").await, 3);
    let e = conn
        .batch("SET @txkit_a = 5; SELEC 2; SET @txkit_a = 6")
        .await
        .expect_err("second fails");
    assert_eq!(e.code(), Some("1064"));
    assert_eq!(
        scalar(&mut conn, "SELECT @txkit_a").await,
        5,
        "stopped at the error"
    );
    assert!(!conn.is_broken());
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn begin_sets_isolation_and_access_for_one_transaction() {
    let mut conn = connect().await;
    let mut b = common::another().await;
    let t = table("iso");
    make_table(&mut conn, &t, &[1, 2]).await;
    for level in IsolationLevel::ALL {
        for read_only in [false, true] {
            let mut opts = TxOptions::new().isolation(level);
            if read_only {
                opts = opts.read_only();
            }
            conn.begin(&opts).await.expect("begin");
            assert!(conn.server_in_transaction().await.expect("in tx"));
            assert_eq!(common::observed_level(&mut conn, &mut b, &t).await, level);
            assert_eq!(common::refuses_writes(&mut conn, &t).await, read_only);
            conn.rollback().await.expect("rollback");
            // The next transaction is back to the defaults.
            conn.begin(&TxOptions::new()).await.expect("begin default");
            assert_eq!(
                common::observed_level(&mut conn, &mut b, &t).await,
                IsolationLevel::RepeatableRead
            );
            assert!(!common::refuses_writes(&mut conn, &t).await);
            conn.rollback().await.expect("rollback");
        }
    }
    conn.begin(&TxOptions::new().access_mode(AccessMode::ReadWrite))
        .await
        .expect("read write");
    conn.rollback().await.expect("rollback");
    let e = conn
        .begin(&TxOptions::new().deferrable())
        .await
        .expect_err("deferrable");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    drop_table(&mut conn, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn status_flag_agrees_with_the_server() {
    let mut conn = connect().await;
    let t = table("status");
    make_table(&mut conn, &t, &[1]).await;
    let check = |expected: bool| expected;
    assert!(!conn.server_in_transaction().await.expect("idle"));
    conn.rollback().await.expect("rollback with no transaction");
    conn.begin(&TxOptions::new()).await.expect("begin");
    assert!(conn.server_in_transaction().await.expect("open"));
    assert_eq!(scalar(&mut conn, "SELECT @@in_transaction").await, 1);
    // After an error the last packet has no flags: the answer comes from COM_PING.
    let e = conn
        .execute(&format!("INSERT INTO {t} VALUES (1, 1)"), &[])
        .await
        .expect_err("dup");
    assert_eq!(e.kind(), ErrorKind::UniqueViolation);
    assert_eq!(conn.status_in_transaction(), None);
    assert!(check(
        conn.server_in_transaction().await.expect("after error")
    ));
    conn.commit().await.expect("commit");
    assert!(!conn.server_in_transaction().await.expect("after commit"));
    assert_eq!(scalar(&mut conn, "SELECT @@in_transaction").await, 0);
    drop_table(&mut conn, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn begin_refuses_to_commit_an_implicit_transaction() {
    let mut conn = connect().await;
    let t = table("implicit");
    make_table(&mut conn, &t, &[]).await;
    conn.execute("SET autocommit = 0", &[])
        .await
        .expect("autocommit off");
    conn.execute(&format!("INSERT INTO {t} VALUES (1, 1)"), &[])
        .await
        .expect("insert");
    let e = conn.begin(&TxOptions::new()).await.expect_err("begin");
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    conn.reset(ResetMode::Rollback).await.expect("reset");
    assert_eq!(scalar(&mut conn, "SELECT @@autocommit").await, 1);
    assert_eq!(count(&mut conn, &t).await, 0, "the insert was rolled back");
    drop_table(&mut conn, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn full_reset_clears_the_session() {
    let mut conn = connect().await;
    let t = table("reset");
    make_table(&mut conn, &t, &[]).await;
    conn.execute("SET @txkit_x = 5", &[]).await.expect("set");
    conn.begin(&TxOptions::new()).await.expect("begin");
    conn.execute(&format!("INSERT INTO {t} VALUES (1, 1)"), &[])
        .await
        .expect("insert");
    conn.reset(ResetMode::Full).await.expect("reset");
    let rows = conn.query("SELECT @txkit_x", &[]).await.expect("var");
    assert_eq!(rows[0].value(0).expect("v"), &Value::Null);
    assert!(!conn.server_in_transaction().await.expect("idle"));
    assert_eq!(count(&mut conn, &t).await, 0);
    conn.reset(ResetMode::None).await.expect("none");
    conn.reset(ResetMode::Rollback).await.expect("rollback");
    drop_table(&mut conn, &t).await;
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn connect_failures_name_the_url_not_the_password() {
    require_server();
    let url = DatabaseUrl::parse("mysql://root:S3ntinel@127.0.0.1:1/test").expect("url");
    let e = MySqlConnection::connect(&url)
        .await
        .expect_err("closed port");
    assert_eq!(e.kind(), ErrorKind::ConnectionLost);
    let text = format!("{e} {e:?}");
    assert!(text.contains("mysql://root:***@127.0.0.1:1/test"), "{text}");
    assert!(!text.contains("S3ntinel"), "{text}");

    let base = common::options();
    let wrong = base.clone().password("S3ntinel");
    let e = wrong.connect().await.expect_err("wrong password");
    // The URL's fault, as on PostgreSQL: Config, saying what to check.
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert_eq!(e.code(), Some("1045"), "{e}");
    assert!(
        e.to_string().contains("check the user name and password"),
        "{e}"
    );
    assert!(!format!("{e} {e:?}").contains("S3ntinel"));

    // A listener that never answers: connect_timeout fires.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let silent = MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .user("root")
        .connect_timeout(Duration::from_millis(200));
    let e = silent.connect().await.expect_err("timeout");
    assert_eq!(e.kind(), ErrorKind::ConnectionLost);
    assert!(e.to_string().contains("connect_timeout"), "{e}");
    drop(listener);
}

/// The `mariadb://` scheme with connection attributes, and the server's socket, connect.
/// That the attributes reach the server is checked where `performance_schema` is on (the
/// shared server runs without it): `mysql_connection_attributes_reach_the_server` in
/// `tests/restart`, on a private MariaDB.
#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn connects_by_scheme_socket_and_attributes() {
    let mut conn = connect().await;
    let socket: Option<String> = conn.query("SELECT @@socket", &[]).await.expect("socket")[0]
        .get(0)
        .ok();
    let base = common::url_text().replacen("mysql://", "mariadb://", 1);
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = DatabaseUrl::parse(&format!(
        "{base}{sep}application_name=txkit-test&pool_size=3"
    ))
    .expect("url");
    let mut other = MySqlConnection::connect(&url)
        .await
        .expect("mariadb scheme");
    other.ping().await.expect("ping");
    if let Some(path) = socket.filter(|p| std::path::Path::new(p).exists()) {
        let by_socket = common::options().socket(path);
        let mut c = by_socket.connect().await.expect("socket");
        c.ping().await.expect("ping socket");
    }
}

#[cfg_attr(
    txkit_skip_mysql,
    ignore = "server test: set TXKIT_MYSQL_URL to run it"
)]
#[tokio::test]
async fn statements_are_closed_when_not_cached() {
    require_server();
    let mut conn = common::options()
        .statement_cache_size(0)
        .connect()
        .await
        .expect("connect");
    let closes = |rows: Vec<txkit_core::Row>| -> i64 {
        rows[0]
            .get::<String>(1)
            .expect("value")
            .parse()
            .expect("number")
    };
    let before = closes(
        conn.query("SHOW SESSION STATUS LIKE 'Com_stmt_close'", &[])
            .await
            .expect("status"),
    );
    for i in 0..5 {
        assert_eq!(
            scalar(&mut conn, &format!("SELECT {i} + 0")).await,
            i,
            "query {i}"
        );
        conn.execute("DO ?", &[Value::Int(i)])
            .await
            .expect("execute");
    }
    let after = closes(
        conn.query("SHOW SESSION STATUS LIKE 'Com_stmt_close'", &[])
            .await
            .expect("status"),
    );
    assert!(after - before >= 10, "{before} -> {after}");
}
