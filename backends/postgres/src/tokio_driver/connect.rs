//! Opening a connection: options into a tokio-postgres `Config`, the TLS choice, the
//! background task that drives the socket, and errors that say what to check.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, Config, Connection, NoTls, Socket};
use txkit_core::{Error, Result};

use super::connection::PgConnection;
use super::error::describe;
use crate::notice::Notice;
use crate::options::{PgConnectOptions, SslMode};
use crate::pooler::Pooler;
use crate::shared::connect_refusal;

/// Opens a connection as `opts` say.
pub(crate) async fn connect(opts: &PgConnectOptions) -> Result<PgConnection> {
    opts.check()?;
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(Error::config(
            "txkit-postgres needs a Tokio runtime: connect from within one",
        ));
    }
    let mut config = base_config(opts);
    let mode = if opts.is_unix_socket() && opts.get_ssl_mode() == SslMode::Prefer {
        SslMode::Disable // PostgreSQL does not encrypt socket connections
    } else {
        opts.get_ssl_mode()
    };
    match mode {
        SslMode::Disable => {
            config.ssl_mode(tokio_postgres::config::SslMode::Disable);
            establish(&config, NoTls, opts).await
        }
        #[cfg(not(feature = "tls"))]
        SslMode::Prefer => {
            config.ssl_mode(tokio_postgres::config::SslMode::Disable);
            establish(&config, NoTls, opts).await
        }
        #[cfg(feature = "tls")]
        SslMode::Prefer => {
            config.ssl_mode(tokio_postgres::config::SslMode::Prefer);
            let tls = crate::tls::connector(mode, opts.get_ssl_root_cert())?;
            establish(&config, tls, opts).await
        }
        #[cfg(feature = "tls")]
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
            let tls = crate::tls::connector(mode, opts.get_ssl_root_cert())?;
            establish(&config, tls, opts).await
        }
        #[cfg(not(feature = "tls"))]
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            // `check` refused these already; never fall back to plain text.
            Err(Error::config(format!(
                "sslmode={} needs the `tls` feature of txkit-postgres",
                mode.as_str()
            )))
        }
    }
}

fn base_config(opts: &PgConnectOptions) -> Config {
    let mut config = Config::new();
    if opts.is_unix_socket() {
        config.host_path(opts.get_host());
    } else {
        config.host(opts.get_host());
    }
    config.port(opts.get_port());
    if let Some(user) = opts.get_user() {
        config.user(user);
    }
    if let Some(password) = opts.get_password() {
        config.password(password.expose());
    }
    if let Some(db) = opts.get_database() {
        config.dbname(db);
    }
    if let Some(name) = opts.get_application_name() {
        config.application_name(name);
    }
    if let Some(timeout) = opts.get_connect_timeout() {
        config.connect_timeout(timeout);
    }
    if let Some(options) = opts.get_options() {
        config.options(options);
    }
    config
}

async fn establish<T>(config: &Config, tls: T, opts: &PgConnectOptions) -> Result<PgConnection>
where
    T: MakeTlsConnect<Socket> + Send,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, connection) = config
        .connect(tls)
        .await
        .map_err(|e| connect_error(e, opts))?;
    let broken = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&broken);
    let target = opts.display_target();
    tokio::spawn(async move {
        if let Err(e) = drive(connection, &target).await {
            tracing::debug!(target = %target, error = %describe(&e), "PostgreSQL connection ended");
        }
        flag.store(true, Ordering::Release);
    });
    // tokio-postgres keeps the BackendKeyData to itself: ask the server, once.
    let backend_pid = backend_pid(&client)
        .await
        .map_err(|e| connect_error(e, opts))?;
    let pooler = match opts.get_pooler() {
        Pooler::Auto => {
            let key = cancel_key_pid(&client, opts.get_ssl_mode().requires_tls()).await;
            let pooled = matches!((key, backend_pid), (Some(k), Some(b)) if k != b);
            Pooler::Auto.settle(pooled, &opts.display_target())
        }
        set => set,
    };
    let mut conn = PgConnection::new(
        client,
        broken,
        opts.get_statement_cache_size(),
        opts.display_target(),
    );
    conn.backend_pid = backend_pid;
    conn.pooler = pooler;
    conn.wants_writes = opts.get_target_session_attrs().wants_writes();
    Ok(conn)
}

