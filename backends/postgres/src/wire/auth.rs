//! Password authentication for txkit's own protocol layer: SCRAM-SHA-256 (PostgreSQL's
//! default since 14), MD5, and a cleartext password, with `postgres-protocol`'s
//! implementations (the ones tokio-postgres uses). Over TLS, when the server offers
//! SCRAM-SHA-256-PLUS, the exchange is bound to the TLS channel (`tls-server-end-point`), so
//! a man in the middle holding another certificate cannot relay it; otherwise SCRAM goes
//! without binding (`n`), which every server accepts. The password never appears in an
//! error or a log.

use fallible_iterator::FallibleIterator;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{
    ChannelBinding, SCRAM_SHA_256, SCRAM_SHA_256_PLUS, ScramSha256,
};
use postgres_protocol::message::backend::{AuthenticationSaslBody, Message};
use postgres_protocol::message::frontend;
use txkit_core::{Error, Result};

use super::io::Wire;
use super::server_error::ServerError;
use super::startup::refused;
use crate::options::PgConnectOptions;

/// The password the server asked for, or a Config error saying where to give one.
fn password<'a>(opts: &'a PgConnectOptions, method: &str) -> Result<&'a str> {
    opts.get_password().map(|p| p.expose()).ok_or_else(|| {
        Error::config(format!(
            "{} asks for a password ({method}) and none was given; put it in the URL \
             (postgres://user:password@host/db or ?password=) or set it on the options",
            opts.display_target()
        ))
    })
}

fn unsendable(e: std::io::Error) -> Error {
    Error::config(format!("the password message cannot be sent: {e}"))
}

/// Answers a cleartext password request.
pub(crate) async fn cleartext(wire: &mut Wire, opts: &PgConnectOptions) -> Result<()> {
    let secret = password(opts, "cleartext")?;
    frontend::password_message(secret.as_bytes(), &mut wire.out).map_err(unsendable)?;
    wire.flush().await
}

/// Answers an MD5 challenge with `salt`.
pub(crate) async fn md5(wire: &mut Wire, opts: &PgConnectOptions, salt: [u8; 4]) -> Result<()> {
    let secret = password(opts, "md5")?;
    let user = opts.get_user().unwrap_or_default();
    let hash = md5_hash(user.as_bytes(), secret.as_bytes(), salt);
    frontend::password_message(hash.as_bytes(), &mut wire.out).map_err(unsendable)?;
    wire.flush().await
}

/// Runs the SASL exchange the server opened with `offer`, up to its final message (the
/// server's AuthenticationOk follows it, read by the caller).
pub(crate) async fn sasl(
    wire: &mut Wire,
    opts: &PgConnectOptions,
    offer: &AuthenticationSaslBody,
) -> Result<()> {
    let mechanisms: Vec<&str> = offer
        .mechanisms()
        .collect()
        .map_err(|e| wire.lost(&format!("unreadable SASL offer: {e}")))?;
    if !mechanisms.contains(&SCRAM_SHA_256) {
        return Err(Error::config(format!(
            "{} offers only the SASL mechanisms {mechanisms:?}, none of which driver=txkit \
             speaks (it speaks {SCRAM_SHA_256}); use driver=tokio-postgres",
            opts.display_target()
        )));
    }
    let secret = password(opts, SCRAM_SHA_256)?;
    let (mechanism, binding) = match &wire.tls_end_point {
        Some(end_point) if mechanisms.contains(&SCRAM_SHA_256_PLUS) => (
            SCRAM_SHA_256_PLUS,
            ChannelBinding::tls_server_end_point(end_point.clone()),
        ),
        _ => (SCRAM_SHA_256, ChannelBinding::unsupported()),
    };
    let mut scram = ScramSha256::new(secret.as_bytes(), binding);
    frontend::sasl_initial_response(mechanism, scram.message(), &mut wire.out)
        .map_err(unsendable)?;
    wire.flush().await?;
    let body = match wire.next().await? {
        Message::AuthenticationSaslContinue(body) => body,
        other => return Err(unexpected(wire, opts, other)),
    };
    scram
        .update(body.data())
        .map_err(|e| wire.lost(&format!("the server's SCRAM challenge is not valid: {e}")))?;
    frontend::sasl_response(scram.message(), &mut wire.out).map_err(unsendable)?;
    wire.flush().await?;
    let body = match wire.next().await? {
        Message::AuthenticationSaslFinal(body) => body,
        other => return Err(unexpected(wire, opts, other)),
    };
    // Checks the server's signature: a server that did not know the password fails here.
    scram.finish(body.data()).map_err(|e| {
        Error::config(format!(
            "{} could not prove it knows the password ({e}); check that the URL points at \
             the intended server",
            opts.display_target()
        ))
    })
}

/// A message the SASL exchange did not expect: the server's refusal (wrong password) is
/// an ErrorResponse, returned as the connect error it is; anything else breaks the
/// connection.
fn unexpected(wire: &mut Wire, opts: &PgConnectOptions, message: Message) -> Error {
    match message {
        Message::ErrorResponse(body) => refused(ServerError::parse(&body), opts),
        _ => wire.lost("the server sent an unexpected message during authentication"),
    }
}
