//! `sslmode` against the local server (which may or may not have TLS on) and against a
//! stand-in server that refuses TLS.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use txkit_core::ErrorKind;

use super::support::options;
use txkit_postgres::SslMode;

/// A listener on 127.0.0.1 that answers PostgreSQL's SSLRequest with `N` ("no TLS here")
/// and reports how many bytes the client sent after that answer.
pub(super) async fn server_without_tls() -> (u16, tokio::task::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0_u8; 8];
        socket.read_exact(&mut request).await.unwrap();
        assert_eq!(&request[4..], &[0x04, 0xd2, 0x16, 0x2f], "an SSLRequest");
        socket.write_all(b"N").await.unwrap();
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest).await;
        rest.len()
    });
    (port, task)
}

#[cfg(feature = "tls")]
#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_never_falls_back_to_plain_text() {
    super::support::require_server();
    let (port, server) = server_without_tls().await;
    let e = options("")
        .host("127.0.0.1")
        .port(port)
        .ssl_mode(SslMode::Require)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.to_string().contains("server does not support TLS"), "{e}");
    assert!(e.to_string().contains("sslmode=require"), "{e}");
    assert_eq!(server.await.unwrap(), 0, "no plain-text startup was sent");
}

#[cfg(feature = "tls")]
#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_against_the_local_server() {
    super::support::require_server();
    use super::support::scalar;
    use txkit_core::{Connection, Value};

    let mut plain = options("sslmode=disable").connect().await.unwrap();
    let server_ssl = scalar(&mut plain, "SELECT current_setting('ssl')", &[]).await;
    let result = options("sslmode=require").connect().await;
    if server_ssl == Value::Text("on".into()) {
        // Encrypted: the server itself says so.
        let mut c = result.unwrap();
        let ssl = scalar(
            &mut c,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await;
        assert_eq!(ssl, Value::Bool(true));
        // verify-full checks the certificate: the server's self-signed one, which no root
        // of the Mozilla store signed, must be refused.
        let e = options("sslmode=verify-full").connect().await.unwrap_err();
        assert_refused_certificate(&e, "UnknownIssuer");
        // prefer encrypts too when it can.
        let mut p = options("sslmode=prefer").connect().await.unwrap();
        let ssl = scalar(
            &mut p,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await;
        assert_eq!(ssl, Value::Bool(true));
        p.ping().await.unwrap();
    } else {
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        assert!(e.to_string().contains("TLS"), "{e}");
        let e = options("sslmode=verify-full").connect().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    }
}

/// `e` is the Config error of a refused server certificate, for `why` (rustls's reason).
#[cfg(feature = "tls")]
pub(super) fn assert_refused_certificate(e: &txkit_core::Error, why: &str) {
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    let text = e.to_string();
    assert!(text.contains("invalid peer certificate"), "{e}");
    assert!(text.contains(why), "{e}");
}

/// The `verify-*` modes against a private server whose certificate, for the name
/// `localhost` only, a CA made by the test signed; on both drivers. verify-ca and
/// verify-full succeed with that CA as `sslrootcert` (and the session is encrypted);
/// verify-full refuses the address `127.0.0.1`, which the certificate does not name, where
/// verify-ca accepts it; both refuse the certificate without that CA.
#[cfg(feature = "tls")]
#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_modes_against_a_ca_of_our_own() {
    use txkit_core::{Connection, DatabaseUrl, Value};

    use super::private_server::PrivateServer;
    use txkit_postgres::{PgConnectOptions, PgWireConnection};

    super::support::require_server();
    let server = PrivateServer::start_with_own_ca();
    let ca = server.ca_cert.clone().expect("the server's own CA");
    let ca = ca.to_string_lossy();
    let port = server.port;
    let encrypted = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    for driver in ["tokio-postgres", "txkit"] {
        let connect = |host: &str, query: &str| {
            let url =
                format!("postgres://txkit_tls@{host}:{port}/postgres?driver={driver}&{query}");
            async move {
                let opts = PgConnectOptions::from_url(&DatabaseUrl::parse(&url)?)?;
                let rows = if driver == "txkit" {
                    PgWireConnection::connect(&opts)
                        .await?
                        .query(encrypted, &[])
                        .await?
                } else {
                    opts.connect().await?.query(encrypted, &[]).await?
                };
                rows[0].value(0).cloned()
            }
        };
        if driver == "tokio-postgres" {
            let admin = format!(
                "postgres://postgres@localhost:{port}/postgres?host={}&driver=txkit",
                server.socket_dir()
            );
            let admin = PgConnectOptions::from_url(&DatabaseUrl::parse(&admin).unwrap()).unwrap();
            let mut admin = PgWireConnection::connect(&admin).await.unwrap();
            admin.batch("CREATE ROLE txkit_tls LOGIN").await.unwrap();
        }
        let ok = |r: txkit_core::Result<Value>, what: &str| match r {
            Ok(v) => assert_eq!(v, Value::Bool(true), "{driver} {what}"),
            Err(e) => panic!("{driver} {what}: {e}"),
        };
        let root = format!("sslrootcert={ca}");
        ok(
            connect("localhost", &format!("sslmode=verify-full&{root}")).await,
            "verify-full, localhost",
        );
        ok(
            connect("127.0.0.1", &format!("sslmode=verify-ca&{root}")).await,
            "verify-ca, 127.0.0.1",
        );
        let e = connect("127.0.0.1", &format!("sslmode=verify-full&{root}"))
            .await
            .unwrap_err();
        assert_refused_certificate(&e, "not valid for name \"127.0.0.1\"");
        for mode in ["verify-full", "verify-ca"] {
            let e = connect("localhost", &format!("sslmode={mode}"))
                .await
                .unwrap_err();
            assert_refused_certificate(&e, "UnknownIssuer");
        }
    }
}

#[cfg(not(feature = "tls"))]
#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_without_the_feature_is_a_config_error() {
    super::support::require_server();
    let (port, _server) = server_without_tls().await;
    let e = options("sslmode=disable")
        .host("127.0.0.1")
        .port(port)
        .ssl_mode(SslMode::Require)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.to_string().contains("`tls` Cargo feature"), "{e}");
}

#[cfg_attr(
    txkit_skip_postgres,
    ignore = "server test: set TXKIT_POSTGRES_URL to run it"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_falls_back_when_the_server_has_no_tls() {
    super::support::require_server();
    let (port, server) = server_without_tls().await;
    let opts = options("")
        .host("127.0.0.1")
        .port(port)
        .ssl_mode(SslMode::Prefer);
    if cfg!(feature = "tls") {
        // The stand-in answers N, then reads the plain-text startup the client sends next.
        let result =
            tokio::time::timeout(std::time::Duration::from_millis(500), opts.connect()).await;
        drop(result); // the stand-in never answers the startup; we only check what was sent
        assert!(
            server.await.unwrap() > 0,
            "prefer sent a plain-text startup after N"
        );
    } else {
        server.abort();
    }
}
