//! A fault-injecting TCP proxy on 127.0.0.1, between a txkit engine and a real server.
//!
//! It forwards bytes both ways and follows the client's side of the wire protocol (message
//! framing only) so it can recognise the client's COMMIT: a PostgreSQL simple-query `Q`
//! message whose text is `COMMIT`, or a MySQL `COM_QUERY` packet with `COMMIT`. Armed with a
//! [`Cut`], it closes both sockets of that connection at one of three points around that
//! COMMIT. Put in [`stall`](Proxy::stall) mode it becomes a half-open peer: every socket,
//! old and new, stays open and nothing is forwarded any more.
//!
//! A MySQL client must stay on TCP to pass through it: its URL says `prefer_socket=false`
//! (see `super::through`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The wire protocol the proxy follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Postgres,
    MySql,
}

/// Where, around the client's COMMIT, an armed proxy cuts the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Forwards the COMMIT message except its last byte: the server never gets a whole
    /// COMMIT, so it rolls back.
    BeforeCommitEnds,
    /// Forwards the whole COMMIT message, then cuts at once: the server may or may not
    /// have committed by the time it notices.
    AfterCommit,
    /// Forwards the COMMIT, waits for the server's answer to it and drops that answer: the
    /// server committed, the client cannot know.
    AfterAnswer,
}

impl Cut {
    pub fn name(self) -> &'static str {
        match self {
            Cut::BeforeCommitEnds => "before-commit-ends",
            Cut::AfterCommit => "after-commit",
            Cut::AfterAnswer => "after-answer",
        }
    }
}

#[derive(Default)]
struct Shared {
    /// The cut the next COMMIT (on any connection) gets; taken by that COMMIT.
    armed: Mutex<Option<Cut>>,
    stalled: AtomicBool,
    cuts: AtomicU64,
    accepted: AtomicU64,
    /// Sockets accepted while stalled, kept open and never served.
    parked: Mutex<Vec<TcpStream>>,
}

/// A running proxy; it stops accepting when dropped (open links end with their peers).
pub struct Proxy {
    addr: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Starts a proxy to `target` (`host:port`).
    pub async fn start(target: String, wire: Wire) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let shared = Arc::new(Shared::default());
        let state = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                state.accepted.fetch_add(1, Ordering::SeqCst);
                if state.stalled.load(Ordering::SeqCst) {
                    state.parked.lock().unwrap().push(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                link(client, server, wire, state.clone());
            }
        });
        Proxy { addr, shared, task }
    }

    /// `host:port` of the proxy.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The next COMMIT to pass gets `cut`.
    pub fn arm(&self, cut: Cut) {
        *self.shared.armed.lock().unwrap() = Some(cut);
    }

    /// Disarms; returns whether the armed cut was still unused.
    pub fn disarm(&self) -> bool {
        self.shared.armed.lock().unwrap().take().is_some()
    }

    /// Stops forwarding on every link, old and new, keeping every socket open.
    pub fn stall(&self) {
        self.shared.stalled.store(true, Ordering::SeqCst);
    }

    /// How many connections were cut at a COMMIT.
    pub fn cuts(&self) -> u64 {
        self.shared.cuts.load(Ordering::SeqCst)
    }

    /// How many client connections were accepted.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

/// One link's cut switch and what the server→client side must do.
struct LinkState {
    /// Set when the COMMIT was forwarded with [`Cut::AfterAnswer`]: the server→client side
    /// cuts when the answer shows up instead of forwarding it.
    cut_on_answer: AtomicBool,
    /// Set just before a COMMIT that is cut right away is forwarded: the server→client
    /// side forwards nothing more (else it could pass the answer on before the cut lands).
    sealed: AtomicBool,
    cut: watch::Sender<bool>,
}

impl LinkState {
    fn cut(&self) {
        self.cut.send_replace(true);
    }
}

