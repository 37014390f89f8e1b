//! A turn-counting proxy on loopback, for round trips per operation.
//!
//! Each proxied connection counts *turns*: a client→server write that follows a
//! server→client write (or opens the connection) starts a turn; writes the client makes
//! before the server has answered belong to the same turn. Turns are round trips. The
//! proxy listens on TCP 127.0.0.1 (PostgreSQL, and MariaDB for mysql_async with
//! `prefer_socket=false`, sqlx and sea-orm) or on a Unix socket (txkit's MySQL backend,
//! whose mysql_async would otherwise leave a loopback TCP proxy for the server's own
//! socket; its `socket=` URL option points it at ours). Counting runs on a current-thread
//! runtime, so a client's pipelined writes are not split by the server's answer.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener};

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

/// One counter behind two listeners to the same server: TCP on 127.0.0.1 and a Unix
/// socket.
pub(crate) struct Proxy {
    /// The TCP listener's host:port.
    pub(crate) addr: String,
    /// The Unix listener's path.
    pub(crate) socket: PathBuf,
    pub(crate) turns: Turns,
}

impl Proxy {
    /// Starts both listeners, forwarding to `target` (host:port).
    pub(crate) async fn start(target: String) -> Self {
        let turns = Turns::default();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address").to_string();
        let (counter, to) = (turns.clone(), target.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                client.set_nodelay(true).ok();
                pipe(client, to.clone(), counter.clone());
            }
        });
        let socket =
            std::env::temp_dir().join(format!("txkit-bench-proxy-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&socket);
        let unix = UnixListener::bind(&socket).expect("bind unix proxy");
        let counter = turns.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = unix.accept().await {
                pipe(client, target.clone(), counter.clone());
            }
        });
        Self {
            addr,
            socket,
            turns,
        }
    }

    pub(crate) fn turns(&self) -> u64 {
        self.turns.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
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
