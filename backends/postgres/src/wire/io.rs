//! [`Wire`]: the socket, what is queued for it, and what it has answered, all used on the
//! caller's task.
//!
//! Messages are queued in `out` and written by [`Wire::flush`], which takes bytes out of
//! `out` as the socket accepts them: a write cut short by a dropped future leaves the rest
//! queued, and the next flush sends it. Every Sync (or simple Query) queued counts in
//! `owed` until its ReadyForQuery is read, so [`Wire::settle`] can read the answers of a
//! request whose future was dropped, and the protocol never falls out of step.

use bytes::BytesMut;
use postgres_protocol::message::backend::Message;
use postgres_protocol::message::frontend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;
use txkit_core::{Error, Result};

use super::server_error::ServerError;
use super::statements::{Closing, queue_closes};

/// The socket to the server.
pub(crate) enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// A Unix-domain socket.
    #[cfg(unix)]
    Unix(UnixStream),
    /// TCP with TLS (the `tls` feature).
    #[cfg(feature = "tls")]
    Tls(Box<super::tls::TlsStream>),
}

/// What an idle connection's socket holds, looked at without taking it.
enum Waiting {
    /// Nothing has arrived.
    Nothing,
    /// The server closed the connection.
    Closed,
    /// A message has arrived; its first byte (its type).
    Message(u8),
    /// Encrypted bytes have arrived, whose message cannot be seen without reading them.
    #[cfg(feature = "tls")]
    Encrypted,
}

/// A connection's protocol state (see the module docs).
pub(crate) struct Wire {
    stream: Stream,
    inbox: BytesMut,
    pub(crate) out: BytesMut,
    /// Syncs and simple Queries queued whose ReadyForQuery has not been read.
    pub(crate) owed: usize,
    /// The socket failed or the server closed it: nothing more can be sent.
    pub(crate) broken: bool,
    /// The transaction status of the last ReadyForQuery: `I` idle, `T` in a transaction,
    /// `E` in a failed transaction.
    pub(crate) status: u8,
    /// For error messages: the redacted target.
    pub(crate) target: String,
    /// Statements to close with the next request ([`super::statements`]).
    pub(crate) closing: Closing,
    /// Over TLS, the server's `tls-server-end-point` for SCRAM channel binding (see
    /// [`super::auth`]).
    pub(crate) tls_end_point: Option<Vec<u8>>,
    /// The server's process id for this session (BackendKeyData), once started.
    pub(crate) backend_pid: Option<u32>,
}

impl Wire {
    pub(crate) fn new(stream: Stream, target: String) -> Self {
        Self {
            stream,
            inbox: BytesMut::with_capacity(8192),
            out: BytesMut::with_capacity(1024),
            owed: 0,
            broken: false,
            status: b'I',
            target,
            closing: Closing::default(),
            tls_end_point: None,
            backend_pid: None,
        }
    }

    /// The error for a connection found closed or failed.
    pub(crate) fn lost(&mut self, cause: &str) -> Error {
        self.broken = true;
        Error::connection_lost(format!(
            "lost the connection to {}: {cause}; open a new connection",
            self.target
        ))
    }

    /// Queues a Sync, whose ReadyForQuery ends the pipeline before it.
    pub(crate) fn sync(&mut self) {
        frontend::sync(&mut self.out);
        self.owed += 1;
    }

    /// Queues a simple Query (it ends with its own ReadyForQuery).
    pub(crate) fn query(&mut self, sql: &str) -> Result<()> {
        frontend::query(sql, &mut self.out)
            .map_err(|e| Error::config(format!("the statement cannot be sent: {e}")))?;
        self.owed += 1;
        Ok(())
    }