fn link(client: TcpStream, server: TcpStream, wire: Wire, shared: Arc<Shared>) {
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let (tx, rx) = watch::channel(false);
    let state = Arc::new(LinkState {
        cut_on_answer: AtomicBool::new(false),
        sealed: AtomicBool::new(false),
        cut: tx,
    });
    tokio::spawn(upstream(
        cr,
        sw,
        wire,
        shared.clone(),
        state.clone(),
        rx.clone(),
    ));
    tokio::spawn(downstream(sr, cw, wire, shared, state, rx));
}

/// Client → server, watching for COMMIT.
async fn upstream(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    wire: Wire,
    shared: Arc<Shared>,
    state: Arc<LinkState>,
    mut cut: watch::Receiver<bool>,
) {
    let mut framer = Framer::new(wire);
    let mut buf = vec![0u8; 64 * 1024];
    while let Some(n) = next_chunk(&mut from, &mut buf, &mut cut, &shared).await {
        let data = &buf[..n];
        // A cut is taken (disarmed) only where a COMMIT message ends.
        let armed = match framer.feed(data) {
            Some(end) => shared.armed.lock().unwrap().take().map(|how| (how, end)),
            None => None,
        };
        let Some((how, end)) = armed else {
            if to.write_all(data).await.is_err() {
                return;
            }
            continue;
        };
        let upto = match how {
            Cut::BeforeCommitEnds => end - 1,
            Cut::AfterCommit | Cut::AfterAnswer => end,
        };
        // Decided before the COMMIT leaves: any answer to it is read after this store,
        // so the server→client side never forwards it.
        if how == Cut::AfterAnswer {
            state.cut_on_answer.store(true, Ordering::SeqCst);
        } else {
            state.sealed.store(true, Ordering::SeqCst);
        }
        let _ = to.write_all(&data[..upto]).await;
        let _ = to.flush().await;
        if how != Cut::AfterAnswer {
            shared.cuts.fetch_add(1, Ordering::SeqCst);
            state.cut();
            return;
        }
        // AfterAnswer: the rest of this read (nothing, in practice) is dropped; wait for
        // the downstream side to see the answer and cut.
    }
}

/// The length of the next chunk read from `from` into `buf` that is to be passed on (a
/// stalled link swallows what it reads); `None` once the link is cut or closed.
async fn next_chunk(
    from: &mut OwnedReadHalf,
    buf: &mut [u8],
    cut: &mut watch::Receiver<bool>,
    shared: &Shared,
) -> Option<usize> {
    loop {
        let n = tokio::select! {
            _ = cut.wait_for(|c| *c) => return None,
            r = from.read(buf) => match r {
                Ok(n @ 1..) => n,
                _ => return None,
            },
        };
        if !shared.stalled.load(Ordering::SeqCst) {
            return Some(n);
        }
    }
}

/// Server → client, cutting on COMMIT's answer when told.
async fn downstream(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    wire: Wire,
    shared: Arc<Shared>,
    state: Arc<LinkState>,
    mut cut: watch::Receiver<bool>,
) {
    let mut seen_since_commit: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while let Some(n) = next_chunk(&mut from, &mut buf, &mut cut, &shared).await {
        let data = &buf[..n];
        if state.sealed.load(Ordering::SeqCst) {
            continue;
        }
        if state.cut_on_answer.load(Ordering::SeqCst) {
            seen_since_commit.extend_from_slice(data);
            if answers_commit(wire, &seen_since_commit) {
                shared.cuts.fetch_add(1, Ordering::SeqCst);
                state.cut();
                return;
            }
            continue;
        }
        if to.write_all(data).await.is_err() {
            return;
        }
    }
}

/// Whether the server's bytes since the COMMIT hold its answer. MySQL answers one command
/// at a time, so any bytes are COMMIT's answer; on PostgreSQL answers to what was pipelined
/// before it (statements, a probe) may come first, so wait for the CommandComplete with tag
/// `COMMIT`.
fn answers_commit(wire: Wire, seen: &[u8]) -> bool {
    match wire {
        Wire::MySql => !seen.is_empty(),
        Wire::Postgres => {
            const TAG: &[u8] = b"C\0\0\0\x0bCOMMIT\0";
            seen.windows(TAG.len()).any(|w| w == TAG)
        }
    }
}