/// The process id of the cancel key the startup gave: the session's own from the server,
/// one of its own from a pooler. tokio-postgres keeps the key to itself; its cancel token
/// writes it into a cancel request, here into memory, where it is read back (nothing is
/// sent anywhere). `None` when TLS is required (`tls_required`): the token would first ask
/// for a TLS handshake, which the memory pipe cannot give. Bounded all the same: a token
/// that waited for an answer would otherwise wait for ever.
async fn cancel_key_pid(client: &tokio_postgres::Client, tls_required: bool) -> Option<u32> {
    use tokio::io::AsyncReadExt;
    if tls_required {
        return None;
    }
    let (mut ours, theirs) = tokio::io::duplex(64);
    let read = async {
        client
            .cancel_token()
            .cancel_query_raw(theirs, NoTls)
            .await
            .ok()?;
        let mut request = [0_u8; 16];
        ours.read_exact(&mut request).await.ok()?;
        Some(request)
    };
    let request = tokio::time::timeout(std::time::Duration::from_secs(1), read)
        .await
        .ok()??;
    // Length 16, the cancel request code 80877102, the process id, the secret key.
    let (head, pid) = request.split_at(8);
    (head == [0, 0, 0, 16, 4, 210, 22, 46])
        .then(|| u32::from_be_bytes([pid[0], pid[1], pid[2], pid[3]]))
}

/// The session's server process id, by a simple query (no statement prepared).
async fn backend_pid(
    client: &tokio_postgres::Client,
) -> Result<Option<u32>, tokio_postgres::Error> {
    let messages = client.simple_query("SELECT pg_backend_pid()").await?;
    Ok(messages.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).and_then(|t| t.parse().ok()),
        _ => None,
    }))
}

/// Runs tokio-postgres's connection to its end, logging the server's notices as txkit's
/// own driver does ([`crate::notice`]) instead of through the `log` crate.
async fn drive<S, T>(
    mut connection: Connection<S, T>,
    server: &str,
) -> Result<(), tokio_postgres::Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    std::future::poll_fn(|cx| {
        loop {
            match connection.poll_message(cx) {
                Poll::Ready(Some(Ok(AsyncMessage::Notice(db)))) => {
                    // The non-localized severity when the server sent it.
                    let severity = db
                        .parsed_severity()
                        .map_or_else(|| db.severity().to_owned(), |s| s.to_string());
                    Notice {
                        server,
                        severity: &severity,
                        code: db.code().code(),
                        message: db.message(),
                        detail: db.detail(),
                        hint: db.hint(),
                    }
                    .log();
                }
                // LISTEN's notifications: nothing in txkit asks for them.
                Poll::Ready(Some(Ok(_))) => {}
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await
}

/// A connect failure as a txkit error: the redacted target, the cause, and what to check.
fn connect_error(e: tokio_postgres::Error, opts: &PgConnectOptions) -> Error {
    let target = opts.display_target();
    if let Some(db) = e.as_db_error() {
        return connect_refusal(db.code().code(), db.message(), &target).with_source(e);
    }
    let cause = describe(&e);
    if cause.starts_with("error performing TLS handshake") {
        return Error::config(format!(
            "TLS with {target} failed (sslmode={}): {cause}; check that the server has ssl = on \
             and a certificate it can present, or choose another sslmode",
            opts.get_ssl_mode().as_str()
        ))
        .with_source(e);
    }
    let advice = if opts.is_unix_socket() {
        "check that the server is running and that its socket directory (unix_socket_directories) \
         and port match the URL"
    } else {
        "check that the server is running and listens on that host and port \
         (listen_addresses, port), that no firewall blocks it, and the URL"
    };
    Error::connection_lost(format!("could not connect to {target}: {cause}; {advice}"))
        .with_source(e)
}
