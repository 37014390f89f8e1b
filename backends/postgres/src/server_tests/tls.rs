//! `sslmode` against the local server (which may or may not have TLS on) and against a
//! stand-in server that refuses TLS.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use txkit_core::ErrorKind;

use super::support::options;
use crate::SslMode;

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
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_never_falls_back_to_plain_text() {
    if !super::support::server_configured() {
        return;
    }
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
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_against_the_local_server() {
    if !super::support::server_configured() {
        return;
    }
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
        // verify-full checks the certificate; a self-signed test certificate fails it.
        if let Err(e) = options("sslmode=verify-full").connect().await {
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            assert!(e.to_string().contains("TLS"), "{e}");
        }
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
    }
}

#[cfg(not(feature = "tls"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_without_the_feature_is_a_config_error() {
    if !super::support::server_configured() {
        return;
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_falls_back_when_the_server_has_no_tls() {
    if !super::support::server_configured() {
        return;
    }
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