    /// Writes everything queued, with the Close of every statement no longer used.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        if self.broken {
            return Err(self.lost("it was already closed"));
        }
        queue_closes(&self.closing, &mut self.out);
        while !self.out.is_empty() {
            let written = match &mut self.stream {
                Stream::Tcp(s) => s.write_buf(&mut self.out).await,
                #[cfg(unix)]
                Stream::Unix(s) => s.write_buf(&mut self.out).await,
                #[cfg(feature = "tls")]
                Stream::Tls(s) => s.write_buf(&mut self.out).await,
            };
            match written {
                Ok(0) => return Err(self.lost("the socket accepts no more data")),
                Ok(_) => {}
                Err(e) => return Err(self.lost(&e.to_string())),
            }
        }
        // rustls may hold records the socket did not take yet (also those of a flush cut
        // short before): out with them.
        #[cfg(feature = "tls")]
        if let Stream::Tls(s) = &mut self.stream {
            if let Err(e) = s.flush().await {
                return Err(self.lost(&e.to_string()));
            }
        }
        Ok(())
    }

    /// The next message from the server; a ReadyForQuery pays one owed answer and records
    /// the transaction status. Notices are logged here ([`crate::notice`]) and not
    /// returned.
    pub(crate) async fn next(&mut self) -> Result<Message> {
        loop {
            match Message::parse(&mut self.inbox) {
                Ok(Some(Message::NoticeResponse(body))) => {
                    ServerError::log_notice(&body, &self.target);
                    continue;
                }
                Ok(Some(message)) => {
                    if let Message::ReadyForQuery(body) = &message {
                        self.owed = self.owed.saturating_sub(1);
                        self.status = body.status();
                    }
                    return Ok(message);
                }
                Ok(None) => {}
                Err(e) => return Err(self.lost(&format!("unreadable message: {e}"))),
            }
            let read = match &mut self.stream {
                Stream::Tcp(s) => s.read_buf(&mut self.inbox).await,
                #[cfg(unix)]
                Stream::Unix(s) => s.read_buf(&mut self.inbox).await,
                #[cfg(feature = "tls")]
                Stream::Tls(s) => s.read_buf(&mut self.inbox).await,
            };
            match read {
                Ok(0) => return Err(self.lost("the server closed the connection")),
                Ok(_) => {}
                Err(e) => return Err(self.lost(&e.to_string())),
            }
        }
    }

    /// Sends what is queued and reads, and drops, every answer still owed: what a request
    /// whose future was dropped left behind.
    pub(crate) async fn settle(&mut self) -> Result<()> {
        if self.owed == 0 && self.out.is_empty() {
            return Ok(());
        }
        self.flush().await?;
        while self.owed > 0 {
            self.next().await?;
        }
        Ok(())
    }

    /// Whether the server has closed the connection or sent something while nobody asked
    /// (an idle connection's only unasked messages are a FATAL error before the server
    /// hangs up, or a notice): looked at without waiting and without taking it.
    pub(crate) fn closed_while_idle(&self) -> bool {
        if self.broken {
            return true;
        }
        if self.owed > 0 || !self.inbox.is_empty() {
            return false;
        }
        match self.stream.waiting() {
            Ok(Waiting::Nothing) => false,
            // An ErrorResponse nobody asked for is the server ending the session.
            Ok(Waiting::Message(kind)) => kind == b'E',
            Ok(Waiting::Closed) | Err(_) => true,
            // Most likely that same ErrorResponse; should it be a notice, giving up the
            // connection costs a reconnect, where keeping a dead one would fail a request.
            #[cfg(feature = "tls")]
            Ok(Waiting::Encrypted) => true,
        }
    }

    /// Sends Terminate, best effort, before the socket is dropped.
    pub(crate) async fn terminate(&mut self) {
        if self.broken {
            return;
        }
        frontend::terminate(&mut self.out);
        let _ = self.flush().await;
    }
}

impl Stream {
    /// What has arrived on the socket, without taking it or waiting. (Costs no system call
    /// while the socket is not readable.)
    fn waiting(&self) -> std::io::Result<Waiting> {
        let mut byte = [0_u8; 1];
        let peeked = match self {
            Stream::Tcp(s) => peek_tcp(s, &mut byte),
            // Under TLS the byte is a record's, not a message's (see `Waiting::Encrypted`).
            #[cfg(feature = "tls")]
            Stream::Tls(s) => peek_tcp(s.get_ref().0, &mut byte),
            // tokio has no peek for Unix sockets: `try_io` runs the system call only while
            // the socket is readable, and clears that readiness when it would block.
            #[cfg(unix)]
            Stream::Unix(s) => s.try_io(tokio::io::Interest::READABLE, || {
                let flags = rustix::net::RecvFlags::PEEK | rustix::net::RecvFlags::DONTWAIT;
                rustix::net::recv(s, &mut byte[..], flags)
                    .map(|(read, _)| read)
                    .map_err(std::io::Error::from)
            }),
        };
        match peeked {
            Ok(0) => Ok(Waiting::Closed),
            #[cfg(feature = "tls")]
            Ok(_) if matches!(self, Stream::Tls(_)) => Ok(Waiting::Encrypted),
            Ok(_) => Ok(Waiting::Message(byte[0])),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(Waiting::Nothing),
            Err(e) => Err(e),
        }
    }
}

/// Peeks at a TCP socket without waiting: WouldBlock when nothing has arrived.
fn peek_tcp(s: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match s.poll_peek(&mut cx, &mut tokio::io::ReadBuf::new(buf)) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => Err(std::io::ErrorKind::WouldBlock.into()),
    }
}
