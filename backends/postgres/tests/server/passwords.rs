//! Password authentication — SCRAM-SHA-256, MD5 and cleartext — on both drivers, against a
//! private server (the shared one trusts its clients, so it never asks for a password):
//! the right password signs in, a wrong one is a Config error that never repeats it, and
//! `driver=txkit` without a password says where to give one.

use txkit_core::{Connection, DatabaseUrl, ErrorKind, Result, Value};

use super::private_server::PrivateServer;
use super::support::require_server;
use txkit_postgres::{PgConnectOptions, PgWireConnection};

fn options(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_url(&DatabaseUrl::parse(url)?)
}

/// Connects through `driver` and asks the server who signed in.
async fn signed_in_as(driver: &str, url: &str) -> Result<Value> {
    let opts = options(url)?;
    let rows = if driver == "txkit" {
        let mut conn = PgWireConnection::connect(&opts).await?;
        conn.query("SELECT current_user::text", &[]).await?
    } else {
        let mut conn = opts.connect().await?;
        conn.query("SELECT current_user::text", &[]).await?
    };
    Ok(rows[0].value(0)?.clone())
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_sign_in_on_both_drivers() {
    require_server();
    let server = PrivateServer::start();
    let port = server.port;
    let admin = options(&format!(
        "postgres://postgres@localhost:{port}/postgres?host={}&driver=txkit",
        server.socket_dir()
    ))
    .unwrap();
    let mut admin = PgWireConnection::connect(&admin).await.unwrap();
    admin
        .batch(
            "CREATE ROLE txkit_scram LOGIN PASSWORD 'Scram-s3cret'; \
             SET password_encryption = 'md5'; \
             CREATE ROLE txkit_md5 LOGIN PASSWORD 'Md5-s3cret'; \
             CREATE ROLE txkit_clear LOGIN PASSWORD 'Clear-s3cret'",
        )
        .await
        .unwrap();
    // Which exchange each user gets: SCRAM for a password stored as SCRAM, MD5 for one
    // stored as MD5 (pg_hba says md5 for both), cleartext where pg_hba says password.
    let stored = admin
        .query(
            "SELECT rolname::text, left(rolpassword, 5) FROM pg_authid \
             WHERE rolname LIKE 'txkit_%' ORDER BY rolname",
            &[],
        )
        .await
        .unwrap();
    let stored: Vec<(String, String)> = stored
        .iter()
        .map(|r| (r.get(0).unwrap(), r.get(1).unwrap()))
        .collect();
    let kinds: Vec<(&str, &str)> = stored
        .iter()
        .map(|(user, start)| {
            (
                user.as_str(),
                if start.starts_with("md5") {
                    "md5"
                } else {
                    start
                },
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("txkit_clear", "md5"),
            ("txkit_md5", "md5"),
            ("txkit_scram", "SCRAM")
        ]
    );

    for (user, secret) in [
        ("txkit_scram", "Scram-s3cret"),
        ("txkit_md5", "Md5-s3cret"),
        ("txkit_clear", "Clear-s3cret"),
    ] {
        let url = |password: &str, driver: &str| {
            format!(
                "postgres://{user}:{password}@127.0.0.1:{port}/postgres?sslmode=disable&driver={driver}"
            )
        };
        for driver in ["tokio-postgres", "txkit"] {
            let who = signed_in_as(driver, &url(secret, driver))
                .await
                .unwrap_or_else(|e| panic!("{user} on {driver}: {e}"));
            assert_eq!(who, Value::Text(user.to_owned()), "{driver}");

            let e = signed_in_as(driver, &url("Wrong-pa55", driver))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{user} on {driver}: {e}");
            assert!(
                e.to_string().contains("password"),
                "{user} on {driver}: {e}"
            );
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("Wrong-pa55"), "{user} on {driver}: {shown}");
        }
        let e = signed_in_as(
            "txkit",
            &format!("postgres://{user}@127.0.0.1:{port}/postgres?sslmode=disable"),
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{user}: {e}");
        assert!(e.to_string().contains("asks for a password"), "{user}: {e}");
    }
    // Over TLS the server offers SCRAM-SHA-256-PLUS too, and both drivers bind the exchange
    // to the TLS channel (the server checks the certificate hash each sends).
    #[cfg(feature = "tls")]
    if server.tls {
        for driver in ["tokio-postgres", "txkit"] {
            let url = format!(
                "postgres://txkit_scram:Scram-s3cret@127.0.0.1:{port}/postgres\
                 ?sslmode=require&driver={driver}"
            );
            let who = signed_in_as(driver, &url)
                .await
                .unwrap_or_else(|e| panic!("SCRAM over TLS on {driver}: {e}"));
            assert_eq!(who, Value::Text("txkit_scram".to_owned()), "{driver}");
        }
    }
    drop(server);
}
