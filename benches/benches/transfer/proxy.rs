//! A turn-counting proxy on loopback, for round trips per operation.
//!
//! Each proxied connection counts *turns*: a client→server write that follows a
//! server→client write (or opens the connection) starts a turn; writes the client makes
//! before the server has answered belong to the same turn. Turns are round trips. The
//! proxy listens on TCP 127.0.0.1; MySQL clients built on mysql_async (txkit, and the raw
//! driver) are told `prefer_socket=false` so they do not leave it for the server's Unix
//! socket. Counting runs on a current-thread runtime, so a client's pipelined writes are
//! not split by the server's answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Turns of every connection through one proxy.
pub(crate) type Turns = Arc<AtomicU64>;

/// Forwards `client` to a new connection to `target`, counting its turns.
fn pipe<C>(client: C, target: String, turns: Turns)
where
    C: AsyncRead + AsyncWrite + Send + 'static,
{
    tokio::spawn(async move {
        let Ok(server) = TcpStream::connect(&target).await else {
            return;
        };
        server.set_nodelay(true).ok();
        let spoke = Arc::new(AtomicBool::new(true));
        let (mut cr, mut cw) = tokio::io::split(client);
        let (mut sr, mut sw) = server.into_split();
        let up_spoke = spoke.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n @ 1..) = cr.read(&mut buf).await {
                if up_spoke.swap(false, Ordering::SeqCst) {
                    turns.fetch_add(1, Ordering::SeqCst);
                }
                if sw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = sr.read(&mut buf).await {
            spoke.store(true, Ordering::SeqCst);
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
}

/// A counting listener on 127.0.0.1 in front of one server.
pub(crate) struct Proxy {
    /// The listener's host:port.
    pub(crate) addr: String,
    pub(crate) turns: Turns,
}

impl Proxy {
    /// Starts the listener, forwarding to `target` (host:port).
    pub(crate) async fn start(target: String) -> Self {
        let turns = Turns::default();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address").to_string();
        let counter = turns.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                client.set_nodelay(true).ok();
                pipe(client, target.clone(), counter.clone());
            }
        });
        Self { addr, turns }
    }

    pub(crate) fn turns(&self) -> u64 {
        self.turns.load(Ordering::SeqCst)
    }
}

/// `url` with its host:port replaced by `addr`, and the host:port it had.
pub(crate) fn through(url: &str, addr: &str) -> (String, String) {
    let start = url
        .find('@')
        .or_else(|| url.find("://").map(|i| i + 2))
        .expect("a URL with a host")
        + 1;
    let end = start + url[start..].find('/').expect("a URL with a database");
    let target = url[start..end].to_owned();
    (format!("{}{addr}{}", &url[..start], &url[end..]), target)
}