/// Splits the client's byte stream into protocol messages.
struct Framer {
    wire: Wire,
    /// PostgreSQL: still in the untyped start-up messages (SSLRequest, StartupMessage).
    startup: bool,
    pending: Vec<u8>,
}

const PG_SSL_REQUEST: u32 = 80_877_103;
const PG_GSSENC_REQUEST: u32 = 80_877_104;

impl Framer {
    fn new(wire: Wire) -> Self {
        Self {
            wire,
            startup: wire == Wire::Postgres,
            pending: Vec::new(),
        }
    }

    /// Feeds the next chunk; returns the offset just past a COMMIT message that ends in
    /// `data`, if one does.
    fn feed(&mut self, data: &[u8]) -> Option<usize> {
        let before = self.pending.len();
        self.pending.extend_from_slice(data);
        let mut pos = 0;
        let mut found = None;
        while let Some(len) = self.message_len(&self.pending[pos..]) {
            if pos + len > self.pending.len() {
                break;
            }
            let msg = &self.pending[pos..pos + len];
            let commit = self.is_commit(msg);
            if self.startup {
                let code = u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]]);
                self.startup = matches!(code, PG_SSL_REQUEST | PG_GSSENC_REQUEST);
            }
            pos += len;
            if commit {
                found = Some(pos - before);
                break;
            }
        }
        self.pending.drain(..pos);
        found
    }

    /// The whole length of the message starting at `buf[0]`, once its header is there.
    fn message_len(&self, buf: &[u8]) -> Option<usize> {
        match self.wire {
            Wire::Postgres if self.startup => {
                let head: [u8; 4] = buf.get(..4)?.try_into().ok()?;
                usize::try_from(u32::from_be_bytes(head)).ok()
            }
            Wire::Postgres => {
                let head: [u8; 4] = buf.get(1..5)?.try_into().ok()?;
                Some(1 + usize::try_from(u32::from_be_bytes(head)).ok()?)
            }
            Wire::MySql => {
                let head = buf.get(..3)?;
                Some(
                    4 + (usize::from(head[0])
                        | usize::from(head[1]) << 8
                        | usize::from(head[2]) << 16),
                )
            }
        }
    }

    fn is_commit(&self, msg: &[u8]) -> bool {
        let text = match self.wire {
            Wire::Postgres if self.startup => return false,
            Wire::Postgres if msg[0] == b'Q' => &msg[5..],
            Wire::MySql if msg.get(4) == Some(&0x03) => &msg[5..],
            _ => return false,
        };
        let text = String::from_utf8_lossy(text);
        text.trim_matches(|c: char| c == '\0' || c == ';' || c.is_whitespace())
            .eq_ignore_ascii_case("COMMIT")
    }
}

#[test]
fn framer_finds_commit_in_both_protocols() {
    let mut pg = Framer::new(Wire::Postgres);
    let mut startup = 8u32.to_be_bytes().to_vec();
    startup.extend_from_slice(&196_608u32.to_be_bytes());
    assert_eq!(pg.feed(&startup), None);
    let mut q = vec![b'Q'];
    q.extend_from_slice(&11u32.to_be_bytes());
    q.extend_from_slice(b"COMMIT\0");
    let mut stream = vec![b'S', 0, 0, 0, 4];
    stream.extend_from_slice(&q);
    // Split across two reads.
    assert_eq!(pg.feed(&stream[..7]), None);
    assert_eq!(pg.feed(&stream[7..]), Some(stream.len() - 7));

    let mut my = Framer::new(Wire::MySql);
    let packet = [7, 0, 0, 0, 3, b'C', b'O', b'M', b'M', b'I', b'T'];
    let mut stream = vec![1, 0, 0, 0, 0x0e];
    stream.extend_from_slice(&packet);
    assert_eq!(my.feed(&stream), Some(stream.len()));
}
