//! TLS for txkit's own protocol layer (the `tls` feature): PostgreSQL's SSLRequest, then a
//! rustls handshake with the configuration the tokio-postgres driver uses
//! ([`crate::tls::client_config`]), so both drivers honour each `sslmode` alike.

use std::sync::Arc;

use bytes::BytesMut;
use postgres_protocol::message::frontend;
use rustls::pki_types::{CertificateDer, ServerName};
use sha2::{Digest, Sha256, Sha384, Sha512};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use txkit_core::{Error, Result};
use x509_cert::Certificate;
use x509_cert::der::Decode;
use x509_cert::der::oid::db::rfc5912 as oid;

use super::io::Stream;
use crate::options::{PgConnectOptions, SslMode};

/// An encrypted connection to the server.
pub(crate) type TlsStream = tokio_rustls::client::TlsStream<TcpStream>;

/// Asks the server on `tcp` for TLS and encrypts when it agrees. A server without TLS is
/// an error unless the mode is `prefer`, which goes on in plain text: `require` and the
/// `verify-*` modes never send anything unencrypted.
pub(crate) async fn negotiate(mut tcp: TcpStream, opts: &PgConnectOptions) -> Result<Stream> {
    let mode = opts.get_ssl_mode();
    let target = opts.display_target();
    let lost = |e: std::io::Error| {
        Error::connection_lost(format!(
            "could not connect to {target}: {e} while asking for TLS; check that the server \
             is running and reachable"
        ))
    };
    let mut request = BytesMut::new();
    frontend::ssl_request(&mut request);
    tcp.write_all(&request).await.map_err(lost)?;
    let mut answer = [0_u8; 1];
    tcp.read_exact(&mut answer).await.map_err(lost)?;
    match answer[0] {
        b'S' => {}
        b'N' if mode == SslMode::Prefer => return Ok(Stream::Tcp(tcp)),
        b'N' => {
            return Err(Error::config(format!(
                "{target}: the server does not support TLS, and sslmode={} never falls back \
                 to plain text; turn ssl on in the server, or choose sslmode=prefer or \
                 disable on a trusted network",
                mode.as_str()
            )));
        }
        other => {
            return Err(Error::connection_lost(format!(
                "{target} answered the TLS request with {other:#04x} instead of S or N; is it a \
                 PostgreSQL server?"
            )));
        }
    }
    let config = crate::tls::client_config(mode, opts.get_ssl_root_cert())?;
    let name = ServerName::try_from(opts.get_host().to_owned()).map_err(|e| {
        Error::config(format!(
            "{target}: the host is not a name TLS can check ({e}); use a DNS name or an IP \
             address"
        ))
    })?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| {
            Error::config(format!(
                "TLS with {target} failed (sslmode={}): {e}; check that the server has ssl = \
                 on and a certificate it can present, or choose another sslmode",
                mode.as_str()
            ))
            .with_source(e)
        })?;
    Ok(Stream::Tls(Box::new(tls)))
}

/// RFC 5929's `tls-server-end-point` for SCRAM-SHA-256-PLUS: the server's certificate hashed
/// with the hash its signature uses (SHA-256 in place of MD5 and SHA-1). `None` when the
/// signature names no single hash (Ed25519; RSASSA-PSS, whose hash sits in parameters not
/// read here): SCRAM then goes without channel binding.
pub(crate) fn server_end_point(tls: &TlsStream) -> Option<Vec<u8>> {
    let der: &CertificateDer<'_> = tls.get_ref().1.peer_certificates()?.first()?;
    let signature = Certificate::from_der(der.as_ref())
        .ok()?
        .signature_algorithm
        .oid;
    let digest: fn(&[u8]) -> Vec<u8> = match signature {
        oid::MD_5_WITH_RSA_ENCRYPTION
        | oid::SHA_1_WITH_RSA_ENCRYPTION
        | oid::SHA_256_WITH_RSA_ENCRYPTION
        | oid::ECDSA_WITH_SHA_256
        | oid::ID_MD_5
        | oid::ID_SHA_1
        | oid::ID_SHA_256 => |bytes| Sha256::digest(bytes).to_vec(),
        oid::SHA_384_WITH_RSA_ENCRYPTION | oid::ECDSA_WITH_SHA_384 | oid::ID_SHA_384 => {
            |bytes| Sha384::digest(bytes).to_vec()
        }
        oid::SHA_512_WITH_RSA_ENCRYPTION | oid::ECDSA_WITH_SHA_512 | oid::ID_SHA_512 => {
            |bytes| Sha512::digest(bytes).to_vec()
        }
        _ => return None,
    };
    Some(digest(der.as_ref()))
}
