//! Opening a connection of txkit's own protocol layer: the socket, the startup message,
//! authentication, and the server's first ReadyForQuery.

use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use tokio::net::TcpStream;
use txkit_core::{Error, Result};

use super::auth;
use super::io::{Stream, Wire};
use super::server_error::ServerError;
use crate::options::PgConnectOptions;
#[cfg(feature = "tls")]
use crate::options::SslMode;

/// Opens the socket and runs the startup exchange, within the connect timeout if any.
pub(crate) async fn open(opts: &PgConnectOptions) -> Result<Wire> {
    // Refuses a TLS mode this build cannot honour, and TLS over a Unix socket.
    opts.check()?;
    let exchange = async {
        let stream = socket(opts).await?;
        #[cfg(feature = "tls")]
        let end_point = match &stream {
            Stream::Tls(tls) => super::tls::server_end_point(tls),
            _ => None,
        };
        let mut wire = Wire::new(stream, opts.display_target());
        #[cfg(feature = "tls")]
        {
            wire.tls_end_point = end_point;
        }
        start(&mut wire, opts).await?;
        Ok(wire)
    };
    match opts.get_connect_timeout() {
        Some(limit) => tokio::time::timeout(limit, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(Error::connection_lost(format!(
                    "could not connect to {} within {limit:?} (connect_timeout); check that the \
                 server is running and reachable",
                    opts.display_target()
                )))
            }),
        None => exchange.await,
    }
}

async fn socket(opts: &PgConnectOptions) -> Result<Stream> {
    let target = opts.display_target();
    let failed = |e: std::io::Error| {
        Error::connection_lost(format!(
            "could not connect to {target}: {e}; check that the server is running and \
             listens on that host and port, and the URL"
        ))
    };
    if opts.is_unix_socket() {
        #[cfg(unix)]
        {
            let path = format!("{}/.s.PGSQL.{}", opts.get_host(), opts.get_port());
            return tokio::net::UnixStream::connect(path)
                .await
                .map(Stream::Unix)
                .map_err(failed);
        }
        #[cfg(not(unix))]
        return Err(Error::config("Unix-domain sockets need a Unix system"));
    }
    let stream = TcpStream::connect((opts.get_host(), opts.get_port()))
        .await
        .map_err(failed)?;
    stream.set_nodelay(true).map_err(failed)?;
    #[cfg(feature = "tls")]
    if opts.get_ssl_mode() != SslMode::Disable {
        return super::tls::negotiate(stream, opts).await;
    }
    Ok(Stream::Tcp(stream))
}

/// The startup message, authentication, and everything up to the first ReadyForQuery.
async fn start(wire: &mut Wire, opts: &PgConnectOptions) -> Result<()> {
    let mut params: Vec<(&str, &str)> = vec![("client_encoding", "UTF8")];
    if let Some(user) = opts.get_user() {
        params.push(("user", user));
    }
    if let Some(db) = opts.get_database() {
        params.push(("database", db));
    }
    if let Some(name) = opts.get_application_name() {
        params.push(("application_name", name));
    }
    if let Some(options) = opts.get_options() {
        params.push(("options", options));
    }
    frontend::startup_message(params, &mut wire.out)
        .map_err(|e| Error::config(format!("the startup message cannot be sent: {e}")))?;
    wire.owed = 1; // the first ReadyForQuery
    wire.flush().await?;
    loop {
        match wire.next().await? {
            Message::BackendKeyData(key) => {
                // A pooler's key may have any 32 bits (PgBouncer's are random): kept as sent.
                wire.backend_pid = Some(u32::from_be_bytes(key.process_id().to_be_bytes()));
            }
            Message::AuthenticationOk | Message::ParameterStatus(_) => {}
            Message::ReadyForQuery(_) => return Ok(()),
            Message::ErrorResponse(body) => {
                return Err(refused(ServerError::parse(&body), opts));
            }
            Message::AuthenticationCleartextPassword => auth::cleartext(wire, opts).await?,
            Message::AuthenticationMd5Password(body) => {
                auth::md5(wire, opts, body.salt()).await?;
            }
            Message::AuthenticationSasl(body) => auth::sasl(wire, opts, &body).await?,
            Message::AuthenticationKerberosV5
            | Message::AuthenticationScmCredential
            | Message::AuthenticationGss
            | Message::AuthenticationSspi => {
                return Err(Error::config(format!(
                    "{} asks for Kerberos, GSSAPI, SSPI or SCM credentials, which driver=txkit \
                     does not speak (it speaks passwords: SCRAM-SHA-256, MD5, cleartext); use \
                     driver=tokio-postgres (the default)",
                    opts.display_target()
                )));
            }
            _ => {
                return Err(wire.lost("the server sent an unexpected message during startup"));
            }
        }
    }
}

/// The server's refusal, with its message and what to check.
pub(super) fn refused(e: ServerError, opts: &PgConnectOptions) -> Error {
    crate::shared::connect_refusal(&e.code, &e.message, &opts.display_target())
}
